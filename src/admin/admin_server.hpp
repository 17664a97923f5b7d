// Admin listener: /healthz (process alive), /readyz (serving and not draining), /metrics
// (Prometheus text, merged from every worker's shard). Runs on its own thread and io_context
// so a slow scrape never touches a worker's event loop.
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
  std::function<bool()> ready;
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
