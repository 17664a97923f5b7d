// RedisClient: one worker's connection to the Gateway's Redis (spec.redis), for global rate
// limits, budgets and the shared response cache. Asynchronous on the worker's io_context: a
// command never blocks the event loop, and commands from every request of the worker are
// pipelined on one connection (written as they come, replies matched in order), so a request's
// check costs one round trip, not one connection.
//
// Wire: RESP2, commands encoded as arrays of bulk strings, replies parsed with hiredis's
// redisReader (transport-agnostic; the socket, TLS and timeouts are Asio's). Plain TCP or TLS
// (spec.redis.tls), then AUTH (username and password from the Secret) and SELECT when set.
//
// Failures are answers, not exceptions: a command that cannot be sent or is not answered
// within spec.redis.timeout completes with a RedisResult whose `failure` says why
// (unavailable, timeout, protocol, auth); the connection is then dropped and every command in
// flight on it fails the same way. The next command reconnects, at most once per
// kReconnectBackoff after a failed connect (commands in between fail at once, "unavailable",
// so a dead Redis costs nothing per request but the failure mode's decision).
//
// Scripts: eval() sends EVALSHA and, when the server does not know the script (NOSCRIPT, a
// restarted or flushed server), SCRIPT LOAD then EVALSHA once more.
//
// Every command's outcome and latency is counted in the process's RedisStatus (for /status
// and the metrics).
//
// Thread-safety: worker-thread only (the Worker owns one per Redis endpoint, state/redis_client
// is made by Worker::redis()). Arguments are copied into the write buffer before the first
// suspension; what a caller passes need not outlive the co_await (GCC 12: still bind spans to
// named locals before co_await).
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/io.hpp"

namespace sluice::state {

// How to reach the server: spec.redis, with the Secret resolved and the TLS context made (by the
// snapshot). Two endpoints that compare equal share a connection's identity: a reload that
// keeps them keeps the worker's connection.
struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;
  std::string password;
  bool tls = false;
  std::string sni;                                         // sent when not empty (never an IP literal)
  bool verify_peer = true;                                 // tls: the certificate must name `host`
  std::string ca_pem;                                      // tls: the CA it trusts (empty: the system's)
  std::shared_ptr<boost::asio::ssl::context> tls_context;  // tls only, made from ca_pem / verify_peer
  unsigned database = 0;
  std::chrono::milliseconds timeout{250};
  std::string key_prefix = "sluice:";
  // "host:port" ("[v6]:port") for logs and /status (never the password).
  std::string display() const;
  // Every field but key_prefix and tls_context (remade per snapshot; ca_pem and verify_peer
  // say what it holds) is equal.
  bool same_connection(const RedisEndpoint& other) const;
};

struct RedisReply {
  enum class Type : std::uint8_t { Nil, Integer, String, Status, Error, Array };
  Type type = Type::Nil;
  std::int64_t integer = 0;
  std::string text;  // String, Status and Error
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::Error; }
  // The integer of an Integer reply, or of a String reply holding one; `fallback` otherwise.
  std::int64_t as_integer(std::int64_t fallback = 0) const;
};

struct RedisResult {
  enum class Failure : std::uint8_t { None, Unavailable, Timeout, Protocol, Auth };
  Failure failure = Failure::None;
  std::string message;  // the failure, for logs and /status (no password, no key values)
  RedisReply reply;     // when failure == None (may itself be an Error reply)

  bool ok() const { return failure == Failure::None && !reply.is_error(); }
};

std::string_view failure_label(RedisResult::Failure failure);  // "unavailable", "timeout", ...

// A Lua script and its SHA1 (hex), computed once.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

// Process-wide, for /status and metrics: every worker's client counts into it. Thread-safe
// (atomics; the last error under a mutex, written only on failure).
class RedisStatus {
 public:
  void count_reply(std::chrono::nanoseconds latency);
  void count_failure(RedisResult::Failure failure, std::string_view message);
  void set_connected(bool connected);  // a worker's connection came up or went down

  std::uint64_t replies() const { return replies_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  std::uint64_t failures(RedisResult::Failure failure) const;
  std::int64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  // Cumulative latency of answered commands, for an average and the metrics' sum.
  std::uint64_t latency_ns_total() const { return latency_ns_.load(std::memory_order_relaxed); }
  // Histogram of answered commands' latency (buckets kLatencyBucketsMicros, cumulative counts).
  static constexpr std::uint64_t kLatencyBucketsMicros[] = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000};
  std::uint64_t latency_bucket(std::size_t index) const;
  std::string last_error() const;
  std::int64_t last_error_unix_ms() const { return last_error_ms_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> replies_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> failures_by_kind_[5]{};
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> latency_ns_{0};
  std::atomic<std::uint64_t> latency_buckets_[std::size(kLatencyBucketsMicros) + 1]{};
  std::atomic<std::int64_t> last_error_ms_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

class RedisClient {
 public:
  static constexpr std::chrono::milliseconds kReconnectBackoff{500};
  // Replies larger than this (a cache entry, bounded by maxEntryBytes well below) fail as
  // protocol errors instead of growing the buffer without bound.
  static constexpr std::size_t kMaxReplyBytes = 64 * 1024 * 1024;

  RedisClient(boost::asio::io_context& io, RedisEndpoint endpoint, RedisStatus& status);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command ("GET", key ...), pipelined behind the others in flight.
  http::Task<RedisResult> command(std::span<const std::string_view> args);
  // EVALSHA script numkeys keys... args..., loading the script on NOSCRIPT.
  http::Task<RedisResult> eval(const RedisScript& script, std::span<const std::string_view> keys,
                               std::span<const std::string_view> args);

  const RedisEndpoint& endpoint() const { return endpoint_; }
  bool connected() const;
  // Closes the connection; commands in flight fail (Unavailable). Used when a reload drops or
  // replaces the endpoint, and at shutdown.
  void close();

 private:
  struct Impl;
  static http::Task<RedisResult> eval_with_load(std::shared_ptr<Impl> impl, std::string evalsha, std::string load);

  RedisEndpoint endpoint_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::state
