#include "app/gateway_process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "admin/admin_server.hpp"
#include "admin/effective_config.hpp"
#include "admin/spend.hpp"
#include "admin/status.hpp"
#include "app/config_watcher.hpp"
#include "app/quickstart_config.hpp"
#include "config/loader.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "observe/otlp_exporter.hpp"
#include "policy/global_rate_limit.hpp"
#include "policy/jwks_fetcher.hpp"
#include "proxy/health_checker.hpp"
#include "proxy/model_fetcher.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "state/clock.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::app {

namespace asio = boost::asio;
using observe::Level;

namespace {

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The state of every provider of `snapshot`'s AI Backends, for the provider gauges.
std::vector<observe::ProviderState> provider_states(const proxy::Snapshot& snapshot) {
  std::vector<observe::ProviderState> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [name, backend] : snapshot.backends) {
    if (!backend.ai) continue;
    for (const auto& group : backend.groups)
      for (const auto& provider : group) {
        observe::ProviderState state;
        state.backend = name;
        state.provider = provider.name;
        if (provider.health) {
          state.healthy = !provider.health->resting(now);
          state.ejected = provider.health->ejected(now);
        }
        if (provider.keys)
          for (std::size_t key = 0; key < provider.keys->size(); ++key)
            state.benched_keys += provider.keys->benched(key, now) ? 1 : 0;
        out.push_back(std::move(state));
      }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.backend, a.provider) < std::tie(b.backend, b.provider);
  });
  return out;
}

// /status `recent_errors`: the newest failed requests of all workers together.
constexpr std::size_t kRecentErrorsShown = 20;

config::LoadResult load(const std::optional<std::string>& path, bool strict_secrets) {
  config::LoadOptions options;
  options.strictSecrets = strict_secrets;
  if (path) return config::load_path(*path, options);
  return config::load_sources({{std::string(kQuickstartLabel), std::string(kQuickstartConfig)}}, options);
}

void log_diagnostics(const config::Diagnostics& diags) {
  for (const auto& d : diags.items()) {
    observe::log(d.severity == config::Severity::Error ? Level::Error : Level::Warning, "config problem",
                 {{"problem", d.format()}});
  }
}

// Loads and compiles; returns nullptr (after logging why) when the config has errors.
std::shared_ptr<const proxy::Snapshot> load_snapshot_or_throw(const std::optional<std::string>& path,
                                                              std::uint64_t generation,
                                                              state::RuntimeRegistry& registry) {
  auto loaded = load(path, /*strict_secrets=*/false);
  if (!loaded.diagnostics.has_errors()) {
    auto snapshot = proxy::Snapshot::build(std::move(loaded.config), loaded.diagnostics, generation, registry);
    log_diagnostics(loaded.diagnostics);
    return loaded.diagnostics.has_errors() ? nullptr : snapshot;
  }
  log_diagnostics(loaded.diagnostics);
  return nullptr;
}

// Loading never ends the process: whatever escapes the loader is logged as a config problem.
std::shared_ptr<const proxy::Snapshot> load_snapshot(const std::optional<std::string>& path, std::uint64_t generation,
                                                     state::RuntimeRegistry& registry) {
  const auto label = path.value_or(std::string(kQuickstartLabel));
  try {
    return load_snapshot_or_throw(path, generation, registry);
  } catch (const std::bad_alloc&) {
    observe::log(Level::Error, "config problem", {{"problem", label + ": error: out of memory while loading"}});
  } catch (const std::exception& e) {
    observe::log(Level::Error, "config problem", {{"problem", label + ": error: cannot load: " + e.what()}});
  }
  return nullptr;
}

int open_access_log(const config::AccessLog& settings) {
  if (!settings.enabled) return -1;
  if (settings.path == "-" || settings.path.empty()) return STDOUT_FILENO;
  const int fd = ::open(settings.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    observe::log(Level::Error, "cannot open access log", {{"path", settings.path}, {"error", std::strerror(errno)}});
  }
  return fd;
}

// SIGUSR1 (log rotation): the access-log file is opened again at its path, after logrotate or
// an operator moved it away, and takes the place of the descriptor every worker writes to.
// dup2 swaps it atomically: a worker's write goes whole to the old file or to the new one, never
// to a closed descriptor. Standard output (path "-") has nothing to reopen; a path that cannot
// be opened keeps the old file and says why.
void reopen_access_log(const config::AccessLog& settings, int fd) {
  if (fd < 0 || fd == STDOUT_FILENO) {
    observe::log(Level::Info, "SIGUSR1: no access-log file to reopen");
    return;
  }
  const int fresh = ::open(settings.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fresh < 0) {
    observe::log(Level::Error, "cannot reopen access log; still writing to the old file",
                 {{"path", settings.path}, {"error", std::strerror(errno)}});
    return;
  }
  if (::dup3(fresh, fd, O_CLOEXEC) < 0) {
    observe::log(Level::Error, "cannot reopen access log; still writing to the old file",
                 {{"path", settings.path}, {"error", std::strerror(errno)}});
  } else {
    observe::log(Level::Info, "access log reopened", {{"path", settings.path}});
  }
  ::close(fresh);
}

// Gateway fields that a reload cannot apply to a running process.
std::vector<std::string> restart_only_changes(const config::GatewaySpec& running, const config::GatewaySpec& next) {
  std::vector<std::string> changed;
  auto same_listeners = running.listeners.size() == next.listeners.size();
  for (std::size_t i = 0; same_listeners && i < running.listeners.size(); ++i) {
    const auto& a = running.listeners[i];
    const auto& b = next.listeners[i];
    same_listeners = a.name == b.name && a.address == b.address && a.port == b.port;
  }
  if (!same_listeners) changed.push_back("spec.listeners");
  if (running.admin.address != next.admin.address || running.admin.port != next.admin.port ||
      running.admin.enabled != next.admin.enabled)
    changed.push_back("spec.admin");
  if (running.accessLog.enabled != next.accessLog.enabled || running.accessLog.path != next.accessLog.path ||
      running.accessLog.redactQueryParams != next.accessLog.redactQueryParams ||
      running.accessLog.fields != next.accessLog.fields)
    changed.push_back("spec.accessLog");
  if (running.workers != next.workers) changed.push_back("spec.workers");
  return changed;
}

int validate_or_throw(const std::string& config_path) {
  auto loaded = load(config_path, /*strict_secrets=*/true);
  std::size_t resources = 0;
  if (!loaded.diagnostics.has_errors()) {
    const auto& cfg = loaded.config;
    resources =
        (cfg.gateway ? 1 : 0) + cfg.secrets.size() + cfg.backends.size() + cfg.routes.size() + cfg.policies.size();
    proxy::Snapshot::build(std::move(loaded.config), loaded.diagnostics, 0);
  }
  for (const auto& d : loaded.diagnostics.items()) std::fprintf(stderr, "%s\n", d.format().c_str());
  const auto errors = loaded.diagnostics.error_count();
  if (errors > 0) {
    std::fprintf(stderr, "%s: %zu error%s\n", config_path.c_str(), errors, errors == 1 ? "" : "s");
    return 1;
  }
  std::printf("%s: OK (%zu resources)\n", config_path.c_str(), resources);
  return 0;
}

// The OTLP resource: service.name, service.version and an instance id new for each process.
observe::OtlpResource otlp_resource() {
  std::random_device random;
  char id[37];
  std::snprintf(id, sizeof id, "%08x-%04x-4%03x-%04x-%04x%08x", random(), random() & 0xffff, random() & 0xfff,
                (random() & 0x3fff) | 0x8000, random() & 0xffff, random());
  observe::OtlpResource resource;
  resource.attributes = {{"service.name", "sluice"}, {"service.version", SLUICE_VERSION}, {"service.instance.id", id}};
  resource.scope_version = SLUICE_VERSION;
  return resource;
}

// What the OTLP metrics export carries beside the collection of /metrics: the exporter's own
// counters and the workers' open connections and requests in flight.
observe::MetricCollection collect_process_metrics(const std::vector<std::unique_ptr<proxy::Worker>>& workers,
                                                  const observe::OtlpExporter& exporter, std::uint64_t start_nanos) {
  observe::MetricCollection out;
  out.start_unix_nanos = start_nanos;
  out.time_unix_nanos = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::int64_t connections = 0;
  std::int64_t requests = 0;
  for (const auto& w : workers) {
    connections += w->open_connections();
    requests += w->active_requests();
  }
  auto family = [&](std::string name, std::string unit, std::string description, observe::MetricKind kind,
                    double value) {
    observe::MetricFamily f;
    f.name = std::move(name);
    f.unit = std::move(unit);
    f.description = std::move(description);
    f.kind = kind;
    f.points.push_back(observe::MetricPoint{{}, value, {}, 0, 0});
    out.families.push_back(std::move(f));
  };
  family("sluice.open_connections", "{connection}", "Client connections open.", observe::MetricKind::Gauge,
         static_cast<double>(connections));
  family("sluice.active_requests", "{request}", "Requests in flight.", observe::MetricKind::Gauge,
         static_cast<double>(requests));
  family("sluice.otlp.exported_spans", "{span}", "Spans the OTLP collector accepted.", observe::MetricKind::Sum,
         static_cast<double>(exporter.exported_spans()));
  family("sluice.otlp.dropped_spans", "{span}", "Spans dropped before the collector took them.",
         observe::MetricKind::Sum, static_cast<double>(exporter.dropped_spans()));
  return out;
}

}  // namespace

int serve(const ServeOptions& options) {
  std::uint64_t generation = 1;
  // Provider health and benched keys, by Backend and provider name, kept across reloads.
  state::RuntimeRegistry runtime_state;
  // --watch compares the files with what they held before this load: an edit made before the
  // watcher is armed is not lost.
  std::string loaded_fingerprint;
  if (options.watch && options.config_path)
    loaded_fingerprint = ConfigWatcher::config_fingerprint(*options.config_path);
  auto snapshot = load_snapshot(options.config_path, generation, runtime_state);
  if (!snapshot) {
    observe::log(Level::Error, "configuration has errors; not starting",
                 {{"config", options.config_path.value_or(std::string(kQuickstartLabel))}});
    return 1;
  }
  // The series the configuration implies are scraped at 0 from the start.
  runtime_state.metric_series().publish(snapshot->metric_claims);
  const auto& gateway = snapshot->gateway();
  auto current = snapshot;   // the snapshot the workers serve, swapped by reloads
  std::mutex current_mutex;  // guards `current` and the last load's outcome against the admin thread
  bool last_reload_ok = true;
  double last_reload_time = unix_seconds_now();
  unsigned worker_count = options.workers.value_or(gateway.workers);
  if (worker_count == 0) worker_count = std::max(1u, std::thread::hardware_concurrency());

  const int log_fd = open_access_log(gateway.accessLog);
  if (gateway.accessLog.enabled && log_fd < 0) return 1;

  if (!options.reuse_port) {
    std::string error;
    if (!proxy::probe_listeners_free(gateway.listeners, &error)) {
      observe::log(Level::Error, "cannot start", {{"error", error}});
      return 1;
    }
  }
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  // OpenTelemetry export (Gateway spec.telemetry); reconfigured by every reload.
  const auto process_start_nanos = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  // The metrics of the families in the neutral model (observe::collect_metrics): any thread.
  const auto collect = [&workers, &runtime_state, &current, &current_mutex, &last_reload_ok, &last_reload_time] {
    std::vector<const observe::MetricsShard*> shards;
    for (const auto& w : workers) shards.push_back(&w->metrics_shard());
    observe::CollectContext context;
    {
      std::lock_guard lock(current_mutex);
      context.generation = current->generation;
      context.last_reload_ok = last_reload_ok;
      context.last_reload_unix_seconds = last_reload_time;
      context.providers = provider_states(*current);
    }
    return observe::collect_metrics(runtime_state.metric_series(), shards, context);
  };
  std::unique_ptr<observe::OtlpExporter> exporter;
  // The OTLP metrics: the families of /metrics' neutral model, then the process's own gauges and
  // the exporter's counters.
  exporter =
      std::make_unique<observe::OtlpExporter>(otlp_resource(), [&collect, &workers, &exporter, process_start_nanos] {
        auto out = collect();
        for (auto& family : collect_process_metrics(workers, *exporter, process_start_nanos).families)
          out.families.push_back(std::move(family));
        return out;
      });
  std::vector<std::uint16_t> ports(gateway.listeners.size(), 0);
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<proxy::Worker>(i, snapshot, log_fd));
    workers.back()->metrics().attach(&runtime_state.metric_series());
    workers.back()->spans().attach(exporter.get());
    std::string error;
    if (!workers.back()->bind(gateway.listeners, ports, &error)) {
      observe::log(Level::Error, "cannot start", {{"error", error}});
      return 1;
    }
  }

  std::atomic<bool> draining{false};
  admin::AdminServer admin_server(admin::AdminHandlers{
      .metrics =
          [&workers, &runtime_state, &current, &current_mutex, &collect, &exporter] {
            std::vector<const observe::MetricsShard*> shards;
            for (const auto& w : workers) shards.push_back(&w->metrics_shard());
            bool redis_configured = false;
            {
              std::lock_guard lock(current_mutex);
              redis_configured = current->redis != nullptr;
            }
            auto text = observe::render_prometheus(runtime_state.metric_series(), shards,
                                                   redis_configured ? runtime_state.redis_status().get() : nullptr);
            if (const auto limits = runtime_state.find<policy::GlobalLimitsRuntime>(policy::kLimitsStateKey))
              text += policy::render_limit_metrics(*limits);
            text += observe::render_collection(collect());
            text += exporter->render_prometheus();
            return text;
          },
      .status =
          [&current, &current_mutex, &runtime_state, &workers] {
            std::shared_ptr<const proxy::Snapshot> now;
            {
              std::lock_guard lock(current_mutex);
              now = current;
            }
            std::vector<observe::RecentError> errors;
            for (const auto& w : workers) w->recent_errors_ring().collect(errors);
            errors = observe::newest(std::move(errors), kRecentErrorsShown);
            const auto limits = runtime_state.find<policy::GlobalLimitsRuntime>(policy::kLimitsStateKey);
            if (!limits) return admin::render_status(*now, nullptr, &errors);
            const auto limit_status = policy::limit_status(*limits);
            return admin::render_status(*now, &limit_status, &errors);
          },
      .config =
          [&current, &current_mutex] {
            std::shared_ptr<const proxy::Snapshot> now;
            {
              std::lock_guard lock(current_mutex);
              now = current;
            }
            return admin::render_config(*now->config, now->generation);
          },
      .ready = [&draining] { return !draining.load(); },
      .spend =
          [&workers](std::string query, admin::AdminHandlers::SpendDone done) {
            auto& worker = *workers.front();
            asio::post(worker.io(), [&worker, query = std::move(query), done = std::move(done)]() mutable {
              auto* redis = worker.redis();
              if (redis == nullptr) {
                done(404, R"({"error":"no Redis: spend is recorded where budgets apply, with Gateway spec.redis"})");
                return;
              }
              asio::co_spawn(
                  worker.io(),
                  [](proxy::Worker& worker, std::string prefix, std::string principal,
                     admin::AdminHandlers::SpendDone done) -> http::Task<void> {
                    auto [status, body] = co_await admin::spend_report(worker, std::move(prefix), std::move(principal));
                    done(status, std::move(body));
                  }(worker, redis->endpoint().key_prefix, admin::principal_parameter(query), std::move(done)),
                  asio::detached);
            });
          },
      .set_clock = options.test_clock ? std::function<std::string(std::string_view)>([](std::string_view query) {
        const auto at = query.find("offsetMs=");
        const long long offset =
            at == std::string_view::npos ? 0 : std::atoll(std::string(query.substr(at + 9)).c_str());
        state::WallClock::set_offset(std::chrono::milliseconds(offset));
        return "clock offset " + std::to_string(offset) + " ms\n";
      })
                                      : nullptr,
  });
  if (gateway.admin.enabled) {
    std::string error;
    if (!admin_server.bind(gateway.admin, &error)) {
      observe::log(Level::Error, "cannot start", {{"error", error}});
      return 1;
    }
  }

  // Signals are caught before anything is announced: a SIGHUP or SIGTERM sent as soon as the
  // "listening" line appears must not meet the default action (terminate).
  asio::io_context main_io(1);
  asio::signal_set stop_signals(main_io, SIGTERM, SIGINT);
  asio::signal_set reload_signal(main_io, SIGHUP);
  asio::signal_set reopen_signal(main_io, SIGUSR1);
  // Remote JWKS: the first fetches end (keys or a logged failure) before anything is served.
  auto jwks_fetcher = std::make_unique<policy::JwksFetcher>(snapshot->config);
  jwks_fetcher->start();
  exporter->configure(gateway.telemetry);
  for (auto& w : workers) w->start();
  // Active health checks of the running configuration (a thread of their own, if any).
  auto checker = std::make_unique<proxy::HealthChecker>(snapshot);
  checker->start();
  // The providers' model lists, for GET …/models (a thread of its own, if any provider lists).
  auto model_fetcher = std::make_unique<proxy::ModelFetcher>(snapshot);
  model_fetcher->start();
  if (gateway.admin.enabled) admin_server.start();
  for (std::size_t i = 0; i < gateway.listeners.size(); ++i) {
    observe::log(Level::Info, "listening",
                 {{"listener", gateway.listeners[i].name},
                  {"address", gateway.listeners[i].address},
                  {"port", ports[i]},
                  {"workers", worker_count}});
  }
  // There is no client authentication yet: say so for every listener others can reach.
  for (std::size_t i = 0; i < gateway.listeners.size(); ++i) {
    if (proxy::loopback_address(gateway.listeners[i].address)) continue;
    observe::log(Level::Warning,
                 "listener is not on loopback and Sluice has no client authentication yet: anyone "
                 "who can reach "
                 "it can spend the configured provider keys",
                 {{"listener", gateway.listeners[i].name},
                  {"address", gateway.listeners[i].address + ":" + std::to_string(ports[i])}});
  }
  if (gateway.admin.enabled) {
    observe::log(Level::Info, "admin listening", {{"address", gateway.admin.address}, {"port", admin_server.port()}});
  }

  asio::steady_timer drain_timer(main_io);
  std::signal(SIGPIPE, SIG_IGN);

  // The one way a configuration is reloaded, for SIGHUP and for the file watcher (`trigger`
  // says which): load and validate the whole set, then swap it in or keep the running one.
  const auto reload = [&](std::string_view trigger) {
    if (!options.config_path) {
      observe::log(Level::Info, "reload ignored: serving the embedded quick-start config");
    } else if (auto next = load_snapshot(options.config_path, ++generation, runtime_state)) {
      // The new configuration's remote JWKS are fetched before it is served; the old fetcher
      // stops once it is replaced.
      auto next_fetcher = std::make_unique<policy::JwksFetcher>(next->config);
      next_fetcher->start();
      for (const auto& field : restart_only_changes(current->gateway(), next->gateway()))
        observe::log(Level::Warning, "Gateway change takes effect only after a restart", {{"field", field}});
      // Its series are scraped at 0 before the generation shows on /status.
      runtime_state.metric_series().publish(next->metric_claims);
      {
        std::lock_guard lock(current_mutex);
        current = next;
        last_reload_ok = true;
        last_reload_time = unix_seconds_now();
      }
      exporter->configure(next->gateway().telemetry);
      for (auto& w : workers) w->set_snapshot(next);
      // The state of providers the new configuration removed is no longer the registry's
      // (snapshots still serving their requests keep it until they end).
      runtime_state.retain(next->state_claims);
      jwks_fetcher->stop();
      jwks_fetcher = std::move(next_fetcher);
      checker->stop();
      checker = std::make_unique<proxy::HealthChecker>(next);
      checker->start();
      model_fetcher->stop();
      model_fetcher = std::make_unique<proxy::ModelFetcher>(next);
      model_fetcher->start();
      observe::log(Level::Info, "configuration reloaded", {{"generation", generation}, {"trigger", trigger}});
    } else {
      observe::log(Level::Error, "reload rejected; keeping the running configuration", {{"trigger", trigger}});
      {
        std::lock_guard lock(current_mutex);
        last_reload_ok = false;
        last_reload_time = unix_seconds_now();
      }
      runtime_state.retain(current->state_claims);  // whatever the rejected build added
    }
  };
  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reload("SIGHUP");
      wait_reload();
    });
  };
  wait_reload();
  // --watch: the same reload when the files change (on this thread, read through main_io).
  std::unique_ptr<ConfigWatcher> watcher;
  if (options.watch && options.config_path) {
    watcher = std::make_unique<ConfigWatcher>(
        main_io, ConfigWatcher::Options{.config_path = *options.config_path,
                                        .referenced_files = [&] { return referenced_files(*current->config); },
                                        .changed = [&] { reload("watch"); },
                                        .loaded_fingerprint = loaded_fingerprint});
    std::string error;
    if (!watcher->start(&error)) {
      observe::log(Level::Error, "cannot watch the configuration; reload with SIGHUP", {{"error", error}});
      watcher.reset();
    } else {
      observe::log(Level::Info, "watching the configuration", {{"config", *options.config_path}});
    }
  }
  std::function<void()> wait_reopen = [&] {
    reopen_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reopen_access_log(gateway.accessLog, log_fd);
      wait_reopen();
    });
  };
  wait_reopen();

  std::chrono::steady_clock::time_point drain_deadline;
  bool cut = false;
  // After the drain deadline, how long cut requests get to answer and log before the exit.
  static constexpr std::chrono::milliseconds kCutGrace{1000};
  std::function<void()> poll_drain = [&] {
    std::int64_t open = 0;
    bool drained = true;  // every worker closed its acceptors and counts what it accepted
    for (const auto& w : workers) {
      open += w->open_connections();
      drained = drained && w->drained();
    }
    const auto now = std::chrono::steady_clock::now();
    if (open > 0 && now >= drain_deadline && !cut) {
      // Requests still in flight are cut: each ends in-band (an error event in its client's
      // schema) and writes its access-log line within the grace period.
      observe::log(Level::Warning, "drain deadline reached; cutting what is in flight", {{"open_connections", open}});
      cut = true;
      for (auto& w : workers) w->cut();
    }
    if ((open == 0 && drained) || now >= drain_deadline + kCutGrace) {
      if (open > 0) observe::log(Level::Warning, "closing after the drain deadline", {{"open_connections", open}});
      reload_signal.cancel();
      reopen_signal.cancel();
      if (watcher) watcher->stop();
      stop_signals.cancel();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) poll_drain();
    });
  };
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    const auto drain_timeout = current->gateway().limits.drainTimeout;
    observe::log(Level::Info, "draining", {{"signal", signal}, {"deadline_ms", drain_timeout.count()}});
    draining = true;
    drain_deadline = std::chrono::steady_clock::now() + drain_timeout;
    for (auto& w : workers) w->drain();
    poll_drain();
  });

  main_io.run();
  jwks_fetcher->stop();
  model_fetcher->stop();
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  // The workers' last spans, then one last export.
  for (auto& w : workers) w->spans().flush();
  exporter->stop();
  // The admin thread renders /metrics from the workers' shards: it stops before they go.
  admin_server.stop();
  workers.clear();  // flushes access logs
  observe::log(Level::Info, "stopped");
  return 0;
}

int validate(const std::string& config_path) {
  try {
    return validate_or_throw(config_path);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory while loading\n", config_path.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: cannot load: %s\n", config_path.c_str(), e.what());
  }
  return 1;
}

}  // namespace sluice::app
