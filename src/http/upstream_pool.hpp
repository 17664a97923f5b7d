// Upstream connections and their keep-alive pool. One UpstreamPool per worker, used only from
// that worker's thread: no locks. A connection is pooled only when its read buffer is empty
// (nothing of a next message was read) and, over TLS, OpenSSL holds no unread record. Before
// every reuse it is checked with a non-blocking peek: a close, a reset or bytes nobody asked for
// that arrived while it sat idle drop it, before any byte of a request is written. It is
// dropped after `idle_limit` unused. Every connection's read buffer is bounded
// (kUpstreamBufferLimit): a read that would grow it further fails with buffer_overflow.
// Connections are pooled under their endpoint's pool_key, which names everything that shapes a
// connection (scheme, host, port, SNI, verification name, trust settings): a reload keeps the
// pool (retain) and drops only keys the new configuration no longer has; a connection given
// back later under such a key (a request that started before the reload) is dropped by
// sweep() once its idle limit passes, like any other.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/deadline.hpp"
#include "http/io.hpp"
#include "http/upstream_endpoint.hpp"

namespace sluice::http {

// The most bytes an upstream connection's read buffer may hold: a response head (at most
// kUpstreamHeaderLimit), a chunk-size line with its extensions, or a trailer section must fit.
inline constexpr std::size_t kUpstreamHeaderLimit = 64 * 1024;
inline constexpr std::size_t kUpstreamBufferLimit = 128 * 1024;

struct UpstreamConnection {
  explicit UpstreamConnection(DeadlineList& deadlines)
      : buffer(kUpstreamBufferLimit), deadline(deadlines, [this] {
          boost::system::error_code ignored;
          lowest().cancel(ignored);
        }) {}

  std::optional<Socket> plain;
  std::optional<boost::beast::ssl_stream<Socket>> tls;
  boost::beast::flat_buffer buffer;
  Deadline deadline;                                 // bounds every operation on this connection; arm before each one
  std::chrono::steady_clock::time_point idle_since;  // when it was last pooled
  std::chrono::steady_clock::time_point idle_deadline;  // pooled: dropped after this

  Socket& lowest() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }
  // False when the peer has closed (or sent unexpected bytes) while the connection sat idle.
  bool still_usable();
};

enum class ConnectFailure { None, Resolve, Refused, Timeout, Tls, Other };

struct ConnectResult {
  std::unique_ptr<UpstreamConnection> connection;
  ConnectFailure failure = ConnectFailure::None;
  std::string error;  // human-readable, never contains credentials
};

class UpstreamPool {
 public:
  UpstreamPool(Executor executor, DeadlineList& deadlines) : executor_(std::move(executor)), deadlines_(deadlines) {}

  // An idle, live connection to `endpoint`, or nullptr.
  std::unique_ptr<UpstreamConnection> take(const UpstreamEndpoint& endpoint);
  // Returns a connection whose last exchange completed cleanly; kept at most `idle_limit`.
  // Closes it instead when unread bytes remain (in its buffer or in the TLS layer).
  void give_back(const UpstreamEndpoint& endpoint, std::unique_ptr<UpstreamConnection> connection,
                 std::chrono::milliseconds idle_limit);
  // Opens a new connection (TCP, then TLS when the endpoint wants it).
  Task<ConnectResult> connect(const UpstreamEndpoint& endpoint, std::chrono::milliseconds timeout);
  // Drops idle connections past their deadline.
  void sweep();
  // Drops every idle connection whose pool key is not in `keys` (after a reload).
  void retain(const std::unordered_set<std::string>& keys);
  void clear() { idle_.clear(); }
  // Idle connections pooled under `pool_key` (tests).
  std::size_t idle_count(const std::string& pool_key) const {
    const auto it = idle_.find(pool_key);
    return it == idle_.end() ? 0 : it->second.size();
  }

 private:
  static constexpr std::size_t kMaxIdlePerEndpoint = 256;
  static constexpr std::size_t kUpstreamReadBytes = 16 * 1024;

  Executor executor_;
  DeadlineList& deadlines_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace sluice::http
