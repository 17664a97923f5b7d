// Prometheus text exposition read back for tests: series ("name{labels}") -> value. Comment
// lines are skipped; a line without a value or a series seen twice fails the test.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

namespace sluice::testing_metrics {

inline std::map<std::string, std::string> parse(const std::string& text) {
  std::map<std::string, std::string> series;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const auto [it, inserted] = series.emplace(line.substr(0, space), line.substr(space + 1));
    EXPECT_TRUE(inserted) << "duplicate series " << line;
  }
  return series;
}

// The value of one series, or "<absent>".
inline std::string value(const std::map<std::string, std::string>& series, const std::string& key) {
  const auto it = series.find(key);
  return it == series.end() ? "<absent>" : it->second;
}

}  // namespace sluice::testing_metrics
