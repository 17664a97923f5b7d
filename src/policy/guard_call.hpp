// One call from a guard stage to a guard service (a prompt-guard webhook, a moderation
// endpoint): a JSON POST on the worker's upstream pool and event loop, never blocking it. The
// whole call — connect, write, and reading the answer — is bounded by one timeout (the
// worker's coarse deadlines, so within ~50 ms of it), and the answer's body by
// kMaxGuardAnswerBytes. A pooled connection that turns out stale before any answer is replaced
// by a fresh one once; a connection whose answer was read whole and allows keep-alive goes back
// to the pool. With the request's trace, the call carries a W3C traceparent (and tracestate)
// whose parent is the request's SERVER span, so the guard service's own spans join the trace.
// Worker-thread only, like the pool; `call` and what it points to must outlive the
// coroutine (GCC 12: bind it to a named local before co_await).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "http/io.hpp"
#include "http/upstream_endpoint.hpp"
#include "pipeline/request_record.hpp"

namespace sluice::proxy {
class Worker;
}

namespace sluice::policy {

inline constexpr std::size_t kMaxGuardAnswerBytes = 1024 * 1024;

struct GuardCall {
  const http::UpstreamEndpoint* endpoint = nullptr;
  std::string_view target;   // path (and query), e.g. "/request"
  std::string_view headers;  // more header lines, "name: value\r\n" each (credential, forwarded headers)
  std::string_view body;     // JSON
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds idle_limit{4'000};   // how long the connection may wait in the pool afterwards
  const observe::RequestTrace* trace = nullptr;  // the request's trace (telemetry on), propagated
};

struct GuardAnswer {
  unsigned status = 0;  // 0: no answer
  std::string body;
  std::string error;  // no answer: why, for the client and the log (no header values, no body text)
};

http::Task<GuardAnswer> call_guard_service(proxy::Worker& worker, const GuardCall& call);

// Adds what a guard did to the access log's `guard` field, "; " after earlier notes
// ("request mask SSN; webhook:mask"):
// kinds and rule names, never text.
void note_guard(pipeline::RequestRecord& record, std::string_view what);

}  // namespace sluice::policy
