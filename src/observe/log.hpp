// Operational log: one JSON object per line on stderr ({"time","level","msg",...fields}).
// Field values keep their type: strings as JSON strings, integers, floating-point numbers and
// booleans as JSON numbers and booleans. Lines below the minimum level (set_log_level; `sluice
// serve --log-level`, default info) are dropped before anything is formatted: one relaxed
// atomic load. Thread-safe (each line is written with a single fwrite on a locked FILE). Not for
// the per-request hot path: requests go to the access log.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::observe {

enum class Level { Debug, Info, Warning, Error };

// A field's value: a string (viewed, not copied: the line is written before the call returns),
// a signed or unsigned integer, a double or a boolean.
class LogValue {
 public:
  enum class Kind { String, Signed, Unsigned, Double, Bool };
  LogValue(std::string_view s) : kind_(Kind::String), text_(s) {}
  LogValue(const char* s) : kind_(Kind::String), text_(s) {}
  LogValue(const std::string& s) : kind_(Kind::String), text_(s) {}
  LogValue(bool b) : kind_(Kind::Bool), unsigned_(b ? 1 : 0) {}
  LogValue(double d) : kind_(Kind::Double), double_(d) {}
  template <std::signed_integral T>
  LogValue(T v) : kind_(Kind::Signed), signed_(v) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogValue(T v) : kind_(Kind::Unsigned), unsigned_(v) {}

  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  std::int64_t signed_value() const { return signed_; }
  std::uint64_t unsigned_value() const { return unsigned_; }
  double double_value() const { return double_; }

 private:
  Kind kind_;
  std::string_view text_;
  std::int64_t signed_ = 0;
  std::uint64_t unsigned_ = 0;
  double double_ = 0;
};

using LogFields = std::initializer_list<std::pair<std::string_view, LogValue>>;

// Lines at `level` and above are written (default Info).
void set_log_level(Level level);
Level log_level();
// "debug", "info", "warn" (or "warning"), "error"; nullopt for anything else.
std::optional<Level> parse_log_level(std::string_view name);

inline bool log_enabled(Level level) {
  return level >= log_level();
}

void log(Level level, std::string_view message, LogFields fields = {});

// The line `log` writes (without the level check), for tests.
std::string format_log_line(Level level, std::string_view message, LogFields fields,
                            std::chrono::system_clock::time_point now);

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
