#include "policy/prompt_guard.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>

#include "guard/matcher.hpp"
#include "policy/ai.hpp"

namespace sluice::policy {

guard::GuardSpec guard_spec(const std::vector<std::string>& builtins,
                            const std::vector<config::GuardPattern>& matches) {
  guard::GuardSpec spec;
  spec.builtins = builtins;
  for (const auto& m : matches) spec.patterns.push_back(guard::UserPattern{m.name, m.pattern, m.maxLength});
  return spec;
}

namespace {

class RequestGuardStage final : public pipeline::Stage {
 public:
  RequestGuardStage(guard::Matcher matcher, const config::RequestGuard& guard)
      : matcher_(std::move(matcher)), action_(guard.action), status_(guard.statusCode), message_(guard.message) {}

  std::string_view name() const override { return "prompt-guard"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }

  pipeline::Verdict on_request_body(pipeline::RequestContext& request) const override { return inspect(request); }

 private:
  pipeline::Verdict inspect(pipeline::RequestContext& request) const {
    auto view = client_view(request);
    if (!view) return pipeline::Verdict::proceed();
    // The rules that matched, each once (names owned by the matcher), for the access log.
    boost::container::small_vector<std::string_view, 4> matched;
    const auto note = [&matched](std::string_view rule) {
      if (std::find(matched.begin(), matched.end(), rule) == matched.end()) matched.push_back(rule);
    };
    const auto rules = [&matched] {
      std::string out;
      for (const auto rule : matched) out.append(out.empty() ? "" : ",").append(rule);
      return out;
    };
    if (action_ == config::GuardAction::Reject) {
      view->visit_text([&](const llm::TextSpan& span) {
        if (!matched.empty()) return;
        if (auto rule = matcher_.first_match(span.text)) note(*rule);
      });
      if (matched.empty()) return pipeline::Verdict::proceed();
      request.record.guard = "request reject " + rules();
      return pipeline::Verdict::fail(http::ApiError{status_, "invalid_request_error", "content_filter", message_, {}});
    }
    const auto masked = view->for_each_text([&](const llm::TextSpan& span) -> std::optional<std::string> {
      const auto matches = matcher_.find_all(span.text);
      if (matches.empty()) return std::nullopt;
      for (const auto& m : matches) note(matcher_.rule_name(m.rule));
      std::string out;
      out.reserve(span.text.size() + 16);
      matcher_.mask(span.text, out);
      return out;
    });
    if (masked > 0) {
      request.document_changed = true;
      request.record.guard = "request mask " + rules();
    }
    return pipeline::Verdict::proceed();
  }

  guard::Matcher matcher_;
  config::GuardAction action_;
  unsigned status_;
  std::string message_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_request_guard_stage(const config::RequestGuard& guard, std::string& error) {
  auto matcher = guard::Matcher::compile(guard_spec(guard.builtins, guard.matches), error);
  if (!matcher) return nullptr;
  return std::make_shared<const RequestGuardStage>(std::move(*matcher), guard);
}

}  // namespace sluice::policy
