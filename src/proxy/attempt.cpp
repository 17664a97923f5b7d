#include "proxy/attempt.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "observe/request_trace.hpp"
#include "pipeline/chain.hpp"
#include "pipeline/response_filter.hpp"
#include "proxy/fan_out.hpp"
#include "proxy/relay.hpp"
#include "proxy/usage_members.hpp"
#include "route/api_path.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/native_filter.hpp"
#include "translate/openai_response_reader.hpp"
#include "translate/passthrough_usage.hpp"
#include "translate/reply_text.hpp"
#include "translate/responses_store_echo.hpp"

namespace sluice::proxy {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace relay;
using pipeline::AttemptContext;

namespace {

// The largest error body read from a translated provider (to convert it).
constexpr std::size_t kMaxUpstreamErrorBodyBytes = 1024 * 1024;

// The longest pause a provider's Retry-After can put it in.
constexpr unsigned kMaxRetryAfterSeconds = 300;

// The token counts, model and finish reason a translator read from the reply, for the access log.
void record_usage(const translate::Translator& translator, RequestRecord& record) {
  const auto& facts = translator.facts();
  if (facts.first_content != Clock::time_point{}) record.mark_first_token_at(facts.first_content);
  if (!facts.model.empty()) record.response_model = facts.model;
  if (!facts.finish_reason.empty()) record.finish_reason = facts.finish_reason;
  const auto usage = translator.usage();
  if (!usage.known) return;
  record.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
  record.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
  record.cached_tokens = static_cast<std::int64_t>(usage.cached_tokens);
  record.reasoning_tokens = static_cast<std::int64_t>(usage.reasoning_tokens);
}

std::string_view translation_name(translate::ClientApi api, provider::WireFormat format) {
  using provider::WireFormat;
  // [client schema][provider format]; empty where the provider speaks the client's API.
  static constexpr std::string_view kOpenAi[] = {"",
                                                 "openai->anthropic",
                                                 "openai->vertex-anthropic",
                                                 "openai->gemini",
                                                 "openai->vertex-gemini",
                                                 "openai->bedrock"};
  static constexpr std::string_view kAnthropic[] = {"anthropic->openai",           "",
                                                    "anthropic->vertex-anthropic", "anthropic->gemini",
                                                    "anthropic->vertex-gemini",    "anthropic->bedrock"};
  static constexpr std::string_view kResponses[] = {"",
                                                    "responses->anthropic",
                                                    "responses->vertex-anthropic",
                                                    "responses->gemini",
                                                    "responses->vertex-gemini",
                                                    "responses->bedrock"};
  static constexpr std::string_view kGemini[] = {
      "gemini->openai", "gemini->anthropic", "gemini->vertex-anthropic", "", "", "gemini->bedrock"};
  std::size_t column = 0;
  switch (format) {
    case WireFormat::OpenAI:
      column = 0;
      break;
    case WireFormat::Anthropic:
      column = 1;
      break;
    case WireFormat::VertexAnthropic:
      column = 2;
      break;
    case WireFormat::Gemini:
      column = 3;
      break;
    case WireFormat::VertexGemini:
      column = 4;
      break;
    case WireFormat::Bedrock:
      column = 5;
      break;
  }
  switch (api) {
    case translate::ClientApi::AnthropicMessages:
    case translate::ClientApi::AnthropicCountTokens:
      return kAnthropic[column];
    case translate::ClientApi::OpenAIResponses:
      return kResponses[column];
    case translate::ClientApi::GeminiGenerate:
    case translate::ClientApi::GeminiCountTokens:
    case translate::ClientApi::GeminiEmbed:
      return kGemini[column];
    case translate::ClientApi::OpenAIChat:
    case translate::ClientApi::OpenAIEmbeddings:
      return kOpenAi[column];
  }
  return "";
}

// Native answers whose usage is read where the API reports it (the Responses API's completed
// event, Gemini's usageMetadata) rather than by a chat reading.
bool reads_reported_usage(route::ApiKind api) {
  return api == route::ApiKind::Responses || api == route::ApiKind::GeminiGenerate ||
         api == route::ApiKind::GeminiEmbed || api == route::ApiKind::GeminiCountTokens ||
         api == route::ApiKind::MessagesCountTokens;
}

const UpstreamEndpoint& choose_endpoint(Worker& worker, const BackendRuntime& backend) {
  if (backend.endpoints.size() == 1) return backend.endpoints.front();
  return backend.endpoints[std::uniform_int_distribution<std::size_t>(0, backend.endpoints.size() - 1)(worker.rng())];
}

// Whether the retry budget lets one more retry start now (the running try, if itself a retry,
// is about to end and is not counted).
bool budget_allows(const ExchangeInputs& exchange) {
  if (!exchange.retry.budget_percent) return true;
  auto& worker = exchange.request.worker;
  const auto active = static_cast<std::uint64_t>(
      std::max<std::int64_t>(worker.metrics().active_requests.load(std::memory_order_relaxed), 0));
  const auto allowed = std::max<std::uint64_t>(policy::EffectiveRetry::kMinRetryConcurrency,
                                               active * *exchange.retry.budget_percent / 100);
  const unsigned in_flight = worker.retries_in_flight() - (exchange.counted_retry ? 1u : 0u);
  return in_flight < allowed;
}

// The chains an attempt runs, in order: the rule's, the Backend's, the provider's (whose last
// stage signs).
std::array<const pipeline::Chain*, 3> attempt_chains(const pipeline::RequestContext& request,
                                                     const BackendRuntime& target) {
  return {request.rule_chain, &request.backend.chain, &target.attempt_chain};
}

pipeline::Verdict run_attempt_stages(AttemptContext& context, const BackendRuntime& target) {
  for (const auto* chain : attempt_chains(context.request, target)) {
    if (chain == nullptr || !chain->needs(pipeline::Phase::Attempt)) continue;
    if (auto verdict = chain->attempt(context); !verdict.proceeds()) return verdict;
  }
  return pipeline::Verdict::proceed();
}

pipeline::Verdict run_upstream_request_stages(AttemptContext& context, const BackendRuntime& target) {
  for (const auto* chain : attempt_chains(context.request, target)) {
    if (chain == nullptr || !chain->needs(pipeline::Phase::UpstreamRequest)) continue;
    if (auto verdict = chain->upstream_request(context); !verdict.proceeds()) return verdict;
  }
  return pipeline::Verdict::proceed();
}

pipeline::Verdict run_response_head_stages(pipeline::ResponseContext& context, const BackendRuntime& target) {
  for (const auto* chain : attempt_chains(context.attempt.request, target)) {
    if (chain == nullptr || !chain->needs(pipeline::Phase::ResponseHead)) continue;
    if (auto verdict = chain->response_head(context); !verdict.proceeds()) return verdict;
  }
  return pipeline::Verdict::proceed();
}

// The text filters (response guards) of every chain for this response, as one filter; null
// when no stage gives one.
std::unique_ptr<llm::TextFilter> response_text_filter(pipeline::ResponseContext& context, const BackendRuntime& target,
                                                      std::unique_ptr<llm::TextFilter> first) {
  std::vector<std::unique_ptr<llm::TextFilter>> filters;
  if (first) filters.push_back(std::move(first));
  for (const auto* chain : attempt_chains(context.attempt.request, target))
    if (chain != nullptr && chain->needs(pipeline::Phase::ResponseText)) chain->response_text_filters(context, filters);
  if (filters.empty()) return nullptr;
  if (filters.size() == 1) return std::move(filters.front());
  return std::make_unique<llm::TextFilterChain>(std::move(filters));
}

bool reads_whole_reply(const pipeline::RequestContext& request, const BackendRuntime& target) {
  for (const auto* chain : attempt_chains(request, target))
    if (chain != nullptr && chain->reads_whole_reply(request.info.stream)) return true;
  return false;
}

// The ResponseWhole stages of every chain, on the reply's text.
http::Task<pipeline::Verdict> run_reply_text_stages(pipeline::ResponseContext& context, const BackendRuntime& target,
                                                    pipeline::ReplyText& reply) {
  const auto chains = attempt_chains(context.attempt.request, target);
  for (const auto* chain : chains) {
    if (chain == nullptr || !chain->reads_whole_reply(reply.stream)) continue;
    auto verdict = co_await chain->reply_text(context, reply);
    if (!verdict.proceeds()) co_return verdict;
  }
  co_return pipeline::Verdict::proceed();
}

// Whether a stage of any chain of this attempt declares `phase`.
bool chains_need(const pipeline::RequestContext& request, const BackendRuntime& target, pipeline::Phase phase) {
  for (const auto* chain : attempt_chains(request, target))
    if (chain != nullptr && chain->needs(phase)) return true;
  return false;
}

// The ReplyCost stages of every chain: a complete reply's usage is in the record.
void run_reply_usage_stages(pipeline::ResponseContext& context, const BackendRuntime& target) {
  for (const auto* chain : attempt_chains(context.attempt.request, target))
    if (chain != nullptr && chain->needs(pipeline::Phase::ReplyCost)) chain->reply_usage(context);
}

// The members the ReplyCost stages add to a stream's final usage object.
void stream_usage_members(pipeline::ResponseContext& context, const BackendRuntime& target, std::string& members) {
  for (const auto* chain : attempt_chains(context.attempt.request, target))
    if (chain != nullptr && chain->needs(pipeline::Phase::ReplyCost)) chain->stream_usage_members(context, members);
}

// Reads a native OpenAI-format response for the record as the relay forwards it.
class NativeResponseReading final : public pipeline::ResponseFilter {
 public:
  NativeResponseReading(bool stream, bool drop_usage_chunk, std::size_t max_bytes, RequestRecord& record)
      : reader_(stream, drop_usage_chunk, max_bytes),
        record_(record),
        stream_(stream),
        drops_(stream && drop_usage_chunk) {}
  void feed(std::string_view in, std::string& out) override {
    reader_.feed(in, out);
    // The first token: a stream's first content event, a complete reply's first bytes.
    if (record_.first_token_ms < 0 && (!stream_ || reader_.content_seen())) [[unlikely]]
      record_.mark_first_token();
  }
  void finish(std::string& out) override {
    reader_.finish(out);
    record_usage();
  }
  // The usage, finish reason and model read so far into the record.
  void record_usage() {
    const auto& usage = reader_.usage();
    if (usage.known) {
      record_.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
      record_.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
      record_.cached_tokens = static_cast<std::int64_t>(usage.cached_tokens);
      record_.reasoning_tokens = static_cast<std::int64_t>(usage.reasoning_tokens);
    }
    record_.finish_reason = reader_.finish_reason();
    record_.response_model = reader_.model();
  }
  bool may_change_length() const override { return drops_; }

 private:
  translate::OpenAiResponseReader reader_;
  RequestRecord& record_;
  bool stream_;
  bool drops_;
};

// Reads a native Anthropic Messages answer for the record as the relay forwards it unchanged:
// its decoder observes the bytes (a stream event by event; a complete body, copied up to a
// bound, at its end).
class NativeAnthropicReading final : public pipeline::ResponseFilter, llm::EventSink {
 public:
  NativeAnthropicReading(bool stream, std::size_t max_bytes, RequestRecord& record)
      : stream_(stream), max_bytes_(max_bytes), record_(record) {}
  void feed(std::string_view in, std::string& out) override {
    out.append(in);
    if (stream_) {
      decoder_.feed(in, *this);  // a stream's first token: its first content event
      return;
    }
    if (record_.first_token_ms < 0) record_.mark_first_token();  // a complete reply's first bytes
    if (!too_large_) {
      too_large_ = body_.size() + in.size() > max_bytes_;
      if (too_large_) {
        body_.clear();
        body_.shrink_to_fit();
      } else {
        body_.append(in);
      }
    }
  }
  void finish(std::string&) override {
    if (stream_) {
      decoder_.end(*this);
    } else if (!too_large_) {
      translate::decode_anthropic_response(body_, {}, *this);
    }
  }
  bool may_change_length() const override { return false; }

 private:
  void on_event(const llm::Event& event) override {
    if (record_.first_token_ms < 0 && translate::carries_content(event)) [[unlikely]]
      record_.mark_first_token();
    if (const auto* start = std::get_if<llm::MessageStart>(&event); start && !start->model.empty()) {
      record_.response_model = std::string(start->model.substr(0, kMaxRecordedNameBytes));
    } else if (const auto* usage = std::get_if<llm::UsageEvent>(&event)) {
      record_.prompt_tokens = static_cast<std::int64_t>(usage->usage.prompt_tokens);
      record_.completion_tokens = static_cast<std::int64_t>(usage->usage.completion_tokens);
      record_.cached_tokens = static_cast<std::int64_t>(usage->usage.cached_tokens);
      record_.reasoning_tokens = static_cast<std::int64_t>(usage->usage.reasoning_tokens);
    } else if (const auto* finish = std::get_if<llm::Finish>(&event)) {
      record_.finish_reason = std::string(finish->raw.substr(0, kMaxRecordedNameBytes));
    }
  }
  static constexpr std::size_t kMaxRecordedNameBytes = 256;

  bool stream_;
  std::size_t max_bytes_;
  RequestRecord& record_;
  translate::AnthropicStreamDecoder decoder_;
  std::string body_;
  bool too_large_ = false;
};

// Reads what an answer says it used, for the record, as the relay forwards it unchanged
// (translate/passthrough_usage.hpp): passthrough calls and native Responses API replies.
class ReportedUsageReading final : public pipeline::ResponseFilter {
 public:
  ReportedUsageReading(bool stream, std::size_t max_bytes, RequestRecord& record)
      : reader_(stream, max_bytes), record_(record), stream_(stream) {}
  void feed(std::string_view in, std::string& out) override {
    out.append(in);
    reader_.feed(in);
    if (record_.first_token_ms < 0 && (!stream_ || reader_.content_seen())) [[unlikely]]
      record_.mark_first_token();
  }
  void finish(std::string&) override {
    reader_.finish();
    record_usage();
  }
  // The usage read so far goes into the record (a stream's final event may have passed before
  // the body ends: its cost is priced from it).
  void record_usage() {
    const auto& usage = reader_.usage();
    if (!usage.known) return;
    record_.prompt_tokens = static_cast<std::int64_t>(usage.prompt_tokens);
    record_.completion_tokens = static_cast<std::int64_t>(usage.completion_tokens);
    record_.cached_tokens = static_cast<std::int64_t>(usage.cached_tokens);
    record_.reasoning_tokens = static_cast<std::int64_t>(usage.reasoning_tokens);
    if (!reader_.model().empty()) record_.response_model = reader_.model();
  }
  bool may_change_length() const override { return false; }

 private:
  translate::PassthroughUsageReader reader_;
  RequestRecord& record_;
  bool stream_;
};

// The heads of a fan-out's calls: the UpstreamRequest stages run for each body as they ran for
// the attempt's own (credential, then the signature over that body's bytes), from the head as
// it was before them. The key each call uses, for the ResponseHead stages.
pipeline::Verdict fan_out_heads(const AttemptContext& context, const BackendRuntime& target,
                                const UpstreamHeadSpec& uncredentialed, HeaderEdits edits,
                                std::span<const std::string> bodies, std::vector<FanOutCall>& calls,
                                std::vector<std::optional<std::size_t>>& keys) {
  calls.reserve(bodies.size());
  keys.reserve(bodies.size());
  for (const auto& body : bodies) {
    AttemptContext call = context;
    UpstreamHeadSpec spec = uncredentialed;
    spec.body_size = body.size();
    call.body = &body;
    call.head = &spec;
    if (auto verdict = run_upstream_request_stages(call, target); !verdict.proceeds()) return verdict;
    calls.push_back(FanOutCall{build_upstream_head(*context.request.head, target, edits, spec), &body});
    keys.push_back(call.key_index);
  }
  return pipeline::Verdict::proceed();
}

}  // namespace

http::ApiError upstream_error(unsigned status, std::string message) {
  return http::ApiError{
      status, "server_error", status == 504 ? "upstream_timeout" : "upstream_unavailable", std::move(message), {}};
}

http::Task<AttemptResult> attempt(ExchangeInputs& exchange, const BackendRuntime& target, bool can_retry) {
  AttemptResult result;
  auto& request = exchange.request;
  auto& responder = exchange.responder;
  auto& record = request.record;
  auto& worker = request.worker;
  const auto& backend = request.backend;
  const auto& limits = exchange.limits;
  const auto& head = *request.head;
  const auto& match = exchange.match;
  record.upstream_error = {};  // this attempt's own outcome (an earlier one is in record.error)
  record.status = 0;
  record.first_token_ms = -1;
  record.provider = target.ai ? std::string_view(target.name) : std::string_view{};
  record.provider_series = target.ai ? &target.series : nullptr;
  record.attempts = exchange.attempts;
  if (target.ai) responder.set_attempt(target.name, exchange.attempts);
  // Another provider may take the request: checked when the decision is made, so the retry
  // budget is asked before an answer is dropped.
  bool budget_refused = false;
  auto may_move_on = [&] {
    if (!can_retry) return false;
    if (budget_allows(exchange)) return true;
    if (!budget_refused && target.ai)
      worker.metrics().add(target.series.refusals + static_cast<observe::CounterSlot>(observe::Refusal::RetryBudget));
    budget_refused = true;
    return false;
  };
  auto fail = [&](unsigned status, std::string why) {
    result.status = status;
    result.failure = std::move(why);
    return result;
  };
  auto answer_error = [&](const http::ApiError& error, std::string_view retry_after = {}) -> http::Task<AttemptResult> {
    if (budget_refused && record.error.empty())
      record.error = "retry budget of Backend " + backend.name + " exhausted; answered with this attempt's outcome";
    result.responded = true;
    result.keep = co_await responder.error(error, retry_after);
    co_return result;
  };
  const auto who = [&] { return describe_upstream(backend, target); };

  // The circuit breaker: a provider at its limit of requests in flight takes no more.
  struct InFlight {
    std::atomic<unsigned>* count = nullptr;
    ~InFlight() {
      if (count) count->fetch_sub(1, std::memory_order_relaxed);
    }
  } in_flight;
  if (target.health && backend.spec && backend.spec->circuitBreaker.maxRequests > 0) {
    auto& count = target.health->in_flight();
    const auto limit = backend.spec->circuitBreaker.maxRequests;
    if (count.fetch_add(1, std::memory_order_relaxed) >= limit) {
      count.fetch_sub(1, std::memory_order_relaxed);
      std::string why = "backend " + backend.name + " provider " + target.name + " has " + std::to_string(limit) +
                        " requests in flight (spec.ai.circuitBreaker.maxRequests)";
      result.circuit_open = true;
      worker.metrics().add(target.series.refusals + static_cast<observe::CounterSlot>(observe::Refusal::CircuitOpen));
      if (may_move_on()) co_return fail(503, std::move(why));
      const http::ApiError error{503, "server_error", "circuit_open", std::move(why), {}};
      co_return co_await answer_error(error);
    }
    in_flight.count = &count;
  }

  // Attempt stages: the model the provider is asked for, the body it gets.
  pipeline::AttemptContext context{request, target};
  context.model = request.info.model;
  context.native = !request.json_api || !translate::needs_translation(exchange.client_api, target.format);
  context.body = &request.body;
  auto stage_failed = [&](const pipeline::Verdict& verdict) -> http::Task<AttemptResult> {
    // The provider cannot take this request as it is: another one may.
    if (may_move_on()) {
      result.request_error = verdict.error;
      co_return fail(verdict.error.status, who() + ": " + verdict.error.message);
    }
    result.responded = true;
    result.keep = co_await responder.verdict(verdict);
    co_return result;
  };
  if (auto verdict = run_attempt_stages(context, target); !verdict.proceeds()) co_return co_await stage_failed(verdict);

  // The conversion, when the provider speaks another schema than the client.
  std::unique_ptr<translate::Translator> translator;
  if (request.json_api) {
    record.model = context.model;
    if (!context.native) {
      translate::RequestContext conversion;
      conversion.model = context.model;
      conversion.stream = request.info.stream;
      conversion.json_array_stream = exchange.json_array_stream;
      conversion.gemini_action = exchange.action;
      conversion.responses_stored = request.responses_stored;
      conversion.responses_previous_id = request.responses_previous_id;
      conversion.default_max_tokens = target.default_max_tokens;
      if (target.format == provider::WireFormat::VertexAnthropic) {
        conversion.model_in_body = false;
        conversion.anthropic_body_version = target.anthropic_body_version;
      }
      auto selection = translate::select_translator(exchange.client_api, target.format, conversion);
      if (selection.error) {
        const auto verdict = pipeline::Verdict::fail(*selection.error);
        co_return co_await stage_failed(verdict);
      }
      translator = std::move(selection.translator);
      record.translation = translation_name(exchange.client_api, target.format);
      if (context.model.empty()) {
        const auto verdict = pipeline::Verdict::fail(http::ApiError{400, "invalid_request_error", "missing_model",
                                                                    "\"model\" is required: Backend " + backend.name +
                                                                        " (" + std::string(target.provider->name) +
                                                                        ") needs it to address the provider",
                                                                    std::string("model")});
        co_return co_await stage_failed(verdict);
      }
      // Request translation reads the document only: every attempt converts the same one.
      if (auto error = translator->translate_request(request.document.as_object(), context.rewritten)) {
        const auto verdict = pipeline::Verdict::fail(*error);
        co_return co_await stage_failed(verdict);
      }
      context.body = &context.rewritten;
    } else {
      record.translation = {};
    }
  }

  // The upstream path: provider path.full > path.prefix + API suffix > the route's rewrite >
  // the provider's native path.
  route::UpstreamPathInput path_input;
  path_input.client_path = request.path;
  if (match.rewritten_path) path_input.rewritten = *match.rewritten_path;
  path_input.matched_prefix = match.matched_prefix;
  if (target.path.full) path_input.backend_full = *target.path.full;
  if (target.path.prefix) path_input.backend_prefix = *target.path.prefix;
  provider::NativePath native;
  if (target.ai) {
    const auto client_suffix = route::api_suffix(request.path, match.matched_prefix);
    provider::PathRequest path_request{exchange.operation, context.model, request.info.stream, client_suffix,
                                       exchange.action};
    // A translated request asks the provider for a chat (the pivot is a chat request): the
    // Responses API and a Gemini client's JSON-array stream read the provider's own chat stream.
    // Embeddings (OpenAI's, Gemini's embedContent) and token counts go to the provider's own
    // endpoint for them.
    if (translator && exchange.client_api == translate::ClientApi::GeminiEmbed)
      path_request.operation = provider::Operation::Embeddings;
    if (translator && path_request.operation != provider::Operation::Embeddings &&
        path_request.operation != provider::Operation::CountTokens)
      path_request.operation = provider::Operation::Chat;
    native = target.provider->path(*target.llm, path_request);
    path_input.provider_base = native.base;
    // The provider decides the suffix when it differs from the client's (translations, Azure).
    if (translator || exchange.operation != provider::Operation::Other || native.suffix != client_suffix)
      path_input.upstream_suffix = native.suffix;
  }
  auto upstream_path = route::resolve_upstream_path(path_input);
  // The client's query does not travel to a URL Sluice composes for the provider (a
  // translation, a non-OpenAI format's native path, a provider query such as Azure's
  // api-version): there `key`, `alt` or `api-version` would be the client's to choose.
  // Passthrough requests and OpenAI-compatible chat / embeddings paths keep it.
  const bool composed_url = request.json_api && target.ai &&
                            (translator != nullptr || target.format != provider::WireFormat::OpenAI ||
                             native.suffix.find('?') != std::string::npos);
  std::string stripped_query;  // only when the caller's key must leave the query
  std::string_view forwarded_query = request.query;
  if (request.query_credential) forwarded_query = stripped_query = route::query_without(request.query, "key");
  record.upstream_path =
      composed_url ? std::move(upstream_path.path) : route::with_query(std::move(upstream_path.path), forwarded_query);
  record.path_source = route::path_source_name(upstream_path.source);
  if (target.ai && !target.provider->client_query_param.empty()) {
    const auto name = target.provider->client_query_param;
    if (auto problem = route::prefer_client_query_param(record.upstream_path, name, request.query)) {
      const auto verdict = pipeline::Verdict::fail(
          http::ApiError{400, "invalid_request_error", "invalid_query", std::move(*problem), std::string(name)});
      co_return co_await stage_failed(verdict);
    }
  }

  const auto& endpoint = choose_endpoint(worker, target);
  record.upstream = endpoint.display;
  if (auto* trace = record.trace) {
    trace->server_address = endpoint.host;
    trace->server_port = endpoint.port;
  }

  // The upstream request head: UpstreamRequest stages add credentials and sign.
  UpstreamHeadSpec head_spec;
  head_spec.target = record.upstream_path;
  head_spec.host =
      match.rewritten_host ? std::string_view(*match.rewritten_host) : std::string_view(endpoint.host_header);
  head_spec.translated = translator != nullptr;
  head_spec.extra = target.static_headers;
  head_spec.request_id = record.request_id.view();
  if (const auto* trace = record.trace) {
    head_spec.traceparent = std::string_view(trace->upstream_traceparent, observe::kTraceParentBytes);
    head_spec.tracestate = trace->tracestate;
  }
  const bool streamed_body = exchange.streamed_parser != nullptr && exchange.streamed_parser->has_value();
  if (streamed_body) {
    head_spec.framing = exchange.streamed_framing;
    head_spec.body_size = exchange.streamed_size;
  } else {
    const auto method = head.method();
    const bool has_body = !context.body->empty() || method == bhttp::verb::post || method == bhttp::verb::put ||
                          method == bhttp::verb::patch;
    head_spec.framing = has_body ? BodyFraming::Length : BodyFraming::None;
    head_spec.body_size = context.body->size();
  }
  context.head = &head_spec;
  context.upstream_target = record.upstream_path;
  // A request the provider takes as several calls: each call's head is made from this one as
  // it is before the stages credential and sign it.
  const auto fan_out_bodies = translator ? translator->upstream_calls() : std::span<const std::string>{};
  std::optional<UpstreamHeadSpec> uncredentialed_spec;
  if (!fan_out_bodies.empty()) uncredentialed_spec = head_spec;
  if (auto verdict = run_upstream_request_stages(context, target); !verdict.proceeds())
    co_return co_await stage_failed(verdict);
  const std::string upstream_head = build_upstream_head(head, target, request.request_header_edits, head_spec);
  record.bytes_received = streamed_body ? head_spec.body_size : request.body.size();
  std::optional<StreamedBody> streamed;
  auto& client = responder.client();
  if (streamed_body) {
    streamed.emplace(
        StreamedBody{client, exchange.client_buffer, **exchange.streamed_parser, head_spec.framing, limits, worker});
  }

  // Gateway API: a zero duration disables the timeout.
  const auto& route_timeouts = request.rule.rule->timeouts;
  const auto& deadline = exchange.deadline;
  auto first_byte_timeout = target.timeouts.firstByte;
  if (route_timeouts.backendRequest && route_timeouts.backendRequest->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.backendRequest);
  if (deadline) first_byte_timeout = std::min(first_byte_timeout, *route_timeouts.request);
  if (exchange.retry.per_try_timeout && exchange.retry.per_try_timeout->count() > 0)
    first_byte_timeout = std::min(first_byte_timeout, *exchange.retry.per_try_timeout);

  // From here to the end of the attempt the time is the provider's (connecting, sending, waiting,
  // relaying its answer), not Sluice's overhead.
  struct UpstreamTime {
    explicit UpstreamTime(RequestRecord& r) : record(r), since(Clock::now()) {}
    UpstreamTime(const UpstreamTime&) = delete;
    UpstreamTime& operator=(const UpstreamTime&) = delete;
    ~UpstreamTime() { record.upstream_ms += std::chrono::duration<double, std::milli>(Clock::now() - since).count(); }
    RequestRecord& record;
    Clock::time_point since;
  };
  const UpstreamTime upstream_time(record);

  if (!fan_out_bodies.empty()) {
    // Several calls, one attempt (proxy/fan_out.hpp): every call credentialed and signed for its
    // own body; the first failure decides as a single call's would, and only a complete set of
    // 2xx replies is answered.
    std::vector<FanOutCall> calls;
    std::vector<std::optional<std::size_t>> call_keys;
    if (auto verdict = fan_out_heads(context, target, *uncredentialed_spec, request.request_header_edits,
                                     fan_out_bodies, calls, call_keys);
        !verdict.proceeds())
      co_return co_await stage_failed(verdict);
    const FanOutSpec spec{worker,
                          target,
                          endpoint,
                          deadline,
                          first_byte_timeout,
                          limits.maxTranslatedResponseBytes,
                          kMaxUpstreamErrorBodyBytes};
    const std::span<const FanOutCall> call_list(calls);
    auto out = co_await fan_out(spec, call_list);
    record.upstream_first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - exchange.started).count();
    const std::string where = who() + " (" + endpoint.display + ", call " + std::to_string(out.call + 1) + " of " +
                              std::to_string(calls.size()) + ")";
    const unsigned failed_status = out.timeout ? 504 : 502;
    switch (out.failure) {
      case FanOutFailure::Connect: {
        record.upstream_error =
            out.timeout ? "timeout" : (out.connect_failure == http::ConnectFailure::Tls ? "tls" : "connect");
        std::string why = who() + " unavailable: " + out.error;
        if ((out.timeout ? exchange.retry.on.timeout : exchange.retry.on.connectFailure) && may_move_on())
          co_return fail(failed_status, std::move(why));
        const auto error = upstream_error(failed_status, std::move(why));
        co_return co_await answer_error(error);
      }
      case FanOutFailure::Send: {
        record.upstream_error = out.timeout ? "timeout" : (out.protocol ? "protocol" : "reset");
        std::string why = out.timeout
                              ? where + " did not respond within " + std::to_string(first_byte_timeout.count()) + " ms"
                          : out.protocol ? where + " sent an invalid HTTP response: " + out.error
                                         : where + " closed the connection before responding: " + out.error;
        if ((out.timeout ? exchange.retry.on.timeout : exchange.retry.on.reset) && may_move_on())
          co_return fail(failed_status, std::move(why));
        const auto error = upstream_error(failed_status, std::move(why));
        co_return co_await answer_error(error);
      }
      case FanOutFailure::Body: {
        record.upstream_error = out.timeout ? "timeout" : "reset";
        std::string why = out.body_limit ? where + " sent a response larger than " +
                                               std::to_string(limits.maxTranslatedResponseBytes) +
                                               " bytes (Gateway spec.limits.maxTranslatedResponseBytes)"
                                         : where + " failed while sending its response: " + out.error;
        const auto error = upstream_error(failed_status, std::move(why));
        co_return co_await answer_error(error);
      }
      case FanOutFailure::Status:
        record.status = out.status;
        break;
      case FanOutFailure::None:
        record.status = out.head.result_int();
        break;
    }
    // The answer that decides (the failing call's, else the first call's) goes through the
    // ResponseHead stages and the retry policy as a single call's would.
    context.key_index = call_keys[out.call];
    pipeline::ResponseContext answered{context, out.head, record.status, false};
    if (auto verdict = run_response_head_stages(answered, target); !verdict.proceeds()) {
      if (verdict.kind == pipeline::Verdict::Kind::RetrySameProvider) {
        result.retry_same = true;
        co_return fail(verdict.error.status, verdict.error.message);
      }
      const auto error = verdict.error;
      const auto retry_after = verdict.retry_after;
      co_return co_await answer_error(error, retry_after);
    }
    const std::string retry_after(out.head[bhttp::field::retry_after]);
    if (exchange.retry.retries_on_status(record.status) && may_move_on()) {
      unsigned seconds = 0;
      if ((record.status == 429 || record.status == 503) &&
          std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds).ec == std::errc{})
        result.retry_after = std::chrono::seconds(std::min(seconds, kMaxRetryAfterSeconds));
      record.upstream_error = "status";
      co_return fail(record.status, where + " answered HTTP " + std::to_string(record.status));
    }
    if (budget_refused)
      record.error = "retry budget of Backend " + backend.name + " exhausted; answered with this provider's response";
    if (out.failure == FanOutFailure::Status) {
      const auto error = translator->translate_error(record.status, out.head["x-amzn-errortype"], out.body);
      co_return co_await answer_error(error, retry_after);
    }
    record.mark_first_token();  // every call's reply arrived whole
    std::string client_body;
    if (auto terr = translator->translate_responses(out.bodies, client_body)) co_return co_await answer_error(*terr);
    record_usage(*translator, record);
    if (chains_need(request, target, pipeline::Phase::ReplyCost)) run_reply_usage_stages(answered, target);
    result.responded = true;
    result.keep = co_await responder.json(200, std::move(client_body), &out.head);
    co_return result;
  }

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
        record.upstream_error =
            timeout ? "timeout" : (connected.failure == http::ConnectFailure::Tls ? "tls" : "connect");
        std::string why = who() + " unavailable: " + connected.error;
        if ((timeout ? exchange.retry.on.timeout : exchange.retry.on.connectFailure) && may_move_on())
          co_return fail(timeout ? 504 : 502, std::move(why));
        const auto error = upstream_error(timeout ? 504 : 502, std::move(why));
        co_return co_await answer_error(error);
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
      sent = co_await send_and_read_header(*connection->tls, *connection, upstream_head, *context.body, parser,
                                           head_request, timeout, streamed_ptr);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, upstream_head, *context.body, parser,
                                           head_request, timeout, streamed_ptr);
    }
    if (streamed) record.bytes_received = sent.body_bytes;
    body_consumed = body_consumed || sent.body_consumed;
    if (sent.client_error) {
      responder.close_after();
      result.responded = true;
      co_await responder.error(*sent.client_error);
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
    std::string why =
        failure == Failure::Timeout
            ? who() + " (" + endpoint.display + ") did not respond within " + std::to_string(timeout.count()) + " ms"
            : who() + " (" + endpoint.display + ") " +
                  (!sent.protocol_error.empty()   ? "sent an invalid HTTP response: " + sent.protocol_error
                   : failure == Failure::Protocol ? "sent an invalid HTTP response: " + sent.ec.message()
                                                  : "closed the connection before responding: " + sent.ec.message());
    const unsigned status = failure == Failure::Timeout ? 504 : 502;
    const bool retry_kind = failure == Failure::Timeout ? exchange.retry.on.timeout : exchange.retry.on.reset;
    if (retry_kind && !sent.body_consumed && may_move_on()) co_return fail(status, std::move(why));
    const auto error = upstream_error(status, std::move(why));
    co_return co_await answer_error(error);
  }
  record.upstream_first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - exchange.started).count();

  const auto& response = parser->get();
  record.status = response.result_int();
  const bool upstream_keep_alive = parser->keep_alive();
  can_retry = can_retry && !body_consumed;

  // ResponseHead stages (a refused key asks for the same provider with the next key).
  pipeline::ResponseContext answered{context, response.base(), record.status, body_consumed};
  if (auto verdict = run_response_head_stages(answered, target); !verdict.proceeds()) {
    if (verdict.kind == pipeline::Verdict::Kind::RetrySameProvider) {
      result.retry_same = true;
      co_return fail(verdict.error.status, verdict.error.message);
    }
    const auto error = verdict.error;
    const auto retry_after = verdict.retry_after;
    co_return co_await answer_error(error, retry_after);
  }
  if (exchange.retry.retries_on_status(record.status) && may_move_on()) {
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
  if (budget_refused)
    record.error = "retry budget of Backend " + backend.name + " exhausted; answered with this provider's response";

  // Response text filters (a response guard) on a chat or messages reply: the reply's text
  // passes through them, between the halves of the translation, or parsed in the provider's own
  // format when there is none.
  // Reads the upstream body whole (a 2xx reply up to maxTranslatedResponseBytes, an error body
  // up to kMaxUpstreamErrorBodyBytes), then gives the connection back when it may be reused;
  // the error to answer when the read failed.
  auto read_whole_body = [&](bool success, std::string& body) -> http::Task<std::optional<http::ApiError>> {
    const std::size_t limit = success ? limits.maxTranslatedResponseBytes : kMaxUpstreamErrorBodyBytes;
    boost::system::error_code rec;
    if (connection->tls) {
      rec = co_await read_upstream_body(*connection->tls, *connection, *parser, target, deadline, limit, worker, body);
    } else {
      rec =
          co_await read_upstream_body(*connection->plain, *connection, *parser, target, deadline, limit, worker, body);
    }
    if (rec) {
      const auto failure = classify(rec, connection->deadline.expired());
      record.upstream_error = failure_label(failure);
      std::string why = rec == bhttp::error::body_limit
                            ? who() + " (" + endpoint.display + ") sent a response larger than " +
                                  std::to_string(limit) + " bytes" +
                                  (success ? " (Gateway spec.limits.maxTranslatedResponseBytes)" : "")
                            : who() + " (" + endpoint.display + ") failed while sending its response: " + rec.message();
      co_return upstream_error(failure == Failure::Timeout ? 504 : 502, std::move(why));
    }
    if (success) record.mark_first_token();  // a reply read whole: its tokens arrived with it
    if (upstream_keep_alive && parser->is_done())
      worker.pool().give_back(endpoint, std::move(connection), target.timeouts.poolIdle);
    co_return std::nullopt;
  };

  // What the response store asks a native Responses answer to say (store, previous_response_id).
  const translate::StoreEcho store_echo{request.responses_stored, request.responses_previous_id};
  // Stages that must see the whole answer first (a response webhook) get each choice's text of
  // the reply read whole; the texts they replace go out through the same filters.
  std::unique_ptr<llm::TextFilter> text_filter;
  const bool text_reply = request.json_api && target.ai && record.status >= 200 && record.status < 300 &&
                          (request.api == route::ApiKind::ChatCompletions || request.api == route::ApiKind::Messages ||
                           request.api == route::ApiKind::Responses || request.api == route::ApiKind::GeminiGenerate);
  const bool whole_reply = text_reply && reads_whole_reply(request, target);
  std::string whole_body;
  if (whole_reply) {
    const bool success = true;
    const auto failed = co_await read_whole_body(success, whole_body);
    if (failed) co_return co_await answer_error(*failed);
    pipeline::ReplyText reply;
    reply.stream = request.info.stream;
    const auto reply_format = !context.native                            ? translate::ReplyFormat::Provider
                              : request.api == route::ApiKind::Responses ? translate::ReplyFormat::Responses
                              : exchange.json_array_stream               ? translate::ReplyFormat::GeminiJsonArray
                                                                         : translate::ReplyFormat::Provider;
    reply.choices = translate::reply_texts(target.format, reply.stream, whole_body, reply_format).choices;
    reply.replaced.resize(reply.choices.size());
    const auto verdict = co_await run_reply_text_stages(answered, target, reply);
    if (!verdict.proceeds()) {
      const auto error = verdict.error;
      co_return co_await answer_error(error);
    }
    std::unique_ptr<llm::TextFilter> replacement;
    if (std::any_of(reply.replaced.begin(), reply.replaced.end(), [](const auto& text) { return text.has_value(); }))
      replacement = std::make_unique<llm::TextReplacement>(std::move(reply.replaced));
    text_filter = response_text_filter(answered, target, std::move(replacement));
  } else if (text_reply) {
    text_filter = response_text_filter(answered, target, nullptr);
  }
  if (text_filter) {
    if (translator) {
      translator->filter_text(text_filter.get());
    } else if (target.format == provider::WireFormat::OpenAI && request.api == route::ApiKind::Responses) {
      translator = translate::make_responses_native_filter(*text_filter, store_echo, limits.maxTranslatedResponseBytes);
    } else if (target.format == provider::WireFormat::OpenAI) {
      translator = translate::make_openai_native_filter(*text_filter, context.drop_usage_chunk,
                                                        limits.maxTranslatedResponseBytes);
    } else if (target.format == provider::WireFormat::Anthropic) {
      translator = translate::make_anthropic_native_filter(*text_filter, limits.maxTranslatedResponseBytes);
    } else if (target.format == provider::WireFormat::Gemini || target.format == provider::WireFormat::VertexGemini) {
      translator = translate::make_gemini_native_filter(*text_filter, exchange.json_array_stream,
                                                        limits.maxTranslatedResponseBytes);
    }
  }

  // A native Responses answer the response store keeps or continued: its response objects say
  // so (store, previous_response_id), as OpenAI's own would (translate/responses_store_echo.hpp).
  if (!translator && context.native && request.json_api && request.api == route::ApiKind::Responses &&
      target.format == provider::WireFormat::OpenAI && record.status >= 200 && record.status < 300 &&
      store_echo.any()) {
    const std::string_view encoding = response[bhttp::field::content_encoding];
    if (encoding.empty() || beast::iequals(encoding, "identity"))
      translator =
          translate::make_responses_store_echo(request.info.stream, store_echo, limits.maxTranslatedResponseBytes);
  }

  // A native reply read whole for the record (usage, model) through the reading the relay would
  // run it through, which may also drop the usage chunk Sluice asked for: the body to send.
  const bool reads_events = chains_need(request, target, pipeline::Phase::ResponseEvents);
  const bool reads_native = context.native && target.ai && request.json_api && reads_events;
  auto read_native_whole = [&](std::string& body, bool stream) {
    if (!reads_native) return;
    std::string out;
    if (reads_reported_usage(request.api)) {
      ReportedUsageReading reading(stream, limits.maxTranslatedResponseBytes, record);
      reading.feed(body, out);
      reading.finish(out);
    } else if (target.format == provider::WireFormat::OpenAI) {
      NativeResponseReading reading(stream, context.drop_usage_chunk, limits.maxTranslatedResponseBytes, record);
      reading.feed(body, out);
      reading.finish(out);
    } else if (target.format == provider::WireFormat::Anthropic) {
      NativeAnthropicReading reading(stream, limits.maxTranslatedResponseBytes, record);
      reading.feed(body, out);
      reading.finish(out);
    } else {
      return;
    }
    body = std::move(out);
  };
  const bool cost_reported = chains_need(request, target, pipeline::Phase::ReplyCost);

  if (whole_reply) {
    // Read whole: answered at once, converted (or filtered) like a complete reply.
    result.responded = true;
    const bool stream = request.info.stream;
    if (!translator) {
      read_native_whole(whole_body, stream);
      if (cost_reported) run_reply_usage_stages(answered, target);
      if (stream) {
        const pipeline::LocalResponse local{200, "text/event-stream", std::move(whole_body)};
        result.keep = co_await responder.local(local);
      } else {
        result.keep = co_await responder.json(200, std::move(whole_body), &response.base());
      }
      co_return result;
    }
    std::string client_body;
    if (stream) {
      translator->stream_feed(whole_body, client_body);  // an error event it writes ends the body
      translator->stream_end(client_body);
      record_usage(*translator, record);
      if (cost_reported) run_reply_usage_stages(answered, target);
      const pipeline::LocalResponse local{200, std::string(translator->stream_content_type()), std::move(client_body)};
      result.keep = co_await responder.local(local);
      co_return result;
    }
    if (auto terr = translator->translate_response(whole_body, client_body)) co_return co_await answer_error(*terr);
    record_usage(*translator, record);
    if (cost_reported) run_reply_usage_stages(answered, target);
    result.keep = co_await responder.json(200, std::move(client_body), &response.base());
    co_return result;
  }

  RelayOutcome relayed;
  bool client_keep = false;
  pipeline::ResponseTap* const tap = responder.tap();
  if (translator) {
    // Translated: errors and complete replies are read whole and converted; streams are
    // converted event by event.
    const bool success = record.status >= 200 && record.status < 300;
    if (!success || !request.info.stream) {
      std::string upstream_body;
      const auto failed = co_await read_whole_body(success, upstream_body);
      if (failed) co_return co_await answer_error(*failed);
      if (!success) {
        const auto error = translator->translate_error(record.status, response["x-amzn-errortype"], upstream_body);
        const std::string retry_after(response[bhttp::field::retry_after]);
        co_return co_await answer_error(error, retry_after);
      }
      std::string client_body;
      if (auto terr = translator->translate_response(upstream_body, client_body))
        co_return co_await answer_error(*terr);
      record_usage(*translator, record);
      if (cost_reported) run_reply_usage_stages(answered, target);
      result.responded = true;
      result.keep = co_await responder.json(200, std::move(client_body), &response.base());
      co_return result;
    }
    client_keep = responder.keep_alive() && responder.version() >= 11;
    const auto framing = responder.version() >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    const std::string client_head =
        responder.converted_head(&response.base(), 200, translator->stream_content_type(), 0, client_keep, framing);
    if (tap != nullptr) tap->begin(200, translator->stream_content_type());
    // The stream's cost goes into its final usage object as that event leaves.
    std::optional<StreamUsageMembers> cost_members;
    if (cost_reported && record.status >= 200 && record.status < 300)
      cost_members.emplace(request.schema, limits.maxTranslatedResponseBytes, [&](std::string& members) {
        record_usage(*translator, record);
        stream_usage_members(answered, target, members);
      });
    pipeline::ResponseFilter* post = cost_members ? &*cost_members : nullptr;
    if (connection->tls) {
      relayed = co_await relay_translated(*connection->tls, *connection, *parser, client, client_head, framing,
                                          *translator, target, deadline, worker, record, tap, post);
    } else {
      relayed = co_await relay_translated(*connection->plain, *connection, *parser, client, client_head, framing,
                                          *translator, target, deadline, worker, record, tap, post);
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
        framing = responder.version() >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
      }
    }
    const bool sse =
        beast::iequals(std::string_view(response[bhttp::field::content_type]).substr(0, 17), "text/event-stream");
    // Response events: a native OpenAI-format answer is read as it passes.
    std::optional<NativeResponseReading> reading;
    std::optional<NativeAnthropicReading> anthropic_reading;
    std::optional<ReportedUsageReading> reported_reading;
    pipeline::ResponseFilter* filter = nullptr;
    if (has_body && record.status >= 200 && record.status < 300 && reads_native) {
      if (reads_reported_usage(request.api)) {
        filter = &reported_reading.emplace(sse, limits.maxTranslatedResponseBytes, record);
      } else if (target.format == provider::WireFormat::OpenAI) {
        filter = &reading.emplace(sse, context.drop_usage_chunk, limits.maxTranslatedResponseBytes, record);
      } else if (target.format == provider::WireFormat::Anthropic) {
        filter = &anthropic_reading.emplace(sse, limits.maxTranslatedResponseBytes, record);
      }
    } else if (has_body && record.status >= 200 && record.status < 300 && target.ai && !request.json_api &&
               head.method() == bhttp::verb::post && reads_events) {
      // A passthrough call: what its answer says it used (JSON or SSE, uncompressed).
      const std::string_view encoding = response[bhttp::field::content_encoding];
      const bool json =
          beast::iequals(std::string_view(response[bhttp::field::content_type]).substr(0, 16), "application/json");
      if ((sse || json) && (encoding.empty() || beast::iequals(encoding, "identity")))
        filter = &reported_reading.emplace(sse, limits.maxTranslatedResponseBytes, record);
    }
    // The cost of a complete reply goes in a header, so the reply is read whole before its head
    // leaves (chat and messages replies are bounded by their max_tokens; embeddings only when
    // the provider says a length within maxTranslatedResponseBytes; never a compressed body
    // the reading could not read); a stream's goes into its final usage object.
    std::optional<StreamUsageMembers> cost_members;
    if (filter != nullptr && cost_reported && request.json_api) {
      const std::string_view encoding = response[bhttp::field::content_encoding];
      const bool plain_body = encoding.empty() || beast::iequals(encoding, "identity");
      if (!sse && plain_body &&
          (request.api != route::ApiKind::Embeddings ||
           (framing == ClientFraming::ContentLength && parser->content_length() &&
            *parser->content_length() <= limits.maxTranslatedResponseBytes))) {
        std::string whole;
        const bool success = true;
        const auto failed = co_await read_whole_body(success, whole);
        if (failed) co_return co_await answer_error(*failed);
        read_native_whole(whole, false);
        run_reply_usage_stages(answered, target);
        result.responded = true;
        result.keep = co_await responder.json(record.status, std::move(whole), &response.base());
        co_return result;
      }
      if (sse && plain_body) {
        cost_members.emplace(request.schema, limits.maxTranslatedResponseBytes, [&](std::string& members) {
          if (reading) reading->record_usage();
          if (reported_reading) reported_reading->record_usage();
          stream_usage_members(answered, target, members);
        });
      }
    }
    pipeline::ResponseFilter* const post = cost_members ? &*cost_members : nullptr;
    if ((post != nullptr || (filter && filter->may_change_length())) && framing == ClientFraming::ContentLength)
      framing = responder.version() >= 11 ? ClientFraming::Chunked : ClientFraming::UntilClose;
    client_keep = responder.keep_alive() && framing != ClientFraming::UntilClose;
    const std::string client_head = responder.relay_head(response.base(), client_keep, framing);
    if (tap != nullptr) tap->begin(record.status, response[bhttp::field::content_type]);
    if (connection->tls) {
      relayed = co_await relay_body(*connection->tls, *connection, *parser, client, client_head, framing, sse, target,
                                    deadline, worker, record, request.schema, filter, tap, post);
    } else {
      relayed = co_await relay_body(*connection->plain, *connection, *parser, client, client_head, framing, sse, target,
                                    deadline, worker, record, request.schema, filter, tap, post);
    }
  }
  if (tap != nullptr) tap->end(relayed.failure == Failure::None && relayed.client_ok);

  if (relayed.failure != Failure::None) {
    record.upstream_error = failure_label(relayed.failure);
    if (!relayed.head_sent) {
      // Nothing reached the client yet: another provider, or a proper error response.
      std::string why =
          who() + " (" + endpoint.display + ") failed before its response body arrived: " + relayed.ec.message();
      const unsigned status = relayed.failure == Failure::Timeout ? 504 : 502;
      if ((relayed.failure == Failure::Timeout ? exchange.retry.on.timeout : exchange.retry.on.reset) && may_move_on())
        co_return fail(status, std::move(why));
      const auto error = upstream_error(status, std::move(why));
      co_return co_await answer_error(error);
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

}  // namespace sluice::proxy
