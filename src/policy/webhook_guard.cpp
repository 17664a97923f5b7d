#include "policy/webhook_guard.hpp"

#include <boost/json.hpp>

#include "policy/ai.hpp"
#include "policy/guard_call.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::Verdict;

GuardMessages collect_guard_messages(const llm::RequestView& view) {
  GuardMessages out;
  // A message gathers the consecutive spans of one message index and role.
  bool open = false;
  std::size_t last_index = 0;
  std::string_view last_role;
  view.visit_text([&](const llm::TextSpan& span) {
    if (span.kind == llm::TextKind::ToolCall) {
      out.span_message.push_back(std::string::npos);
      open = false;
      return;
    }
    const std::string_view role = span.kind == llm::TextKind::Input ? std::string_view("user") : span.role;
    if (!open || span.message != last_index || role != last_role) {
      out.messages.push_back(GuardMessage{std::string(role), std::string(span.text)});
      open = true;
      last_index = span.message;
      last_role = role;
    } else {
      out.messages.back().content.append("\n").append(span.text);
    }
    out.span_message.push_back(out.messages.size() - 1);
  });
  return out;
}

std::size_t apply_guard_masks(llm::RequestView& view, const GuardMessages& sent, std::span<const std::string> masked) {
  if (masked.size() != sent.messages.size()) return 0;
  std::vector<bool> changed(masked.size());
  std::size_t count = 0;
  for (std::size_t m = 0; m < masked.size(); ++m) {
    changed[m] = masked[m] != sent.messages[m].content;
    count += changed[m] ? 1 : 0;
  }
  if (count == 0) return 0;
  std::size_t span = 0;
  std::size_t previous = std::string::npos;
  view.for_each_text([&](const llm::TextSpan&) -> std::optional<std::string> {
    const auto m = span < sent.span_message.size() ? sent.span_message[span] : std::string::npos;
    ++span;
    if (m == std::string::npos || !changed[m]) {
      previous = m;
      return std::nullopt;
    }
    const bool first_of_message = m != previous;
    previous = m;
    return first_of_message ? masked[m] : std::string();
  });
  return count;
}

std::string webhook_request_body(std::span<const GuardMessage> messages) {
  json::array list;
  list.reserve(messages.size());
  for (const auto& m : messages) list.push_back(json::object{{"role", m.role}, {"content", m.content}});
  json::object body;
  body["messages"] = std::move(list);
  return json::serialize(json::object{{"body", std::move(body)}});
}

WebhookDecision parse_webhook_answer(std::string_view answer, std::size_t sent_messages, bool response) {
  WebhookDecision out;
  const auto broken = [&out](std::string problem) {
    out.kind = WebhookDecision::Kind::Broken;
    out.problem = std::move(problem);
    return out;
  };
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  const auto value = json::parse(answer, ec, {}, options);
  if (ec || !value.is_object()) return broken("the answer is not a JSON object");
  const auto* action = value.get_object().if_contains("action");
  if (action == nullptr || !action->is_object()) return broken("the answer has no \"action\" object");
  const auto& act = action->get_object();
  const auto* body = act.if_contains("body");
  if (body == nullptr || body->is_null()) {
    out.kind = WebhookDecision::Kind::Pass;
    return out;
  }
  if (body->is_string()) {
    out.kind = WebhookDecision::Kind::Reject;
    out.message = body->get_string();
    if (const auto* status = act.if_contains("status_code"); status != nullptr && !status->is_null()) {
      if (!status->is_int64() && !status->is_uint64()) return broken("\"status_code\" is not an integer");
      const auto code = status->is_int64() ? status->get_int64() : static_cast<std::int64_t>(status->get_uint64());
      if (code >= 400 && code <= 599) out.status = static_cast<unsigned>(code);
    }
    return out;
  }
  if (!body->is_object()) return broken("\"action.body\" is neither a text (reject) nor an object (mask)");
  const std::string_view key = response ? "choices" : "messages";
  const auto* messages = body->get_object().if_contains(key);
  if (messages == nullptr || !messages->is_array())
    return broken("\"action.body\" has no \"" + std::string(key) + "\" list");
  const auto& list = messages->get_array();
  if (list.size() != sent_messages)
    return broken("the mask has " + std::to_string(list.size()) + " " + std::string(key) + " for " +
                  std::to_string(sent_messages) + " sent");
  out.masked.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto* message = list[i].if_object();
    if (response && message != nullptr) {
      const auto* inner = message->if_contains("message");
      message = inner != nullptr ? inner->if_object() : nullptr;
    }
    const auto* content = message != nullptr ? message->if_contains("content") : nullptr;
    if (content == nullptr || !content->is_string())
      return broken("message " + std::to_string(i) + " of the mask has no text \"content\"");
    out.masked.emplace_back(content->get_string());
  }
  out.kind = WebhookDecision::Kind::Mask;
  return out;
}

GuardCall webhook_call(proxy::Worker& worker, const proxy::BackendRuntime& service, std::string_view target,
                       std::chrono::milliseconds timeout) {
  const auto& endpoints = service.endpoints;
  GuardCall call;
  call.endpoint = &endpoints[endpoints.size() == 1 ? 0 : worker.rng()() % endpoints.size()];
  call.target = target;
  call.timeout = timeout;
  call.idle_limit = service.timeouts.poolIdle;
  return call;
}

std::string forwarded_headers(const pipeline::RequestContext& request, std::span<const std::string> names) {
  std::string out;
  if (request.head == nullptr) return out;
  for (const auto& name : names)
    for (auto [it, end] = request.head->equal_range(name); it != end; ++it)
      out.append(name).append(": ").append(it->value()).append("\r\n");
  return out;
}

namespace {

class WebhookGuardStage final : public pipeline::Stage {
 public:
  WebhookGuardStage(const config::GuardWebhook& webhook, const proxy::BackendRuntime* backend,
                    std::string reject_message)
      : webhook_(webhook), backend_(backend), reject_message_(std::move(reject_message)) {}

  std::string_view name() const override { return "webhook-guard"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }
  bool waits() const override { return true; }

  http::Task<Verdict> await_request_body(pipeline::RequestContext& request) const override {
    auto view = client_view(request);
    if (!view) co_return Verdict::proceed();
    const auto sent = collect_guard_messages(*view);
    if (sent.messages.empty()) co_return Verdict::proceed();
    if (backend_ == nullptr || backend_->endpoints.empty())
      co_return unavailable(request, "Backend \"" + webhook_.backend + "\" is not available");
    const std::string body = webhook_request_body(sent.messages);
    const std::string headers = forwarded_headers(request, webhook_.forwardHeaders);
    auto call = webhook_call(request.worker, *backend_, "/request", webhook_.timeout);
    call.trace = request.record.trace;
    call.headers = headers;
    call.body = body;
    const auto answer = co_await call_guard_service(request.worker, call);
    if (answer.status == 0) co_return unavailable(request, answer.error);
    if (answer.status < 200 || answer.status > 299)
      co_return unavailable(request, "it answered HTTP " + std::to_string(answer.status));
    auto decision = parse_webhook_answer(answer.body, sent.messages.size());
    switch (decision.kind) {
      case WebhookDecision::Kind::Pass:
        co_return Verdict::proceed();
      case WebhookDecision::Kind::Reject:
        note_guard(request.record, "webhook:reject");
        co_return Verdict::fail(http::ApiError{decision.status,
                                               "invalid_request_error",
                                               "content_filter",
                                               decision.message.empty() ? reject_message_ : decision.message,
                                               {}});
      case WebhookDecision::Kind::Mask: {
        note_guard(request.record, "webhook:mask");
        auto current = client_view(request);
        if (current && apply_guard_masks(*current, sent, decision.masked) > 0) request.document_changed = true;
        co_return Verdict::proceed();
      }
      case WebhookDecision::Kind::Broken:
        break;
    }
    co_return unavailable(request, decision.problem);
  }

 private:
  Verdict unavailable(pipeline::RequestContext& request, const std::string& why) const {
    note_guard(request.record, "webhook:unavailable");
    if (webhook_.failureMode == config::FailureMode::FailOpen) return Verdict::proceed();
    return Verdict::fail(http::ApiError{
        503, "server_error", "guard_unavailable", "The prompt guard webhook was unavailable: " + why, {}});
  }

  config::GuardWebhook webhook_;
  const proxy::BackendRuntime* backend_;
  std::string reject_message_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_webhook_guard_stage(const config::GuardWebhook& webhook,
                                                                const proxy::BackendRuntime* guard_backend,
                                                                std::string reject_message) {
  return std::make_shared<const WebhookGuardStage>(webhook, guard_backend, std::move(reject_message));
}

}  // namespace sluice::policy
