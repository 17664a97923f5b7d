// Prompt guard webhook on responses (TrafficPolicy `ai.promptGuard.response.webhook`): the
// model's answer goes to a guard service, which passes, masks or rejects it, with the
// kgateway / agentgateway contract:
//   POST {backend}/response  {"body":{"choices":[{"message":{"role":"assistant","content":"…"}}, …]}}
//   answer {"action":{"reason":"…"}}                                        pass
//          {"action":{"body":{"choices":[{"message":{"content":"…"}}…]}}}   mask: the same number
//                                                                           of choices, their text
//          {"action":{"body":"<text>","status_code":403,"reason":"…"}}      reject (400–599, else 403)
// The service needs the whole answer, so the reply is read whole before any of it is sent (a
// ResponseWhole stage): complete replies always; streams only with `streaming: Buffer` (the
// client then receives the whole stream at once when it ends — a latency trade-off), else
// streams pass without the webhook. A masked choice's text replaces the choice's text in the
// reply, in its own format and event shapes; a rejection answers that status in the client's
// error schema (a buffered stream too: nothing was sent yet). A broken or unreachable service
// is handled by failureMode as on requests (FailClosed: 503). The access log's `guard` field
// says response-webhook:mask, :reject or :unavailable, never text. The stage is immutable and
// thread-safe; it points to the guard Backend of its own snapshot.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"

namespace sluice::proxy {
struct BackendRuntime;
}

namespace sluice::policy {

// {"body":{"choices":[{"message":{"role":"assistant","content":…}}, …]}}
std::string response_webhook_body(std::span<const std::string> choices);

std::shared_ptr<const pipeline::Stage> make_response_webhook_stage(const config::ResponseWebhook& webhook,
                                                                   const proxy::BackendRuntime* guard_backend);

}  // namespace sluice::policy
