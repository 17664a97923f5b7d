#include "observe/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "observe/access_log.hpp"

namespace sluice::observe {

namespace {
std::atomic<Level> g_level{Level::Info};

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warning:
      return "warning";
    case Level::Error:
      return "error";
  }
  return "info";
}
}  // namespace

void set_log_level(Level level) {
  g_level.store(level, std::memory_order_relaxed);
}

Level log_level() {
  return g_level.load(std::memory_order_relaxed);
}

std::optional<Level> parse_log_level(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warning;
  if (name == "error") return Level::Error;
  return std::nullopt;
}

std::string format_log_line(Level level, std::string_view message, LogFields fields,
                            std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string line = fmt::format("{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z\",\"level\":\"{}\",\"msg\":\"",
                                 fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms, level_name(level));
  append_json_escaped(message, line);
  line += '"';
  for (const auto& [key, value] : fields) {
    line += ",\"";
    append_json_escaped(key, line);
    line += "\":";
    switch (value.kind()) {
      case LogValue::Kind::String:
        line += '"';
        append_json_escaped(value.text(), line);
        line += '"';
        break;
      case LogValue::Kind::Signed:
        fmt::format_to(std::back_inserter(line), "{}", value.signed_value());
        break;
      case LogValue::Kind::Unsigned:
        fmt::format_to(std::back_inserter(line), "{}", value.unsigned_value());
        break;
      case LogValue::Kind::Double:
        // JSON has no NaN or infinity.
        if (std::isfinite(value.double_value())) {
          fmt::format_to(std::back_inserter(line), "{}", value.double_value());
        } else {
          line += "null";
        }
        break;
      case LogValue::Kind::Bool:
        line += value.unsigned_value() != 0 ? "true" : "false";
        break;
    }
  }
  line += "}\n";
  return line;
}

void log(Level level, std::string_view message, LogFields fields) {
  if (!log_enabled(level)) return;
  const auto line = format_log_line(level, message, fields, std::chrono::system_clock::now());
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sluice::observe
