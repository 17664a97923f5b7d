#include "proxy/client_session.hpp"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/container/small_vector.hpp>
#include <limits>

#include "http/forwarded_for.hpp"
#include "http/h2_connection.hpp"
#include "http/parse_errors.hpp"
#include "http/request_head.hpp"
#include "http/tls_server.hpp"
#include "observe/log.hpp"
#include "proxy/exchange.hpp"
#include "proxy/h2_session.hpp"
#include "proxy/tracing.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kClientReadBytes = 4096;
// While a body is read, the connection's buffer holds at most this many bytes not yet parsed:
// a chunk-size line (with its extensions) or a trailer section that does not fit is refused
// (400) instead of growing the buffer. Body bytes themselves pass through.
constexpr std::size_t kClientBodyBufferBytes = 16 * 1024;

std::optional<std::string_view> header_lookup(const void* ctx, std::string_view name) {
  const auto& fields = *static_cast<const http::Fields*>(ctx);
  const auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return it->value();
}

std::string_view header_value(const http::Fields& fields, std::string_view name) {
  const auto it = fields.find(name);
  return it == fields.end() ? std::string_view{} : std::string_view(it->value());
}

// "x-request-id: <id>\r\n" for an answer written before the exchange (its responder adds it then).
std::string request_id_header(const RequestRecord& record) {
  std::string line = "x-request-id: ";
  line.append(record.request_id.view()).append("\r\n");
  return line;
}

// Host header without port, lower-cased into `out`.
std::string_view normalized_host(std::string_view host, std::string& out) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  out.assign(host);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

http::ApiError body_too_large(const config::Limits& limits) {
  return http::ApiError{413,
                        "invalid_request_error",
                        "request_too_large",
                        "request body exceeds the limit of " + std::to_string(limits.maxRequestBodyBytes) +
                            " bytes (Gateway spec.limits.maxRequestBodyBytes)",
                        {}};
}

struct ActiveRequest {
  observe::MetricsShard& metrics;
  explicit ActiveRequest(observe::MetricsShard& m) : metrics(m) {
    metrics.active_requests.fetch_add(1, std::memory_order_relaxed);
  }
  ~ActiveRequest() { metrics.active_requests.fetch_sub(1, std::memory_order_relaxed); }
};

// The protocol a request came in on, as the access log names it.
std::string_view protocol_name(const ClientIo& client, unsigned version) {
  if (client.socket.h2_stream() != nullptr) return "HTTP/2";
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

void finish_request(Worker& worker, const RequestRecord& record, std::string_view method, std::string_view target,
                    std::string_view protocol, std::string_view peer, std::chrono::system_clock::time_point wall_start,
                    Clock::time_point start) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  worker.metrics().record(record, seconds);
  worker.recent_errors().record(
      record, std::chrono::duration_cast<std::chrono::milliseconds>(wall_start.time_since_epoch()).count());
  auto& log = worker.access_log();
  if (!log.enabled()) return;
  observe::AccessLogEntry entry;
  entry.start = wall_start;
  entry.request_id = record.request_id.view();
  entry.trace_id = record.trace_id_hex();
  entry.client = peer;
  entry.method = method;
  entry.path = target;
  entry.protocol = protocol;
  entry.route = record.route;
  entry.backend = record.backend;
  entry.principal = record.principal;
  entry.upstream = record.upstream;
  entry.upstream_path = record.upstream_path;
  entry.path_source = record.path_source;
  entry.model = record.model;
  entry.requested_model = record.requested_model;
  entry.stream = record.stream;
  entry.status = record.status;
  entry.bytes_received = record.bytes_received;
  entry.bytes_sent = record.bytes_sent;
  entry.duration_ms = seconds * 1000.0;
  entry.upstream_first_byte_ms = record.upstream_first_byte_ms;
  entry.time_to_first_token_ms = record.first_token_ms;
  entry.error = record.error;
  entry.failover_reasons = record.failover_reasons;
  entry.limit = record.limit;
  entry.translation = record.translation;
  entry.guard = record.guard;
  entry.cache = record.cache;
  entry.provider = record.provider;
  entry.attempts = record.attempts;
  entry.prompt_tokens = record.prompt_tokens;
  entry.completion_tokens = record.completion_tokens;
  entry.cached_tokens = record.cached_tokens;
  entry.cost_micros = record.cost_micros;
  entry.finish_reason = record.finish_reason;
  entry.response_model = record.response_model;
  log.write(entry);
}

// Reads and drops what the client still sends for a moment, so closing with unread bytes does
// not reset the connection before the client has read our error response. A coroutine of its
// own, so its buffer is not part of every connection's frame.
http::Task<void> drain_before_close(http::Socket& socket, http::Deadline& deadline) {
  std::array<char, 4096> sink;
  deadline.expires_after(std::chrono::seconds(2));
  for (std::size_t total = 0; total < 4 * 1024 * 1024;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), http::use_task);
    if (ec) break;
    total += n;
  }
}

// Logs and counts a request refused before routing (bad head, limits, timeouts).
void finish_refused(Worker& worker, RequestRecord& record, std::string_view peer, std::string_view method,
                    std::string_view target, std::string_view protocol) {
  const auto now = Clock::now();
  finish_request(worker, record, method.empty() ? "-" : method, target.empty() ? "-" : target, protocol, peer,
                 std::chrono::system_clock::now(), now);
}

// One request on an open connection, its headers already read. Returns keep-alive.
http::Task<bool> handle_request(Worker& worker, const Snapshot& snapshot, ClientIo& client, beast::flat_buffer& buffer,
                                http::RequestParser<bhttp::empty_body>& header_parser, std::string_view peer) {
  ActiveRequest active(worker.metrics());
  const auto start = Clock::now();
  const auto wall_start = std::chrono::system_clock::now();
  RequestRecord record;

  const auto& head = header_parser.get();
  const std::string method(head.method_string());
  const std::string target(head.target());
  const auto version = head.version();
  const bool body_pending = !header_parser.is_done();
  const bool keep_alive = head.keep_alive() && !worker.draining();
  const auto& gateway = snapshot.gateway();
  record.request_id = observe::choose_request_id(header_value(head, "x-request-id"), gateway.accessLog.trustRequestId);
  // The client's address: the TCP peer, or behind trusted proxies the address they saw.
  std::optional<std::string> forwarded;
  if (gateway.clientAddress.xffTrustedHops > 0) {
    boost::container::small_vector<std::string_view, 2> values;
    const auto [first, last] = head.equal_range("x-forwarded-for");
    for (auto it = first; it != last; ++it) values.push_back(it->value());
    forwarded = http::forwarded_client(std::span(values.data(), values.size()), gateway.clientAddress.xffTrustedHops);
  }
  const std::string_view client_address = forwarded ? std::string_view(*forwarded) : peer;

  // The trace context: with telemetry on, the request's trace (its spans when sampled); off,
  // only the client's trace id for the access log.
  std::optional<observe::RequestTrace> trace;
  if (const auto& telemetry = snapshot.gateway().telemetry; telemetry.otlp) {
    trace.emplace();
    begin_request_trace(worker, telemetry, head, wall_start, *trace, record);
  } else {
    note_client_trace(head, record);
  }

  auto finish = [&](bool keep) {
    if (worker.cutting())
      record.error = "cut at the drain deadline" + (record.error.empty() ? "" : "; " + record.error);
    finish_request(worker, record, method, target, protocol_name(client, version), client_address, wall_start, start);
    if (trace) finish_request_trace(worker, *trace, record, method, target);
    return keep;
  };

  const auto qpos = target.find('?');
  std::string host_buffer;
  route::RequestView view;
  view.method = method;
  view.host = normalized_host(head[bhttp::field::host], host_buffer);
  view.path = std::string_view(target).substr(0, qpos);
  view.query = qpos == std::string::npos ? std::string_view{} : std::string_view(target).substr(qpos + 1);
  view.header = &header_lookup;
  view.header_ctx = static_cast<const http::Fields*>(&head);
  auto match = snapshot.routes.match(view);
  if (!match) {
    http::ApiError error{404,
                         "invalid_request_error",
                         "route_not_found",
                         "no route matches " + method + " " + std::string(view.path) +
                             (view.host.empty() ? std::string() : " (host " + std::string(view.host) + ")"),
                         {}};
    const std::string id_header = request_id_header(record);
    auto keep = co_await send_error(client, error, version, keep_alive && !body_pending, record,
                                    client_schema_for(view.path), {}, id_header);
    co_return finish(keep);
  }
  record.route = match->rule->id;

  auto keep = co_await run_exchange(worker, snapshot, *match, header_parser, buffer, client, keep_alive, record,
                                    client_address);
  co_return finish(keep);
}

// The answer to a head that did not arrive whole (`rec`): 431, 413 (Content-Length), 400, or
// 408 when a request had started (`started_then_timed_out`); none for an idle connection that
// timed out, ended or was reset.
std::optional<http::ApiError> failed_head_error(const boost::system::error_code& rec, const config::Limits& limits,
                                                bool first_request, bool started_then_timed_out) {
  if (rec == bhttp::error::header_limit) {
    return http::ApiError{431,
                          "invalid_request_error",
                          "headers_too_large",
                          "request headers exceed the limit of " + std::to_string(limits.maxRequestHeaderBytes) +
                              " bytes (Gateway spec.limits.maxRequestHeaderBytes)",
                          {}};
  }
  if (rec == bhttp::error::body_limit) return body_too_large(limits);
  if (http::is_malformed_message(rec))
    return http::ApiError{
        400, "invalid_request_error", "malformed_request", "malformed HTTP request: " + rec.message(), {}};
  if (started_then_timed_out) {
    return http::ApiError{408,
                          "invalid_request_error",
                          "request_timeout",
                          "request headers did not arrive within the time limit (Gateway spec.limits." +
                              std::string(first_request ? "requestHeaderTimeout" : "idleTimeout") + ")",
                          {}};
  }
  return std::nullopt;
}

struct HeadRead {
  boost::system::error_code ec;
  std::optional<http::ApiError> refused;  // the head arrived but breaks the edge's rules
};

// Reads one request head into `parser` and applies the edge's rules to it while its raw bytes
// are still in `buffer` (http/request_head.hpp). The buffer's max_size bounds the head.
http::Task<HeadRead> read_request_head(http::ClientStream& socket, beast::flat_buffer& buffer,
                                       http::RequestParser<bhttp::empty_body>& parser) {
  for (;;) {
    if (buffer.size() > 0) {
      boost::system::error_code ec;
      const auto used = parser.put(buffer.data(), ec);
      if (!ec && parser.is_header_done()) {
        const std::string_view raw(static_cast<const char*>(buffer.data().data()), used);
        HeadRead out;
        out.refused = http::canonicalize_request_head(parser.get().base(), raw);
        buffer.consume(used);
        co_return out;
      }
      buffer.consume(used);
      if (ec && ec != bhttp::error::need_more) co_return HeadRead{ec, {}};
    }
    const auto room = std::min(kClientReadBytes, buffer.max_size() - buffer.size());
    if (room == 0) co_return HeadRead{bhttp::error::header_limit, {}};
    auto [ec, n] = co_await socket.async_read_some(buffer.prepare(room), http::use_task);
    if (ec) {
      if (http::is_end_of_stream(ec))
        ec = parser.got_some() || buffer.size() > 0 ? bhttp::error::partial_message : bhttp::error::end_of_stream;
      co_return HeadRead{ec, {}};
    }
    buffer.commit(n);
  }
}

// Answers a head that broke the edge's rules or did not arrive whole, where there is something
// to answer (`deadline_expired`: the wait for it timed out). Returns whether the client may
// still be sending (the connection then lingers before it closes).
http::Task<bool> refuse_head(Worker& worker, ClientIo& client, HeadRead& head_read, const config::Limits& limits,
                             bool first_request, bool deadline_expired, const beast::flat_buffer& buffer,
                             const http::RequestParser<bhttp::empty_body>& header_parser, std::string_view peer) {
  const auto rec = head_read.ec;
  RequestRecord record;
  record.request_id = observe::generate_request_id();
  const bool refused = head_read.refused.has_value();
  auto error = refused ? std::move(head_read.refused)
                       : failed_head_error(rec, limits, first_request,
                                           deadline_expired && (buffer.size() > 0 || header_parser.got_some()));
  if (error) {
    const std::string id_header = request_id_header(record);
    co_await send_error(client, *error, 11, false, record, ClientSchema::OpenAI, {}, id_header);
    const auto& partial = header_parser.get();
    finish_refused(worker, record, peer, std::string_view(partial.method_string()), std::string_view(partial.target()),
                   protocol_name(client, partial.version()));
  }
  co_return refused || rec == bhttp::error::body_limit || rec == bhttp::error::header_limit;
}

// Sizes the connection buffer and the head parser by the limits.
void prepare_head_read(const config::Limits& limits, beast::flat_buffer& buffer,
                       http::RequestParser<bhttp::empty_body>& header_parser) {
  // The head (and what follows it in the same reads) may take the header limit plus one read.
  buffer.max_size(limits.maxRequestHeaderBytes + kClientReadBytes);
  if (buffer.capacity() < kClientReadBytes) buffer.reserve(kClientReadBytes);  // headers in one read
  header_parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(limits.maxRequestHeaderBytes, UINT32_MAX)));
  header_parser.body_limit(limits.maxRequestBodyBytes);
}

// One HTTP/2 stream, served as one HTTP/1.1 request (http/h2_stream.hpp).
http::Task<void> serve_h2_stream(Worker& worker, std::shared_ptr<http::H2Stream> h2, std::string peer) {
  // Holds its own reference: the stream is finished after everything else of this frame ends.
  struct FinishOnExit {
    std::shared_ptr<http::H2Stream> stream;
    ~FinishOnExit() { stream->finish(); }
  } finish_on_exit{h2};
  http::ClientStream stream(std::move(h2));
  http::Deadline deadline(worker.deadlines(), [&stream] {
    boost::system::error_code ignored;
    stream.cancel(ignored);
  });
  ClientIo client{stream, deadline};
  const auto snapshot = worker.snapshot();
  const auto& limits = snapshot->gateway().limits;
  beast::flat_buffer buffer;
  http::RequestParser<bhttp::empty_body> header_parser;
  prepare_head_read(limits, buffer, header_parser);
  deadline.expires_after(limits.requestHeaderTimeout);  // the head is whole already
  auto head_read = co_await read_request_head(stream, buffer, header_parser);
  deadline.expires_never();
  if (head_read.refused || head_read.ec) {
    co_await refuse_head(worker, client, head_read, limits, true, deadline.expired(), buffer, header_parser, peer);
    co_return;
  }
  buffer.max_size(std::max(kClientBodyBufferBytes, buffer.size()));
  co_await handle_request(worker, *snapshot, client, buffer, header_parser, peer);
}

// Whether a plaintext connection opens with the HTTP/2 preface (h2c with prior knowledge).
// Reads only while what arrived could still be the preface: an HTTP/1.1 request differs from
// it by its second byte at the latest, and stays in `buffer` for the head parser.
http::Task<bool> opens_with_h2_preface(http::ClientStream& stream, beast::flat_buffer& buffer) {
  const auto preface = http::kH2ClientPreface;
  for (;;) {
    const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
    const auto compared = std::min(got.size(), preface.size());
    if (got.substr(0, compared) != preface.substr(0, compared)) co_return false;
    if (got.size() >= preface.size()) co_return true;
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kClientReadBytes), http::use_task);
    if (ec) co_return false;  // the head read that follows sees the same end or timeout
    buffer.commit(n);
  }
}

// At most one handshake-failure line per interval per process: a scanner or a misconfigured
// client would otherwise fill the log. The failures in between are counted in the metric and
// summed up in the next line.
constexpr std::int64_t kHandshakeLogIntervalNs = 10'000'000'000;
std::atomic<std::int64_t> last_handshake_log{std::numeric_limits<std::int64_t>::min() / 2};
std::atomic<std::uint64_t> unlogged_handshake_failures{0};

void log_handshake_failure(std::string_view peer, const boost::system::error_code& ec) {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  auto last = last_handshake_log.load(std::memory_order_relaxed);
  if (now - last < kHandshakeLogIntervalNs ||
      !last_handshake_log.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    unlogged_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto skipped = unlogged_handshake_failures.exchange(0, std::memory_order_relaxed);
  observe::log(observe::Level::Warning, "TLS handshake failed",
               {{"client", std::string(peer)},
                {"error", http::describe_handshake_error(ec)},
                {"failures_not_logged_since_last", std::to_string(skipped)}});
}

// A plaintext HTTP request on a TLS listener gets a plaintext answer saying so (OpenSSL sent no
// alert), instead of a reset the client cannot explain.
constexpr std::string_view kPlaintextOnTls =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 133\r\n\r\n"
    R"({"error":{"message":"plain HTTP request sent to a TLS listener: use https://","type":"invalid_request_error","code":"tls_required"}})"
    "\n";

// The server handshake of a TLS connection, bounded by the header timeout. Returns whether the
// connection goes on; a failure is counted, logged (rate-limited) and, for a plaintext HTTP
// request, answered in plaintext.
http::Task<bool> tls_handshake(Worker& worker, http::ClientStream& stream, http::Deadline& deadline,
                               std::string_view peer, bool& linger) {
  deadline.expires_after(worker.snapshot()->gateway().limits.requestHeaderTimeout);
  const auto ec = co_await stream.handshake();
  const bool timed_out = deadline.expired();
  deadline.expires_never();
  if (!ec) {
    worker.metrics().tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    co_return true;
  }
  if (worker.draining() && !timed_out && ec == asio::error::operation_aborted) co_return false;  // drained
  worker.metrics().tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
  log_handshake_failure(peer, timed_out ? boost::system::error_code(asio::error::operation_aborted) : ec);
  if (http::is_plaintext_http(ec)) {
    deadline.expires_after(std::chrono::seconds(2));
    co_await asio::async_write(stream.socket(), asio::buffer(kPlaintextOnTls), http::use_task);
    deadline.expires_never();
    linger = true;
  }
  co_return false;
}

void log_failure(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    observe::log(observe::Level::Error, "client connection failed", {{"error", ex.what()}});
  }
}

}  // namespace

http::Task<void> accept_loop(Worker& worker, http::Acceptor& acceptor, std::size_t listener) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(http::use_task);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or a transient error: back off instead of spinning.
      http::Timer pause(worker.io(), std::chrono::milliseconds(20));
      co_await pause.async_wait(http::use_task);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(worker.io(), serve_client(worker, std::move(socket), listener), log_failure);
  }
}

http::Task<void> serve_client(Worker& worker, http::Socket socket, std::size_t listener) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string peer = ec ? std::string() : remote.address().to_string();
  // The listener's TLS context when the connection is accepted: kept for its whole life.
  auto tls_context =
      listener < worker.snapshot()->listener_tls.size() ? worker.snapshot()->listener_tls[listener] : nullptr;
  http::ClientStream stream = tls_context ? http::ClientStream(std::move(socket), std::move(tls_context))
                                          : http::ClientStream(std::move(socket));
  http::Deadline deadline(worker.deadlines(), [&stream] {
    boost::system::error_code ignored;
    stream.cancel(ignored);
  });
  ClientIo client{stream, deadline};
  beast::flat_buffer buffer;
  ClientConnection registration{&stream.socket(), true};
  worker.add_connection(&registration);
  worker.metrics().open_connections.fetch_add(1, std::memory_order_relaxed);

  bool first = true;
  bool linger = false;  // the client may still be sending a body we refused
  bool ready = true;
  if (stream.tls()) ready = co_await tls_handshake(worker, stream, deadline, peer, linger);
  // HTTP/2: chosen by ALPN on TLS, or announced by its preface on plaintext.
  const auto& listeners = worker.snapshot()->gateway().listeners;
  const bool http2 = listener < listeners.size() && listeners[listener].http2;
  bool h2 = false;
  if (ready && http2) {
    if (stream.tls()) {
      h2 = stream.alpn_h2();
    } else {
      deadline.expires_after(worker.snapshot()->gateway().limits.requestHeaderTimeout);
      h2 = co_await opens_with_h2_preface(stream, buffer);
      deadline.expires_never();
    }
  }
  if (h2) {
    co_await serve_h2(worker, stream, deadline, registration, buffer, [&worker, &peer](auto h2_stream) {
      asio::co_spawn(worker.io(), serve_h2_stream(worker, std::move(h2_stream), peer), log_failure);
    });
    ready = false;
  }
  while (ready && !worker.draining()) {
    const auto& limits = worker.snapshot()->gateway().limits;
    registration.idle = true;
    const bool first_request = first;
    deadline.expires_after(first_request ? limits.requestHeaderTimeout : limits.idleTimeout);
    first = false;
    http::RequestParser<bhttp::empty_body> header_parser;
    prepare_head_read(limits, buffer, header_parser);
    auto head_read = co_await read_request_head(stream, buffer, header_parser);
    const auto rec = head_read.ec;
    deadline.expires_never();
    registration.idle = false;
    if (head_read.refused || rec) {
      // A head that broke the edge's rules (framing, Host, target) or did not arrive whole is
      // answered where there is something to answer, then the connection closes: how the rest
      // of the stream is framed cannot be trusted.
      linger = co_await refuse_head(worker, client, head_read, limits, first_request, deadline.expired(), buffer,
                                    header_parser, peer);
      break;  // refused, end of stream, timeout, reset or drain
    }
    // A request keeps the snapshot current when its head arrived, to its end.
    const auto snapshot = worker.snapshot();
    buffer.max_size(std::max(kClientBodyBufferBytes, buffer.size()));
    const bool keep = co_await handle_request(worker, *snapshot, client, buffer, header_parser, peer);
    // Closing after a response (the client asked, an error, or a drain that began during it):
    // the client may already have sent its next request, and closing with unread bytes would
    // reset the connection and can destroy the response in its receive buffer. The FIN goes
    // first, then what still arrives is read and dropped for a moment.
    if (!keep || worker.draining()) {
      linger = true;
      break;
    }
    if (buffer.size() == 0 && buffer.capacity() > kClientReadBytes) buffer.shrink_to_fit();  // after a large request
  }
  worker.remove_connection(&registration);
  worker.metrics().open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (ready && stream.tls()) deadline.expires_after(std::chrono::seconds(2));  // the close_notify exchange
  co_await stream.shutdown_send();
  deadline.expires_never();
  if (linger && stream.is_open()) co_await drain_before_close(stream.socket(), deadline);
  stream.close(ec);
}

}  // namespace sluice::proxy
