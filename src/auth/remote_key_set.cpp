#include "auth/remote_key_set.hpp"

#include <algorithm>
#include <limits>

namespace sluice::auth {

bool RemoteKeySet::request_refresh(Clock::time_point now) {
  const auto now_rep = now.time_since_epoch().count();
  const auto interval = std::chrono::duration_cast<Clock::duration>(kUnknownKidInterval).count();
  auto last = last_request_.load(std::memory_order_relaxed);
  for (;;) {
    if (last != std::numeric_limits<Clock::rep>::min() && now_rep - last < interval) return false;
    if (last_request_.compare_exchange_weak(last, now_rep, std::memory_order_relaxed)) break;
  }
  std::lock_guard lock(waker_mutex_);
  if (waker_) waker_();
  return true;
}

void RemoteKeySet::set_waker(std::function<void()> waker) {
  std::lock_guard lock(waker_mutex_);
  waker_ = std::move(waker);
}

std::chrono::milliseconds RemoteKeySet::retry_delay(unsigned failures) const {
  const auto cap = std::min<std::chrono::milliseconds>(kMaxRetryDelay, std::max(cache_duration_, std::chrono::milliseconds(std::chrono::seconds(1))));
  std::chrono::milliseconds delay = kFirstRetryDelay;
  for (unsigned i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

}  // namespace sluice::auth
