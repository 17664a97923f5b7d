// GatewayProcess: the running `sluice serve` — loads the config, starts one Worker per core
// and the admin listener, and handles signals: SIGHUP (and, with --watch, a change to the
// configuration's files) reloads (a config that fails validation
// is reported and the running one kept; a good one is swapped in without dropping requests),
// SIGTERM/SIGINT drain (stop accepting, let in-flight requests finish up to
// limits.drainTimeout, exit 0). Lives on the main thread.
#pragma once

#include <optional>
#include <string>

namespace sluice::app {

struct ServeOptions {
  std::optional<std::string> config_path;  // none: the embedded quick start
  std::optional<unsigned> workers;         // overrides Gateway spec.workers
  bool reuse_port = false;                 // share listener ports already bound by another process
  // Serve POST /debug/clock on the admin listener, which moves the limits' and budgets' clock
  // (state/clock.hpp): for tests only.
  bool test_clock = false;
  // Reload when the configuration's files change (app/config_watcher.hpp), as on SIGHUP.
  bool watch = false;
};

// Returns the process exit code.
int serve(const ServeOptions& options);

// `sluice validate`: prints every problem; returns 0 when there is no error, else 1.
int validate(const std::string& config_path);

}  // namespace sluice::app
