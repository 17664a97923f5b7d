// The gateway's wall clock for limits and budgets: the system clock plus an offset that is 0
// in production. Tests move it (the admin endpoint POST /debug/clock, served only when
// `sluice serve --test-clock` is given) to cross a budget period or refill a bucket without
// waiting; the offset is also passed to the Redis limit script, which adds it to the server's
// TIME, so every replica started with --test-clock and moved alike agrees. Thread-safe (one
// atomic); the offset is process-wide.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice::state {

class WallClock {
 public:
  using time_point = std::chrono::system_clock::time_point;

  static time_point now() { return std::chrono::system_clock::now() + offset(); }
  static std::chrono::milliseconds offset() {
    return std::chrono::milliseconds(offset_ms_.load(std::memory_order_relaxed));
  }
  static void set_offset(std::chrono::milliseconds offset) {
    offset_ms_.store(offset.count(), std::memory_order_relaxed);
  }

 private:
  static inline std::atomic<std::int64_t> offset_ms_{0};
};

}  // namespace sluice::state
