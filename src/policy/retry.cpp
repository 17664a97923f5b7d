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
  const double capped = backoff_max.count() > 0 ? std::min(exponential, static_cast<double>(backoff_max.count()))
                                                : exponential;
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

AttachedRetryPolicies attach_retry_policies(const config::Config& config) {
  // The policies of each level, in name order (a deterministic merge when several target the
  // same thing: later names win).
  config::RetryPolicy gateway;
  bool any_gateway = false;
  std::unordered_map<std::string, config::RetryPolicy> route_level;
  std::unordered_map<std::string, config::RetryPolicy> rule_level;  // by config::rule_id
  AttachedRetryPolicies out;
  for (const auto& [name, policy] : config.policies) {
    if (!policy.retry) continue;
    for (const auto& ref : policy.targetRefs) {
      switch (ref.kind) {
        case config::PolicyTargetKind::Gateway:
          gateway = merge(gateway, *policy.retry);
          any_gateway = true;
          break;
        case config::PolicyTargetKind::HTTPRoute:
          if (ref.sectionName.empty()) {
            route_level[ref.name] = merge(route_level[ref.name], *policy.retry);
          } else {
            const auto id = config::rule_id(ref.name, ref.sectionName);
            rule_level[id] = merge(rule_level[id], *policy.retry);
          }
          break;
        case config::PolicyTargetKind::Backend:
          out.by_backend[ref.name] = merge(out.by_backend[ref.name], *policy.retry);
          break;
      }
    }
  }
  for (const auto& route : config.routes) {
    const auto route_it = route_level.find(route.origin.name);
    for (const auto& rule : route.rules) {
      const auto id = config::rule_id(route.origin.name, rule.name);
      const auto rule_it = rule_level.find(id);
      if (!any_gateway && route_it == route_level.end() && rule_it == rule_level.end()) continue;
      config::RetryPolicy merged = gateway;
      if (route_it != route_level.end()) merged = merge(merged, route_it->second);
      if (rule_it != rule_level.end()) merged = merge(merged, rule_it->second);
      out.by_rule[id] = merged;
    }
  }
  return out;
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
