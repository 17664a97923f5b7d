// Tracing of requests (Gateway spec.telemetry): the trace context read from the client, one
// SERVER span per request and one CLIENT span per upstream attempt, named and attributed by the
// OpenTelemetry GenAI semantic conventions (gen_ai.*, plus HTTP's and Sluice's own sluice.*), and
// finished into the worker's span buffer. The exchange calls these at fixed points: the request's
// head (begin_request_trace), its body (read_request_parameters), each attempt (begin_attempt /
// end_attempt) and its end (finish_request_trace). With telemetry off only note_client_trace
// runs (the client's trace id for the access log: no allocation). Worker thread only.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "config/resources.hpp"
#include "http/fields.hpp"
#include "observe/request_trace.hpp"
#include "pipeline/request_record.hpp"
#include "route/api_path.hpp"

namespace sluice::pipeline {
struct RequestContext;
}

namespace sluice::proxy {

class Worker;
struct BackendRuntime;
struct AttemptResult;

// gen_ai.operation.name of a client API; empty when it is not a GenAI operation. The one mapping
// the spans, the GenAI metrics (RequestRecord::gen_ai_operation) and their provider label use.
std::string_view genai_operation(route::ApiKind api);
// gen_ai.provider.name of a provider kind (the conventions' well-known values; "ollama" is not
// one of them and is written as is).
std::string_view genai_provider_name(config::ProviderKind kind);

// Telemetry off: the trace and parent span of a valid client traceparent, into the record.
void note_client_trace(const http::Fields& head, pipeline::RequestRecord& record);

// Telemetry on: the trace context (the client's traceparent and tracestate when valid, else a
// new trace), the sampling decision, the SERVER span's id; sets record.trace and its ids.
void begin_request_trace(Worker& worker, const config::Telemetry& telemetry, const http::Fields& head,
                         std::chrono::system_clock::time_point start, observe::RequestTrace& trace,
                         pipeline::RequestRecord& record);

// A sampled GenAI request's parameters (max tokens, temperature, top_p) and, with
// captureContent, its messages, as the upstream gets them (after the RequestBody stages): from
// the request's document when it was parsed, else from the proxy's scan of the body
// (BodyInfo::parameters; the body is parsed again only for captureContent).
void read_request_parameters(observe::RequestTrace& trace, const pipeline::RequestContext& request);

// Before an attempt: its CLIENT span's id and start, and the traceparent it sends upstream.
void begin_attempt(Worker& worker, observe::RequestTrace& trace);
// After an attempt: its CLIENT span (sampled requests), from what the attempt left in the record.
void end_attempt(Worker& worker, observe::RequestTrace& trace, const BackendRuntime& target,
                 const AttemptResult& outcome, const pipeline::RequestRecord& record, std::string_view method);

// At the end of the request: its SERVER span (sampled requests).
void finish_request_trace(Worker& worker, const observe::RequestTrace& trace, const pipeline::RequestRecord& record,
                          std::string_view method, std::string_view target);

}  // namespace sluice::proxy
