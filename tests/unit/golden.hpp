// Golden-file helpers for the translator tests: read a case file, compare JSON documents and
// SSE streams structurally, with generated values (ids, timestamps) normalised first.
//
// Normalisation: every member named in `volatile_keys` (default: "id", "created") whose value is
// a string or number is replaced by "<volatile>", so a golden file writes "<volatile>" there and
// the comparison still checks that the member exists. Everything else must match exactly,
// including member presence, numbers (0 stays 0) and array order.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::golden {

inline std::string read_file(const std::string& relative) {
  const std::string path = std::string(SLUICE_GOLDEN_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "golden file missing: " << path;
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void normalise(boost::json::value& v, const std::vector<std::string>& keys) {
  if (v.is_object()) {
    for (auto& [k, member] : v.get_object()) {
      bool is_volatile = false;
      for (const auto& key : keys) is_volatile = is_volatile || k == key;
      if (is_volatile && (member.is_string() || member.is_number())) {
        member = "<volatile>";
      } else {
        normalise(member, keys);
      }
    }
  } else if (v.is_array()) {
    for (auto& item : v.get_array()) normalise(item, keys);
  }
}

inline boost::json::value parse_or_fail(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) ADD_FAILURE() << what << " is not JSON (" << ec.message() << "): " << text;
  return v;
}

// Compares two JSON texts after normalising both.
inline ::testing::AssertionResult json_equal(std::string_view expected, std::string_view actual,
                                             std::vector<std::string> volatile_keys = {"id", "created"}) {
  auto e = parse_or_fail(expected, "expected");
  auto a = parse_or_fail(actual, "actual");
  normalise(e, volatile_keys);
  normalise(a, volatile_keys);
  if (e == a) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\nexpected: " << boost::json::serialize(e)
                                       << "\n  actual: " << boost::json::serialize(a);
}

// One SSE event as (event name, data). Splits on blank lines ("\n\n"); only `event:` and
// `data:` fields are kept (multi-line data joined with '\n').
struct Event {
  std::string name;
  std::string data;
};

inline std::vector<Event> split_sse(std::string_view stream) {
  std::vector<Event> events;
  Event current;
  bool any = false;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    auto end = stream.find('\n', pos);
    if (end == std::string_view::npos) end = stream.size();
    auto line = stream.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.empty()) {
      if (any) events.push_back(std::move(current));
      current = {};
      any = false;
      continue;
    }
    if (line.front() == ':') continue;
    const auto colon = line.find(':');
    const auto field = line.substr(0, colon);
    auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "event") {
      current.name = value;
      any = true;
    } else if (field == "data") {
      if (!current.data.empty()) current.data.push_back('\n');
      current.data.append(value);
      any = true;
    }
  }
  if (any) events.push_back(std::move(current));
  return events;
}

// Compares two SSE streams event by event: names equal, data compared as JSON when it parses
// (normalised), else as text ("[DONE]").
inline ::testing::AssertionResult sse_equal(std::string_view expected, std::string_view actual,
                                            std::vector<std::string> volatile_keys = {"id", "created"}) {
  const auto e = split_sse(expected);
  const auto a = split_sse(actual);
  for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    if (i >= e.size()) return ::testing::AssertionFailure() << "extra event " << i << ": " << a[i].data;
    if (i >= a.size()) return ::testing::AssertionFailure() << "missing event " << i << ": " << e[i].data;
    if (e[i].name != a[i].name)
      return ::testing::AssertionFailure()
             << "event " << i << " name: expected '" << e[i].name << "', got '" << a[i].name << "'";
    boost::system::error_code ec1, ec2;
    auto ej = boost::json::parse(e[i].data, ec1);
    auto aj = boost::json::parse(a[i].data, ec2);
    if (!ec1 && !ec2) {
      normalise(ej, volatile_keys);
      normalise(aj, volatile_keys);
      if (ej != aj)
        return ::testing::AssertionFailure() << "event " << i << ":\nexpected: " << boost::json::serialize(ej)
                                             << "\n  actual: " << boost::json::serialize(aj);
    } else if (e[i].data != a[i].data) {
      return ::testing::AssertionFailure()
             << "event " << i << ": expected '" << e[i].data << "', got '" << a[i].data << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sluice::golden
