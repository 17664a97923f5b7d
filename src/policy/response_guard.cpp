#include "policy/response_guard.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>

#include "guard/matcher.hpp"
#include "guard/stream_masker.hpp"
#include "policy/prompt_guard.hpp"

namespace sluice::policy {

namespace {

// One response's guard: a masker per channel, the rules that matched, the rejection.
class ResponseGuardFilter final : public llm::TextFilter {
 public:
  ResponseGuardFilter(const guard::Matcher& matcher, bool reject, const http::ApiError& rejection,
                      pipeline::RequestRecord& record)
      : matcher_(matcher), reject_(reject), rejection_template_(rejection), record_(record) {}

  void feed(const llm::TextChannel& channel, std::string_view text, std::string& released) override {
    if (rejection_) return;
    auto& masker = masker_for(channel);
    if (!reject_) {
      masker.feed(text, released);
      note(masker);
      return;
    }
    scratch_.clear();
    masker.feed(text, scratch_);
    if (masker.first_match()) return rejected(masker);
    released.append(scratch_);
  }

  void finish(const llm::TextChannel& channel, std::string& released) override {
    if (rejection_) return;
    for (std::size_t i = 0; i < maskers_.size(); ++i) {
      if (!(maskers_[i].first == channel)) continue;
      auto& masker = maskers_[i].second;
      if (!reject_) {
        masker.finish(released);
        note(masker);
      } else {
        scratch_.clear();
        masker.finish(scratch_);
        if (masker.first_match()) return rejected(masker);
        released.append(scratch_);
      }
      maskers_.erase(maskers_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }

  const http::ApiError* rejection() const override { return rejection_ ? &*rejection_ : nullptr; }

 private:
  guard::StreamMasker& masker_for(const llm::TextChannel& channel) {
    for (auto& [open, masker] : maskers_)
      if (open == channel) return masker;
    maskers_.emplace_back(channel, guard::StreamMasker(matcher_));
    return maskers_.back().second;
  }

  void rejected(const guard::StreamMasker& masker) {
    rejection_ = rejection_template_;
    note(masker);
  }

  // The rules that matched so far go to the record (names only).
  void note(const guard::StreamMasker& masker) {
    bool added = false;
    for (const auto rule : masker.matched_rules()) {
      if (reject_ && rule != masker.matched_rules().front()) break;
      const auto name = matcher_.rule_name(rule);
      if (std::find(rules_.begin(), rules_.end(), name) != rules_.end()) continue;
      rules_.push_back(name);
      added = true;
    }
    if (!added) return;
    if (!request_part_) request_part_ = record_.guard + (record_.guard.empty() ? "" : "; ");
    std::string out = *request_part_ + (reject_ ? "response reject " : "response mask ");
    for (std::size_t i = 0; i < rules_.size(); ++i) out.append(i == 0 ? "" : ",").append(rules_[i]);
    record_.guard = std::move(out);
  }

  const guard::Matcher& matcher_;
  bool reject_;
  const http::ApiError& rejection_template_;
  pipeline::RequestRecord& record_;
  boost::container::small_vector<std::pair<llm::TextChannel, guard::StreamMasker>, 2> maskers_;
  boost::container::small_vector<std::string_view, 4> rules_;
  std::optional<std::string> request_part_;  // what the record said before this guard ("request mask SSN; ")
  std::string scratch_;
  std::optional<http::ApiError> rejection_;
};

}  // namespace

std::unique_ptr<llm::TextFilter> make_response_guard_filter(const guard::Matcher& matcher, bool reject,
                                                            const http::ApiError& rejection,
                                                            pipeline::RequestRecord& record) {
  return std::make_unique<ResponseGuardFilter>(matcher, reject, rejection, record);
}

namespace {

class ResponseGuardStage final : public pipeline::Stage {
 public:
  ResponseGuardStage(guard::Matcher matcher, const config::ResponseGuard& guard)
      : matcher_(std::move(matcher)),
        reject_(guard.action == config::GuardAction::Reject),
        rejection_{guard.statusCode, "invalid_request_error", "content_filter", guard.message, {}} {}

  std::string_view name() const override { return "response-guard"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::ResponseText); }

  std::unique_ptr<llm::TextFilter> response_text_filter(pipeline::ResponseContext& response) const override {
    return make_response_guard_filter(matcher_, reject_, rejection_, response.attempt.request.record);
  }

 private:
  guard::Matcher matcher_;
  bool reject_;
  http::ApiError rejection_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_response_guard_stage(const config::ResponseGuard& guard,
                                                                 std::string& error) {
  auto matcher = guard::Matcher::compile(guard_spec(guard.builtins, guard.matches), error);
  if (!matcher) return nullptr;
  return std::make_shared<const ResponseGuardStage>(std::move(*matcher), guard);
}

}  // namespace sluice::policy
