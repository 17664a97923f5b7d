#include "proxy/exchange.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <optional>

#include "http/body_reader.hpp"
#include "http/parse_errors.hpp"
#include "http/request_head.hpp"
#include "http/target.hpp"
#include "observe/log.hpp"
#include "pricing/catalog.hpp"
#include "proxy/attempt.hpp"
#include "proxy/model_catalog.hpp"
#include "proxy/output_capture.hpp"
#include "proxy/request_body.hpp"
#include "proxy/tracing.hpp"
#include "route/api_path.hpp"
#include "translate/anthropic_client.hpp"
#include "translate/gemini_client.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The rule's backendRef a request goes to (weighted), by position.
std::size_t choose_backend_ref(Worker& worker, const route::CompiledRule& rule) {
  const auto& refs = rule.rule->backendRefs;
  if (refs.size() > 1 && rule.total_weight > 0) {
    auto pick = std::uniform_int_distribution<unsigned>(0, rule.total_weight - 1)(worker.rng());
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (pick < refs[i].weight) return i;
      pick -= refs[i].weight;
    }
  }
  return 0;
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

// "100 Continue" just before a body is read, when the client asked for it (HTTP/1.1 only).
http::Task<void> send_continue(ClientIo& client, const config::Limits& limits) {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  client.deadline.expires_after(limits.requestHeaderTimeout);
  co_await asio::async_write(client.socket, asio::buffer(kContinue), http::use_task);
  client.deadline.expires_never();
}

// Reads the whole client body (chat, embeddings, messages: JSON the gateway must parse).
// Returns the error to answer with, or nullopt; `client_gone` when the client went away.
// `parser` took over the head parser's message (headers included).
http::Task<std::optional<http::ApiError>> read_client_body(ClientIo& client, beast::flat_buffer& buffer,
                                                           http::RequestParser<bhttp::string_body>& parser,
                                                           const config::Limits& limits, std::string& body,
                                                           bool& client_gone) {
  client_gone = false;
  if (parser.is_done()) {
    body = std::move(parser.get().body());
    co_return std::nullopt;
  }
  parser.body_limit(limits.maxRequestBodyBytes);
  if (http::expects_continue(parser.get().base())) co_await send_continue(client, limits);
  // The body may take as long as it needs while it keeps arriving: idleTimeout bounds the
  // silence between two reads, not the whole upload.
  boost::system::error_code ec;
  while (!ec && !parser.is_done()) {
    if (auto step = http::parse_buffered_body(buffer, parser)) {  // usually the whole body came with the head
      ec = *step;
      continue;
    }
    client.deadline.expires_after(limits.idleTimeout);
    ec = co_await http::read_body_some(client.socket, buffer, parser);
    client.deadline.expires_never();
  }
  if (ec == bhttp::error::body_limit) {
    co_return http::ApiError{413,
                             "invalid_request_error",
                             "request_too_large",
                             "request body exceeds the limit of " + std::to_string(limits.maxRequestBodyBytes) +
                                 " bytes (Gateway spec.limits.maxRequestBodyBytes)",
                             {}};
  }
  if (ec && client.deadline.expired()) {
    co_return http::ApiError{408,
                             "invalid_request_error",
                             "request_timeout",
                             "the request body stopped arriving for " + std::to_string(limits.idleTimeout.count()) +
                                 " ms (Gateway spec.limits.idleTimeout)",
                             {}};
  }
  if (ec == bhttp::error::buffer_overflow) {
    co_return http::ApiError{400,
                             "invalid_request_error",
                             "malformed_request",
                             "a chunk-size line (with its extensions) or the trailer section of the request body "
                             "is too large",
                             {}};
  }
  if (ec) {
    if (http::is_malformed_message(ec))
      co_return http::ApiError{
          400, "invalid_request_error", "malformed_request", "reading the request body failed: " + ec.message(), {}};
    client_gone = true;
    co_return std::nullopt;
  }
  body = std::move(parser.get().body());
  co_return std::nullopt;
}

// Providers in the order they are tried; inline storage keeps the common case off the heap.
using AttemptPlan = boost::container::small_vector<const BackendRuntime*, 8>;

// The order providers are tried in: group by group, each group in a weighted random order;
// providers resting (ejected by outlier detection, holding after a Retry-After, failing active
// checks) come last, tried only when everything else failed.
AttemptPlan attempt_plan(Worker& worker, const BackendRuntime& backend) {
  AttemptPlan plan;
  AttemptPlan resting;
  const auto now = ProviderHealth::Clock::now();
  for (const auto& group : backend.groups) {
    // A single provider (the common case) needs no draw.
    if (group.size() == 1) {
      const auto& only = group.front();
      if (only.weight == 0) continue;
      (only.health && only.health->resting(now) ? resting : plan).push_back(&only);
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
      (out ? resting : plan).push_back(left[chosen]);
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
  }
  plan.insert(plan.end(), resting.begin(), resting.end());
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
    worker.metrics().add(provider.series.ejections);
    observe::log(
        observe::Level::Warning, "provider ejected",
        {{"backend", backend.name},
         {"provider", provider.name},
         {"ejections", provider.health->ejections()},
         {"for_ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(provider.health->ejected_until() - now).count()}});
  }
}

// The response's cost (pricing::record_cost) under the kind of the provider that answered.
void price_response(const Snapshot& snapshot, const BackendRuntime& backend, RequestRecord& record) {
  if (!backend.ai || record.provider.empty() || snapshot.prices == nullptr) return;
  for (const auto& group : backend.groups)
    for (const auto& provider : group)
      if (provider.name == record.provider && provider.llm != nullptr)
        return pricing::record_cost(*snapshot.prices, provider.llm->kind, record);
}

// Runs the Complete phase of the request's chains exactly once: when the exchange returns,
// whatever ended it, or when its coroutine is destroyed. The response is priced first, so the
// Complete stages and the access log read its cost.
struct CompletePhase {
  const Snapshot& snapshot;
  pipeline::RequestContext& request;
  const pipeline::Chain& rule_chain;
  ~CompletePhase() {
    price_response(snapshot, request.backend, request.record);
    rule_chain.complete(request);
    request.backend.chain.complete(request);
  }
};

// Tries the planned providers in order under the retry policy and answers the client.
http::Task<bool> try_providers(ExchangeInputs& exchange, AttemptPlan& plan) {
  auto& request = exchange.request;
  auto& worker = request.worker;
  auto& record = request.record;
  const auto& backend = request.backend;
  // Each provider at most once, group by group: a failure before the first byte reached the
  // client moves on to the next one (after the policy's backoff, while the retry budget
  // allows); the last one answers whatever happens.
  std::string failures;
  unsigned last_status = 502;
  std::optional<http::ApiError> last_request_error;
  auto& retries_in_flight = worker.retries_in_flight();
  std::size_t key_retries = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const bool more = i + 1 < plan.size() && (!exchange.deadline || Clock::now() < *exchange.deadline);
    if (i > 0) {
      const auto pause = exchange.retry.backoff(static_cast<unsigned>(i),
                                                std::uniform_real_distribution<double>(0.0, 1.0)(worker.rng()));
      auto wait = std::chrono::duration_cast<milliseconds>(pause);
      if (exchange.deadline)
        wait = std::min(wait, std::chrono::duration_cast<milliseconds>(*exchange.deadline - Clock::now()));
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
    exchange.counted_retry = in_flight.counted;
    ++exchange.attempts;
    if (record.trace) begin_attempt(worker, *record.trace);
    auto outcome = co_await attempt(exchange, *plan[i], more);
    if (record.trace) end_attempt(worker, *record.trace, *plan[i], outcome, record, request.head->method_string());
    if (outcome.retry_same && key_retries < plan[i]->auth_values.size()) {
      // The same provider with its next key: not a provider failure.
      ++key_retries;
      failures += (failures.empty() ? "" : "; ") + outcome.failure;
      record.failover_reasons.push_back(std::move(outcome.failure));
      --i;
      continue;
    }
    if (outcome.retry_after.count() > 0 && plan[i]->health)
      plan[i]->health->hold(ProviderHealth::Clock::now() + outcome.retry_after);
    if (backend.ai && !outcome.request_error) {
      const bool failed = !outcome.responded || !record.upstream_error.empty() || record.status >= 500;
      if (!outcome.circuit_open) record_health(worker, backend, *plan[i], failed);
      const auto counted = !outcome.responded ? observe::AttemptOutcome::Failover
                           : failed           ? observe::AttemptOutcome::Failure
                                              : observe::AttemptOutcome::Success;
      worker.metrics().add(plan[i]->series.attempts + static_cast<observe::CounterSlot>(counted));
    }
    // A request that succeeded after failovers has no error: why the earlier attempts failed is
    // in failover_reasons.
    if (outcome.responded) co_return outcome.keep;
    failures += (failures.empty() ? "" : "; ") + outcome.failure;
    record.failover_reasons.push_back(std::move(outcome.failure));
    last_status = outcome.status;
    last_request_error = std::move(outcome.request_error);
    record.error.clear();
  }
  // Every provider failed without answering (the deadline passed with providers left, or the
  // last one could not take the request): the error is the answer's message.
  record.error.clear();
  if (last_request_error) co_return co_await exchange.responder.error(*last_request_error);
  const auto error = upstream_error(last_status, "every provider of Backend " + backend.name + " failed: " + failures);
  co_return co_await exchange.responder.error(error);
}

}  // namespace

ClientSchema client_schema_for(route::ApiKind api, std::string_view api_path) {
  switch (api) {
    case route::ApiKind::Messages:
    case route::ApiKind::MessagesCountTokens:
      return ClientSchema::Anthropic;
    case route::ApiKind::GeminiGenerate:
    case route::ApiKind::GeminiCountTokens:
    case route::ApiKind::GeminiEmbed:
      return ClientSchema::Google;
    default:
      // Anthropic's other Messages APIs (batches) answer in Anthropic's shape too.
      return api_path.find("/v1/messages/") != std::string_view::npos ? ClientSchema::Anthropic : ClientSchema::OpenAI;
  }
}

ClientSchema client_schema_for(std::string_view path) {
  const auto api_path = http::api_path_of(path);
  return client_schema_for(route::classify_api(api_path), api_path);
}

namespace {

// A JSON API request as the attempts see it: the client's API, what the provider is asked to do
// (Gemini: the action in the path; a stream without alt=sse is one JSON array).
void describe_json_api(route::ApiKind api, std::string_view api_path, std::string_view query,
                       ExchangeInputs& exchange) {
  switch (api) {
    case route::ApiKind::Messages:
      exchange.client_api = translate::ClientApi::AnthropicMessages;
      exchange.operation = provider::Operation::Chat;
      return;
    case route::ApiKind::Embeddings:
      exchange.client_api = translate::ClientApi::OpenAIEmbeddings;
      exchange.operation = provider::Operation::Embeddings;
      return;
    case route::ApiKind::Responses:
      exchange.client_api = translate::ClientApi::OpenAIResponses;
      exchange.operation = provider::Operation::Responses;
      return;
    case route::ApiKind::MessagesCountTokens:
      exchange.client_api = translate::ClientApi::AnthropicCountTokens;
      exchange.operation = provider::Operation::CountTokens;
      return;
    case route::ApiKind::GeminiCountTokens:
      exchange.action = "countTokens";
      exchange.client_api = translate::ClientApi::GeminiCountTokens;
      exchange.operation = provider::Operation::CountTokens;
      return;
    case route::ApiKind::GeminiGenerate:
    case route::ApiKind::GeminiEmbed: {
      const auto call = route::gemini_call(api_path);
      exchange.action = call ? call->action : std::string_view{};
      exchange.client_api = api == route::ApiKind::GeminiGenerate ? translate::ClientApi::GeminiGenerate
                                                                  : translate::ClientApi::GeminiEmbed;
      exchange.json_array_stream = call && call->stream() && !route::query_has(query, "alt", "sse");
      exchange.operation = api == route::ApiKind::GeminiGenerate && !exchange.json_array_stream
                               ? provider::Operation::Chat
                               : provider::Operation::ModelAction;
      return;
    }
    default:
      exchange.client_api = translate::ClientApi::OpenAIChat;
      exchange.operation = provider::Operation::Chat;
      return;
  }
}

}  // namespace

http::Task<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                              RequestHeadParser& head_parser, beast::flat_buffer& client_buffer, ClientIo& client,
                              bool keep_alive, RequestRecord& record, std::string_view peer) {
  const auto& rule = *match.rule;
  const auto& limits = snapshot.gateway().limits;
  const http::RequestHeader* head = &head_parser.get().base();

  // The target is canonical since the edge (http/request_head.hpp). The API is named by the path
  // without ";" parameters; a passthrough request carries the query to the upstream.
  const std::string_view target = head->target();
  const auto qpos = target.find('?');
  const auto path = target.substr(0, qpos);
  const auto api_path = http::api_path_of(path);
  const auto api = route::classify_api(api_path);
  const auto schema = client_schema_for(api, api_path);
  record.gen_ai_operation = genai_operation(api);

  // The body's parser: the head's until the body is read whole or streamed by another.
  std::optional<http::RequestParser<bhttp::string_body>> whole_parser;
  std::optional<StreamedBodyParser> streamed_parser;
  pipeline::Responder responder(client, head->version(), keep_alive, worker.draining_flag(), schema, record);
  const auto request_read = [&] {
    if (whole_parser) return whole_parser->is_done();
    if (streamed_parser) return streamed_parser->is_done();
    return head_parser.is_done();
  };
  responder.track_request_read(request_read);

  const auto ref = choose_backend_ref(worker, rule);
  record.series = &snapshot.route_series[rule.index][ref];
  const auto found = snapshot.backends.find(rule.rule->backendRefs[ref].name);
  const BackendRuntime* backend = found == snapshot.backends.end() ? nullptr : &found->second;
  if (backend == nullptr) {
    const http::ApiError error{
        500, "server_error", "backend_not_found", "route " + rule.id + " names no known Backend", {}};
    co_return co_await responder.error(error);
  }
  record.backend = backend->name;

  std::optional<OutputCapture> output_capture;  // sampled requests with captureContent only
  pipeline::RequestContext request{worker, rule, *backend, record};
  request.head = head;
  request.client_ip = peer;
  request.api = api;
  request.schema = schema;
  request.query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  const auto& rule_chain = snapshot.rule_chains[rule.index];
  request.rule_chain = &rule_chain;
  responder.use_response_headers(request);
  CompletePhase complete{snapshot, request, rule_chain};

  // What kind of request this is for the backend.
  const bool post = head->method() == bhttp::verb::post;
  request.json_api = backend->ai && post && route::json_api_method(api) == "POST";
  request.path = request.json_api ? api_path : path;
  if (record.trace && request.json_api) record.trace->operation = record.gen_ai_operation;

  // RequestHead stages (the rule's, then the Backend's) run before anything is answered.
  if (!rule_chain.empty() || !backend->chain.empty()) {
    pipeline::Verdict verdict;
    if (rule_chain.waits() || backend->chain.waits()) {
      verdict = co_await rule_chain.request_head(request);
      if (verdict.proceeds()) verdict = co_await backend->chain.request_head(request);
    } else {
      verdict = rule_chain.request_head_now(request);
      if (verdict.proceeds()) verdict = backend->chain.request_head_now(request);
    }
    if (!verdict.proceeds()) co_return co_await responder.verdict(verdict);
  }
  // The principal's metricLabels values, for the GenAI metrics (bounded there).
  if (const auto& labels = snapshot.gateway().telemetry.metricLabels; backend->ai && !labels.empty()) {
    record.metric_label_values.reserve(labels.size());
    for (const auto& path : labels)
      record.metric_label_values.emplace_back(principal_metric_label(request.principal, path));
  }

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
    const http::ApiError error{
        500,
        "server_error",
        "backend_unavailable",
        unavailable.empty() ? "Backend " + backend->name + " has no provider to serve" : unavailable,
        {}};
    co_return co_await responder.error(error);
  }

  ExchangeInputs exchange{request, responder, limits, match, client_buffer};
  bool estimate_tokens = false;
  if (request.json_api) {
    describe_json_api(api, api_path, request.query, exchange);
    // Providers that cannot serve this API at all are skipped, not failed on.
    AttemptPlan able;
    for (const auto* p : plan)
      if (translate::can_serve(exchange.client_api, p->format)) able.push_back(p);
    // Counting tokens where no provider has a count API (OpenAI-format ones): answered with an
    // estimate.
    estimate_tokens =
        able.empty() && (api == route::ApiKind::GeminiCountTokens || api == route::ApiKind::MessagesCountTokens);
    if (able.empty() && !estimate_tokens) {
      auto selection = translate::select_translator(exchange.client_api, plan.front()->format, {});
      co_return co_await responder.error(*selection.error);
    }
    if (!estimate_tokens) plan = std::move(able);
  } else if (backend->ai) {
    const auto family = route::api_family(api_path, match.matched_prefix);
    const bool allowed = passthrough_allows(backend->spec->passthrough, api_path, match.matched_prefix, family);
    if ((api == route::ApiKind::Models || api == route::ApiKind::ModelGet) && head->method() == bhttp::verb::get &&
        !allowed) {
      auto models = answer_models(snapshot, rule, *head, api_path, request.principal);
      co_return co_await responder.json(models.status, std::move(models.body));
    }
    // A JSON API path asked with another method (and not passed through): 405 naming the one
    // it takes.
    if (const auto method = route::json_api_method(api); !allowed && !method.empty()) {
      const http::ApiError error{405,
                                 "invalid_request_error",
                                 "method_not_allowed",
                                 std::string(head->method_string()) + " is not allowed on " + std::string(api_path) +
                                     "; this API takes " + std::string(method),
                                 {}};
      const std::string allow = "allow: " + std::string(method) + "\r\n";
      co_return co_await responder.error(error, {}, allow);
    }
    if (!allowed) {
      const std::string what =
          family.empty() ? std::string(path) : "the \"" + family + "\" API (" + std::string(path) + ")";
      // Suggest only what the configuration accepts: the family when it is a passthrough API
      // name, else the path.
      const std::string remedy =
          route::is_passthrough_api_name(family)
              ? "allow it with spec.ai.passthrough.apis: [" + family + "] (or spec.ai.passthrough.paths)"
              : "allow it with spec.ai.passthrough.paths: [\"/v1" + route::api_suffix(api_path, match.matched_prefix) +
                    "\"]";
      const http::ApiError error{404,
                                 "invalid_request_error",
                                 "api_not_enabled",
                                 "Backend " + backend->name + " does not pass through " + what + " " +
                                     std::string(head->method_string()) + "; " + remedy + " on Backend/" +
                                     backend->name,
                                 {}};
      co_return co_await responder.error(error);
    }
  }

  // JSON APIs are read whole and parsed once; so is every body to a SigV4 provider (the
  // signature covers its hash); the rest streams both ways.
  bool any_sigv4 = false;
  for (const auto* p : plan) any_sigv4 = any_sigv4 || p->sigv4;
  if (request.json_api || any_sigv4) {
    bool client_gone = false;
    whole_parser.emplace(std::move(head_parser));
    request.head = &whole_parser->get().base();
    auto read_error =
        co_await read_client_body(client, client_buffer, *whole_parser, limits, request.body, client_gone);
    if (read_error) {
      responder.close_after();
      co_await responder.error(*read_error);
      co_return false;
    }
    if (client_gone) {
      record.status = 499;  // the client went away; nothing was sent
      record.error = "client closed the connection while sending the body";
      co_return false;
    }
  }
  if (request.json_api) {
    // One provider speaking the client's API: the body is only scanned (model, stream).
    // Otherwise it is parsed once (in one arena allocation) for the translators and stages.
    const bool single_native =
        plan.size() == 1 && !translate::needs_translation(exchange.client_api, plan.front()->format) &&
        !rule_chain.needs(pipeline::Phase::BodyDocument) && !backend->chain.needs(pipeline::Phase::BodyDocument);
    std::optional<http::ApiError> body_error;
    if (single_native) {
      body_error = inspect_json_body(request.body, std::nullopt, request.info);
    } else {
      request.arena.emplace(request.body.size() * 2 + 1024);
      body_error = parse_json_body(request.body, json::storage_ptr(&*request.arena), request.document, request.info);
    }
    // Gemini names the model and whether to stream in the path, not the body.
    if (const auto call = route::gemini_call(api_path); call && !body_error) {
      request.info.model = std::string(call->model.substr(0, kMaxModelBytes));
      request.info.stream = call->stream();
    }
    record.model = request.info.model;
    if (body_error) co_return co_await responder.error(*body_error);
    record.stream = request.info.stream;
    // RequestBody stages.
    if (rule_chain.needs(pipeline::Phase::RequestBody) || backend->chain.needs(pipeline::Phase::RequestBody)) {
      pipeline::Verdict verdict;
      if (rule_chain.waits() || backend->chain.waits()) {
        verdict = co_await rule_chain.request_body(request);
        if (verdict.proceeds()) verdict = co_await backend->chain.request_body(request);
      } else {
        verdict = rule_chain.request_body_now(request);
        if (verdict.proceeds()) verdict = backend->chain.request_body_now(request);
      }
      if (!verdict.proceeds()) co_return co_await responder.verdict(verdict);
      // Stages that rewrote the document: the body every attempt sends is the new one.
      if (request.document_changed) request.body = json::serialize(request.document);
      record.model = request.info.model;
    }
    if (record.trace) {
      read_request_parameters(*record.trace, request);
      // captureContent: the answer's text for the SERVER span, as the client receives it.
      if (record.trace->sampled && record.trace->capture != config::CaptureContent::None &&
          !record.trace->operation.empty() && api != route::ApiKind::Embeddings) {
        output_capture.emplace(*record.trace, api, request.response_tap);
        request.response_tap = &*output_capture;
      }
    }
    // A token count goes to the providers that count for the model asked of them (Bedrock's
    // CountTokens: Claude only); with none left, Sluice estimates.
    if (!estimate_tokens && (api == route::ApiKind::GeminiCountTokens || api == route::ApiKind::MessagesCountTokens)) {
      AttemptPlan counting;
      for (const auto* p : plan)
        if (translate::can_count(exchange.client_api, p->format, p->model ? *p->model : request.info.model))
          counting.push_back(p);
      if (counting.empty()) {
        estimate_tokens = true;
      } else {
        plan = std::move(counting);
      }
    }
    if (estimate_tokens) {
      auto estimate = api == route::ApiKind::GeminiCountTokens
                          ? translate::estimate_gemini_count_tokens(request.body)
                          : translate::estimate_anthropic_count_tokens(request.body);
      if (estimate.error) co_return co_await responder.error(*estimate.error);
      const std::string_view marked = "x-sluice-token-count: estimate\r\n";
      co_return co_await responder.json(200, std::move(estimate.body), nullptr, marked);
    }
  }
  if (!whole_parser && !head_parser.is_done()) {
    exchange.streamed_framing = head_parser.chunked() ? BodyFraming::Chunked : BodyFraming::Length;
    exchange.streamed_size = head_parser.content_length().value_or(0);
    streamed_parser.emplace(std::move(head_parser));
    request.head = &streamed_parser->get().base();
    streamed_parser->body_limit(limits.maxRequestBodyBytes);
    exchange.streamed_parser = &streamed_parser;
    if (http::expects_continue(streamed_parser->get().base())) co_await send_continue(client, limits);
  }

  exchange.started = Clock::now();
  record.exchange_start = exchange.started;
  const auto& route_timeouts = rule.rule->timeouts;
  if (route_timeouts.request && route_timeouts.request->count() > 0)
    exchange.deadline = exchange.started + *route_timeouts.request;
  // The retry policy the stages selected, over the defaults (every provider once, on every
  // retryable condition, no pause).
  exchange.retry = policy::resolve(request.retry.rule, request.retry.backend, plan.size());
  if (plan.size() > exchange.retry.attempts) plan.resize(exchange.retry.attempts);
  co_return co_await try_providers(exchange, plan);
}

}  // namespace sluice::proxy
