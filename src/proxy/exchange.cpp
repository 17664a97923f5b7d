#include "proxy/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "http/body_reader.hpp"
#include "http/parse_errors.hpp"
#include "http/request_head.hpp"
#include "http/target.hpp"
#include "observe/log.hpp"
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
                           const bhttp::response_header<>* upstream = nullptr, std::string_view extra_headers = {}) {
  const std::string head = build_translated_head(upstream, status, "application/json", body.size(), version,
                                                 keep_alive, ClientFraming::ContentLength, rule, extra_headers);
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

// The token counts a translator read from the reply, for the access log.
void record_usage(const translate::Translator& translator, RequestRecord& record) {
  const auto usage = translator.usage();
  if (!usage.known) return;
  record.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
  record.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
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

// GET /v1/models answered from the config: every model the route's backends (their providers)
// are pinned to.
std::string models_from_config(const Snapshot& snapshot, const route::CompiledRule& rule) {
  json::array data;
  std::vector<std::string_view> seen;
  for (const auto& ref : rule.rule->backendRefs) {
    const auto it = snapshot.backends.find(ref.name);
    if (it == snapshot.backends.end()) continue;
    for (const auto& group : it->second.groups) {
      for (const auto& provider : group) {
        if (!provider.model) continue;
        const std::string_view model = *provider.model;
        if (std::find(seen.begin(), seen.end(), model) != seen.end()) continue;
        seen.push_back(model);
        json::object entry;
        entry["id"] = model;
        entry["object"] = "model";
        entry["created"] = 0;
        entry["owned_by"] = provider.provider->name;
        data.push_back(std::move(entry));
      }
    }
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

// "100 Continue" just before a body is read, when the client asked for it (HTTP/1.1 only).
http::Task<void> send_continue_if_expected(ClientIo& client, const bhttp::request_header<>& head,
                                           const config::Limits& limits) {
  if (!http::expects_continue(head)) co_return;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  client.deadline.expires_after(limits.requestHeaderTimeout);
  co_await asio::async_write(client.socket, asio::buffer(kContinue), http::use_task);
  client.deadline.expires_never();
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
  co_await send_continue_if_expected(client, parser.get().base(), limits);
  // The body may take as long as it needs while it keeps arriving: idleTimeout bounds the
  // silence between two reads, not the whole upload.
  boost::system::error_code ec;
  while (!ec && !parser.is_done()) {
    client.deadline.expires_after(limits.idleTimeout);
    ec = co_await http::read_body_some(client.socket, buffer, parser);
    client.deadline.expires_never();
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
  if (ec == bhttp::error::buffer_overflow) {
    co_return http::ApiError{400, "invalid_request_error", "malformed_request",
                             "a chunk-size line (with its extensions) or the trailer section of the request body "
                             "is too large",
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
  return route::classify_api(http::api_path_of(path)) == route::ApiKind::Messages ? ClientSchema::Anthropic : ClientSchema::OpenAI;
}

http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version, bool keep_alive,
                            RequestRecord& record, ClientSchema schema, std::string_view retry_after,
                            std::string_view extra_headers) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(error.status), version};
  response.set(bhttp::field::content_type, "application/json");
  if (!retry_after.empty()) response.set(bhttp::field::retry_after, retry_after);
  // `extra_headers`: "name: value\r\n" lines (x-sluice-provider, x-sluice-attempts).
  for (std::string_view rest = extra_headers; !rest.empty();) {
    const auto end = rest.find("\r\n");
    const auto line = rest.substr(0, end);
    if (const auto colon = line.find(": "); colon != std::string_view::npos)
      response.insert(line.substr(0, colon), line.substr(colon + 2));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
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

namespace {

// Everything an exchange decided before its first attempt, shared by every attempt.
struct ExchangeState {
  Worker& worker;
  const Snapshot& snapshot;
  const route::RouteMatchResult& match;
  const route::CompiledRule& rule;
  ClientIo& client;
  beast::flat_buffer& client_buffer;
  RequestRecord& record;
  const config::Limits& limits;
  const BackendRuntime& backend;  // the Backend (an AI Backend's providers are in its groups)
  const bhttp::request_header<>* head = nullptr;
  unsigned version = 11;
  bool keep_alive = false;
  std::string_view path;
  std::string_view query;
  ClientSchema schema = ClientSchema::OpenAI;
  bool json_api = false;
  translate::ClientApi client_api = translate::ClientApi::OpenAIChat;
  provider::Operation operation = provider::Operation::Other;
  // JSON APIs: the client's body as received, and its parsed form when a provider needs one.
  std::string body;
  std::optional<json::monotonic_resource> arena;
  json::value document;
  bool document_used = false;  // a translator moved parts out of `document`
  BodyInfo info;
  // Passthrough bodies still on the client socket.
  std::optional<bhttp::request_parser<bhttp::buffer_body>>* body_parser = nullptr;
  BodyFraming streamed_framing = BodyFraming::None;
  std::uint64_t streamed_size = 0;
  std::optional<Clock::time_point> deadline;
  std::chrono::steady_clock::time_point started;
  policy::EffectiveRetry retry;
  // Attempts so far, and the header lines every response carries about them.
  unsigned attempts = 0;
  std::string sluice_headers;
};

struct AttemptResult {
  bool responded = false;  // a response (or an error) went to the client; `keep` says if the connection stays
  bool keep = false;
  std::string failure;     // why the attempt failed, when it did not respond (for the final error)
  unsigned status = 502;   // the status a final error would carry
  bool retry_same = false; // the provider refused the key, and another key of it can be tried
  std::chrono::seconds retry_after{0};  // a 429/503 that moved on asked for this pause
  bool circuit_open = false;  // the provider was at its circuit-breaker limit: not tried, not a failure
};

// The largest error body read from a translated provider (to convert it).
constexpr std::size_t kMaxUpstreamErrorBodyBytes = 1024 * 1024;

// The longest pause a provider's Retry-After can put it in.
constexpr unsigned kMaxRetryAfterSeconds = 300;

// Providers in the order they are tried; inline storage keeps the common case off the heap.
using AttemptPlan = boost::container::small_vector<const BackendRuntime*, 8>;

// The order providers are tried in: group by group, each group in a weighted random order;
// providers ejected by outlier detection come last (tried only when everything else failed).
AttemptPlan attempt_plan(Worker& worker, const BackendRuntime& backend) {
  AttemptPlan plan;
  AttemptPlan ejected;
  const auto now = ProviderHealth::Clock::now();
  for (const auto& group : backend.groups) {
    // A single provider (the common case) needs no draw.
    if (group.size() == 1) {
      const auto& only = group.front();
      if (only.weight == 0) continue;
      (only.health && only.health->resting(now) ? ejected : plan).push_back(&only);
      continue;
    }
    AttemptPlan left;
    unsigned total = 0;
    for (const auto& p : group) {
      if (p.weight == 0) continue;
      left.push_back(&p);
      total += p.weight;
    }
    while (!left.empty()) {
      std::size_t chosen = 0;
      if (left.size() > 1 && total > 0) {
        auto pick = std::uniform_int_distribution<unsigned>(0, total - 1)(worker.rng());
        for (std::size_t k = 0; k < left.size(); ++k) {
          if (pick < left[k]->weight) {
            chosen = k;
            break;
          }
          pick -= left[k]->weight;
        }
      }
      total -= left[chosen]->weight;
      const bool out = left[chosen]->health && left[chosen]->health->resting(now);
      (out ? ejected : plan).push_back(left[chosen]);
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
  }
  plan.insert(plan.end(), ejected.begin(), ejected.end());
  return plan;
}

// Outlier detection bookkeeping after an attempt at `provider`.
void record_health(Worker& worker, const BackendRuntime& backend, const BackendRuntime& provider, bool failed) {
  if (!provider.health || !backend.spec->outlierDetection.enabled) return;
  if (!failed) {
    provider.health->record_success(backend.spec->outlierDetection, ProviderHealth::Clock::now());
    return;
  }
  const auto now = ProviderHealth::Clock::now();
  unsigned providers = 0;
  unsigned ejected = 0;
  for (const auto& group : backend.groups) {
    for (const auto& p : group) {
      ++providers;
      if (p.health && p.health->ejected(now)) ++ejected;
    }
  }
  if (provider.health->record_failure(backend.spec->outlierDetection, now, ejected, providers)) {
    worker.metrics().record_ejection(backend.name, provider.name);
    observe::log(observe::Level::Warning, "provider ejected",
                 {{"backend", backend.name},
                  {"provider", provider.name},
                  {"ejections", std::to_string(provider.health->ejections())},
                  {"for_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                provider.health->ejected_until() - now)
                                                .count())}});
  }
}

KeyRing::Clock::time_point earliest_key_back(const KeyRing& keys) {
  auto earliest = KeyRing::Clock::time_point::max();
  for (std::size_t k = 0; k < keys.size(); ++k) earliest = std::min(earliest, keys.benched_until(k));
  return earliest;
}

void set_sluice_headers(ExchangeState& st, std::string_view provider) {
  st.sluice_headers.clear();
  if (!st.backend.ai) return;
  st.sluice_headers.reserve(48 + provider.size());
  st.sluice_headers.append("x-sluice-provider: ").append(provider).append("\r\nx-sluice-attempts: ");
  char digits[12];
  const auto written = std::to_chars(digits, digits + sizeof digits, st.attempts);
  st.sluice_headers.append(digits, static_cast<std::size_t>(written.ptr - digits)).append("\r\n");
}

// One attempt at one provider (or the Static Backend itself). Answers the client unless the
// attempt failed before any byte reached it and `can_retry` allows another provider to try.
http::Task<AttemptResult> attempt(ExchangeState& st, const BackendRuntime& target, bool can_retry) {
  // (can_retry narrows below once streamed body bytes have left: such a request cannot move on.)
  AttemptResult result;
  auto& record = st.record;
  auto& worker = st.worker;
  auto& client = st.client;
  const auto& rule = st.rule;
  const auto& limits = st.limits;
  const auto& head = *st.head;
  const auto version = st.version;
  const auto schema = st.schema;
  ++st.attempts;
  set_sluice_headers(st, target.name);
  record.upstream_error = {};  // this attempt's own outcome (an earlier one is in record.error)
  record.status = 0;
  record.provider = target.ai ? std::string_view(target.name) : std::string_view{};
  record.attempts = st.attempts;
  auto fail = [&](unsigned status, std::string why) {
    result.status = status;
    result.failure = std::move(why);
    return result;
  };

  // The circuit breaker: a provider at its limit of requests in flight takes no more.
  struct InFlight {
    std::atomic<unsigned>* count = nullptr;
    ~InFlight() {
      if (count) count->fetch_sub(1, std::memory_order_relaxed);
    }
  } in_flight;
  if (target.health && st.backend.spec && st.backend.spec->circuitBreaker.maxRequests > 0) {
    auto& count = target.health->in_flight();
    const auto limit = st.backend.spec->circuitBreaker.maxRequests;
    if (count.fetch_add(1, std::memory_order_relaxed) >= limit) {
      count.fetch_sub(1, std::memory_order_relaxed);
      std::string why = "backend " + st.backend.name + " provider " + target.name + " has " + std::to_string(limit) +
                        " requests in flight (spec.ai.circuitBreaker.maxRequests)";
      result.circuit_open = true;
      if (can_retry) co_return fail(503, std::move(why));
      const http::ApiError error{503, "server_error", "circuit_open", std::move(why), {}};
      result.responded = true;
      result.keep = co_await send_error(client, error, version, st.keep_alive, record, schema, {}, st.sluice_headers);
      co_return result;
    }
    in_flight.count = &count;
  }

  // The body this provider gets: the client's, rewritten for a model override, or translated.
  std::unique_ptr<translate::Translator> translator;
  std::string translated_body;
  const std::string* body = &st.body;
  std::string effective_model = st.info.model;
  if (st.json_api) {
    if (target.model) effective_model = *target.model;
    translate::RequestContext context;
    context.model = effective_model;
    context.stream = st.info.stream;
    context.default_max_tokens = target.default_max_tokens;
    if (target.format == provider::WireFormat::VertexAnthropic) {
      context.model_in_body = false;
      context.anthropic_body_version = target.anthropic_body_version;
    }
    auto selection = translate::select_translator(st.client_api, target.format, context);
    if (selection.error) {
      result.responded = true;
      result.keep = co_await send_error(client, *selection.error, version, st.keep_alive, record, schema);
      co_return result;
    }
    translator = std::move(selection.translator);
    record.translation = translator ? translation_name(st.client_api, target.format) : std::string_view{};
    record.model = effective_model;
    if (translator) {
      if (effective_model.empty()) {
        const http::ApiError error{400, "invalid_request_error", "missing_model",
                                   "\"model\" is required: Backend " + st.backend.name + " (" +
                                       std::string(target.provider->name) + ") needs it to address the provider",
                                   std::string("model")};
        result.responded = true;
        result.keep = co_await send_error(client, error, version, st.keep_alive, record, schema);
        co_return result;
      }
      // The parsed document serves one translator (it may move parts out); a later attempt
      // parses the client's body again.
      json::value copy;
      json::value* document = &st.document;
      if (st.document_used || !st.document.is_object()) {
        boost::system::error_code ec;
        copy = json::parse(st.body, ec);
        document = &copy;
      }
      st.document_used = true;
      auto terr = translator->translate_request(document->as_object(), translated_body);
      if (terr) {
        result.responded = true;
        result.keep = co_await send_error(client, *terr, version, st.keep_alive, record, schema);
        co_return result;
      }
      body = &translated_body;
    } else if (target.model && st.document.is_object()) {
      // A native provider with its own model, on a Backend whose body was parsed: rewrite it.
      json::object rewritten(st.document.as_object(), json::storage_ptr());
      rewritten["model"] = *target.model;
      translated_body = json::serialize(rewritten);
      body = &translated_body;
    }
  }

  // The upstream path: provider path.full > path.prefix + API suffix > the route's rewrite >
  // the provider's native path.
  route::UpstreamPathInput path_input;
  path_input.client_path = st.path;
  if (st.match.rewritten_path) path_input.rewritten = *st.match.rewritten_path;
  path_input.matched_prefix = st.match.matched_prefix;
  if (target.path.full) path_input.backend_full = *target.path.full;
  if (target.path.prefix) path_input.backend_prefix = *target.path.prefix;
  provider::NativePath native;
  if (target.ai) {
    const auto client_suffix = route::api_suffix(st.path, st.match.matched_prefix);
    provider::PathRequest path_request{st.operation, effective_model, st.info.stream, client_suffix};
    native = target.provider->path(*target.llm, path_request);
    path_input.provider_base = native.base;
    // The provider decides the suffix when it differs from the client's (translations, Azure).
    if (translator || st.operation != provider::Operation::Other || native.suffix != client_suffix)
      path_input.upstream_suffix = native.suffix;
  }
  auto upstream_path = route::resolve_upstream_path(path_input);
  // The client's query does not travel to a URL Sluice composes for the provider (a
  // translation, a non-OpenAI format's native path, a provider query such as Azure's
  // api-version): there `key`, `alt` or `api-version` would be the client's to choose.
  // Passthrough requests and OpenAI-compatible chat / embeddings paths keep it.
  const bool composed_url =
      st.json_api && target.ai &&
      (translator != nullptr || target.format != provider::WireFormat::OpenAI ||
       native.suffix.find('?') != std::string::npos);
  record.upstream_path =
      composed_url ? std::move(upstream_path.path) : route::with_query(std::move(upstream_path.path), st.query);
  record.path_source = route::path_source_name(upstream_path.source);

  const auto& endpoint = choose_endpoint(worker, target);
  record.upstream = endpoint.display;
  // Names the upstream in messages; built only when one is needed.
  const auto who = [&] {
    return target.ai && target.name != st.backend.name ? "backend " + st.backend.name + " provider " + target.name
                                                       : "backend " + st.backend.name;
  };

  // The upstream request head: client headers minus hop-by-hop ones, filters, host, credentials.
  UpstreamHeadSpec head_spec;
  std::optional<std::size_t> key_index;  // which of the provider's keys, when it has several
  head_spec.target = record.upstream_path;
  head_spec.host =
      st.match.rewritten_host ? std::string_view(*st.match.rewritten_host) : std::string_view(endpoint.host_header);
  head_spec.translated = translator != nullptr;
  head_spec.replace_auth = target.ai;
  head_spec.injects_credential =
      target.ai && (target.sigv4 || target.auth_kind == config::AuthKind::Inline ||
                    target.auth_kind == config::AuthKind::SecretRef);
  head_spec.extra = target.static_headers;
  if (target.ai) {
    if (target.auth_kind == config::AuthKind::Passthrough) {
      const auto prefix =
          target.llm->authHeader ? std::string_view(target.llm->authHeader->prefix) : target.provider->auth_prefix;
      const auto credential = client_credential(head, target, prefix);
      if (!credential.empty()) head_spec.auth_value = std::string(prefix) + std::string(credential);
    } else if (target.keys) {
      // Several keys: the next one not benched.
      const auto now = KeyRing::Clock::now();
      key_index = target.keys->pick(now);
      if (!key_index) {
        std::string why = who() + ": every API key is benched after 401/403/429 answers; the first is back in " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             earliest_key_back(*target.keys) - now)
                                             .count()) +
                          " s";
        if (can_retry) co_return fail(503, std::move(why));
        const http::ApiError error{503, "server_error", "all_keys_benched", std::move(why), {}};
        result.responded = true;
        result.keep = co_await send_error(client, error, version, st.keep_alive, record, schema, {}, st.sluice_headers);
        co_return result;
      }
      head_spec.auth_value = target.auth_values[*key_index];
    } else {
      head_spec.auth_value = target.auth_value;
    }
  }
  const bool streamed_body = st.body_parser != nullptr && st.body_parser->has_value();
  if (streamed_body) {
    head_spec.framing = st.streamed_framing;
    head_spec.body_size = st.streamed_size;
  } else {
    const auto method = head.method();
    const bool has_body = !body->empty() || method == bhttp::verb::post || method == bhttp::verb::put ||
                          method == bhttp::verb::patch;
    head_spec.framing = has_body ? BodyFraming::Length : BodyFraming::None;
    head_spec.body_size = body->size();
  }
  if (target.sigv4) {
    // Bedrock: sign exactly what goes on the wire (host, path, query, body).
    const std::string_view wire = record.upstream_path;
    const auto q = wire.find('?');
    provider::SigV4Request to_sign;
    to_sign.method = head.method_string();
    to_sign.host = head_spec.host;
    to_sign.path = wire.substr(0, q);
    to_sign.query = q == std::string_view::npos ? std::string_view{} : wire.substr(q + 1);
    to_sign.payload = *body;
    const auto signature =
        provider::sign_sigv4(to_sign, target.aws, target.aws_region, "bedrock", std::chrono::system_clock::now());
    // The signature always travels in Authorization, whatever authHeader says.
    head_spec.auth_value.clear();
    for (auto& header : signature.headers()) head_spec.extra.push_back(std::move(header));
  }
  const std::string upstream_head = build_upstream_head(head, target, rule, head_spec);
  record.bytes_received = streamed_body ? head_spec.body_size : st.body.size();
  std::optional<StreamedBody> streamed;
  if (streamed_body)
    streamed.emplace(StreamedBody{client, st.client_buffer, **st.body_parser, head_spec.framing, limits, worker});

  // Gateway API: a zero duration disables the timeout.
  const auto& route_timeouts = rule.rule->timeouts;
  const auto& deadline = st.deadline;
  auto first_byte_timeout = target.timeouts.firstByte;
  if (route_timeouts.backendRequest && route_timeouts.backendRequest->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.backendRequest);
  if (deadline) first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.request);
  if (st.retry.per_try_timeout && st.retry.per_try_timeout->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *st.retry.per_try_timeout);
  auto keep_now = [&] { return st.keep_alive && (!streamed_body || (*st.body_parser)->is_done()); };

  // Connect (or reuse) and send. A pooled connection is checked before the request is written
  // (see http/upstream_pool.hpp); one that still fails before the upstream accepted any byte of
  // the request is replaced by a fresh connection, once. Any later failure is this provider's.
  std::unique_ptr<http::UpstreamConnection> connection;
  std::optional<ResponseParser> parser;
  bool body_consumed = false;  // streamed client body bytes went out: this request cannot move on
  for (int pass = 0;; ++pass) {
    connection = pass == 0 ? worker.pool().take(endpoint) : nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      auto connect_timeout = target.timeouts.connect;
      if (deadline)
        connect_timeout = std::min(connect_timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
      auto connected = co_await worker.pool().connect(endpoint, std::max(connect_timeout, milliseconds(1)));
      if (!connected.connection) {
        const bool timeout = connected.failure == http::ConnectFailure::Timeout;
        record.upstream_error = timeout ? "timeout" : (connected.failure == http::ConnectFailure::Tls ? "tls" : "connect");
        std::string why = who() + " unavailable: " + connected.error;
        if (can_retry && (timeout ? st.retry.on.timeout : st.retry.on.connectFailure))
          co_return fail(timeout ? 504 : 502, std::move(why));
        const auto error = upstream_error(timeout ? 504 : 502, std::move(why));
        result.responded = true;
        result.keep = co_await send_error(client, error, version, keep_now(), record, schema, {}, st.sluice_headers);
        co_return result;
      }
      connection = std::move(connected.connection);
    }
    const bool head_request = head.method() == bhttp::verb::head;
    fresh_parser(parser, head_request);
    auto timeout = first_byte_timeout;
    if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
    timeout = std::max(timeout, milliseconds(1));
    // Coroutine rule for GCC 12: no co_await inside ?: or on braced temporaries (both
    // mis-destroy temporaries); results and arguments go through named locals.
    StreamedBody* streamed_ptr = streamed ? &*streamed : nullptr;
    SendOutcome sent;
    if (connection->tls) {
      sent = co_await send_and_read_header(*connection->tls, *connection, upstream_head, *body, parser, head_request,
                                           timeout, streamed_ptr);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, upstream_head, *body, parser,
                                           head_request, timeout, streamed_ptr);
    }
    if (streamed) record.bytes_received = sent.body_bytes;
    body_consumed = body_consumed || sent.body_consumed;
    if (sent.client_error) {
      result.responded = true;
      co_await send_error(client, *sent.client_error, version, false, record, schema);
      co_return result;
    }
    if (!sent.ec) break;
    const auto failure = classify(sent.ec, connection->deadline.expired());
    // A pooled connection the server closed while idle, seen only when the write failed before
    // the upstream accepted a byte: replaying is safe, nothing reached it. Once bytes of the
    // request were accepted, a close or reset is not replayed on this provider (it may have
    // received and acted on the request); another provider may still be tried (a retry
    // policy's decision).
    const bool stale = reused && pass == 0 && sent.bytes_written == 0 && !sent.got_bytes && !sent.body_consumed;
    if (stale) continue;
    record.upstream_error = failure_label(failure);
    std::string why = failure == Failure::Timeout
                          ? who() + " (" + endpoint.display + ") did not respond within " + std::to_string(timeout.count()) + " ms"
                          : who() + " (" + endpoint.display + ") " +
                                (!sent.protocol_error.empty() ? "sent an invalid HTTP response: " + sent.protocol_error
                                 : failure == Failure::Protocol
                                     ? "sent an invalid HTTP response: " + sent.ec.message()
                                     : "closed the connection before responding: " + sent.ec.message());
    const unsigned status = failure == Failure::Timeout ? 504 : 502;
    const bool retry_kind = failure == Failure::Timeout ? st.retry.on.timeout : st.retry.on.reset;
    if (can_retry && retry_kind && !sent.body_consumed) co_return fail(status, std::move(why));
    const auto error = upstream_error(status, std::move(why));
    result.responded = true;
    result.keep = co_await send_error(client, error, version, keep_now(), record, schema, {}, st.sluice_headers);
    co_return result;
  }
  record.upstream_first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - st.started).count();

  const auto& response = parser->get();
  record.status = response.result_int();
  const bool upstream_keep_alive = parser->keep_alive();
  const bool client_keep_base = st.keep_alive && !worker.draining();
  if (key_index && (record.status == 401 || record.status == 403 || record.status == 429)) {
    // This key is refused or out of quota: benched (401/403 for 5 minutes, 429 for its
    // Retry-After, else a minute), and the request goes again with the next key.
    auto bench = std::chrono::seconds(record.status == 429 ? 60 : 300);
    if (record.status == 429) {
      const std::string_view retry_after = response[bhttp::field::retry_after];
      unsigned seconds = 0;
      if (std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds).ec == std::errc{} &&
          seconds > 0)
        bench = std::chrono::seconds(std::min(seconds, 3600u));
    }
    const auto now = KeyRing::Clock::now();
    target.keys->bench(*key_index, now + bench);
    observe::log(observe::Level::Warning, "API key benched",
                 {{"backend", st.backend.name},
                  {"provider", target.name},
                  {"key", std::to_string(*key_index + 1)},
                  {"status", std::to_string(record.status)},
                  {"for_s", std::to_string(bench.count())}});
    if (!body_consumed && target.keys->pick(now)) {
      record.upstream_error = "key";
      result.retry_same = true;
      co_return fail(record.status, who() + " refused key " + std::to_string(*key_index + 1) + " (HTTP " +
                                        std::to_string(record.status) + ")");
    }
  }
  can_retry = can_retry && !body_consumed;
  if (can_retry && st.retry.retries_on_status(record.status)) {
    // Another provider will try: this answer is dropped (its connection with it). A pause it
    // asked for (Retry-After on a 429 or 503) keeps it at the back of the order meanwhile.
    if (record.status == 429 || record.status == 503) {
      const std::string_view retry_after = response[bhttp::field::retry_after];
      unsigned seconds = 0;
      if (std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds).ec == std::errc{})
        result.retry_after = std::chrono::seconds(std::min(seconds, kMaxRetryAfterSeconds));
    }
    record.upstream_error = "status";
    co_return fail(record.status, who() + " answered HTTP " + std::to_string(record.status));
  }

  RelayOutcome relayed;
  bool client_keep = false;
  if (translator) {
    // Translated: errors and complete replies are read whole and converted; streams are
    // converted event by event.
    const bool success = record.status >= 200 && record.status < 300;
    if (!success || !st.info.stream) {
      std::string upstream_body;
      boost::system::error_code rec;
      const std::size_t limit = success ? limits.maxTranslatedResponseBytes : kMaxUpstreamErrorBodyBytes;
      if (connection->tls) {
        rec = co_await read_upstream_body(*connection->tls, *connection, *parser, target, deadline, limit, worker,
                                          upstream_body);
      } else {
        rec = co_await read_upstream_body(*connection->plain, *connection, *parser, target, deadline, limit, worker,
                                          upstream_body);
      }
      result.responded = true;
      if (rec) {
        const auto failure = classify(rec, connection->deadline.expired());
        record.upstream_error = failure_label(failure);
        std::string why = rec == bhttp::error::body_limit
                              ? who() + " (" + endpoint.display + ") sent a response larger than " +
                                    std::to_string(limit) + " bytes" +
                                    (success ? " (Gateway spec.limits.maxTranslatedResponseBytes)" : "")
                              : who() + " (" + endpoint.display + ") failed while sending its response: " + rec.message();
        const auto error = upstream_error(failure == Failure::Timeout ? 504 : 502, std::move(why));
        result.keep = co_await send_error(client, error, version, client_keep_base, record, schema, {}, st.sluice_headers);
        co_return result;
      }
      if (upstream_keep_alive && parser->is_done())
        worker.pool().give_back(endpoint, std::move(connection), target.timeouts.poolIdle);
      if (!success) {
        const auto error_type = response["x-amzn-errortype"];
        const auto error = translator->translate_error(record.status, error_type, upstream_body);
        const std::string retry_after(response[bhttp::field::retry_after]);
        result.keep =
            co_await send_error(client, error, version, client_keep_base, record, schema, retry_after, st.sluice_headers);
        co_return result;
      }
      std::string client_body;
      if (auto terr = translator->translate_response(upstream_body, client_body)) {
        result.keep = co_await send_error(client, *terr, version, client_keep_base, record, schema, {}, st.sluice_headers);
        co_return result;
      }
      record_usage(*translator, record);
      result.keep = co_await send_json(client, 200, std::move(client_body), version, client_keep_base, rule, record,
                                       &response.base(), st.sluice_headers);
      co_return result;
    }
    client_keep = client_keep_base && version >= 11;
    const auto framing = version >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    const std::string client_head = build_translated_head(&response.base(), 200, translator->stream_content_type(), 0,
                                                          version, client_keep, framing, rule, st.sluice_headers);
    if (connection->tls) {
      relayed = co_await relay_translated(*connection->tls, *connection, *parser, client, client_head, framing,
                                          *translator, target, deadline, worker, record);
    } else {
      relayed = co_await relay_translated(*connection->plain, *connection, *parser, client, client_head, framing,
                                          *translator, target, deadline, worker, record);
    }
    record_usage(*translator, record);
  } else {
    // Relay: the head goes out with the first body bytes, the body as it arrives.
    const bool has_body =
        head.method() != bhttp::verb::head && record.status >= 200 && record.status != 204 && record.status != 304;
    ClientFraming framing = ClientFraming::None;
    if (has_body) {
      if (response.has_content_length() && !response.chunked()) {
        framing = ClientFraming::ContentLength;
      } else {
        framing = version >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
      }
    }
    client_keep = client_keep_base && framing != ClientFraming::UntilClose;
    const bool sse =
        beast::iequals(std::string_view(response[bhttp::field::content_type]).substr(0, 17), "text/event-stream");
    const std::string client_head = build_client_head(response, version, client_keep, framing, rule, st.sluice_headers);
    if (connection->tls) {
      relayed = co_await relay_body(*connection->tls, *connection, *parser, client, client_head, framing, sse, target,
                                    deadline, worker, record, schema);
    } else {
      relayed = co_await relay_body(*connection->plain, *connection, *parser, client, client_head, framing, sse,
                                    target, deadline, worker, record, schema);
    }
  }

  if (relayed.failure != Failure::None) {
    record.upstream_error = failure_label(relayed.failure);
    if (!relayed.head_sent) {
      // Nothing reached the client yet: another provider, or a proper error response.
      std::string why = who() + " (" + endpoint.display + ") failed before its response body arrived: " +
                        relayed.ec.message();
      const unsigned status = relayed.failure == Failure::Timeout ? 504 : 502;
      if (can_retry && (relayed.failure == Failure::Timeout ? st.retry.on.timeout : st.retry.on.reset))
        co_return fail(status, std::move(why));
      const auto error = upstream_error(status, std::move(why));
      result.responded = true;
      result.keep = co_await send_error(client, error, version, client_keep_base, record, schema, {}, st.sluice_headers);
      co_return result;
    }
    record.error = "upstream " + std::string(failure_label(relayed.failure)) + " after the response started (" + who() +
                   "): " + relayed.ec.message();
  } else if (!relayed.client_ok) {
    record.error = "client connection closed during the response";
  }
  if (relayed.upstream_clean && upstream_keep_alive && parser->is_done()) {
    worker.pool().give_back(endpoint, std::move(connection), target.timeouts.poolIdle);
  }
  result.responded = true;
  result.keep = relayed.client_ok && client_keep;
  co_return result;
}

}  // namespace

http::Task<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                              RequestHeadParser& head_parser, beast::flat_buffer& client_buffer, ClientIo& client,
                              bool keep_alive, RequestRecord& record) {
  const auto& rule = *match.rule;
  const auto& limits = snapshot.gateway().limits;
  // The request head; it moves with the parser that reads the body, so it is reached through
  // this pointer, updated when that happens.
  const bhttp::request_header<>* head = &head_parser.get().base();
  const auto version = head->version();

  // Split the target (canonical since the edge: http/request_head.hpp). The API is named by the
  // path without ";" parameters; a passthrough request carries the query to the upstream.
  const std::string_view target = head->target();
  const auto qpos = target.find('?');
  const auto path = target.substr(0, qpos);
  const auto api_path = http::api_path_of(path);
  const auto api = route::classify_api(api_path);
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

  // The providers to try, in order, without those that cannot serve (a missing Secret).
  AttemptPlan plan;
  std::string unavailable;
  if (backend->ai) {
    for (const auto* p : attempt_plan(worker, *backend)) {
      if (p->unavailable_reason.empty()) {
        plan.push_back(p);
      } else {
        unavailable += (unavailable.empty() ? "" : "; ") + p->unavailable_reason;
      }
    }
  } else if (backend->unavailable_reason.empty()) {
    plan.push_back(backend);
  } else {
    unavailable = backend->unavailable_reason;
  }
  if (plan.empty()) {
    const http::ApiError error{500, "server_error", "backend_unavailable",
                               unavailable.empty() ? "Backend " + backend->name + " has no provider to serve" : unavailable,
                               {}};
    co_return co_await send_error(client, error, version, keep_after_error(), record, schema);
  }
  const BackendRuntime& first = *plan.front();

  // What kind of request this is for the backend.
  const bool post = head->method() == bhttp::verb::post;
  const bool json_api = backend->ai && post &&
                        (api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings ||
                         api == route::ApiKind::Messages);
  const auto family = route::api_family(api_path, match.matched_prefix);
  if (backend->ai && !json_api) {
    const bool allowed = passthrough_allows(backend->spec->passthrough, api_path, match.matched_prefix, family);
    if (api == route::ApiKind::Models && head->method() == bhttp::verb::get && !allowed) {
      co_return co_await send_json(client, 200, models_from_config(snapshot, rule), version, keep_after_error(), rule,
                                   record);
    }
    const bool openai_format = first.format == provider::WireFormat::OpenAI;
    // Only POST reaches chat and embeddings without an allow-list entry (the JSON path, where
    // the body is read and a Backend's model override applies).
    const bool native_json_api =
        post && openai_format && (api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings);
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

  ExchangeState st{worker, snapshot, match, rule, client, client_buffer, record, limits, *backend};
  st.head = head;
  st.version = version;
  st.keep_alive = keep_alive;
  st.path = json_api ? api_path : path;
  st.query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  st.schema = schema;
  st.json_api = json_api;

  // JSON APIs are read whole and parsed once; so is every body to a SigV4 provider (the
  // signature covers its hash); the rest streams both ways.
  bool any_sigv4 = false;
  for (const auto* p : plan) any_sigv4 = any_sigv4 || p->sigv4;
  std::optional<bhttp::request_parser<bhttp::string_body>> whole_parser;
  if (json_api || any_sigv4) {
    bool client_gone = false;
    whole_parser.emplace(std::move(head_parser));
    st.head = &whole_parser->get().base();
    auto read_error = co_await read_client_body(client, client_buffer, *whole_parser, limits, st.body, client_gone);
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
    st.client_api = api == route::ApiKind::Messages     ? translate::ClientApi::AnthropicMessages
                    : api == route::ApiKind::Embeddings ? translate::ClientApi::OpenAIEmbeddings
                                                        : translate::ClientApi::OpenAIChat;
    st.operation = api == route::ApiKind::Embeddings ? provider::Operation::Embeddings : provider::Operation::Chat;
    // One provider speaking the client's API: the body is only scanned (model, stream) and
    // rewritten for a model override. Otherwise it is parsed once (in one arena allocation)
    // for the translators and per-provider models.
    const bool single_native = plan.size() == 1 && !translate::needs_translation(st.client_api, first.format);
    std::optional<http::ApiError> body_error;
    if (single_native) {
      body_error = inspect_json_body(st.body, first.model, st.info);
    } else {
      st.arena.emplace(st.body.size() * 2 + 1024);
      body_error = parse_json_body(st.body, json::storage_ptr(&*st.arena), st.document, st.info);
    }
    if (body_error) {
      record.model = std::move(st.info.model);
      co_return co_await send_error(client, *body_error, version, keep_alive, record, schema);
    }
    record.model = st.info.model;
    record.stream = st.info.stream;
  }
  std::optional<bhttp::request_parser<bhttp::buffer_body>> body_parser;
  if (!whole_parser && !head_parser.is_done()) {
    st.streamed_framing = head_parser.chunked() ? BodyFraming::Chunked : BodyFraming::Length;
    st.streamed_size = head_parser.content_length().value_or(0);
    body_parser.emplace(std::move(head_parser));
    st.head = &body_parser->get().base();
    body_parser->body_limit(limits.maxRequestBodyBytes);
    st.body_parser = &body_parser;
    co_await send_continue_if_expected(client, body_parser->get().base(), limits);
  }

  st.started = Clock::now();
  const auto& route_timeouts = rule.rule->timeouts;
  if (route_timeouts.request && route_timeouts.request->count() > 0) st.deadline = st.started + *route_timeouts.request;

  // The retry policy: TrafficPolicy retry sections of the rule and the Backend over the
  // defaults (every provider once, on every retryable condition, no pause).
  const config::RetryPolicy* rule_policy = nullptr;
  const config::RetryPolicy* backend_policy = nullptr;
  if (!snapshot.retry.by_rule.empty()) {
    if (const auto it = snapshot.retry.by_rule.find(rule.id); it != snapshot.retry.by_rule.end()) rule_policy = &it->second;
  }
  if (!snapshot.retry.by_backend.empty()) {
    if (const auto it = snapshot.retry.by_backend.find(backend->name); it != snapshot.retry.by_backend.end())
      backend_policy = &it->second;
  }
  st.retry = policy::resolve(rule_policy, backend_policy, plan.size());
  if (plan.size() > st.retry.attempts) plan.resize(st.retry.attempts);

  // Each provider at most once, group by group: a failure before the first byte reached the
  // client moves on to the next one (after the policy's backoff, within the retry budget); the
  // last one answers whatever happens.
  std::string failures;
  unsigned last_status = 502;
  auto& retries_in_flight = worker.retries_in_flight();
  std::size_t key_retries = 0;
  auto budget_allows = [&] {
    if (!st.retry.budget_percent) return true;
    const auto active = static_cast<std::uint64_t>(std::max<std::int64_t>(
        worker.metrics().active_requests.load(std::memory_order_relaxed), 0));
    const auto allowed = std::max<std::uint64_t>(policy::EffectiveRetry::kMinRetryConcurrency,
                                                 active * *st.retry.budget_percent / 100);
    return retries_in_flight < allowed;
  };
  bool budget_exhausted = false;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const bool more = i + 1 < plan.size() && (!st.deadline || Clock::now() < *st.deadline);
    if (i > 0 && !budget_allows()) {
      // Too many retries in flight on this worker: this request stops here.
      budget_exhausted = true;
      break;
    }
    if (i > 0) {
      const auto pause = st.retry.backoff(static_cast<unsigned>(i),
                                          std::uniform_real_distribution<double>(0.0, 1.0)(worker.rng()));
      auto wait = std::chrono::duration_cast<milliseconds>(pause);
      if (st.deadline) wait = std::min(wait, std::chrono::duration_cast<milliseconds>(*st.deadline - Clock::now()));
      if (wait.count() > 0) {
        http::Timer timer(worker.io(), wait);
        co_await timer.async_wait(http::use_task);
      }
    }
    // Counted while it runs, also if the exchange is cut short (drain).
    struct RetryInFlight {
      unsigned& count;
      bool counted;
      ~RetryInFlight() {
        if (counted) --count;
      }
    } in_flight{retries_in_flight, i > 0};
    if (in_flight.counted) ++retries_in_flight;
    auto outcome = co_await attempt(st, *plan[i], more);
    if (outcome.retry_same && key_retries < plan[i]->auth_values.size()) {
      // The same provider with its next key: not a provider failure.
      ++key_retries;
      failures += (failures.empty() ? "" : "; ") + outcome.failure;
      --i;
      continue;
    }
    if (outcome.retry_after.count() > 0 && plan[i]->health) {
      plan[i]->health->hold(ProviderHealth::Clock::now() + outcome.retry_after);
    }
    if (backend->ai) {
      const bool failed = !outcome.responded || !record.upstream_error.empty() || record.status >= 500;
      if (!outcome.circuit_open) record_health(worker, *backend, *plan[i], failed);
      worker.metrics().record_attempt(backend->name, plan[i]->name,
                                      !outcome.responded ? "failover" : (failed ? "failure" : "success"));
    }
    if (outcome.responded) {
      if (!failures.empty())
        record.error = "failed over: " + failures + (record.error.empty() ? std::string() : "; then: " + record.error);
      co_return outcome.keep;
    }
    failures += (failures.empty() ? "" : "; ") + outcome.failure;
    last_status = outcome.status;
    record.error.clear();
  }
  record.error = "failed over: " + failures;
  // Every provider failed without answering: the retry budget stopped the request, or the
  // deadline passed with providers left.
  const auto error =
      budget_exhausted
          ? http::ApiError{503, "server_error", "retry_budget_exhausted",
                           "retry budget of Backend " + backend->name + " exhausted (too many retries in flight); " +
                               "tried: " + failures,
                           {}}
          : upstream_error(last_status, "every provider of Backend " + backend->name + " failed: " + failures);
  co_return co_await send_error(client, error, version, keep_alive && (!body_parser || body_parser->is_done()), record,
                                schema, {}, st.sluice_headers);
}

}  // namespace sluice::proxy
