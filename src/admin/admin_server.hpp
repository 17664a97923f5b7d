// Admin listener: /healthz (process alive), /readyz (serving and not draining), /metrics
// (Prometheus text, merged from every worker's shard), /status, /config (the running
// configuration, secrets redacted), / and /ui (the status page, admin/status_page.hpp), /spend (spend and budgets from
// Redis, answered asynchronously). Runs on its own thread and io_context so a slow scrape never
// touches a worker's event loop.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/resources.hpp"

namespace sluice::admin {

struct AdminHandlers {
  std::function<std::string()> metrics;  // called on the admin thread
  std::function<std::string()> status;   // /status JSON, called on the admin thread
  std::function<std::string()> config;   // /config JSON (admin/effective_config.hpp), on the admin thread
  std::function<bool()> ready;
  // GET /spend?principal=P: starts the query (on the admin thread) and calls `done` once, from
  // any thread, with the answer's status and JSON body. Null: no /spend.
  using SpendDone = std::function<void(unsigned status, std::string body)>;
  std::function<void(std::string query, SpendDone done)> spend;
  // POST /debug/clock?offsetMs=N: moves the limits' clock (state/clock.hpp); set only with
  // `sluice serve --test-clock`, else the path does not exist.
  std::function<std::string(std::string_view query)> set_clock;
};

class AdminServer {
 public:
  explicit AdminServer(AdminHandlers handlers);
  ~AdminServer();
  bool bind(const config::AdminListener& listener, std::string* error);
  std::uint16_t port() const { return port_; }
  void start();
  void stop();

 private:
  AdminHandlers handlers_;
  boost::asio::io_context io_{1};
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace sluice::admin
