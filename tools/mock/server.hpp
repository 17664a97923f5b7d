// The HTTP/1.1 transport of the mock: one io_context and one SO_REUSEPORT acceptor per thread,
// keep-alive connections served by C++20 coroutines, optional TLS (1.2+), bodies read fully
// (Content-Length or chunked, 64 MiB limit, Expect: 100-continue answered). It executes the
// plans made by the responder: latency and stream pacing use asynchronous timers, resets close
// the socket with SO_LINGER 0 so the peer sees an RST.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "responder.hpp"

namespace sluice::mock {

struct TlsFiles {
  std::string certificate_chain;  // PEM
  std::string private_key;        // PEM
};

struct ServerConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8090;  // 0 picks an ephemeral port
  int threads = 1;
  std::optional<TlsFiles> tls;
  bool log_requests = false;  // one JSON line per request on stderr
  Defaults defaults;
};

class Server {
 public:
  // Binds and listens on every thread's acceptor; throws on failure. Serves nothing until start().
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string address() const;
  std::uint16_t port() const;

  void start();
  // Stops serving and joins the threads; open connections are dropped.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::mock
