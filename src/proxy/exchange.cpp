#include "proxy/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "http/parse_errors.hpp"
#include "http/sse.hpp"
#include "proxy/request_body.hpp"
#include "route/api_path.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kRelayBufferBytes = Worker::kRelayBufferBytes;
constexpr milliseconds kClientWriteTimeout{60'000};

bool is_hop_by_hop(bhttp::field f) {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::proxy_authenticate:
    case bhttp::field::proxy_authorization:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::expect:
    case bhttp::field::content_length:
    case bhttp::field::host:
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

const BackendRuntime* choose_backend(Worker& worker, const Snapshot& snapshot, const route::CompiledRule& rule) {
  const auto& refs = rule.rule->backendRefs;
  const config::BackendRef* chosen = &refs.front();
  if (refs.size() > 1 && rule.total_weight > 0) {
    auto pick = std::uniform_int_distribution<unsigned>(0, rule.total_weight - 1)(worker.rng());
    for (const auto& ref : refs) {
      if (pick < ref.weight) {
        chosen = &ref;
        break;
      }
      pick -= ref.weight;
    }
  }
  const auto it = snapshot.backends.find(chosen->name);
  return it == snapshot.backends.end() ? nullptr : &it->second;
}

const UpstreamEndpoint& choose_endpoint(Worker& worker, const BackendRuntime& backend) {
  if (backend.endpoints.size() == 1) return backend.endpoints.front();
  return backend.endpoints[std::uniform_int_distribution<std::size_t>(0, backend.endpoints.size() - 1)(worker.rng())];
}

enum class Failure { None, Connect, Timeout, Reset, Tls, Protocol };

std::string_view failure_label(Failure f) {
  switch (f) {
    case Failure::Connect:
      return "connect";
    case Failure::Timeout:
      return "timeout";
    case Failure::Reset:
      return "reset";
    case Failure::Tls:
      return "tls";
    case Failure::Protocol:
      return "protocol";
    case Failure::None:
      break;
  }
  return "";
}

// `timed_out`: the operation's deadline passed (it then fails with operation_aborted).
Failure classify(const boost::system::error_code& ec, bool timed_out) {
  if (timed_out) return Failure::Timeout;
  if (http::is_malformed_message(ec))
    return Failure::Protocol;
  if (ec.category() == asio::error::get_ssl_category()) return Failure::Tls;
  return Failure::Reset;
}

using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;

// Names a header filter removes or replaces: the client's (or upstream's) copy is dropped.
bool filtered_out(std::string_view name, const std::vector<const config::HeaderModifier*>& mods) {
  for (const auto* mod : mods) {
    for (const auto& removed : mod->remove)
      if (iequals(name, removed)) return true;
    for (const auto& [set, value] : mod->set)
      if (iequals(name, set)) return true;
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// `owned` names a header Sluice sets itself afterwards (the backend's credential header):
// a filter cannot add a second copy of it.
void append_filter_headers(std::string& out, const std::vector<const config::HeaderModifier*>& mods,
                           std::string_view owned = {}) {
  for (const auto* mod : mods) {
    for (const auto& [name, value] : mod->set)
      if (owned.empty() || !iequals(name, owned)) append_header(out, name, value);
    for (const auto& [name, value] : mod->add)
      if (owned.empty() || !iequals(name, owned)) append_header(out, name, value);
  }
}

// The upstream request head, serialized directly: client headers minus hop-by-hop ones and
// replaced credentials, the rule's filters, Host, the backend's credentials, Content-Length.
std::string build_upstream_head(const ClientRequest& request, std::string_view target, const BackendRuntime& backend,
                                const route::CompiledRule& rule, std::string_view host, bool replace_auth,
                                std::size_t body_size) {
  std::string head;
  head.reserve(512 + request.base().method_string().size() + target.size());
  head.append(request.method_string()).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const auto& field : request) {
    if (is_hop_by_hop(field.name())) continue;
    const std::string_view name = field.name_string();
    if (replace_auth && (field.name() == bhttp::field::authorization || iequals(name, backend.auth_header))) continue;
    if (!rule.request_header_filters.empty() && filtered_out(name, rule.request_header_filters)) continue;
    append_header(head, name, field.value());
  }
  append_filter_headers(head, rule.request_header_filters,
                        replace_auth && !backend.auth_value.empty() ? std::string_view(backend.auth_header)
                                                                    : std::string_view{});
  append_header(head, "Host", host);
  if (replace_auth && !backend.auth_value.empty()) append_header(head, backend.auth_header, backend.auth_value);
  const auto method = request.method();
  if (body_size > 0 || method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::patch) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body_size);
    append_header(head, "Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  head.append("\r\n");
  return head;
}

enum class ClientFraming { None, ContentLength, Chunked, UntilClose };

// The client response head: upstream status and headers minus hop-by-hop ones, the rule's
// response filters, and framing Sluice chooses for the client.
std::string build_client_head(const bhttp::response_header<>& response, unsigned version, bool keep_alive,
                              ClientFraming framing, const route::CompiledRule& rule) {
  std::string head;
  head.reserve(512);
  head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char digits[8];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, response.result_int());
  head.append(digits, static_cast<std::size_t>(end - digits)).append(" ");
  const std::string_view reason = response.reason();
  head.append(reason.empty() ? std::string_view(bhttp::obsolete_reason(response.result())) : reason).append("\r\n");
  for (const auto& field : response) {
    switch (field.name()) {
      case bhttp::field::connection:
      case bhttp::field::keep_alive:
      case bhttp::field::proxy_connection:
      case bhttp::field::te:
      case bhttp::field::trailer:
      case bhttp::field::upgrade:
      case bhttp::field::transfer_encoding:
        continue;
      case bhttp::field::content_length:
        if (framing == ClientFraming::Chunked || framing == ClientFraming::UntilClose) continue;
        break;
      default:
        break;
    }
    const std::string_view name = field.name_string();
    if (!rule.response_header_filters.empty() && filtered_out(name, rule.response_header_filters)) continue;
    append_header(head, name, field.value());
  }
  append_filter_headers(head, rule.response_header_filters);
  if (!keep_alive || framing == ClientFraming::UntilClose) {
    head.append("Connection: close\r\n");
  } else if (version == 10) {
    head.append("Connection: keep-alive\r\n");
  }
  if (framing == ClientFraming::Chunked) head.append("Transfer-Encoding: chunked\r\n");
  head.append("\r\n");
  return head;
}

struct SendOutcome {
  boost::system::error_code ec;
  bool wrote_request = false;
  bool got_bytes = false;
};

template <class Stream>
http::Task<SendOutcome> send_and_read_header(Stream& stream, http::UpstreamConnection& connection,
                                             const std::string& head, const std::string& body, ResponseParser& parser,
                                             milliseconds timeout) {
  SendOutcome out;
  connection.deadline.expires_after(timeout);
  const std::array<asio::const_buffer, 2> request{asio::buffer(head), asio::buffer(body)};
  auto [wec, written] = co_await asio::async_write(stream, request, http::use_task);
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  out.wrote_request = true;
  auto [rec, read] = co_await bhttp::async_read_header(stream, connection.buffer, parser, http::use_task);
  out.got_bytes = read > 0 || parser.got_some();
  out.ec = rec;
  co_return out;
}

struct RelayOutcome {
  bool head_sent = false;      // false: nothing reached the client, an error response is still possible
  bool client_ok = true;       // the client got a complete, well-formed response
  bool upstream_clean = true;  // the upstream response was read to its end
  Failure failure = Failure::None;
  boost::system::error_code ec;
};

// Relays the body as it arrives: each upstream read becomes one client write (the head goes
// with the first one). SSE streams are re-chunked event by event, never buffered.
template <class Stream>
http::Task<RelayOutcome> relay_body(Stream& stream, http::UpstreamConnection& connection, ResponseParser& parser,
                                    ClientIo& client, const std::string& head, ClientFraming framing, bool sse,
                                    const BackendRuntime& backend, std::optional<Clock::time_point> deadline,
                                    Worker& worker, RequestRecord& record) {
  RelayOutcome out;
  auto& body = parser.get().body();
  http::SseBoundaryTracker boundary;
  std::unique_ptr<char[]> buffer;
  struct ReturnBuffer {
    Worker& worker;
    std::unique_ptr<char[]>& buffer;
    ~ReturnBuffer() { worker.give_relay_buffer(std::move(buffer)); }
  } return_buffer{worker, buffer};
  char size_line[24];
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";

  for (;;) {
    std::size_t got = 0;
    bool done = framing == ClientFraming::None || parser.is_done();
    boost::system::error_code ec;
    if (!done) {
      if (!buffer) buffer = worker.take_relay_buffer();
      body.data = buffer.get();
      body.size = kRelayBufferBytes;
      auto timeout = backend.timeouts.streamIdle;
      if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
      connection.deadline.expires_after(std::max(timeout, milliseconds(1)));
      auto [rec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, http::use_task);
      ec = rec == bhttp::error::need_buffer ? boost::system::error_code{} : rec;
      // async_read_some stops after one chunk; parse whatever else has already arrived so
      // events received together leave in one write. Nothing waits for more bytes here.
      while (!ec && !parser.is_done() && body.size > 0 && connection.buffer.size() > 0) {
        boost::system::error_code pec;
        const auto used = parser.put(connection.buffer.data(), pec);
        connection.buffer.consume(used);
        if (pec == bhttp::error::need_more || pec == bhttp::error::need_buffer) break;
        if (pec) ec = pec;
        if (used == 0) break;
      }
      got = kRelayBufferBytes - body.size;
      done = !ec && parser.is_done();
    }
    if (ec) {
      out.upstream_clean = false;
      out.failure = classify(ec, connection.deadline.expired());
      out.ec = ec;
      if (!out.head_sent) co_return out;  // the caller answers with an error response instead
      if (!sse || framing != ClientFraming::Chunked) {
        out.client_ok = false;  // no way to signal the error in-band: cut the connection
        co_return out;
      }
    }
    if (got == 0 && !done && !ec) continue;  // only framing was read

    const std::string_view data(buffer ? buffer.get() : nullptr, got);
    if (sse) boundary.feed(data);
    std::string error_event;
    if (ec) {
      error_event = std::string(boundary.separator_needed()) +
                    http::sse_error_event("upstream connection failed mid-stream (backend " + backend.name + ")",
                                          "server_error", "upstream_stream_error");
    }
    std::array<asio::const_buffer, 9> out_buffers{};
    std::size_t count = 0;
    if (!out.head_sent) out_buffers[count++] = asio::buffer(head);
    if (framing == ClientFraming::Chunked) {
      if (got > 0) {
        const auto [end, tec] = std::to_chars(size_line, size_line + 16, got, 16);
        std::memcpy(end, "\r\n", 2);
        out_buffers[count++] = asio::buffer(size_line, static_cast<std::size_t>(end - size_line) + 2);
        out_buffers[count++] = asio::buffer(data);
        out_buffers[count++] = asio::buffer(kCrlf);
      }
      if (!error_event.empty()) {
        char hex[16];
        const auto [hend, hec] = std::to_chars(hex, hex + sizeof hex, error_event.size(), 16);
        error_event = std::string(hex, hend) + "\r\n" + error_event + "\r\n";
        out_buffers[count++] = asio::buffer(error_event);
      }
      if (done || ec) out_buffers[count++] = asio::buffer(kLastChunk);
    } else if (got > 0) {
      out_buffers[count++] = asio::buffer(data);
    }
    client.deadline.expires_after(kClientWriteTimeout);
    auto [wec, written] = co_await asio::async_write(client.socket, out_buffers, http::use_task);
    out.head_sent = true;
    record.bytes_sent += got;
    if (wec) {
      out.client_ok = false;
      if (!done) out.upstream_clean = false;
      co_return out;
    }
    if (done || ec) break;
  }
  client.deadline.expires_never();
  connection.deadline.expires_never();
  co_return out;
}

http::ApiError upstream_error(unsigned status, std::string message) {
  return http::ApiError{status, "server_error", status == 504 ? "upstream_timeout" : "upstream_unavailable",
                        std::move(message), {}};
}

}  // namespace

http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version,
                                 bool keep_alive, RequestRecord& record) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(error.status), version};
  response.set(bhttp::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = http::openai_error_body(error);
  response.prepare_payload();
  record.status = error.status;
  record.bytes_sent += response.body().size();
  if (record.error.empty()) record.error = error.message;
  client.deadline.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await bhttp::async_write(client.socket, response, http::use_task);
  client.deadline.expires_never();
  co_return !ec && keep_alive;
}

http::Task<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                                   ClientRequest& request, ClientIo& client, bool keep_alive,
                                   RequestRecord& record) {
  const auto& rule = *match.rule;
  const auto version = request.version();
  const BackendRuntime* backend = choose_backend(worker, snapshot, rule);
  if (backend == nullptr) {
    const http::ApiError error{500, "server_error", "backend_not_found", "route " + rule.id + " names no known Backend", {}};
    co_return co_await send_error(client, error, version, keep_alive, record);
  }
  record.backend = backend->name;
  if (!backend->unavailable_reason.empty()) {
    const http::ApiError error{500, "server_error", "backend_unavailable", backend->unavailable_reason, {}};
    co_return co_await send_error(client, error, version, keep_alive, record);
  }

  // Split the target; the query is carried to the upstream unchanged.
  const std::string_view target = request.target();
  const auto qpos = target.find('?');
  const auto path = target.substr(0, qpos);
  const auto query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  const auto api = route::classify_api(path);
  if (backend->ai && (api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings) &&
      request.method() == bhttp::verb::post) {
    BodyInfo info;
    if (auto err = inspect_json_body(request.body(), backend->model, info)) {
      record.model = std::move(info.model);
      co_return co_await send_error(client, *err, version, keep_alive, record);
    }
    record.model = std::move(info.model);
    record.stream = info.stream;
  }

  route::UpstreamPathInput path_input;
  path_input.client_path = path;
  if (match.rewritten_path) path_input.rewritten = *match.rewritten_path;
  path_input.matched_prefix = match.matched_prefix;
  if (backend->path.full) path_input.backend_full = *backend->path.full;
  if (backend->path.prefix) path_input.backend_prefix = *backend->path.prefix;
  if (backend->ai) path_input.provider_base = backend->provider->base_path;
  auto upstream_path = route::resolve_upstream_path(path_input);
  record.upstream_path = route::with_query(std::move(upstream_path.path), query);
  record.path_source = route::path_source_name(upstream_path.source);

  const auto& endpoint = choose_endpoint(worker, *backend);
  record.upstream = endpoint.display;

  // The upstream request: client headers minus hop-by-hop ones, filters, host, credentials.
  const bool replace_auth = backend->ai && backend->auth_kind != config::AuthKind::Passthrough;
  const std::string& upstream_body = request.body();
  const std::string upstream_head =
      build_upstream_head(request, record.upstream_path, *backend, rule,
                          match.rewritten_host ? std::string_view(*match.rewritten_host) : std::string_view(endpoint.host_header),
                          replace_auth, upstream_body.size());
  record.bytes_received = upstream_body.size();

  const auto started = Clock::now();
  // Gateway API: a zero duration disables the timeout.
  const auto& route_timeouts = rule.rule->timeouts;
  std::optional<Clock::time_point> deadline;
  if (route_timeouts.request && route_timeouts.request->count() > 0) deadline = started + *route_timeouts.request;
  auto first_byte_timeout = backend->timeouts.firstByte;
  if (route_timeouts.backendRequest && route_timeouts.backendRequest->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.backendRequest);
  if (deadline) first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.request);

  // Connect (or reuse) and send. A pooled connection the peer closed while idle can fail
  // before any response byte; that one attempt is repeated on a fresh connection.
  std::unique_ptr<http::UpstreamConnection> connection;
  std::optional<ResponseParser> parser;
  for (int attempt = 0;; ++attempt) {
    connection = attempt == 0 ? worker.pool().take(endpoint) : nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      auto connect_timeout = backend->timeouts.connect;
      if (deadline) connect_timeout = std::min(connect_timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
      auto connected = co_await worker.pool().connect(endpoint, std::max(connect_timeout, milliseconds(1)));
      if (!connected.connection) {
        const bool timeout = connected.failure == http::ConnectFailure::Timeout;
        record.upstream_error = timeout ? "timeout" : (connected.failure == http::ConnectFailure::Tls ? "tls" : "connect");
        const auto error = upstream_error(timeout ? 504 : 502, "backend " + backend->name + " unavailable: " + connected.error);
        co_return co_await send_error(client, error, version, keep_alive, record);
      }
      connection = std::move(connected.connection);
    }
    parser.emplace();
    parser->body_limit(boost::none);
    if (request.method() == bhttp::verb::head) parser->skip(true);
    auto timeout = first_byte_timeout;
    if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
    timeout = std::max(timeout, milliseconds(1));
    // Coroutine rule for GCC 12: no co_await inside ?: or on braced temporaries (both
    // mis-destroy temporaries); results and arguments go through named locals.
    SendOutcome sent;
    if (connection->tls) {
      sent = co_await send_and_read_header(*connection->tls, *connection, upstream_head, upstream_body, *parser, timeout);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, upstream_head, upstream_body, *parser, timeout);
    }
    if (!sent.ec) break;
    const auto failure = classify(sent.ec, connection->deadline.expired());
    // A pooled connection the server closed while idle: the write fails, or the read sees a
    // clean end of stream with no byte. Replaying is safe then, since nothing was processed.
    // A reset after the request was sent is not replayed: the provider may have acted on it.
    const bool stale = reused && attempt == 0 && !sent.got_bytes &&
                       (!sent.wrote_request || sent.ec == bhttp::error::end_of_stream || sent.ec == asio::error::eof);
    if (stale) continue;
    record.upstream_error = failure_label(failure);
    if (failure == Failure::Timeout) {
      const auto error = upstream_error(504, "backend " + backend->name + " (" + endpoint.display +
                                                 ") did not respond within " + std::to_string(timeout.count()) + " ms");
      co_return co_await send_error(client, error, version, keep_alive, record);
    }
    const auto what = failure == Failure::Protocol ? "sent an invalid HTTP response: " + sent.ec.message()
                                                   : "closed the connection before responding: " + sent.ec.message();
    const auto error = upstream_error(502, "backend " + backend->name + " (" + endpoint.display + ") " + what);
    co_return co_await send_error(client, error, version, keep_alive, record);
  }
  record.upstream_first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();

  // Relay: the head goes out with the first body bytes, the body as it arrives.
  const auto& response = parser->get();
  record.status = response.result_int();
  const bool upstream_keep_alive = parser->keep_alive();
  const bool has_body =
      request.method() != bhttp::verb::head && record.status >= 200 && record.status != 204 && record.status != 304;
  ClientFraming framing = ClientFraming::None;
  if (has_body) {
    if (response.has_content_length() && !response.chunked()) {
      framing = ClientFraming::ContentLength;
    } else {
      framing = version >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    }
  }
  const bool client_keep = keep_alive && !worker.draining() && framing != ClientFraming::UntilClose;
  const bool sse = beast::iequals(std::string_view(response[bhttp::field::content_type]).substr(0, 17), "text/event-stream");
  const std::string client_head = build_client_head(response, version, client_keep, framing, rule);

  RelayOutcome relayed;
  if (connection->tls) {
    relayed = co_await relay_body(*connection->tls, *connection, *parser, client, client_head, framing, sse, *backend,
                                  deadline, worker, record);
  } else {
    relayed = co_await relay_body(*connection->plain, *connection, *parser, client, client_head, framing, sse, *backend,
                                  deadline, worker, record);
  }
  if (relayed.failure != Failure::None) {
    record.upstream_error = failure_label(relayed.failure);
    if (!relayed.head_sent) {
      // Nothing reached the client yet: it gets a proper error response.
      const auto error = upstream_error(relayed.failure == Failure::Timeout ? 504 : 502,
                                        "backend " + backend->name + " (" + endpoint.display +
                                            ") failed before its response body arrived: " + relayed.ec.message());
      co_return co_await send_error(client, error, version, keep_alive, record);
    }
    record.error = "upstream " + std::string(failure_label(relayed.failure)) + " after the response started (backend " +
                   backend->name + "): " + relayed.ec.message();
  } else if (!relayed.client_ok) {
    record.error = "client connection closed during the response";
  }
  if (relayed.upstream_clean && upstream_keep_alive && parser->is_done()) {
    worker.pool().give_back(endpoint, std::move(connection), backend->timeouts.poolIdle);
  }
  co_return relayed.client_ok && client_keep;
}

}  // namespace sluice::proxy
