// Operational log: one JSON object per line on stderr ({"time","level","msg",...fields}).
// Thread-safe (each line is written with a single fwrite on a locked FILE). Not for the
// per-request hot path: requests go to the access log.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::observe {

enum class Level { Info, Warning, Error };

using LogFields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void log(Level level, std::string_view message, LogFields fields = {});

// Says when a recurring problem may be logged again: at most once per interval (a Redis that is
// down fails every request; one line per 10 s says so without flooding the log). Thread-safe.
class LogInterval {
 public:
  explicit LogInterval(std::chrono::milliseconds interval) : interval_ms_(interval.count()) {}
  // True at most once per interval (the first call included), across every thread.
  bool due() {
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    auto last = last_ms_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < interval_ms_) return false;
    return last_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  std::int64_t interval_ms_;
  std::atomic<std::int64_t> last_ms_{0};
};

}  // namespace sluice::observe
