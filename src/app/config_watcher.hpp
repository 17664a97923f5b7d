// ConfigWatcher: `sluice serve --watch`. Watches the configuration path (a file or a directory of
// YAML files) and the files the configuration refers to (JWKS files) with inotify, and calls
// `changed` once the files have been quiet for `debounce` and their content differs from what
// was last handed on. It follows every symbolic link on the way to each file and watches each
// link's directory for that name, so it sees
//   - a file replaced by a rename (editors, `mv`, `kubectl cp`): IN_MOVED_TO / IN_CREATE in its
//     directory;
//   - the Kubernetes ConfigMap layout, where each FILE is a link to `..data/FILE` and `..data` a
//     link swapped by rename to a new `..<timestamp>` directory: the swap is an IN_MOVED_TO of
//     `..data`, after which the links are resolved again;
//   - a file written in place (bind mounts, `>` redirection): IN_CLOSE_WRITE / IN_MODIFY on the
//     file itself;
//   - files added to or removed from the directory.
// Content, not events, decides: several writes within `debounce` give one call, and events that
// change nothing (a `touch`, a swap to identical files) give none.
// A change made after the configuration was first loaded but before start() armed the watches is
// not lost: the caller takes `config_fingerprint()` before that load, and start() schedules a
// reload when the files no longer match it. (A referenced file is only known once the
// configuration is loaded; an edit to one in that short window is seen at its next change.)
// The inotify descriptor is read as an asio stream_descriptor on `io` (the main thread's
// io_context, never a worker's); every member runs on that thread. Not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/resources.hpp"

namespace sluice::app {

// The files other than its YAML files that `config` reads when it is loaded (JWT providers'
// `jwks.file`), as absolute paths: a change to one of them is a change to the configuration.
std::vector<std::string> referenced_files(const config::Config& config);

class ConfigWatcher {
 public:
  struct Options {
    std::string config_path;
    std::chrono::milliseconds debounce{300};
    // The other files the running configuration reads (absolute paths), asked again after each
    // change: a reload may name new ones.
    std::function<std::vector<std::string>()> referenced_files;
    // The files changed: reload. Runs on `io`'s thread.
    std::function<void()> changed;
    // config_fingerprint(config_path) taken before the running configuration was loaded; empty:
    // not compared.
    std::string loaded_fingerprint;
  };

  // What the configuration's YAML files (as the loader lists them) hold now, as a digest.
  static std::string config_fingerprint(const std::string& config_path);

  ConfigWatcher(boost::asio::io_context& io, Options options);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // Opens inotify and arms the watches; false (and why in `error`) when inotify cannot be used.
  bool start(std::string* error);
  void stop();

 private:
  // One watched inode: a directory (events name an entry; `names` are the entries that matter,
  // `any_yaml` adds every *.yaml / *.yml entry) or a file (every event matters).
  struct Watch {
    bool directory = false;
    bool any_yaml = false;
    std::set<std::string> names;
  };

  void read_events();
  bool matters(int wd, const char* name, std::uint32_t mask) const;
  void schedule();
  void settle();
  void rewatch();
  void watch_path(const std::string& path, bool config_root);
  void add_watch(const std::string& path, bool directory, const std::string& name, bool any_yaml);
  std::string fingerprint() const;
  static std::string digest(const std::vector<std::string>& files);

  Options options_;
  boost::asio::posix::stream_descriptor stream_;
  boost::asio::steady_timer debounce_;
  int fd_ = -1;
  std::map<int, Watch> watches_;
  std::string last_fingerprint_;  // of the files the running configuration was built from; empty: unknown
  alignas(8) char buffer_[16 * 1024];
};

}  // namespace sluice::app
