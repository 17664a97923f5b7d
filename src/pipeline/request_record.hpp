// The per-request record: what one request was, did and cost, filled by the exchange and its
// stages as the request progresses and read once when it completes (the access log, metrics,
// later traces). One record per request, owned by the client session's request handler; only
// that request's coroutine touches it (no synchronisation). String views point into the
// snapshot the request runs on, which outlives the request; so do the metric series handles,
// which let the metrics record the request by slot, without a lookup. The principal is a copy:
// a JWT's caller lives only as long as the request's context, which ends before the log line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "observe/request_id.hpp"

namespace sluice::observe {
struct RouteSeries;
struct ProviderSeries;
struct RequestTrace;
}  // namespace sluice::observe

namespace sluice::pipeline {

// The schema errors and local answers are written in: OpenAI's, Anthropic's for /v1/messages
// clients, Google's for Gemini API clients (…/models/{model}:generateContent and the like).
enum class ClientSchema { OpenAI, Anthropic, Google };

struct RequestRecord {
  // The request's id (generated, or the client's trusted x-request-id): in the access log, sent
  // upstream and returned to the client as x-request-id.
  observe::RequestId request_id;
  std::string_view route;    // CompiledRule::id (owned by the snapshot)
  std::string_view backend;  // BackendRuntime::name (owned by the snapshot)
  std::string principal;     // the authenticated caller's id; empty: none
  // The series of `route` through `backend`, set with `backend`; none: counted as unrouted.
  const observe::RouteSeries* series = nullptr;
  std::string_view upstream;  // endpoint display (owned by the snapshot)
  std::string upstream_path;
  std::string_view path_source;
  std::string model;            // the model the client asked for (or the one a provider was pinned to)
  std::string requested_model;  // the name the client sent when a model alias replaced it
  bool stream = false;
  unsigned status = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  // When the exchange started (the request body read, the stages run): the origin of the
  // upstream times below.
  std::chrono::steady_clock::time_point exchange_start{};
  double upstream_first_byte_ms = -1;  // the last attempt's response head arrived; -1: none did
  // The first token or content event of the answer arrived (a text, reasoning or tool-call delta
  // of a stream; the body of a complete reply), as read by the usage reading or the translator;
  // -1: not seen (no 2xx answer, or an answer nobody reads).
  double first_token_ms = -1;
  // Time spent in upstream calls, summed over the attempts: from connecting (or taking a pooled
  // connection) to the end of the answer's relay. The rest of the request is Sluice's overhead.
  double upstream_ms = 0;
  std::string_view upstream_error;  // metrics label: connect, timeout, reset, tls, protocol, status, key
  std::string error;                // why the request failed; empty when it succeeded (after failovers too)
  // Why each attempt that was given up failed ("provider: why"), in order, whatever the outcome.
  std::vector<std::string> failover_reasons;
  std::string_view translation;  // "openai->anthropic", ... empty when none
  std::string guard;             // what a prompt guard did ("request mask SSN,EMAIL"): rule names, never the text
  // The rate limit or budget that refused the request (429): "TrafficPolicy/name spec.path[i]".
  std::string limit;
  // sluice_auth_failures_total's reason when the auth policy refused the request
  // (observe::kAuthFailureReasons); empty otherwise.
  std::string_view auth_failure;
  // The caller's labels for sluice_principal_*_total as Prometheus text (id="alice",team="blue"),
  // when its auth policy names metricsLabels; empty otherwise.
  std::string principal_labels;
  // The values of Gateway spec.telemetry.metricLabels (principal.id, principal.metadata.<key>)
  // for the GenAI metrics, in that order, read from the authenticated principal once the request
  // head's stages ran ("" when there is none or it lacks the attribute); empty when the Gateway
  // lists none.
  std::vector<std::string> metric_label_values;
  // gen_ai.operation.name of the client's API ("chat", "embeddings", "generate_content"); empty
  // for a request that is not a GenAI operation (model lists, passthrough calls).
  std::string_view gen_ai_operation;
  std::string_view provider;  // the provider of an AI Backend that answered (or was tried last)
  const observe::ProviderSeries* provider_series = nullptr;  // `provider`'s metric series
  unsigned attempts = 0;                                     // providers tried
  // Read from the response (every AI response when usage capture runs): -1 / empty when unknown.
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
  std::int64_t reasoning_tokens = -1;  // within completion_tokens
  std::string finish_reason;           // as the provider said it ("stop", "end_turn", "length", ...)
  std::string response_model;          // the model the provider says answered
  // What the response cost in micro-USD (pricing::record_cost, once the request completes,
  // before the Complete stages run); -1: unknown (no usage, or a model without a price).
  std::int64_t cost_micros = -1;
  // The response cache (policy/response_cache.hpp): "hit", "miss" or "bypass" on a rule with a
  // cache, empty otherwise. A hit carries the usage stored with the answer in the token counts
  // above and cache_hit: nothing was asked of a provider, so cost accounting prices it at 0 and
  // counts what the stored usage would have cost as saved.
  std::string_view cache;
  bool cache_hit = false;

  // The answer's first token arrived now (the first call counts).
  void mark_first_token() {
    if (first_token_ms < 0) mark_first_token_at(std::chrono::steady_clock::now());
  }
  void mark_first_token_at(std::chrono::steady_clock::time_point at) {
    if (first_token_ms < 0) first_token_ms = std::chrono::duration<double, std::milli>(at - exchange_start).count();
  }
  // The request's W3C trace context as lowercase hex (the access log reads them): with telemetry
  // on, the trace (the client's, or a new one) and the SERVER span; with telemetry off, the trace
  // and parent span of a valid traceparent the client sent. Unset (trace_ids_set false) otherwise.
  char trace_id[32] = {};
  char span_id[16] = {};
  bool trace_ids_set = false;
  std::string_view trace_id_hex() const { return trace_ids_set ? std::string_view(trace_id, 32) : std::string_view{}; }
  std::string_view span_id_hex() const { return trace_ids_set ? std::string_view(span_id, 16) : std::string_view{}; }
  // The request's trace while it runs (observe/request_trace.hpp); null when telemetry is off.
  observe::RequestTrace* trace = nullptr;
};

}  // namespace sluice::pipeline
