#include "observe/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "observe/access_log.hpp"

namespace sluice::observe {

void log(Level level, std::string_view message, LogFields fields) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string line = fmt::format("{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z\",\"level\":\"{}\",\"msg\":\"",
                                 fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms,
                                 level == Level::Info      ? "info"
                                 : level == Level::Warning ? "warning"
                                                           : "error");
  append_json_escaped(message, line);
  line += '"';
  for (const auto& [key, value] : fields) {
    line += ",\"";
    append_json_escaped(key, line);
    line += "\":\"";
    append_json_escaped(value, line);
    line += '"';
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sluice::observe
