#include "state/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <optional>

#include "http/tls_client.hpp"

namespace sluice::state {

namespace asio = boost::asio;
using http::use_task;
using Clock = std::chrono::steady_clock;
using Failure = RedisResult::Failure;

// ---------------------------------------------------------------- small types

std::string RedisEndpoint::display() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool RedisEndpoint::same_connection(const RedisEndpoint& other) const {
  return host == other.host && port == other.port && username == other.username && password == other.password &&
         tls == other.tls && sni == other.sni && verify_peer == other.verify_peer && ca_pem == other.ca_pem &&
         database == other.database && timeout == other.timeout;
}

std::int64_t RedisReply::as_integer(std::int64_t fallback) const {
  if (type == Type::Integer) return integer;
  if (type != Type::String) return fallback;
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty() ? value : fallback;
}

std::string_view failure_label(RedisResult::Failure failure) {
  switch (failure) {
    case Failure::None:
      return "ok";
    case Failure::Unavailable:
      return "unavailable";
    case Failure::Timeout:
      return "timeout";
    case Failure::Protocol:
      return "protocol";
    case Failure::Auth:
      return "auth";
  }
  return "unknown";
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(2 * SHA_DIGEST_LENGTH);
  for (const unsigned char byte : digest) {
    sha1_.push_back(kHex[byte >> 4]);
    sha1_.push_back(kHex[byte & 0xf]);
  }
}

// ---------------------------------------------------------------- RedisStatus

void RedisStatus::count_reply(std::chrono::nanoseconds latency) {
  replies_.fetch_add(1, std::memory_order_relaxed);
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  latency_ns_.fetch_add(ns, std::memory_order_relaxed);
  const auto micros = ns / 1000;
  std::size_t bucket = 0;
  while (bucket < std::size(kLatencyBucketsMicros) && micros > kLatencyBucketsMicros[bucket]) ++bucket;
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
}

void RedisStatus::count_failure(RedisResult::Failure failure, std::string_view message) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  failures_by_kind_[static_cast<std::size_t>(failure)].fetch_add(1, std::memory_order_relaxed);
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::lock_guard lock(error_mutex_);
  last_error_.assign(message);
  last_error_ms_.store(now.count(), std::memory_order_relaxed);
}

void RedisStatus::set_connected(bool connected) {
  connections_.fetch_add(connected ? 1 : -1, std::memory_order_relaxed);
}

std::uint64_t RedisStatus::failures(RedisResult::Failure failure) const {
  return failures_by_kind_[static_cast<std::size_t>(failure)].load(std::memory_order_relaxed);
}

std::uint64_t RedisStatus::latency_bucket(std::size_t index) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= index && i < std::size(latency_buckets_); ++i)
    cumulative += latency_buckets_[i].load(std::memory_order_relaxed);
  return cumulative;
}

std::string RedisStatus::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

// ---------------------------------------------------------------- the client

namespace {

void append_command(std::string& out, std::span<const std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out.append(arg);
    out += "\r\n";
  }
}

RedisReply convert(const redisReply& r) {
  RedisReply reply;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      reply.type = RedisReply::Type::Integer;
      reply.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      reply.type = r.type == REDIS_REPLY_STRING   ? RedisReply::Type::String
                   : r.type == REDIS_REPLY_STATUS ? RedisReply::Type::Status
                                                  : RedisReply::Type::Error;
      reply.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      reply.type = RedisReply::Type::Array;
      reply.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) reply.elements.push_back(convert(*r.element[i]));
      break;
    default:
      reply.type = RedisReply::Type::Nil;
  }
  return reply;
}

struct ReaderDeleter {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};

}  // namespace

// One command waiting for its reply. Handshake entries (AUTH, SELECT) have no waiter: their
// reply is checked by the reader.
struct Pending {
  enum class Kind : std::uint8_t { Command, Auth, Select };
  Pending(asio::io_context& io, Kind k) : kind(k), timer(io) {}
  Kind kind;
  http::Timer timer;  // the waiter sleeps on it until the deadline; completion cancels it
  bool done = false;
  Clock::time_point started = Clock::now();
  RedisResult result;
};

// One TCP (or TLS) connection and the commands written on it, in order.
struct Connection {
  explicit Connection(asio::io_context& io) : resolver(io), socket(io), wake(io) {}
  http::Resolver resolver;
  http::Socket socket;
  std::optional<asio::ssl::stream<http::Socket>> tls;
  http::Timer wake;  // the writer sleeps on it; cancelled when there is something to write
  std::string write_buffer;
  std::deque<std::shared_ptr<Pending>> in_flight;
  std::unique_ptr<redisReader, ReaderDeleter> reader{redisReaderCreate()};
  bool ready = false;            // connected (and TLS up): the writer runs
  unsigned handshake_steps = 0;  // AUTH and SELECT not answered yet
  bool handshake_done = false;   // connected and every handshake step answered OK
  bool counted_connected = false;
  bool dropped = false;
};

struct RedisClient::Impl : std::enable_shared_from_this<RedisClient::Impl> {
  Impl(asio::io_context& io_context, RedisEndpoint ep, RedisStatus& s)
      : io(io_context), endpoint(std::move(ep)), status(s) {}

  asio::io_context& io;
  RedisEndpoint endpoint;
  RedisStatus& status;
  std::shared_ptr<Connection> connection;
  Clock::time_point backoff_until{};
  std::string backoff_reason;
  bool closed = false;

  // Queues an encoded command (or a handshake step) on the connection, connecting first when
  // there is none. Null when the command fails at once (closed, in backoff): `failure` says why.
  std::shared_ptr<Pending> enqueue(std::string&& encoded, RedisResult& failure) {
    if (closed) {
      failure = RedisResult{Failure::Unavailable, "redis client closed", {}};
      return nullptr;
    }
    if (!connection) {
      if (Clock::now() < backoff_until) {
        failure =
            RedisResult{Failure::Unavailable, "redis " + endpoint.display() + " unavailable: " + backoff_reason, {}};
        return nullptr;
      }
      start_connection();
    }
    auto pending = std::make_shared<Pending>(io, Pending::Kind::Command);
    pending->timer.expires_at(pending->started + endpoint.timeout);
    connection->write_buffer += encoded;
    connection->in_flight.push_back(pending);
    if (connection->ready) connection->wake.cancel();
    return pending;
  }

  void start_connection() {
    connection = std::make_shared<Connection>(io);
    // The handshake goes first: every command queued while connecting follows it.
    if (!endpoint.password.empty()) {
      std::vector<std::string_view> auth{"AUTH"};
      if (!endpoint.username.empty()) auth.push_back(endpoint.username);
      auth.push_back(endpoint.password);
      append_command(connection->write_buffer, auth);
      connection->in_flight.push_back(std::make_shared<Pending>(io, Pending::Kind::Auth));
      ++connection->handshake_steps;
    }
    if (endpoint.database != 0) {
      const auto database = std::to_string(endpoint.database);
      const std::string_view select[] = {"SELECT", database};
      append_command(connection->write_buffer, select);
      connection->in_flight.push_back(std::make_shared<Pending>(io, Pending::Kind::Select));
      ++connection->handshake_steps;
    }
    asio::co_spawn(io, connect(shared_from_this(), connection), asio::detached);
  }

  static http::Task<void> connect(std::shared_ptr<Impl> self, std::shared_ptr<Connection> conn) {
    const auto& ep = self->endpoint;
    const auto port = std::to_string(ep.port);
    auto [rec, results] = co_await conn->resolver.async_resolve(ep.host, port, use_task);
    if (conn->dropped) co_return;
    if (rec) {
      self->drop(conn, Failure::Unavailable, "cannot resolve redis " + ep.display() + ": " + rec.message());
      co_return;
    }
    auto [cec, connected_to] = co_await asio::async_connect(conn->socket, results, use_task);
    if (conn->dropped) co_return;
    if (cec) {
      self->drop(conn, Failure::Unavailable, "cannot connect to redis " + ep.display() + ": " + cec.message());
      co_return;
    }
    boost::system::error_code ignored;
    conn->socket.set_option(http::tcp::no_delay(true), ignored);
    if (ep.tls) {
      if (!ep.tls_context) {
        self->drop(conn, Failure::Unavailable, "no TLS context for redis " + ep.display());
        co_return;
      }
      conn->tls.emplace(std::move(conn->socket), *ep.tls_context);
      auto& tls = *conn->tls;
      const auto& name = ep.sni.empty() ? ep.host : ep.sni;
      if (!ep.sni.empty() || !http::is_ip_literal(ep.host)) SSL_set_tlsext_host_name(tls.native_handle(), name.c_str());
      if (ep.verify_peer) {
        tls.set_verify_mode(asio::ssl::verify_peer);
        tls.set_verify_callback(asio::ssl::host_name_verification(name));
      }
      auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_task);
      if (conn->dropped) co_return;
      if (hec) {
        self->drop(conn, Failure::Unavailable,
                   "TLS handshake with redis " + ep.display() + " failed: " + hec.message());
        co_return;
      }
    }
    conn->ready = true;
    if (conn->handshake_steps == 0) self->mark_connected(*conn);
    asio::co_spawn(self->io, write_loop(self, conn), asio::detached);
    asio::co_spawn(self->io, read_loop(self, conn), asio::detached);
  }

  void mark_connected(Connection& conn) {
    conn.handshake_done = true;
    conn.counted_connected = true;
    status.set_connected(true);
  }

  static http::Task<void> write_loop(std::shared_ptr<Impl> self, std::shared_ptr<Connection> conn) {
    std::string out;
    while (!conn->dropped) {
      if (conn->write_buffer.empty()) {
        conn->wake.expires_at(Clock::time_point::max());
        co_await conn->wake.async_wait(use_task);
        continue;
      }
      out.clear();
      out.swap(conn->write_buffer);
      const auto buffer = asio::buffer(out);
      boost::system::error_code ec;
      if (conn->tls) {
        auto [wec, n] = co_await asio::async_write(*conn->tls, buffer, use_task);
        ec = wec;
      } else {
        auto [wec, n] = co_await asio::async_write(conn->socket, buffer, use_task);
        ec = wec;
      }
      if (conn->dropped) co_return;
      if (ec) {
        self->drop(conn, Failure::Unavailable,
                   "write to redis " + self->endpoint.display() + " failed: " + ec.message());
        co_return;
      }
    }
  }

  static http::Task<void> read_loop(std::shared_ptr<Impl> self, std::shared_ptr<Connection> conn) {
    std::vector<char> chunk(16 * 1024);
    while (!conn->dropped) {
      const auto buffer = asio::buffer(chunk);
      boost::system::error_code ec;
      std::size_t n = 0;
      if (conn->tls) {
        auto [rec, got] = co_await conn->tls->async_read_some(buffer, use_task);
        ec = rec;
        n = got;
      } else {
        auto [rec, got] = co_await conn->socket.async_read_some(buffer, use_task);
        ec = rec;
        n = got;
      }
      if (conn->dropped) co_return;
      if (ec) {
        const auto message = ec == asio::error::eof
                                 ? "redis " + self->endpoint.display() + " closed the connection"
                                 : "read from redis " + self->endpoint.display() + " failed: " + ec.message();
        self->drop(conn, Failure::Unavailable, message);
        co_return;
      }
      auto* reader = conn->reader.get();
      if (redisReaderFeed(reader, chunk.data(), n) != REDIS_OK || reader->len - reader->pos > kMaxReplyBytes) {
        self->drop(conn, Failure::Protocol,
                   "redis " + self->endpoint.display() + " sent a reply larger than " + std::to_string(kMaxReplyBytes) +
                       " bytes");
        co_return;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
          self->drop(conn, Failure::Protocol,
                     "malformed reply from redis " + self->endpoint.display() + ": " + std::string(reader->errstr));
          co_return;
        }
        if (raw == nullptr) break;
        auto* reply = static_cast<redisReply*>(raw);
        auto converted = convert(*reply);
        freeReplyObject(reply);
        if (conn->in_flight.empty()) {
          self->drop(conn, Failure::Protocol, "unexpected reply from redis " + self->endpoint.display());
          co_return;
        }
        auto pending = std::move(conn->in_flight.front());
        conn->in_flight.pop_front();
        if (pending->kind != Pending::Kind::Command) {
          if (!self->handshake_reply(conn, *pending, converted)) co_return;
          continue;
        }
        pending->result.reply = std::move(converted);
        self->complete(*pending);
      }
    }
  }

  // False when the handshake failed (the connection is then dropped).
  bool handshake_reply(const std::shared_ptr<Connection>& conn, const Pending& pending, const RedisReply& reply) {
    const bool auth = pending.kind == Pending::Kind::Auth;
    if (reply.is_error()) {
      const auto message = auth ? "redis " + endpoint.display() + " refused AUTH" +
                                      (endpoint.username.empty() ? "" : " as user \"" + endpoint.username + "\"") +
                                      ": " + reply.text
                                : "redis " + endpoint.display() + " refused SELECT " +
                                      std::to_string(endpoint.database) + ": " + reply.text;
      drop(conn, Failure::Auth, message);
      return false;
    }
    if (--conn->handshake_steps == 0) mark_connected(*conn);
    return true;
  }

  void complete(Pending& pending) {
    pending.done = true;
    if (pending.result.failure == Failure::None)
      status.count_reply(Clock::now() - pending.started);
    else
      status.count_failure(pending.result.failure, pending.result.message);
    pending.timer.cancel();
  }

  // Closes `conn` (if it is still the current connection) and fails every command on it.
  // A connection that never finished its handshake counts as a failed connect: commands fail
  // at once for kReconnectBackoff.
  void drop(std::shared_ptr<Connection> conn, Failure failure,
            const std::string& message) {  // by value: may be `connection`
    if (!conn || conn->dropped) return;
    conn->dropped = true;
    if (connection == conn) connection.reset();
    if (!conn->handshake_done) {
      backoff_until = Clock::now() + kReconnectBackoff;
      backoff_reason = message;
    }
    if (conn->counted_connected) status.set_connected(false);
    boost::system::error_code ignored;
    conn->resolver.cancel();
    conn->wake.cancel();
    if (conn->tls)
      conn->tls->next_layer().close(ignored);
    else
      conn->socket.close(ignored);
    auto in_flight = std::move(conn->in_flight);
    conn->in_flight.clear();
    for (auto& pending : in_flight) {
      if (pending->kind != Pending::Kind::Command) continue;
      pending->result.failure = failure;
      pending->result.message = message;
      complete(*pending);
    }
  }

  static http::Task<RedisResult> run(std::shared_ptr<Impl> self, std::string encoded) {
    RedisResult failed;
    auto pending = self->enqueue(std::move(encoded), failed);
    if (!pending) {
      self->status.count_failure(failed.failure, failed.message);
      co_return failed;
    }
    auto conn = self->connection;
    while (!pending->done) {
      auto [ec] = co_await pending->timer.async_wait(use_task);
      if (pending->done) break;
      if (ec == asio::error::operation_aborted) continue;
      self->drop(conn, Failure::Timeout,
                 "redis " + self->endpoint.display() + " did not answer within " +
                     std::to_string(self->endpoint.timeout.count()) + " ms");
      if (!pending->done) {  // a connection already replaced: this command alone fails
        pending->result.failure = Failure::Timeout;
        pending->result.message = "redis " + self->endpoint.display() + " did not answer in time";
        self->complete(*pending);
      }
    }
    co_return std::move(pending->result);
  }

  void close() {
    closed = true;
    drop(connection, Failure::Unavailable, "redis client closed");
  }
};

RedisClient::RedisClient(boost::asio::io_context& io, RedisEndpoint endpoint, RedisStatus& status)
    : endpoint_(endpoint), impl_(std::make_shared<Impl>(io, std::move(endpoint), status)) {}

RedisClient::~RedisClient() {
  close();
}

void RedisClient::close() {
  impl_->close();
}

bool RedisClient::connected() const {
  return impl_->connection && impl_->connection->ready;
}

http::Task<RedisResult> RedisClient::command(std::span<const std::string_view> args) {
  std::string encoded;
  append_command(encoded, args);
  return Impl::run(impl_, std::move(encoded));
}

http::Task<RedisResult> RedisClient::eval(const RedisScript& script, std::span<const std::string_view> keys,
                                          std::span<const std::string_view> args) {
  const auto numkeys = std::to_string(keys.size());
  std::vector<std::string_view> words;
  words.reserve(3 + keys.size() + args.size());
  words.push_back("EVALSHA");
  words.push_back(script.sha1());
  words.push_back(numkeys);
  words.insert(words.end(), keys.begin(), keys.end());
  words.insert(words.end(), args.begin(), args.end());
  std::string evalsha;
  append_command(evalsha, words);
  std::string load;
  const std::string_view load_words[] = {"SCRIPT", "LOAD", script.source()};
  append_command(load, load_words);
  return eval_with_load(impl_, std::move(evalsha), std::move(load));
}

http::Task<RedisResult> RedisClient::eval_with_load(std::shared_ptr<Impl> impl, std::string evalsha, std::string load) {
  auto first_copy = evalsha;
  auto result = co_await Impl::run(impl, std::move(first_copy));
  if (result.failure != Failure::None || !result.reply.is_error() || !result.reply.text.starts_with("NOSCRIPT"))
    co_return result;
  auto loaded = co_await Impl::run(impl, std::move(load));
  if (!loaded.ok()) co_return loaded;
  auto second = co_await Impl::run(impl, std::move(evalsha));
  co_return second;
}

}  // namespace sluice::state
