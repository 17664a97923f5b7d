// The trace of one request while it runs (Gateway spec.telemetry with an OTLP endpoint): its
// W3C trace context (the client's parent when it sent a valid traceparent, else a new trace),
// whether it is sampled, the SERVER span's id, and the CLIENT span of the upstream attempt in
// progress with the traceparent that attempt sends upstream. Owned by the client session's
// request handler (on its coroutine frame; no allocation unless the client sent a tracestate),
// reached through RequestRecord::trace; one request's coroutine only. Spans are built from it
// only when sampled (proxy/tracing.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/resources.hpp"
#include "observe/trace_context.hpp"

namespace sluice::observe {

struct RequestTrace {
  TraceId trace_id;
  SpanId server_span_id;
  SpanId remote_parent;  // all zeros: the request started the trace
  bool sampled = false;
  std::string tracestate;  // canonical, propagated unchanged
  config::CaptureContent capture = config::CaptureContent::None;
  std::uint64_t start_unix_nanos = 0;

  // What the request is, as the GenAI conventions name it ("chat", "embeddings",
  // "generate_content"); empty for a request that is not a GenAI operation.
  std::string_view operation;
  // Request parameters read from the body of a sampled request (-1 / NaN when absent).
  std::int64_t max_tokens = -1;
  std::optional<double> temperature;
  std::optional<double> top_p;
  // captureContent: gen_ai.system_instructions and gen_ai.input.messages as JSON (after the
  // prompt guard; proxy/input_capture.hpp); whether a limit cut them.
  std::string system_instructions;
  std::string input_messages;
  bool input_truncated = false;
  // captureContent: gen_ai.output.messages as JSON, as the client received the answer (after
  // the response guard), written by proxy::OutputCapture at the answer's end; whether its
  // content was cut at OutputCapture::kMaxCapturedText.
  std::string output_messages;
  bool output_truncated = false;

  // The attempt in progress.
  SpanId attempt_span_id;
  std::uint64_t attempt_start_unix_nanos = 0;
  std::string_view server_address;  // the endpoint's host (owned by the snapshot)
  std::uint16_t server_port = 0;
  char upstream_traceparent[kTraceParentBytes] = {};
  // gen_ai.provider.name of the provider that answered (or was tried last).
  std::string_view provider_name;
};

}  // namespace sluice::observe
