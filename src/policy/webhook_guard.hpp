// Prompt guard webhook on requests (TrafficPolicy `ai.promptGuard.request.webhook`): the
// request's messages go to a guard service, which passes, masks or rejects them. The wire
// contract is kgateway's / agentgateway's, so their guard services work unchanged:
//   POST {backend}/request   {"body":{"messages":[{"role":"user","content":"…"}, …]}}
//   answer {"action":{"reason":"…"}}                                   pass
//          {"action":{"body":{"messages":[…]},"reason":"…"}}           mask: the same number of
//                                                                      messages, their new text
//          {"action":{"body":"<text>","status_code":403,"reason":"…"}} reject with that status
//                                                                      (400–599, else 403)
// The messages are the texts the model reads, through the canonical request view
// (llm/request_view.hpp): the system prompt (Anthropic `system` as one "system" message), each
// message's text (its text parts joined with "\n"), tool results (role "tool"), embeddings
// inputs (role "user"); tool-call arguments are not sent. A masked message's text replaces the
// message's first text part and empties the others. A different number of messages, a non-2xx
// status or an answer that does not parse is a broken webhook, handled like an unreachable one:
// failureMode FailClosed answers 503 in the client's schema, FailOpen lets the request through.
// The access log's `guard` field says webhook:mask, webhook:reject or webhook:unavailable,
// never text. The call runs on the worker's event loop and pool (policy/guard_call.hpp).
// The stage is immutable and thread-safe; it points to the guard Backend of its own snapshot.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"
#include "llm/request_view.hpp"
#include "pipeline/stage.hpp"
#include "policy/guard_call.hpp"

namespace sluice::proxy {
struct BackendRuntime;
class Worker;
}  // namespace sluice::proxy

namespace sluice::policy {

// One message as the guard service sees it.
struct GuardMessage {
  std::string role;
  std::string content;
};

// The request's messages for the webhook, and which visited span (in RequestView walk order)
// belongs to which message (npos: not sent, a tool call's arguments).
struct GuardMessages {
  std::vector<GuardMessage> messages;
  std::vector<std::size_t> span_message;
};

GuardMessages collect_guard_messages(const llm::RequestView& view);

// Writes the masked texts back (one per message of `sent`, in order); returns the number of
// messages whose text changed.
std::size_t apply_guard_masks(llm::RequestView& view, const GuardMessages& sent, std::span<const std::string> masked);

// {"body":{"messages":[…]}}
std::string webhook_request_body(std::span<const GuardMessage> messages);

struct WebhookDecision {
  enum class Kind { Pass, Mask, Reject, Broken };
  Kind kind = Kind::Broken;
  std::vector<std::string> masked;  // Mask: each message's new text
  unsigned status = 403;            // Reject
  std::string message;              // Reject: the text the client gets
  std::string problem;              // Broken: what is wrong with the answer
};

// Reads the service's answer to a request of `sent_messages` messages (`response`: to a
// /response call of that many choices, masks given as choices[].message.content).
WebhookDecision parse_webhook_answer(std::string_view answer, std::size_t sent_messages, bool response = false);

// A call to one of a guard service's hosts (a Static Backend, chosen at random when it has
// several) at `target`, with its pool idle limit and `timeout`; headers and body are the caller's.
GuardCall webhook_call(proxy::Worker& worker, const proxy::BackendRuntime& service, std::string_view target,
                       std::chrono::milliseconds timeout);

// The client's headers named by `names` (forwardHeaders), every value of each, as header lines.
std::string forwarded_headers(const pipeline::RequestContext& request, std::span<const std::string> names);

// The stage; `guard_backend` is the Static Backend of the snapshot the stage belongs to (null:
// it is missing, every call counts as unavailable). `reject_message` answers a reject whose
// body is empty.
std::shared_ptr<const pipeline::Stage> make_webhook_guard_stage(const config::GuardWebhook& webhook,
                                                                const proxy::BackendRuntime* guard_backend,
                                                                std::string reject_message);

}  // namespace sluice::policy
