#include "policy/moderation_guard.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "policy/ai.hpp"
#include "policy/guard_call.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::Verdict;

std::string moderation_request_body(std::string_view model, const std::vector<std::string>& input) {
  json::array texts;
  texts.reserve(input.size());
  for (const auto& text : input) texts.emplace_back(json::string(text));
  return json::serialize(json::object{{"model", model}, {"input", std::move(texts)}});
}

std::optional<ModerationVerdict> parse_moderation_answer(std::string_view answer) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  const auto value = json::parse(answer, ec, {}, options);
  if (ec || !value.is_object()) return std::nullopt;
  const auto* results = value.get_object().if_contains("results");
  if (results == nullptr || !results->is_array()) return std::nullopt;
  ModerationVerdict out;
  for (const auto& item : results->get_array()) {
    const auto* result = item.if_object();
    const auto* flagged = result != nullptr ? result->if_contains("flagged") : nullptr;
    if (flagged == nullptr || !flagged->is_bool()) return std::nullopt;
    if (!flagged->get_bool()) continue;
    out.flagged = true;
    const auto* categories = result->if_contains("categories");
    if (categories == nullptr || !categories->is_object()) continue;
    for (const auto& [name, on] : categories->get_object())
      if (on.is_bool() && on.get_bool()) out.categories.emplace_back(name);
  }
  std::sort(out.categories.begin(), out.categories.end());
  out.categories.erase(std::unique(out.categories.begin(), out.categories.end()), out.categories.end());
  return out;
}

namespace {

// The path of the provider's moderation endpoint: the Backend's path prefix, else the
// provider's API base ("/v1"), then "/moderations".
std::string moderation_path(const proxy::BackendRuntime& provider) {
  if (provider.path.prefix) return *provider.path.prefix + "/moderations";
  const provider::PathRequest request{provider::Operation::Other, {}, false, "/moderations", {}};
  return provider.provider->path(*provider.llm, request).base + "/moderations";
}

class ModerationGuardStage final : public pipeline::Stage {
 public:
  ModerationGuardStage(const config::ModerationGuard& moderation, const proxy::BackendRuntime* provider,
                       unsigned status, std::string message)
      : moderation_(moderation),
        provider_(provider),
        path_(provider != nullptr && provider->provider != nullptr ? moderation_path(*provider) : std::string()),
        status_(status),
        message_(std::move(message)) {}

  std::string_view name() const override { return "moderation-guard"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }
  bool waits() const override { return true; }

  http::Task<Verdict> await_request_body(pipeline::RequestContext& request) const override {
    auto view = client_view(request);
    if (!view) co_return Verdict::proceed();
    std::vector<std::string> input;
    view->visit_text([&input](const llm::TextSpan& span) {
      if (span.kind == llm::TextKind::Input || (span.kind == llm::TextKind::Message && span.role == "user"))
        if (!span.text.empty()) input.emplace_back(span.text);
    });
    if (input.empty()) co_return Verdict::proceed();
    if (provider_ == nullptr || path_.empty() || provider_->endpoints.empty() || !provider_->unavailable_reason.empty())
      co_return unavailable(request, "Backend \"" + moderation_.backend + "\" is not available");
    const std::string body = moderation_request_body(moderation_.model, input);
    const std::string headers = provider_headers();
    GuardCall call;
    call.endpoint = &provider_->endpoints.front();
    call.target = path_;
    call.headers = headers;
    call.body = body;
    call.timeout = moderation_.timeout;
    call.idle_limit = provider_->timeouts.poolIdle;
    call.trace = request.record.trace;
    const auto answer = co_await call_guard_service(request.worker, call);
    if (answer.status == 0) co_return unavailable(request, answer.error);
    if (answer.status < 200 || answer.status > 299)
      co_return unavailable(request, "it answered HTTP " + std::to_string(answer.status));
    const auto verdict = parse_moderation_answer(answer.body);
    if (!verdict) co_return unavailable(request, "the answer is not a moderation result");
    if (!verdict->flagged) co_return Verdict::proceed();
    std::string note = "moderation:";
    for (std::size_t i = 0; i < verdict->categories.size(); ++i)
      note.append(i == 0 ? "" : ",").append(verdict->categories[i]);
    if (verdict->categories.empty()) note.append("flagged");
    note_guard(request.record, note);
    co_return Verdict::fail(http::ApiError{status_, "invalid_request_error", "content_filter", message_, {}});
  }

 private:
  // The provider's static headers and its own key, as the credential stage would send it; never
  // the client's.
  std::string provider_headers() const {
    std::string out;
    const auto& p = *provider_;
    for (const auto& [name, header] : p.static_headers) out.append(name).append(": ").append(header).append("\r\n");
    if (p.auth_kind != config::AuthKind::Inline && p.auth_kind != config::AuthKind::SecretRef) return out;
    const std::string* value = &p.auth_value;
    if (p.keys && !p.auth_values.empty()) {
      const auto index = p.keys->pick(proxy::KeyRing::Clock::now());
      value = &p.auth_values[index.value_or(0)];
    }
    if (!value->empty()) out.append(p.auth_header).append(": ").append(*value).append("\r\n");
    return out;
  }

  Verdict unavailable(pipeline::RequestContext& request, const std::string& why) const {
    note_guard(request.record, "moderation:unavailable");
    if (moderation_.failureMode == config::FailureMode::FailOpen) return Verdict::proceed();
    return Verdict::fail(
        http::ApiError{503, "server_error", "guard_unavailable", "The moderation service was unavailable: " + why, {}});
  }

  config::ModerationGuard moderation_;
  const proxy::BackendRuntime* provider_;
  std::string path_;
  unsigned status_;
  std::string message_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_moderation_guard_stage(const config::ModerationGuard& moderation,
                                                                   const proxy::BackendRuntime* provider,
                                                                   unsigned status, std::string message) {
  return std::make_shared<const ModerationGuardStage>(moderation, provider, status, std::move(message));
}

}  // namespace sluice::policy
