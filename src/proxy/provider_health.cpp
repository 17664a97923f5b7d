#include "proxy/provider_health.hpp"

#include <algorithm>

namespace sluice::proxy {

bool ProviderHealth::record_failure(const config::OutlierDetection& policy, Clock::time_point now, unsigned ejected_now,
                                    unsigned providers) {
  const auto failures = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool rate_says_eject = policy.failurePercentage && count_in_window(true, policy, now);
  if ((failures < policy.consecutiveFailures && !rate_says_eject) || ejected(now)) return false;
  // Within the cap: at least one provider may always be ejected.
  const unsigned cap = std::max(1u, providers * policy.maxEjectionPercent / 100);
  if (ejected_now >= cap || policy.maxEjectionPercent == 0) return false;
  const auto count = ejections_.fetch_add(1, std::memory_order_relaxed) + 1;
  const auto until = now + policy.baseEjectionTime * std::min(count, 10u);
  ejected_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
  failures_.store(0, std::memory_order_relaxed);
  window_requests_.store(0, std::memory_order_relaxed);
  window_failures_.store(0, std::memory_order_relaxed);
  window_start_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  return true;
}

bool ProviderHealth::count_in_window(bool failed, const config::OutlierDetection& policy, Clock::time_point now) {
  auto start = window_start_.load(std::memory_order_relaxed);
  const auto now_rep = now.time_since_epoch().count();
  if (now_rep - start >= std::chrono::duration_cast<Clock::duration>(policy.interval).count()) {
    // A new window: whoever wins the exchange resets the counters (counts racing with it may
    // land in either window; the rate is an estimate).
    if (window_start_.compare_exchange_strong(start, now_rep, std::memory_order_relaxed)) {
      window_requests_.store(0, std::memory_order_relaxed);
      window_failures_.store(0, std::memory_order_relaxed);
    }
  }
  const auto requests = window_requests_.fetch_add(1, std::memory_order_relaxed) + 1;
  const auto failures = failed ? window_failures_.fetch_add(1, std::memory_order_relaxed) + 1
                               : window_failures_.load(std::memory_order_relaxed);
  return failed && requests >= policy.minimumRequests &&
         static_cast<std::uint64_t>(failures) * 100 >= static_cast<std::uint64_t>(*policy.failurePercentage) * requests;
}

void ProviderHealth::record_check(bool passed, unsigned unhealthy_threshold, unsigned healthy_threshold) {
  if (passed) {
    checks_failed_.store(0, std::memory_order_relaxed);
    const auto passes = checks_passed_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (unhealthy() && passes >= healthy_threshold) unhealthy_.store(false, std::memory_order_relaxed);
  } else {
    checks_passed_.store(0, std::memory_order_relaxed);
    const auto failures = checks_failed_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!unhealthy() && failures >= unhealthy_threshold) unhealthy_.store(true, std::memory_order_relaxed);
  }
}

std::optional<std::size_t> KeyRing::pick(Clock::time_point now) {
  const auto n = benched_until_.size();
  if (n == 0) return std::nullopt;
  const auto start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    const auto key = (start + i) % n;
    if (!benched(key, now)) return key;
  }
  return std::nullopt;
}

void KeyRing::bench(std::size_t key, Clock::time_point until) {
  if (key < benched_until_.size())
    benched_until_[key].store(until.time_since_epoch().count(), std::memory_order_relaxed);
}

}  // namespace sluice::proxy
