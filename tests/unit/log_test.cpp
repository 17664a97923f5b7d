#include "observe/log.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::observe {
namespace {

using namespace std::chrono_literals;

boost::json::object parse(const std::string& line) {
  EXPECT_TRUE(line.ends_with("}\n")) << line;
  return boost::json::parse(line).as_object();
}

TEST(OperationalLog, FieldsKeepTheirTypes) {
  const std::string name = "gw";
  const std::uint16_t port = 8080;
  const std::int64_t negative = -5;
  const auto line = format_log_line(Level::Info, "listening",
                                    {{"listener", name},
                                     {"address", "127.0.0.1"},
                                     {"port", port},
                                     {"delta", negative},
                                     {"ratio", 0.25},
                                     {"ok", true},
                                     {"count", std::size_t{3}}},
                                    std::chrono::system_clock::time_point(1709618828s + 123ms));
  const auto o = parse(line);
  EXPECT_EQ(o.at("time").as_string(), "2024-03-05T06:07:08.123Z");
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("msg").as_string(), "listening");
  EXPECT_EQ(o.at("listener").as_string(), "gw");
  EXPECT_EQ(o.at("address").as_string(), "127.0.0.1");
  EXPECT_EQ(o.at("port").to_number<std::uint64_t>(), 8080u);
  EXPECT_EQ(o.at("delta").as_int64(), -5);
  EXPECT_DOUBLE_EQ(o.at("ratio").as_double(), 0.25);
  EXPECT_EQ(o.at("ok").as_bool(), true);
  EXPECT_EQ(o.at("count").to_number<std::uint64_t>(), 3u);
}

TEST(OperationalLog, NonFiniteNumbersAreNull) {
  const auto o = parse(format_log_line(Level::Debug, "m", {{"x", 1.0 / 0.0}}, std::chrono::system_clock::now()));
  EXPECT_TRUE(o.at("x").is_null());
  EXPECT_EQ(o.at("level").as_string(), "debug");
}

TEST(OperationalLog, LevelsFilter) {
  const auto before = log_level();
  set_log_level(Level::Warning);
  EXPECT_FALSE(log_enabled(Level::Debug));
  EXPECT_FALSE(log_enabled(Level::Info));
  EXPECT_TRUE(log_enabled(Level::Warning));
  EXPECT_TRUE(log_enabled(Level::Error));
  set_log_level(Level::Debug);
  EXPECT_TRUE(log_enabled(Level::Debug));
  set_log_level(before);
}

TEST(OperationalLog, LevelNames) {
  EXPECT_EQ(parse_log_level("debug"), Level::Debug);
  EXPECT_EQ(parse_log_level("info"), Level::Info);
  EXPECT_EQ(parse_log_level("warn"), Level::Warning);
  EXPECT_EQ(parse_log_level("warning"), Level::Warning);
  EXPECT_EQ(parse_log_level("error"), Level::Error);
  EXPECT_FALSE(parse_log_level("verbose"));
}

}  // namespace
}  // namespace sluice::observe
