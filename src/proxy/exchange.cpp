#include "proxy/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "http/parse_errors.hpp"
#include "proxy/heads.hpp"
#include "proxy/relay.hpp"
#include "provider/aws_sigv4.hpp"
#include "proxy/request_body.hpp"
#include "route/api_path.hpp"
#include "translate/common.hpp"
#include "translate/select.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

using namespace relay;

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

// A complete JSON response (a translated reply or the model list), head and body in one write.
http::Task<bool> send_json(ClientIo& client, unsigned status, std::string body, unsigned version, bool keep_alive,
                           const route::CompiledRule& rule, RequestRecord& record,
                           const bhttp::response_header<>* upstream = nullptr) {
  const std::string head = build_translated_head(upstream, status, "application/json", body.size(), version,
                                                 keep_alive, ClientFraming::ContentLength, rule);
  record.status = status;
  record.bytes_sent += body.size();
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
  client.deadline.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await asio::async_write(client.socket, pieces, http::use_task);
  client.deadline.expires_never();
  co_return !ec && keep_alive;
}

http::ApiError upstream_error(unsigned status, std::string message) {
  return http::ApiError{status, "server_error", status == 504 ? "upstream_timeout" : "upstream_unavailable",
                        std::move(message), {}};
}

// Whether a Backend lets a request through unchanged: chat and embeddings always (for
// OpenAI-format providers), anything else when ai.passthrough lists its API family or path.
bool passthrough_allows(const config::Passthrough& pt, std::string_view path, std::string_view matched_prefix,
                        std::string_view family) {
  if (pt.allows_all()) return true;
  for (const auto& api : pt.apis)
    if (api == family) return true;
  const auto suffix = route::api_suffix(path, matched_prefix);
  for (const auto& allowed : pt.paths) {
    if (path == allowed || (path.starts_with(allowed) && path.size() > allowed.size() && path[allowed.size()] == '/'))
      return true;
    if (allowed.starts_with("/v1") && std::string_view(allowed).substr(3) == suffix) return true;
  }
  return false;
}

// GET /v1/models answered from the config: every model the route's backends are pinned to.
std::string models_from_config(const Snapshot& snapshot, const route::CompiledRule& rule) {
  json::array data;
  std::vector<std::string> seen;
  for (const auto& ref : rule.rule->backendRefs) {
    const auto it = snapshot.backends.find(ref.name);
    if (it == snapshot.backends.end() || !it->second.model) continue;
    const auto& model = *it->second.model;
    if (std::find(seen.begin(), seen.end(), model) != seen.end()) continue;
    seen.push_back(model);
    json::object entry;
    entry["id"] = model;
    entry["object"] = "model";
    entry["created"] = 0;
    entry["owned_by"] = it->second.provider ? it->second.provider->name : std::string_view("sluice");
    data.push_back(std::move(entry));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(data);
  return json::serialize(out);
}

std::string_view translation_name(translate::ClientApi api, provider::WireFormat format) {
  const bool anthropic_client = api == translate::ClientApi::AnthropicMessages;
  switch (format) {
    case provider::WireFormat::OpenAI:
      return anthropic_client ? "anthropic->openai" : "";
    case provider::WireFormat::Anthropic:
      return anthropic_client ? "" : "openai->anthropic";
    case provider::WireFormat::VertexAnthropic:
      return anthropic_client ? "anthropic->vertex-anthropic" : "openai->vertex-anthropic";
    case provider::WireFormat::Gemini:
      return anthropic_client ? "anthropic->gemini" : "openai->gemini";
    case provider::WireFormat::VertexGemini:
      return anthropic_client ? "anthropic->vertex-gemini" : "openai->vertex-gemini";
    case provider::WireFormat::Bedrock:
      return anthropic_client ? "anthropic->bedrock" : "openai->bedrock";
  }
  return "";
}

// Reads the whole client body (chat, embeddings, messages: JSON the gateway must parse).
// Returns the error to answer with, or nullopt; `client_gone` when the client went away.
// `parser` took over the head parser's message (headers included).
http::Task<std::optional<http::ApiError>> read_client_body(ClientIo& client, beast::flat_buffer& buffer,
                                                           bhttp::request_parser<bhttp::string_body>& parser,
                                                           const config::Limits& limits, std::string& body,
                                                           bool& client_gone) {
  client_gone = false;
  if (parser.is_done()) {
    body = std::move(parser.get().body());
    co_return std::nullopt;
  }
  parser.body_limit(limits.maxRequestBodyBytes);
  if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    client.deadline.expires_after(limits.requestHeaderTimeout);
    co_await asio::async_write(client.socket, asio::buffer(kContinue), http::use_task);
    client.deadline.expires_never();
  }
  // The body may take as long as it needs while it keeps arriving: idleTimeout bounds the
  // silence between two reads, not the whole upload.
  boost::system::error_code ec;
  while (!ec && !parser.is_done()) {
    client.deadline.expires_after(limits.idleTimeout);
    auto [rec, n] = co_await bhttp::async_read_some(client.socket, buffer, parser, http::use_task);
    client.deadline.expires_never();
    ec = rec;
  }
  if (ec == bhttp::error::body_limit) {
    co_return http::ApiError{413, "invalid_request_error", "request_too_large",
                             "request body exceeds the limit of " + std::to_string(limits.maxRequestBodyBytes) +
                                 " bytes (Gateway spec.limits.maxRequestBodyBytes)",
                             {}};
  }
  if (ec && client.deadline.expired()) {
    co_return http::ApiError{408, "invalid_request_error", "request_timeout",
                             "the request body stopped arriving for " + std::to_string(limits.idleTimeout.count()) +
                                 " ms (Gateway spec.limits.idleTimeout)",
                             {}};
  }
  if (ec) {
    if (http::is_malformed_message(ec))
      co_return http::ApiError{400, "invalid_request_error", "malformed_request",
                               "reading the request body failed: " + ec.message(), {}};
    client_gone = true;
    co_return std::nullopt;
  }
  body = std::move(parser.get().body());
  co_return std::nullopt;
}

}  // namespace

ClientSchema client_schema_for(std::string_view path) {
  return route::classify_api(path) == route::ApiKind::Messages ? ClientSchema::Anthropic : ClientSchema::OpenAI;
}

http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version, bool keep_alive,
                            RequestRecord& record, ClientSchema schema, std::string_view retry_after) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(error.status), version};
  response.set(bhttp::field::content_type, "application/json");
  if (!retry_after.empty()) response.set(bhttp::field::retry_after, retry_after);
  response.keep_alive(keep_alive);
  response.body() = schema == ClientSchema::Anthropic ? http::anthropic_error_body(error) : http::openai_error_body(error);
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
                              RequestHeadParser& head_parser, beast::flat_buffer& client_buffer, ClientIo& client,
                              bool keep_alive, RequestRecord& record) {
  const auto& rule = *match.rule;
  // The request head; it moves with the parser that reads the body, so it is reached through
  // this pointer, updated when that happens.
  const bhttp::request_header<>* head = &head_parser.get().base();
  const auto version = head->version();
  const auto& limits = snapshot.gateway().limits;

  // Split the target; the query is carried to the upstream unchanged.
  const std::string_view target = head->target();
  const auto qpos = target.find('?');
  const auto path = target.substr(0, qpos);
  const auto query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  const auto api = route::classify_api(path);
  const auto schema = api == route::ApiKind::Messages ? ClientSchema::Anthropic : ClientSchema::OpenAI;

  // Until the body is read (or streamed), an error response ends the connection: the client
  // may still be sending it.
  auto keep_after_error = [&] { return keep_alive && head_parser.is_done(); };

  const BackendRuntime* backend = choose_backend(worker, snapshot, rule);
  if (backend == nullptr) {
    const http::ApiError error{500, "server_error", "backend_not_found", "route " + rule.id + " names no known Backend", {}};
    co_return co_await send_error(client, error, version, keep_after_error(), record, schema);
  }
  record.backend = backend->name;
  if (!backend->unavailable_reason.empty()) {
    const http::ApiError error{500, "server_error", "backend_unavailable", backend->unavailable_reason, {}};
    co_return co_await send_error(client, error, version, keep_after_error(), record, schema);
  }

  // What kind of request this is for the backend.
  const bool post = head->method() == bhttp::verb::post;
  const bool json_api = backend->ai && post &&
                        (api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings ||
                         api == route::ApiKind::Messages);
  const auto family = route::api_family(path, match.matched_prefix);
  if (backend->ai && !json_api) {
    const bool allowed = passthrough_allows(backend->spec->passthrough, path, match.matched_prefix, family);
    if (api == route::ApiKind::Models && head->method() == bhttp::verb::get && !allowed) {
      co_return co_await send_json(client, 200, models_from_config(snapshot, rule), version, keep_after_error(), rule,
                                   record);
    }
    const bool openai_format = backend->format == provider::WireFormat::OpenAI;
    const bool native_json_api = openai_format && (api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings);
    if (!allowed && !native_json_api) {
      const std::string what = family.empty() ? std::string(path) : "the \"" + family + "\" API (" + std::string(path) + ")";
      const http::ApiError error{404, "invalid_request_error", "api_not_enabled",
                                 "Backend " + backend->name + " does not pass through " + what + " " +
                                     std::string(head->method_string()) +
                                     "; allow it with spec.ai.passthrough.apis: [" +
                                     (family.empty() ? std::string("...") : family) +
                                     "] (or spec.ai.passthrough.paths) on Backend/" + backend->name,
                                 {}};
      co_return co_await send_error(client, error, version, keep_after_error(), record, schema);
    }
  }

  // JSON APIs: the body is read whole and parsed once; the rest streams both ways.
  std::string body;
  std::optional<bhttp::request_parser<bhttp::string_body>> whole_parser;
  std::unique_ptr<translate::Translator> translator;
  std::string effective_model;
  bool stream = false;
  provider::Operation operation = provider::Operation::Other;
  // A SigV4 signature covers the body's hash, so a signed backend gets every body read whole.
  if (json_api || backend->sigv4) {
    bool client_gone = false;
    whole_parser.emplace(std::move(head_parser));
    head = &whole_parser->get().base();
    auto read_error = co_await read_client_body(client, client_buffer, *whole_parser, limits, body, client_gone);
    if (read_error) {
      co_await send_error(client, *read_error, version, false, record, schema);
      co_return false;
    }
    if (client_gone) {
      record.status = 499;  // the client went away; nothing was sent
      record.error = "client closed the connection while sending the body";
      co_return false;
    }
  }
  if (json_api) {
    const auto client_api = api == route::ApiKind::Messages     ? translate::ClientApi::AnthropicMessages
                            : api == route::ApiKind::Embeddings ? translate::ClientApi::OpenAIEmbeddings
                                                                : translate::ClientApi::OpenAIChat;
    operation = api == route::ApiKind::Embeddings ? provider::Operation::Embeddings : provider::Operation::Chat;
    // A translated body is parsed into a document once (in one arena allocation); a native one
    // is only scanned for model and stream.
    const bool translating = translate::needs_translation(client_api, backend->format);
    std::optional<json::monotonic_resource> arena;
    json::value document;
    BodyInfo info;
    std::optional<http::ApiError> body_error;
    if (translating) {
      arena.emplace(body.size() * 2 + 1024);
      body_error = parse_json_body(body, json::storage_ptr(&*arena), document, info);
    } else {
      body_error = inspect_json_body(body, backend->model, info);
    }
    if (body_error) {
      record.model = std::move(info.model);
      co_return co_await send_error(client, *body_error, version, keep_alive, record, schema);
    }
    if (translating && backend->model) info.model = *backend->model;
    record.model = info.model;
    record.stream = info.stream;
    stream = info.stream;
    effective_model = info.model;

    translate::RequestContext context;
    context.model = effective_model;
    context.stream = stream;
    context.default_max_tokens = backend->default_max_tokens;
    if (backend->format == provider::WireFormat::VertexAnthropic) {
      context.model_in_body = false;
      context.anthropic_body_version = backend->anthropic_body_version;
    }
    auto selection = translate::select_translator(client_api, backend->format, context);
    if (selection.error) co_return co_await send_error(client, *selection.error, version, keep_alive, record, schema);
    translator = std::move(selection.translator);
    if (translator) {
      record.translation = translation_name(client_api, backend->format);
      if (effective_model.empty()) {
        const http::ApiError error{400, "invalid_request_error", "missing_model",
                                   "\"model\" is required: Backend " + backend->name + " (" +
                                       std::string(backend->provider->name) + ") needs it to address the provider",
                                   std::string("model")};
        co_return co_await send_error(client, error, version, keep_alive, record, schema);
      }
      std::string upstream_body;
      auto terr = translator->translate_request(document.as_object(), upstream_body);
      if (terr) co_return co_await send_error(client, *terr, version, keep_alive, record, schema);
      body = std::move(upstream_body);
    }
  }
  const bool streamed_body = !whole_parser && !head_parser.is_done();

  // The upstream path: Backend path.full > path.prefix + API suffix > the route's rewrite >
  // the provider's native path.
  route::UpstreamPathInput path_input;
  path_input.client_path = path;
  if (match.rewritten_path) path_input.rewritten = *match.rewritten_path;
  path_input.matched_prefix = match.matched_prefix;
  if (backend->path.full) path_input.backend_full = *backend->path.full;
  if (backend->path.prefix) path_input.backend_prefix = *backend->path.prefix;
  provider::NativePath native;
  if (backend->ai) {
    const auto client_suffix = route::api_suffix(path, match.matched_prefix);
    provider::PathRequest path_request{operation, effective_model, stream, client_suffix};
    native = backend->provider->path(backend->spec->llm, path_request);
    path_input.provider_base = native.base;
    // The provider decides the suffix when it differs from the client's (translations, Azure).
    if (translator || operation != provider::Operation::Other || native.suffix != client_suffix)
      path_input.upstream_suffix = native.suffix;
  }
  auto upstream_path = route::resolve_upstream_path(path_input);
  record.upstream_path = route::with_query(std::move(upstream_path.path), query);
  record.path_source = route::path_source_name(upstream_path.source);

  const auto& endpoint = choose_endpoint(worker, *backend);
  record.upstream = endpoint.display;

  // The upstream request head: client headers minus hop-by-hop ones, filters, host, credentials.
  UpstreamHeadSpec head_spec;
  head_spec.target = record.upstream_path;
  head_spec.host = match.rewritten_host ? std::string_view(*match.rewritten_host) : std::string_view(endpoint.host_header);
  head_spec.translated = translator != nullptr;
  head_spec.replace_auth = backend->ai;
  head_spec.extra = backend->static_headers;
  if (backend->ai) {
    if (backend->auth_kind == config::AuthKind::Passthrough) {
      const auto prefix = backend->spec->llm.authHeader ? std::string_view(backend->spec->llm.authHeader->prefix)
                                                        : backend->provider->auth_prefix;
      const auto credential = client_credential(*head, *backend, prefix);
      if (!credential.empty()) head_spec.auth_value = std::string(prefix) + std::string(credential);
    } else {
      head_spec.auth_value = backend->auth_value;
    }
  }
  std::optional<bhttp::request_parser<bhttp::buffer_body>> body_parser;
  if (streamed_body) {
    head_spec.framing = head_parser.chunked() ? BodyFraming::Chunked : BodyFraming::Length;
    head_spec.body_size = head_parser.content_length().value_or(0);
    body_parser.emplace(std::move(head_parser));
    head = &body_parser->get().base();
    body_parser->body_limit(limits.maxRequestBodyBytes);
    if (beast::iequals(body_parser->get()[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      client.deadline.expires_after(limits.requestHeaderTimeout);
      co_await asio::async_write(client.socket, asio::buffer(kContinue), http::use_task);
      client.deadline.expires_never();
    }
  } else {
    const auto method = head->method();
    const bool has_body = !body.empty() || method == bhttp::verb::post || method == bhttp::verb::put ||
                          method == bhttp::verb::patch;
    head_spec.framing = has_body ? BodyFraming::Length : BodyFraming::None;
    head_spec.body_size = body.size();
  }
  if (backend->sigv4) {
    // Bedrock: sign exactly what goes on the wire (host, path, query, body).
    const std::string_view wire = record.upstream_path;
    const auto q = wire.find('?');
    provider::SigV4Request to_sign;
    to_sign.method = head->method_string();
    to_sign.host = head_spec.host;
    to_sign.path = wire.substr(0, q);
    to_sign.query = q == std::string_view::npos ? std::string_view{} : wire.substr(q + 1);
    to_sign.payload = body;
    const auto signature =
        provider::sign_sigv4(to_sign, backend->aws, backend->aws_region, "bedrock", std::chrono::system_clock::now());
    // The signature always travels in Authorization, whatever authHeader says.
    head_spec.auth_value.clear();
    for (auto& header : signature.headers()) head_spec.extra.push_back(std::move(header));
  }
  const std::string upstream_head = build_upstream_head(*head, *backend, rule, head_spec);
  record.bytes_received = streamed_body ? head_spec.body_size : body.size();
  std::optional<StreamedBody> streamed;
  if (streamed_body)
    streamed.emplace(StreamedBody{client, client_buffer, *body_parser, head_spec.framing, limits, worker});

  const auto started = Clock::now();
  // Gateway API: a zero duration disables the timeout.
  const auto& route_timeouts = rule.rule->timeouts;
  std::optional<Clock::time_point> deadline;
  if (route_timeouts.request && route_timeouts.request->count() > 0) deadline = started + *route_timeouts.request;
  auto first_byte_timeout = backend->timeouts.firstByte;
  if (route_timeouts.backendRequest && route_timeouts.backendRequest->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.backendRequest);
  if (deadline) first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.request);
  auto keep_now = [&] { return keep_alive && (!body_parser || body_parser->is_done()); };

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
        co_return co_await send_error(client, error, version, keep_now(), record, schema);
      }
      connection = std::move(connected.connection);
    }
    parser.emplace();
    parser->body_limit(boost::none);
    if (head->method() == bhttp::verb::head) parser->skip(true);
    auto timeout = first_byte_timeout;
    if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
    timeout = std::max(timeout, milliseconds(1));
    // Coroutine rule for GCC 12: no co_await inside ?: or on braced temporaries (both
    // mis-destroy temporaries); results and arguments go through named locals.
    StreamedBody* streamed_ptr = streamed ? &*streamed : nullptr;
    SendOutcome sent;
    if (connection->tls) {
      sent = co_await send_and_read_header(*connection->tls, *connection, upstream_head, body, *parser, timeout,
                                           streamed_ptr);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, upstream_head, body, *parser, timeout,
                                           streamed_ptr);
    }
    if (streamed) record.bytes_received = sent.body_bytes;
    if (sent.client_error) {
      co_await send_error(client, *sent.client_error, version, false, record, schema);
      co_return false;
    }
    if (!sent.ec) break;
    const auto failure = classify(sent.ec, connection->deadline.expired());
    // A pooled connection the server closed while idle: the write fails, or the read sees a
    // clean end of stream with no byte. Replaying is safe then, since nothing was processed.
    // A reset after the request was sent is not replayed: the provider may have acted on it.
    const bool stale = reused && attempt == 0 && !sent.got_bytes && !sent.body_consumed &&
                       (!sent.wrote_request || sent.ec == bhttp::error::end_of_stream || sent.ec == asio::error::eof);
    if (stale) continue;
    record.upstream_error = failure_label(failure);
    if (failure == Failure::Timeout) {
      const auto error = upstream_error(504, "backend " + backend->name + " (" + endpoint.display +
                                                 ") did not respond within " + std::to_string(timeout.count()) + " ms");
      co_return co_await send_error(client, error, version, keep_now(), record, schema);
    }
    const auto what = failure == Failure::Protocol ? "sent an invalid HTTP response: " + sent.ec.message()
                                                   : "closed the connection before responding: " + sent.ec.message();
    const auto error = upstream_error(502, "backend " + backend->name + " (" + endpoint.display + ") " + what);
    co_return co_await send_error(client, error, version, keep_now(), record, schema);
  }
  record.upstream_first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();

  const auto& response = parser->get();
  record.status = response.result_int();
  const bool upstream_keep_alive = parser->keep_alive();
  const bool client_keep_base = keep_alive && !worker.draining();

  if (translator) {
    // Translated: errors and complete replies are read whole and converted; streams are
    // converted event by event.
    const bool success = record.status >= 200 && record.status < 300;
    if (!success || !stream) {
      std::string upstream_body;
      boost::system::error_code rec;
      const std::size_t limit = success ? limits.maxRequestBodyBytes * 4 : 1024 * 1024;
      if (connection->tls) {
        rec = co_await read_upstream_body(*connection->tls, *connection, *parser, *backend, deadline, limit, worker,
                                          upstream_body);
      } else {
        rec = co_await read_upstream_body(*connection->plain, *connection, *parser, *backend, deadline, limit, worker,
                                          upstream_body);
      }
      if (rec) {
        const auto failure = classify(rec, connection->deadline.expired());
        record.upstream_error = failure_label(failure);
        const auto error = upstream_error(failure == Failure::Timeout ? 504 : 502,
                                          "backend " + backend->name + " (" + endpoint.display +
                                              ") failed while sending its response: " + rec.message());
        co_return co_await send_error(client, error, version, client_keep_base, record, schema);
      }
      if (upstream_keep_alive && parser->is_done())
        worker.pool().give_back(endpoint, std::move(connection), backend->timeouts.poolIdle);
      if (!success) {
        const auto error_type = response["x-amzn-errortype"];
        const auto error = translator->translate_error(record.status, error_type, upstream_body);
        const std::string retry_after(response[bhttp::field::retry_after]);
        co_return co_await send_error(client, error, version, client_keep_base, record, schema, retry_after);
      }
      std::string client_body;
      if (auto terr = translator->translate_response(upstream_body, client_body)) {
        co_return co_await send_error(client, *terr, version, client_keep_base, record, schema);
      }
      const auto usage = translator->usage();
      if (usage.known) {
        record.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
        record.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
      }
      co_return co_await send_json(client, 200, std::move(client_body), version, client_keep_base, rule, record,
                                   &response.base());
    }
    const bool client_keep = client_keep_base && version >= 11;
    const auto framing = version >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    const std::string client_head =
        build_translated_head(&response.base(), 200, translator->stream_content_type(), 0, version, client_keep,
                              framing, rule);
    RelayOutcome relayed;
    if (connection->tls) {
      relayed = co_await relay_translated(*connection->tls, *connection, *parser, client, client_head, framing,
                                          *translator, *backend, deadline, worker, record);
    } else {
      relayed = co_await relay_translated(*connection->plain, *connection, *parser, client, client_head, framing,
                                          *translator, *backend, deadline, worker, record);
    }
    const auto usage = translator->usage();
    if (usage.known) {
      record.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
      record.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
    }
    if (relayed.failure != Failure::None) {
      record.upstream_error = failure_label(relayed.failure);
      if (!relayed.head_sent) {
        const auto error = upstream_error(relayed.failure == Failure::Timeout ? 504 : 502,
                                          "backend " + backend->name + " (" + endpoint.display +
                                              ") failed before its response body arrived: " + relayed.ec.message());
        co_return co_await send_error(client, error, version, client_keep_base, record, schema);
      }
      record.error = "upstream " + std::string(failure_label(relayed.failure)) +
                     " after the response started (backend " + backend->name + "): " + relayed.ec.message();
    } else if (!relayed.client_ok) {
      record.error = "client connection closed during the response";
    }
    if (relayed.upstream_clean && upstream_keep_alive && parser->is_done())
      worker.pool().give_back(endpoint, std::move(connection), backend->timeouts.poolIdle);
    co_return relayed.client_ok && client_keep;
  }

  // Relay: the head goes out with the first body bytes, the body as it arrives.
  const bool has_body =
      head->method() != bhttp::verb::head && record.status >= 200 && record.status != 204 && record.status != 304;
  ClientFraming framing = ClientFraming::None;
  if (has_body) {
    if (response.has_content_length() && !response.chunked()) {
      framing = ClientFraming::ContentLength;
    } else {
      framing = version >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    }
  }
  const bool client_keep = client_keep_base && framing != ClientFraming::UntilClose;
  const bool sse = beast::iequals(std::string_view(response[bhttp::field::content_type]).substr(0, 17), "text/event-stream");
  const std::string client_head = build_client_head(response, version, client_keep, framing, rule);

  RelayOutcome relayed;
  if (connection->tls) {
    relayed = co_await relay_body(*connection->tls, *connection, *parser, client, client_head, framing, sse, *backend,
                                  deadline, worker, record, schema);
  } else {
    relayed = co_await relay_body(*connection->plain, *connection, *parser, client, client_head, framing, sse, *backend,
                                  deadline, worker, record, schema);
  }
  if (relayed.failure != Failure::None) {
    record.upstream_error = failure_label(relayed.failure);
    if (!relayed.head_sent) {
      // Nothing reached the client yet: it gets a proper error response.
      const auto error = upstream_error(relayed.failure == Failure::Timeout ? 504 : 502,
                                        "backend " + backend->name + " (" + endpoint.display +
                                            ") failed before its response body arrived: " + relayed.ec.message());
      co_return co_await send_error(client, error, version, client_keep_base, record, schema);
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
