#include "policy/response_webhook.hpp"

#include <boost/json.hpp>

#include "policy/guard_call.hpp"
#include "policy/webhook_guard.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::Verdict;

std::string response_webhook_body(std::span<const std::string> choices) {
  json::array list;
  list.reserve(choices.size());
  for (const auto& text : choices)
    list.push_back(json::object{{"message", json::object{{"role", "assistant"}, {"content", text}}}});
  json::object body;
  body["choices"] = std::move(list);
  return json::serialize(json::object{{"body", std::move(body)}});
}

namespace {

class ResponseWebhookStage final : public pipeline::Stage {
 public:
  ResponseWebhookStage(const config::ResponseWebhook& webhook, const proxy::BackendRuntime* backend)
      : webhook_(webhook), backend_(backend) {}

  std::string_view name() const override { return "response-webhook"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::ResponseWhole); }
  bool reads_whole_reply(bool stream) const override {
    return !stream || webhook_.streaming == config::WebhookStreaming::Buffer;
  }

  http::Task<Verdict> await_reply_text(pipeline::ResponseContext& response, pipeline::ReplyText& reply) const override {
    auto& request = response.attempt.request;
    if (backend_ == nullptr || backend_->endpoints.empty())
      co_return unavailable(request, "Backend \"" + webhook_.call.backend + "\" is not available");
    // What the service reads: the texts as earlier webhooks left them.
    std::vector<std::string> texts;
    texts.reserve(reply.choices.size());
    for (std::size_t i = 0; i < reply.choices.size(); ++i)
      texts.push_back(reply.replaced[i] ? *reply.replaced[i] : reply.choices[i]);
    const std::string body = response_webhook_body(texts);
    const std::string headers = forwarded_headers(request, webhook_.call.forwardHeaders);
    auto call = webhook_call(request.worker, *backend_, "/response", webhook_.call.timeout);
    call.trace = request.record.trace;
    call.headers = headers;
    call.body = body;
    const auto answer = co_await call_guard_service(request.worker, call);
    if (answer.status == 0) co_return unavailable(request, answer.error);
    if (answer.status < 200 || answer.status > 299)
      co_return unavailable(request, "it answered HTTP " + std::to_string(answer.status));
    auto decision = parse_webhook_answer(answer.body, texts.size(), true);
    switch (decision.kind) {
      case WebhookDecision::Kind::Pass:
        co_return Verdict::proceed();
      case WebhookDecision::Kind::Reject:
        note_guard(request.record, "response-webhook:reject");
        co_return Verdict::fail(
            http::ApiError{decision.status,
                           "invalid_request_error",
                           "content_filter",
                           decision.message.empty() ? "The response was rejected by policy" : decision.message,
                           {}});
      case WebhookDecision::Kind::Mask:
        note_guard(request.record, "response-webhook:mask");
        for (std::size_t i = 0; i < decision.masked.size(); ++i)
          if (decision.masked[i] != texts[i]) reply.replaced[i] = std::move(decision.masked[i]);
        co_return Verdict::proceed();
      case WebhookDecision::Kind::Broken:
        break;
    }
    co_return unavailable(request, decision.problem);
  }

 private:
  Verdict unavailable(pipeline::RequestContext& request, const std::string& why) const {
    note_guard(request.record, "response-webhook:unavailable");
    if (webhook_.call.failureMode == config::FailureMode::FailOpen) return Verdict::proceed();
    return Verdict::fail(http::ApiError{
        503, "server_error", "guard_unavailable", "The response guard webhook was unavailable: " + why, {}});
  }

  config::ResponseWebhook webhook_;
  const proxy::BackendRuntime* backend_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_response_webhook_stage(const config::ResponseWebhook& webhook,
                                                                   const proxy::BackendRuntime* guard_backend) {
  return std::make_shared<const ResponseWebhookStage>(webhook, guard_backend);
}

}  // namespace sluice::policy
