// Test support for driving the real proxy machinery over loopback sockets, in process:
//  - InProcessGateway: a snapshot compiled from inline YAML, served by one proxy::Worker (its
//    io_context on its own thread) on 127.0.0.1 with an ephemeral port; its access log goes to
//    an anonymous in-memory file the test reads back as JSON lines.
//  - ScriptedUpstream: a tiny HTTP/1.1 server on 127.0.0.1:0 (its own io_context and thread)
//    that records every request it receives (head and body) and answers each with the next
//    Reply of its script: raw bytes written piece by piece with optional pauses, held until the
//    test releases them, then the connection kept, closed or reset.
//  - RawClient: a blocking client socket that sends raw bytes and reads raw responses, each
//    read bounded by a timeout, so a test fails instead of hanging.
//  - ClosedPort: a loopback port that refuses connections (bound, never listening).
// Every object owns what it starts and stops it in its destructor. The test thread talks to
// the upstream's and the gateway's threads only through mutex-guarded records, an atomic flag
// and the log file; nothing else is shared.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "config/loader.hpp"
#include "http/io.hpp"
#include "pipeline/stage.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"

namespace sluice::testing {

namespace loopback_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
}  // namespace loopback_detail

// How long any wait of these helpers lasts at most before the test fails.
inline constexpr std::chrono::milliseconds kLoopbackTimeout{5000};

using Headers = std::vector<std::pair<std::string, std::string>>;

// ------------------------------------------------------------------------- raw HTTP bytes

// A complete response with a Content-Length body.
inline std::string http_response(unsigned status, std::string_view reason, const Headers& headers,
                                 std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

// The head of a chunked response (the chunks follow as their own pieces).
inline std::string chunked_head(unsigned status, std::string_view reason, const Headers& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Transfer-Encoding: chunked\r\n\r\n";
  return out;
}

// One chunk of a chunked body.
inline std::string chunk(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size, static_cast<std::size_t>(n)) + std::string(data) + "\r\n";
}

inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A request with a Content-Length body (`extra_headers`: "Name: value\r\n" lines).
inline std::string post_request(std::string_view target, std::string_view body, std::string_view extra_headers = {}) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + std::string(body);
}

inline std::string get_request(std::string_view target, std::string_view extra_headers = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: gateway.test\r\n" + std::string(extra_headers) + "\r\n";
}

// ------------------------------------------------------------------------- scripted upstream

// What the upstream writes for one request: `pieces` in order, each after its pause.
struct Reply {
  struct Piece {
    std::string bytes;
    std::chrono::milliseconds pause{0};  // before these bytes are written
  };
  enum class Ending {
    KeepOpen,  // the connection serves the next request
    Close,     // FIN after the last piece
    Reset,     // RST after the last piece (SO_LINGER 0)
  };
  std::vector<Piece> pieces;
  Ending ending = Ending::KeepOpen;
  std::chrono::milliseconds pause_before_ending{0};
  bool held = false;  // nothing is written until ScriptedUpstream::release()

  static Reply bytes(std::string raw) {
    Reply r;
    r.pieces.push_back({std::move(raw), {}});
    return r;
  }
};

class ScriptedUpstream {
 public:
  ScriptedUpstream() {
    namespace asio = loopback_detail::asio;
    const http::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedUpstream() {
    io_.stop();
    thread_.join();
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::uint16_t port() const { return port_; }

  // Appends the answer to the next request not yet answered (requests take replies in the
  // order they arrive, whatever their connection). A request beyond the script gets a 599.
  void script(Reply reply) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(reply));
  }
  // Held replies go out now, and later ones are not held.
  void release() { released_.store(true, std::memory_order_release); }

  // The requests received so far, in arrival order.
  std::vector<loopback_detail::bhttp::request<loopback_detail::bhttp::string_body>> requests() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  // Whether `count` requests arrived within `timeout`.
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout = kLoopbackTimeout) const {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  }
  // Connections accepted so far.
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  using Request = loopback_detail::bhttp::request<loopback_detail::bhttp::string_body>;

  http::Task<void> accept_loop() {
    namespace asio = loopback_detail::asio;
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(http::use_task);
      if (ec) co_return;
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  http::Task<void> serve(http::Socket socket) {
    namespace asio = loopback_detail::asio;
    namespace bhttp = loopback_detail::bhttp;
    loopback_detail::beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, http::use_task);
      if (ec) co_return;
      Reply reply;
      {
        std::lock_guard lock(mutex_);
        received_.push_back(parser.release());
        if (script_.empty()) {
          reply = Reply::bytes(http_response(599, "Unscripted", {}, "request beyond the test's script"));
        } else {
          reply = std::move(script_.front());
          script_.pop_front();
        }
      }
      arrived_.notify_all();
      http::Timer timer(io_);
      while (reply.held && !released_.load(std::memory_order_acquire)) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(http::use_task);
      }
      for (const auto& piece : reply.pieces) {
        if (piece.pause.count() > 0) {
          timer.expires_after(piece.pause);
          co_await timer.async_wait(http::use_task);
        }
        auto [wec, written] = co_await asio::async_write(socket, asio::buffer(piece.bytes), http::use_task);
        if (wec) co_return;
      }
      if (reply.ending == Reply::Ending::KeepOpen) continue;
      if (reply.pause_before_ending.count() > 0) {
        timer.expires_after(reply.pause_before_ending);
        co_await timer.async_wait(http::use_task);
      }
      boost::system::error_code ignored;
      if (reply.ending == Reply::Ending::Reset) {
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
      } else {
        socket.shutdown(http::Socket::shutdown_send, ignored);
      }
      socket.close(ignored);
      co_return;
    }
  }

  // Declared before io_: coroutine frames destroyed with io_ may still hold what they use.
  mutable std::mutex mutex_;
  mutable std::condition_variable arrived_;
  std::deque<Reply> script_;
  std::vector<Request> received_;
  std::size_t connections_ = 0;
  std::atomic<bool> released_{false};
  std::uint16_t port_ = 0;
  boost::asio::io_context io_{1};
  http::Acceptor acceptor_{io_};
  std::thread thread_;
};

// A loopback port nobody listens on: connecting is refused. The socket stays bound (without
// listen()) so no other test takes the port meanwhile.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// ------------------------------------------------------------------------- raw client

struct RawResponse {
  bool complete = false;  // a whole response arrived before the timeout or the end of the stream
  std::string raw;        // its bytes as received (head and framed body)
  loopback_detail::bhttp::response<loopback_detail::bhttp::string_body> message;  // parsed, body unframed

  unsigned status() const { return message.result_int(); }
  std::string header(std::string_view name) const {
    const auto it = message.find(name);
    return it == message.end() ? std::string() : std::string(it->value());
  }
  bool has_header(std::string_view name) const { return message.find(name) != message.end(); }
  const std::string& body() const { return message.body(); }
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("send to the gateway failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads one response; bytes after it stay for the next read.
  RawResponse read_response(std::chrono::milliseconds timeout = kLoopbackTimeout) {
    namespace bhttp = loopback_detail::bhttp;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    RawResponse out;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.eager(true);
    for (;;) {
      while (!pending_.empty() && !parser.is_done()) {
        boost::system::error_code ec;
        const auto used = parser.put(boost::asio::buffer(pending_), ec);
        out.raw.append(pending_, 0, used);
        pending_.erase(0, used);
        if (ec == bhttp::error::need_more || (!ec && used == 0)) break;
        if (ec) return out;
      }
      if (parser.is_done()) break;
      auto got = receive(deadline);
      if (!got) return out;  // timed out
      if (got->empty()) {    // the server closed: a body delimited by the close ends here
        boost::system::error_code ec;
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return out;
        break;
      }
      pending_ += *got;
    }
    out.complete = true;
    out.message = parser.release();
    return out;
  }

  // Reads until `needle` has arrived (it and everything before it are consumed and returned);
  // nullopt if it did not arrive in time.
  std::optional<std::string> read_until(std::string_view needle, std::chrono::milliseconds timeout = kLoopbackTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto at = pending_.find(needle); at != std::string::npos) {
        std::string out = pending_.substr(0, at + needle.size());
        pending_.erase(0, at + needle.size());
        return out;
      }
      auto got = receive(deadline);
      if (!got || got->empty()) return std::nullopt;
      pending_ += *got;
    }
  }

  // Whether the server closed the connection (end of stream or reset) within `timeout`,
  // dropping whatever else arrives meanwhile.
  bool wait_closed(std::chrono::milliseconds timeout = kLoopbackTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto got = receive(deadline);
      if (!got) return false;
      if (got->empty()) return true;
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  // What one read returns before `deadline`: nullopt on timeout, "" at the end of the stream
  // (or a reset).
  std::optional<std::string> receive(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char data[16 * 1024];
      const auto n = ::recv(fd_, data, sizeof data, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::string();
      return std::string(data, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  std::string pending_;
};

// ------------------------------------------------------------------------- in-process gateway

struct GatewayOptions {
  bool capture_usage = true;  // spec.accessLog.captureUsage
  // Added to every rule's chain before the worker starts (a probe observing the phases).
  std::shared_ptr<const pipeline::Stage> rule_stage;
};

class InProcessGateway {
 public:
  // `resources`: Backends, HTTPRoutes, TrafficPolicies... as YAML documents; the Gateway
  // resource (one listener on 127.0.0.1, port 0; the access log on) is added here. Loading or
  // compiling errors throw (the test fails with the diagnostics).
  explicit InProcessGateway(const std::string& resources, GatewayOptions options = {}) {
    const std::string gateway =
        "apiVersion: sluice.dev/v1alpha1\nkind: Gateway\nmetadata: {name: sluice}\nspec:\n"
        "  listeners: [{name: http, address: 127.0.0.1, port: 0}]\n"
        "  accessLog: {enabled: true, captureUsage: " +
        std::string(options.capture_usage ? "true" : "false") + "}\n";
    auto loaded = config::load_sources({{"gateway.yaml", gateway}, {"test.yaml", resources}});
    if (loaded.diagnostics.has_errors()) throw std::runtime_error(loaded.diagnostics.format_all());
    auto snapshot = proxy::Snapshot::build(std::move(loaded.config), loaded.diagnostics, 1);
    if (loaded.diagnostics.has_errors()) throw std::runtime_error(loaded.diagnostics.format_all());
    if (options.rule_stage) {
      // Snapshot::build made the snapshot mutable and nobody else holds it yet: stages may
      // still be added before a worker sees it.
      auto& mutable_snapshot = const_cast<proxy::Snapshot&>(*snapshot);
      for (auto& chain : mutable_snapshot.rule_chains) chain.add(options.rule_stage);
    }
    snapshot_ = std::move(snapshot);
    log_fd_ = ::memfd_create("access-log", MFD_CLOEXEC);
    if (log_fd_ < 0) throw std::runtime_error("memfd_create failed");
    worker_ = std::make_unique<proxy::Worker>(0, snapshot_, log_fd_);
    std::vector<std::uint16_t> ports;
    std::string error;
    if (!worker_->bind(snapshot_->gateway().listeners, ports, &error)) throw std::runtime_error(error);
    port_ = ports.front();
    worker_->start();
  }
  ~InProcessGateway() {
    worker_.reset();  // stops and joins the worker thread
    if (log_fd_ >= 0) ::close(log_fd_);
  }
  InProcessGateway(const InProcessGateway&) = delete;
  InProcessGateway& operator=(const InProcessGateway&) = delete;

  std::uint16_t port() const { return port_; }
  const proxy::Snapshot& snapshot() const { return *snapshot_; }

  // The access-log lines written so far (the worker flushes every 50 ms).
  std::vector<boost::json::object> access_log() const {
    std::string text;
    char data[16 * 1024];
    for (off_t offset = 0;;) {
      const auto n = ::pread(log_fd_, data, sizeof data, offset);
      if (n <= 0) break;
      text.append(data, static_cast<std::size_t>(n));
      offset += n;
    }
    std::vector<boost::json::object> lines;
    for (std::size_t start = 0; start < text.size();) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) break;  // a line is written whole: this cannot happen
      lines.push_back(boost::json::parse(std::string_view(text).substr(start, end - start)).as_object());
      start = end + 1;
    }
    return lines;
  }
  // The lines whose client path is `path`.
  std::vector<boost::json::object> access_log_for(std::string_view path) const {
    std::vector<boost::json::object> out;
    for (auto& line : access_log())
      if (line.contains("path") && line.at("path").as_string() == path) out.push_back(std::move(line));
    return out;
  }
  // Whether at least `count` lines for `path` were written within `timeout`.
  bool wait_for_access_log(std::string_view path, std::size_t count = 1,
                           std::chrono::milliseconds timeout = kLoopbackTimeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (access_log_for(path).size() < count) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

 private:
  std::shared_ptr<const proxy::Snapshot> snapshot_;
  int log_fd_ = -1;
  std::unique_ptr<proxy::Worker> worker_;
  std::uint16_t port_ = 0;
};

}  // namespace sluice::testing
