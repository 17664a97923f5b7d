#include "policy/header_modifier.hpp"

#include "route/route_table.hpp"

namespace sluice::policy {

using pipeline::Phase;
using pipeline::RequestContext;
using pipeline::Verdict;

namespace {

class HeaderModifierStage final : public pipeline::Stage {
 public:
  explicit HeaderModifierStage(const route::CompiledRule& rule) : rule_(rule) {}

  std::string_view name() const override { return "header-modifier"; }
  pipeline::Phases phases() const override { return pipeline::bit(Phase::RequestHead); }

  Verdict on_request_head(RequestContext& request) const override {
    const auto& into_request = rule_.request_header_filters;
    const auto& into_response = rule_.response_header_filters;
    request.request_header_edits.insert(request.request_header_edits.end(), into_request.begin(), into_request.end());
    request.response_header_edits.insert(request.response_header_edits.end(), into_response.begin(),
                                         into_response.end());
    return Verdict::proceed();
  }

 private:
  const route::CompiledRule& rule_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_header_modifier_stage(const route::CompiledRule& rule) {
  if (rule.request_header_filters.empty() && rule.response_header_filters.empty()) return nullptr;
  return std::make_shared<const HeaderModifierStage>(rule);
}

}  // namespace sluice::policy
