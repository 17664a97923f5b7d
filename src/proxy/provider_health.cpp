#include "proxy/provider_health.hpp"

#include <algorithm>

namespace sluice::proxy {

bool ProviderHealth::record_failure(const config::OutlierDetection& policy, Clock::time_point now,
                                    unsigned ejected_now, unsigned providers) {
  const auto failures = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures < policy.consecutiveFailures || ejected(now)) return false;
  // Within the cap: at least one provider may always be ejected.
  const unsigned cap = std::max(1u, providers * policy.maxEjectionPercent / 100);
  if (ejected_now >= cap || policy.maxEjectionPercent == 0) return false;
  const auto count = ejections_.fetch_add(1, std::memory_order_relaxed) + 1;
  const auto until = now + policy.baseEjectionTime * std::min(count, 10u);
  ejected_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
  failures_.store(0, std::memory_order_relaxed);
  return true;
}

}  // namespace sluice::proxy
