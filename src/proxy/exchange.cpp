#include "proxy/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <optional>

#include "http/parse_errors.hpp"
#include "http/sse.hpp"
#include "route/api_path.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kRelayBufferBytes = 16 * 1024;
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

void apply_header_modifier(bhttp::fields& fields, const config::HeaderModifier& mod) {
  for (const auto& name : mod.remove) fields.erase(name);
  for (const auto& [name, value] : mod.set) fields.set(name, value);
  for (const auto& [name, value] : mod.add) fields.insert(name, value);
}

struct BodyInfo {
  std::string model;
  bool stream = false;
};

// Parses a JSON API body once: reads model and stream, applies the model override.
std::optional<http::ApiError> inspect_json_body(std::string& body, const std::optional<std::string>& model_override,
                                                BodyInfo& info) {
  if (body.empty()) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body is empty; expected a JSON object", {}};
  }
  unsigned char scratch[8192];
  json::monotonic_resource resource(scratch, sizeof scratch);
  json::stream_parser parser(&resource);
  boost::system::error_code ec;
  const auto consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    const auto pos = std::min(consumed, body.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos; ++i) {
      if (body[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return http::ApiError{400, "invalid_request_error", "invalid_json",
                          "request body is not valid JSON: " + ec.message() + " at line " + std::to_string(line) +
                              ", column " + std::to_string(column) + " (byte offset " + std::to_string(pos) + ")",
                          {}};
  }
  auto value = parser.release();
  auto* object = value.if_object();
  if (object == nullptr) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body must be a JSON object", {}};
  }
  if (const auto* m = object->if_contains("model"); m != nullptr && m->is_string()) info.model = m->get_string();
  if (const auto* s = object->if_contains("stream"); s != nullptr && s->is_bool()) info.stream = s->get_bool();
  if (model_override) {
    (*object)["model"] = *model_override;
    info.model = *model_override;
    body = json::serialize(value);
  }
  return std::nullopt;
}

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

Failure classify(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Failure::Timeout;
  if (http::is_malformed_message(ec))
    return Failure::Protocol;
  if (ec.category() == asio::error::get_ssl_category()) return Failure::Tls;
  return Failure::Reset;
}

using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;

struct SendOutcome {
  boost::system::error_code ec;
  bool wrote_request = false;
  bool got_bytes = false;
};

template <class Stream>
asio::awaitable<SendOutcome> send_and_read_header(Stream& stream, http::UpstreamConnection& connection,
                                                  ClientRequest& upstream_request, ResponseParser& parser,
                                                  milliseconds timeout) {
  SendOutcome out;
  connection.lowest().expires_after(timeout);
  auto [wec, written] = co_await bhttp::async_write(stream, upstream_request, use_nothrow);
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  out.wrote_request = true;
  auto [rec, read] = co_await bhttp::async_read_header(stream, connection.buffer, parser, use_nothrow);
  out.got_bytes = read > 0 || parser.got_some();
  out.ec = rec;
  co_return out;
}

struct RelayOutcome {
  bool client_ok = true;     // the client got a complete, well-formed response
  bool upstream_clean = true;  // the upstream response was read to its end
  Failure failure = Failure::None;
  std::string error;
};

template <class Stream>
asio::awaitable<RelayOutcome> relay_body(Stream& stream, http::UpstreamConnection& connection, ResponseParser& parser,
                                         beast::tcp_stream& client, const BackendRuntime& backend,
                                         std::optional<Clock::time_point> deadline, RequestRecord& record) {
  RelayOutcome out;
  auto& response = parser.get();
  const bool sse = beast::iequals(response[bhttp::field::content_type].substr(0, 17), "text/event-stream");
  http::SseBoundaryTracker boundary;
  bhttp::response_serializer<bhttp::buffer_body> serializer{response};
  std::unique_ptr<char[]> buffer;
  std::string error_event;

  // The header goes out with the first body bytes (one write for a small response). A
  // streaming upstream sends its headers at once, so an SSE client sees no extra delay.
  while (!serializer.is_done()) {
    if (!parser.is_done()) {
      if (!buffer) buffer = std::make_unique<char[]>(kRelayBufferBytes);
      response.body().data = buffer.get();
      response.body().size = kRelayBufferBytes;
      auto timeout = backend.timeouts.streamIdle;
      if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
      connection.lowest().expires_after(std::max(timeout, milliseconds(1)));
      auto [ec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, use_nothrow);
      if (ec == bhttp::error::need_buffer) ec = {};
      const auto got = kRelayBufferBytes - response.body().size;
      if (ec) {
        out.upstream_clean = false;
        out.failure = classify(ec);
        out.error = "upstream " + std::string(failure_label(out.failure)) + " after the response started (backend " +
                    backend.name + "): " + ec.message();
        if (!sse || !response.chunked()) {
          out.client_ok = false;  // no way to signal the error in-band: cut the connection
          co_return out;
        }
        if (got > 0) boundary.feed(std::string_view(buffer.get(), got));
        error_event = std::string(boundary.separator_needed()) +
                      http::sse_error_event("upstream connection failed mid-stream (backend " + backend.name + ")",
                                            "server_error", "upstream_stream_error");
        // Send what arrived, then the error event, then the end of the chunked body.
        if (got > 0) {
          response.body().data = buffer.get();
          response.body().size = got;
          response.body().more = true;
          client.expires_after(kClientWriteTimeout);
          auto [wec, wn] = co_await bhttp::async_write(client, serializer, use_nothrow);
          if (wec && wec != bhttp::error::need_buffer) {
            out.client_ok = false;
            co_return out;
          }
          record.bytes_sent += got;
        }
        response.body().data = error_event.data();
        response.body().size = error_event.size();
        response.body().more = false;
      } else {
        if (got == 0 && !parser.is_done()) continue;  // only framing was read
        response.body().data = buffer.get();
        response.body().size = got;
        response.body().more = !parser.is_done();
        if (sse) boundary.feed(std::string_view(buffer.get(), got));
        record.bytes_sent += got;
        if (got == 0) {
          response.body().data = nullptr;
          response.body().more = false;
        }
      }
    } else {
      response.body().data = nullptr;
      response.body().size = 0;
      response.body().more = false;
    }
    client.expires_after(kClientWriteTimeout);
    auto [wec, wn] = co_await bhttp::async_write(client, serializer, use_nothrow);
    if (wec == bhttp::error::need_buffer) wec = {};
    if (wec) {
      out.client_ok = false;
      if (!parser.is_done()) out.upstream_clean = false;
      co_return out;
    }
    if (!error_event.empty()) break;
  }
  client.expires_never();
  co_return out;
}

http::ApiError upstream_error(unsigned status, std::string message) {
  return http::ApiError{status, "server_error", status == 504 ? "upstream_timeout" : "upstream_unavailable",
                        std::move(message), {}};
}

}  // namespace

asio::awaitable<bool> send_error(beast::tcp_stream& client, const http::ApiError& error, unsigned version,
                                 bool keep_alive, RequestRecord& record) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(error.status), version};
  response.set(bhttp::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = http::openai_error_body(error);
  response.prepare_payload();
  record.status = error.status;
  record.bytes_sent += response.body().size();
  if (record.error.empty()) record.error = error.message;
  client.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await bhttp::async_write(client, response, use_nothrow);
  client.expires_never();
  co_return !ec && keep_alive;
}

asio::awaitable<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                                   ClientRequest& request, beast::tcp_stream& client, bool keep_alive,
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
  ClientRequest upstream{request.method(), record.upstream_path, 11};
  const bool replace_auth =
      backend->ai && backend->auth_kind != config::AuthKind::Passthrough;
  for (const auto& field : request) {
    if (is_hop_by_hop(field.name())) continue;
    if (replace_auth && (field.name() == bhttp::field::authorization || iequals(field.name_string(), backend->auth_header)))
      continue;
    upstream.insert(field.name_string(), field.value());
  }
  for (const auto* mod : rule.request_header_filters) apply_header_modifier(upstream, *mod);
  upstream.set(bhttp::field::host, match.rewritten_host ? *match.rewritten_host : endpoint.host_header);
  if (replace_auth && !backend->auth_value.empty()) upstream.set(backend->auth_header, backend->auth_value);
  upstream.body() = std::move(request.body());
  upstream.prepare_payload();
  upstream.keep_alive(true);
  record.bytes_received = upstream.body().size();

  const auto started = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (rule.rule->timeouts.request) deadline = started + *rule.rule->timeouts.request;
  auto first_byte_timeout = backend->timeouts.firstByte;
  if (rule.rule->timeouts.backendRequest) first_byte_timeout = std::min(first_byte_timeout, *rule.rule->timeouts.backendRequest);
  if (deadline) first_byte_timeout = std::min(first_byte_timeout, *rule.rule->timeouts.request);

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
      sent = co_await send_and_read_header(*connection->tls, *connection, upstream, *parser, timeout);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, upstream, *parser, timeout);
    }
    if (!sent.ec) break;
    const auto failure = classify(sent.ec);
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

  // Relay: status and headers now, the body as it arrives.
  auto& response = parser->get();
  record.status = response.result_int();
  const bool upstream_keep_alive = parser->keep_alive();
  for (auto it = response.begin(); it != response.end();) {
    const auto name = it->name();
    if (name == bhttp::field::connection || name == bhttp::field::keep_alive || name == bhttp::field::proxy_connection ||
        name == bhttp::field::te || name == bhttp::field::trailer || name == bhttp::field::upgrade) {
      it = response.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto* mod : rule.response_header_filters) apply_header_modifier(response, *mod);
  const bool has_body = request.method() != bhttp::verb::head && record.status >= 200 && record.status != 204 && record.status != 304;
  if (has_body && !response.chunked() && !response.has_content_length()) response.chunked(true);  // EOF-delimited upstream
  response.version(version);
  const bool client_keep = keep_alive && !worker.draining();
  response.keep_alive(client_keep);

  RelayOutcome relayed;
  if (connection->tls) {
    relayed = co_await relay_body(*connection->tls, *connection, *parser, client, *backend, deadline, record);
  } else {
    relayed = co_await relay_body(*connection->plain, *connection, *parser, client, *backend, deadline, record);
  }
  if (relayed.failure != Failure::None) {
    record.upstream_error = failure_label(relayed.failure);
    record.error = std::move(relayed.error);
  } else if (!relayed.client_ok) {
    record.error = "client connection closed during the response";
  }
  if (relayed.upstream_clean && upstream_keep_alive && parser->is_done()) {
    worker.pool().give_back(endpoint, std::move(connection), backend->timeouts.poolIdle);
  }
  co_return relayed.client_ok && client_keep;
}

}  // namespace sluice::proxy
