#include "proxy/tracing.hpp"

#include <boost/json.hpp>

#include "observe/span.hpp"
#include "pipeline/stage.hpp"
#include "proxy/attempt.hpp"
#include "proxy/input_capture.hpp"
#include "proxy/request_body.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using observe::Span;
using observe::SpanKind;
using observe::SpanStatus;

namespace {

// Bodies larger than this are not parsed for span attributes.
constexpr std::size_t kMaxInspectedBody = 1024 * 1024;
// What a span reserves: the most attributes a CLIENT and a SERVER span set (captureContent
// included), and the bytes of strings a typical span holds (it grows past them if it must).
constexpr std::size_t kClientAttributes = 18;
constexpr std::size_t kServerAttributes = 31;
constexpr std::size_t kSpanText = 256;

std::uint64_t unix_nanos(std::chrono::system_clock::time_point t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::uint64_t now_nanos() {
  return unix_nanos(std::chrono::system_clock::now());
}

std::optional<std::string_view> header(const http::Fields& head, std::string_view name) {
  const auto it = head.find(name);
  if (it == head.end()) return std::nullopt;
  return it->value();
}

void set_record_ids(pipeline::RequestRecord& record, const observe::TraceId& trace, const observe::SpanId& span) {
  observe::to_hex(trace, record.trace_id);
  observe::to_hex(span, record.span_id);
  record.trace_ids_set = true;
}

void set_error(Span& span, std::string_view type, std::string_view message) {
  span.set("error.type", type);
  span.status = SpanStatus::Error;
  span.set_status_message(message);
}

std::string status_text(unsigned status) {
  return std::to_string(status);
}

// gen_ai.response.* and gen_ai.usage.* of the answer the record holds.
void set_response_attributes(Span& span, const pipeline::RequestRecord& record) {
  if (!record.response_model.empty()) span.set("gen_ai.response.model", record.response_model);
  if (record.prompt_tokens >= 0) span.set("gen_ai.usage.input_tokens", record.prompt_tokens);
  if (record.completion_tokens >= 0) span.set("gen_ai.usage.output_tokens", record.completion_tokens);
  if (!record.finish_reason.empty()) span.set_strings("gen_ai.response.finish_reasons", {record.finish_reason});
}

void set_request_attributes(Span& span, const observe::RequestTrace& trace) {
  if (trace.max_tokens >= 0) span.set("gen_ai.request.max_tokens", trace.max_tokens);
  if (trace.temperature) span.set("gen_ai.request.temperature", *trace.temperature);
  if (trace.top_p) span.set("gen_ai.request.top_p", *trace.top_p);
}

}  // namespace

std::string_view genai_operation(route::ApiKind api) {
  switch (api) {
    case route::ApiKind::ChatCompletions:
    case route::ApiKind::Messages:
    case route::ApiKind::Responses:
      return "chat";
    case route::ApiKind::Embeddings:
    case route::ApiKind::GeminiEmbed:
      return "embeddings";
    case route::ApiKind::GeminiGenerate:
      return "generate_content";
    default:
      return {};
  }
}

std::string_view genai_provider_name(config::ProviderKind kind) {
  switch (kind) {
    case config::ProviderKind::OpenAI:
      return "openai";
    case config::ProviderKind::Ollama:
      return "ollama";
    case config::ProviderKind::Anthropic:
      return "anthropic";
    case config::ProviderKind::Gemini:
      return "gcp.gemini";
    case config::ProviderKind::VertexAI:
      return "gcp.vertex_ai";
    case config::ProviderKind::AzureOpenAI:
      return "azure.ai.openai";
    case config::ProviderKind::Bedrock:
      return "aws.bedrock";
  }
  return {};
}

void note_client_trace(const http::Fields& head, pipeline::RequestRecord& record) {
  const auto value = header(head, "traceparent");
  if (!value) return;
  if (const auto parent = observe::parse_traceparent(*value))
    set_record_ids(record, parent->trace_id, parent->parent_id);
}

void begin_request_trace(Worker& worker, const config::Telemetry& telemetry, const http::Fields& head,
                         std::chrono::system_clock::time_point start, observe::RequestTrace& trace,
                         pipeline::RequestRecord& record) {
  auto& rng = worker.trace_rng();
  std::optional<observe::TraceParent> parent;
  if (const auto value = header(head, "traceparent")) parent = observe::parse_traceparent(*value);
  if (parent) {
    trace.trace_id = parent->trace_id;
    trace.remote_parent = parent->parent_id;
    trace.sampled = parent->sampled();
    if (const auto state = header(head, "tracestate")) trace.tracestate = observe::canonical_tracestate(*state);
  } else {
    trace.trace_id = observe::new_trace_id(rng);
    trace.sampled = observe::sampled_by_ratio(trace.trace_id, telemetry.sampling);
  }
  trace.server_span_id = observe::new_span_id(rng);
  trace.capture = telemetry.captureContent;
  trace.start_unix_nanos = unix_nanos(start);
  // Until an attempt starts, upstream work (a guard call) is a child of the SERVER span.
  observe::format_traceparent(trace.trace_id, trace.server_span_id, trace.sampled, trace.upstream_traceparent);
  set_record_ids(record, trace.trace_id, trace.server_span_id);
  record.trace = &trace;
}

void read_request_parameters(observe::RequestTrace& trace, const pipeline::RequestContext& request) {
  if (!trace.sampled) return;
  // The parsed document when there is one (a stage may have changed it: the upstream gets what
  // it says), else what the proxy's scan of the body found.
  const auto* document = request.document.if_object();
  const auto p = document != nullptr ? generation_parameters(*document) : request.info.parameters;
  if (p.max_tokens) trace.max_tokens = static_cast<std::int64_t>(*p.max_tokens);
  trace.temperature = p.temperature;
  trace.top_p = p.top_p;
  if (trace.capture == config::CaptureContent::None) return;
  const bool full = trace.capture == config::CaptureContent::Full;
  auto keep = [&](const json::object& body) {
    auto input = capture_input(body, request.api, full);
    trace.system_instructions = std::move(input.system_instructions);
    trace.input_messages = std::move(input.messages);
    trace.input_truncated = input.truncated;
  };
  if (document != nullptr) {
    keep(*document);
    return;
  }
  const std::string_view body = request.body;
  if (body.empty() || body.size() > kMaxInspectedBody) return;
  boost::system::error_code ec;
  const auto doc = json::parse(body, ec);
  if (!ec && doc.is_object()) keep(doc.get_object());
}

void begin_attempt(Worker& worker, observe::RequestTrace& trace) {
  trace.attempt_span_id = observe::new_span_id(worker.trace_rng());
  trace.attempt_start_unix_nanos = now_nanos();
  trace.server_address = {};
  trace.server_port = 0;
  observe::format_traceparent(trace.trace_id, trace.attempt_span_id, trace.sampled, trace.upstream_traceparent);
}

void end_attempt(Worker& worker, observe::RequestTrace& trace, const BackendRuntime& target,
                 const AttemptResult& outcome, const pipeline::RequestRecord& record, std::string_view method) {
  if (target.ai && target.llm != nullptr) trace.provider_name = genai_provider_name(target.llm->kind);
  if (!trace.sampled) return;
  Span span = worker.spans().make(kClientAttributes, kSpanText + trace.tracestate.size());
  span.trace_id = trace.trace_id;
  span.span_id = trace.attempt_span_id;
  span.parent_span_id = trace.server_span_id;
  span.set_trace_state(trace.tracestate);
  span.kind = SpanKind::Client;
  span.start_unix_nanos = trace.attempt_start_unix_nanos;
  span.end_unix_nanos = now_nanos();
  const bool ai = target.ai && !trace.operation.empty();
  if (ai)
    span.set_name(trace.operation, record.model);
  else
    span.set_name(method);
  if (ai) {
    span.set("gen_ai.operation.name", trace.operation);
    if (!trace.provider_name.empty()) span.set("gen_ai.provider.name", trace.provider_name);
    if (!record.model.empty()) span.set("gen_ai.request.model", record.model);
    set_request_attributes(span, trace);
  }
  span.set("http.request.method", method);
  if (!trace.server_address.empty()) {
    span.set("server.address", trace.server_address);
    span.set("server.port", static_cast<std::int64_t>(trace.server_port));
  }
  if (!record.upstream_path.empty())
    span.set("url.path", std::string_view(record.upstream_path).substr(0, record.upstream_path.find('?')));
  if (record.status > 0) span.set("http.response.status_code", static_cast<std::int64_t>(record.status));
  if (target.ai) span.set("sluice.provider", target.name);
  span.set("sluice.backend", record.backend);
  if (outcome.responded) {
    if (ai) set_response_attributes(span, record);
    if (!record.upstream_error.empty() && record.upstream_error != "status")
      set_error(span, record.upstream_error, record.error);
    else if (record.status >= 400)
      set_error(span, status_text(record.status), std::string());
  } else {
    // HTTP client conventions: a status answered is the error's type; else what failed.
    const std::string type = record.upstream_error == "status" && record.status > 0 ? status_text(record.status)
                             : outcome.circuit_open                                 ? std::string("circuit_open")
                             : !record.upstream_error.empty()                       ? std::string(record.upstream_error)
                             : outcome.request_error ? std::string("request_not_accepted")
                                                     : std::string("_OTHER");
    set_error(span, type, outcome.failure);
    span.set("sluice.attempt.reason", outcome.failure);
  }
  worker.spans().push(std::move(span));
}

void finish_request_trace(Worker& worker, const observe::RequestTrace& trace, const pipeline::RequestRecord& record,
                          std::string_view method, std::string_view target) {
  if (!trace.sampled) return;
  Span span =
      worker.spans().make(kServerAttributes, kSpanText + trace.tracestate.size() + trace.system_instructions.size() +
                                                 trace.input_messages.size() + trace.output_messages.size());
  span.trace_id = trace.trace_id;
  span.span_id = trace.server_span_id;
  span.parent_span_id = trace.remote_parent;
  span.set_trace_state(trace.tracestate);
  span.kind = SpanKind::Server;
  span.start_unix_nanos = trace.start_unix_nanos;
  span.end_unix_nanos = now_nanos();
  const std::string_view requested =
      record.requested_model.empty() ? std::string_view(record.model) : std::string_view(record.requested_model);
  const bool ai = !trace.operation.empty();
  if (ai)
    span.set_name(trace.operation, requested);
  else
    span.set_name(method, record.route);
  if (ai) {
    span.set("gen_ai.operation.name", trace.operation);
    if (!trace.provider_name.empty()) span.set("gen_ai.provider.name", trace.provider_name);
    if (!requested.empty()) span.set("gen_ai.request.model", requested);
    set_request_attributes(span, trace);
    set_response_attributes(span, record);
    const bool full = trace.capture == config::CaptureContent::Full;
    if (!trace.system_instructions.empty())
      span.set(full ? "gen_ai.system_instructions" : "sluice.system_instructions", trace.system_instructions);
    if (!trace.input_messages.empty())
      span.set(full ? "gen_ai.input.messages" : "sluice.input.messages", trace.input_messages);
    if (trace.input_truncated) span.set("sluice.input.truncated", true);
    if (!trace.output_messages.empty()) {
      span.set(full ? "gen_ai.output.messages" : "sluice.output.messages", trace.output_messages);
      if (trace.output_truncated) span.set("sluice.output.truncated", true);
    }
  }
  span.set("http.request.method", method);
  span.set("url.path", target.substr(0, target.find('?')));
  if (record.status > 0) span.set("http.response.status_code", static_cast<std::int64_t>(record.status));
  if (!record.route.empty()) span.set("sluice.route", record.route);
  if (!record.backend.empty()) span.set("sluice.backend", record.backend);
  if (!record.provider.empty()) span.set("sluice.provider", record.provider);
  if (!record.principal.empty()) span.set("sluice.principal", record.principal);
  if (!record.guard.empty()) span.set("sluice.guard", record.guard);
  if (!record.cache.empty()) span.set("sluice.cache", record.cache);
  if (!record.translation.empty()) span.set("sluice.translation", record.translation);
  if (record.attempts > 0) span.set("sluice.attempts", static_cast<std::int64_t>(record.attempts));
  if (!record.auth_failure.empty()) span.set("sluice.auth_failure", record.auth_failure);
  if (record.cost_micros >= 0) span.set("sluice.cost_usd", static_cast<double>(record.cost_micros) / 1e6);
  if (record.status >= 400 || record.status == 0) {
    const std::string_view type = !record.upstream_error.empty() ? record.upstream_error : std::string_view{};
    span.set("error.type", !type.empty()        ? std::string(type)
                           : record.status == 0 ? std::string("_OTHER")
                                                : status_text(record.status));
    // A SERVER span is in error for what the server failed (5xx), not for a client's refusal.
    if (record.status >= 500 || record.status == 0) {
      span.status = SpanStatus::Error;
      span.set_status_message(record.error);
    }
  }
  worker.spans().push(std::move(span));
}

}  // namespace sluice::proxy
