#include "policy/cost_report.hpp"

#include "pricing/catalog.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

using pipeline::Phase;
using pipeline::ResponseContext;

namespace {

class CostReportStage final : public pipeline::Stage {
 public:
  explicit CostReportStage(const pricing::PriceBook& prices) : prices_(prices) {}

  std::string_view name() const override { return "cost-report"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::ResponseEvents) | pipeline::bit(Phase::ReplyCost);
  }

  void on_reply_usage(ResponseContext& response) const override {
    const auto cost = price(response);
    if (cost < 0) return;
    auto& request = response.attempt.request;
    request.set_response_header_block(this, "x-sluice-cost-usd: " + pricing::format_usd_micros(cost) + "\r\n");
  }

  void stream_usage_members(ResponseContext& response, std::string& members) const override {
    const auto cost = price(response);
    if (cost < 0) return;
    members.append("\"sluice_cost_usd\":").append(pricing::format_usd_micros(cost));
  }

 private:
  // The reply's cost in micro-USD as the record has its usage now, or -1.
  std::int64_t price(ResponseContext& response) const {
    const auto& provider = response.attempt.provider;
    auto& record = response.attempt.request.record;
    if (provider.llm == nullptr) return -1;
    record.cost_micros = -1;
    pricing::record_cost(prices_, provider.llm->kind, record);
    return record.cost_micros;
  }

  const pricing::PriceBook& prices_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_cost_report_stage(const pricing::PriceBook& prices) {
  return std::make_shared<const CostReportStage>(prices);
}

}  // namespace sluice::policy
