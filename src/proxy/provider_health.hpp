// Provider health as every worker sees it: passive outlier detection. Each provider of an AI
// Backend has one ProviderHealth, shared by all workers through the snapshot; the hot path
// only reads and bumps atomics (no lock). A provider failing `consecutiveFailures` times in a
// row (or, with failurePercentage, failing that share of at least minimumRequests attempts
// within an interval) is ejected for baseEjectionTime x its ejection count (capped at 10x); when that time is
// over it is back in rotation and its next requests are the probes: a success clears its record
// (count and multiplier), `consecutiveFailures` more failures eject it again, for longer. A
// Backend never has more than maxEjectionPercent of its providers ejected (at least one may
// always be). State is kept by the process's state::RuntimeRegistry under the provider's
// Backend and provider names: a reload that keeps the provider keeps its ejection, hold,
// failure counts, in-flight count and active-check verdict; one that removes it drops them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/resources.hpp"

namespace sluice::proxy {

class ProviderHealth {
 public:
  using Clock = std::chrono::steady_clock;

  bool ejected(Clock::time_point now) const {
    return now.time_since_epoch().count() < ejected_until_.load(std::memory_order_relaxed);
  }
  // The provider asked for a pause (a 429 or 503 with Retry-After): it goes to the back of the
  // order until then, as an ejected one does, whether outlier detection is on or not.
  void hold(Clock::time_point until) {
    auto current = held_until_.load(std::memory_order_relaxed);
    const auto wanted = until.time_since_epoch().count();
    while (current < wanted && !held_until_.compare_exchange_weak(current, wanted, std::memory_order_relaxed)) {
    }
  }
  bool held(Clock::time_point now) const {
    return now.time_since_epoch().count() < held_until_.load(std::memory_order_relaxed);
  }
  Clock::time_point held_until() const { return Clock::time_point(Clock::duration(held_until_.load())); }
  // Requests in flight to this provider, all workers together (the circuit breaker).
  std::atomic<unsigned>& in_flight() { return in_flight_; }

  // Active health checks (one checker thread writes, everyone reads).
  void record_check(bool passed, unsigned unhealthy_threshold, unsigned healthy_threshold);
  bool unhealthy() const { return unhealthy_.load(std::memory_order_relaxed); }

  // Ejected, held or unhealthy: tried only after every other provider.
  bool resting(Clock::time_point now) const { return ejected(now) || held(now) || unhealthy(); }
  Clock::time_point ejected_until() const { return Clock::time_point(Clock::duration(ejected_until_.load())); }
  unsigned consecutive_failures() const { return failures_.load(std::memory_order_relaxed); }
  unsigned ejections() const { return ejections_.load(std::memory_order_relaxed); }

  void record_success(const config::OutlierDetection& policy, Clock::time_point now) {
    failures_.store(0, std::memory_order_relaxed);
    if (ejections_.load(std::memory_order_relaxed) != 0) ejections_.store(0, std::memory_order_relaxed);
    if (policy.failurePercentage) count_in_window(false, policy, now);
  }
  // Returns true when this failure ejected the provider. `ejected_now`: how many providers of
  // the Backend are ejected at this moment; `providers`: how many it has.
  bool record_failure(const config::OutlierDetection& policy, Clock::time_point now, unsigned ejected_now,
                      unsigned providers);

 private:
  std::atomic<unsigned> failures_{0};
  std::atomic<unsigned> ejections_{0};
  std::atomic<Clock::rep> ejected_until_{0};
  std::atomic<Clock::rep> held_until_{0};
  // Counts one attempt in the failure-rate window (a new window starts once `interval` passed);
  // returns whether the window now says eject.
  bool count_in_window(bool failed, const config::OutlierDetection& policy, Clock::time_point now);

  std::atomic<unsigned> in_flight_{0};
  std::atomic<Clock::rep> window_start_{0};
  std::atomic<unsigned> window_requests_{0};
  std::atomic<unsigned> window_failures_{0};
  std::atomic<bool> unhealthy_{false};
  std::atomic<unsigned> checks_failed_{0};  // in a row
  std::atomic<unsigned> checks_passed_{0};  // in a row
};

// The keys of a provider with several (a Secret holding apiKey, apiKey2, ...): requests rotate
// among them; a key answered with 401/403 (refused) or 429 (quota) is benched for a while and
// the next one is used. Shared by every worker; atomics only. Kept across reloads like
// ProviderHealth, unless the reload changes the keys (their number, or any key's value: a key
// benched for a 401 and replaced must not stay benched): then a new KeyRing starts with none
// benched. `fingerprint` (a digest of the key values, never the values) tells them apart.
class KeyRing {
 public:
  using Clock = std::chrono::steady_clock;
  explicit KeyRing(std::size_t keys, std::string fingerprint = {})
      : fingerprint_(std::move(fingerprint)), benched_until_(keys) {}

  std::size_t size() const { return benched_until_.size(); }
  const std::string& fingerprint() const { return fingerprint_; }
  // The next key to use, rotating; nullopt when every key is benched.
  std::optional<std::size_t> pick(Clock::time_point now);
  void bench(std::size_t key, Clock::time_point until);
  bool benched(std::size_t key, Clock::time_point now) const {
    return now.time_since_epoch().count() < benched_until_[key].load(std::memory_order_relaxed);
  }
  Clock::time_point benched_until(std::size_t key) const {
    return Clock::time_point(Clock::duration(benched_until_[key].load(std::memory_order_relaxed)));
  }

 private:
  std::atomic<std::size_t> next_{0};
  std::string fingerprint_;
  std::vector<std::atomic<Clock::rep>> benched_until_;
};

}  // namespace sluice::proxy
