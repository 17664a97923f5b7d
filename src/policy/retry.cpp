#include "policy/retry.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::policy {

bool EffectiveRetry::retries_on_status(unsigned status) const {
  if (std::find(on.statusCodes.begin(), on.statusCodes.end(), status) != on.statusCodes.end()) return true;
  if (status == 429) return on.status429;
  return on.status5xx && status >= 500 && status != 501;
}

config::Duration EffectiveRetry::backoff(unsigned retry, double unit) const {
  if (backoff_base.count() <= 0 || retry == 0) return config::Duration{0};
  const double exponential = static_cast<double>(backoff_base.count()) * std::pow(2.0, std::min(retry - 1, 20u));
  const double capped =
      backoff_max.count() > 0 ? std::min(exponential, static_cast<double>(backoff_max.count())) : exponential;
  return config::Duration{static_cast<long>(capped * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0)))};
}

config::RetryPolicy merge(const config::RetryPolicy& general, const config::RetryPolicy& specific) {
  config::RetryPolicy out = general;
  if (specific.attempts) out.attempts = specific.attempts;
  if (specific.retryOn) out.retryOn = specific.retryOn;
  if (specific.perTryTimeout) out.perTryTimeout = specific.perTryTimeout;
  if (specific.backoffBaseInterval) out.backoffBaseInterval = specific.backoffBaseInterval;
  if (specific.backoffMaxInterval) out.backoffMaxInterval = specific.backoffMaxInterval;
  if (specific.budgetPercent) out.budgetPercent = specific.budgetPercent;
  return out;
}

std::optional<config::RetryPolicy> merge_attached(std::span<const config::TrafficPolicy* const> attached) {
  std::optional<config::RetryPolicy> merged;
  for (const auto* policy : attached) {
    if (!policy->retry) continue;
    merged = merged ? merge(*merged, *policy->retry) : *policy->retry;
  }
  return merged;
}

namespace {

class RetryStage final : public pipeline::Stage {
 public:
  RetryStage(config::RetryPolicy merged, bool backend_level)
      : merged_(std::move(merged)), backend_level_(backend_level) {}
  std::string_view name() const override { return "retry"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::RequestHead); }
  http::Task<pipeline::Verdict> on_request_head(pipeline::RequestContext& request) const override {
    (backend_level_ ? request.retry.backend : request.retry.rule) = &merged_;
    co_return pipeline::Verdict::proceed();
  }

 private:
  config::RetryPolicy merged_;
  bool backend_level_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_retry_stage(config::RetryPolicy merged, bool backend_level) {
  return std::make_shared<const RetryStage>(std::move(merged), backend_level);
}

EffectiveRetry resolve(const config::RetryPolicy* rule, const config::RetryPolicy* backend, std::size_t providers) {
  EffectiveRetry out;
  const auto count = static_cast<unsigned>(std::max<std::size_t>(providers, 1));
  out.attempts = count;
  if (rule == nullptr && backend == nullptr) return out;
  config::RetryPolicy merged;
  if (rule != nullptr) merged = *rule;
  if (backend != nullptr) merged = merge(merged, *backend);
  if (merged.attempts) out.attempts = std::min(*merged.attempts, count);
  if (merged.retryOn) out.on = *merged.retryOn;
  out.per_try_timeout = merged.perTryTimeout;
  if (merged.backoffBaseInterval) out.backoff_base = *merged.backoffBaseInterval;
  out.backoff_max = merged.backoffMaxInterval.value_or(config::Duration{1000});
  out.budget_percent = merged.budgetPercent;
  return out;
}

}  // namespace sluice::policy
