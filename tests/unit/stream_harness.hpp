// One stream harness for the translator tests: feeds an upstream stream to a translator in
// arbitrary splits (whole, byte by byte, fixed-size pieces, seeded random chunking) and checks
// that every split produces the golden client stream and the same output as the whole feed.
//
// It also checks that request translation reads its input only (expect_request_read_only).
//
// Feeding follows the Translator streaming contract: pieces are fed until stream_feed returns
// false (a failed stream is not fed again), then stream_end() is called in every case — after a
// failure it must append nothing, which the comparison with the golden checks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "golden.hpp"
#include "translate/translator.hpp"

namespace sluice::harness {

// How a stream is cut into pieces: sizes repeat cyclically; empty sizes mean one piece.
struct Split {
  std::string name;
  std::vector<std::size_t> sizes;
};

inline Split random_split(std::uint32_t seed, std::size_t length) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> size(1, 40);
  Split split{"random(seed " + std::to_string(seed) + ")", {}};
  for (std::size_t total = 0; total < length;) split.sizes.push_back(size(rng)), total += split.sizes.back();
  return split;
}

// Whole, 1-byte, 7-byte, 64-byte and three seeded random splits of a stream of `length` bytes.
inline std::vector<Split> standard_splits(std::size_t length) {
  std::vector<Split> splits{{"whole", {}}, {"1-byte pieces", {1}}, {"7-byte pieces", {7}}, {"64-byte pieces", {64}}};
  for (const std::uint32_t seed : {1u, 2u, 3u}) splits.push_back(random_split(seed, length));
  return splits;
}

struct Run {
  std::string out;
  bool ok = true;  // every stream_feed returned true
};

inline Run feed(translate::Translator& translator, std::string_view upstream, const Split& split) {
  Run run;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < upstream.size() && run.ok; ++i) {
    const std::size_t size = split.sizes.empty() ? upstream.size() : split.sizes[i % split.sizes.size()];
    run.ok = translator.stream_feed(upstream.substr(pos, size), run.out);
    pos += size;
  }
  translator.stream_end(run.out);
  return run;
}

// Creates a translator that is ready to stream (its request already translated).
using Factory = std::function<std::unique_ptr<translate::Translator>()>;

// Runs `upstream` through a fresh translator for each standard split; every run must match the
// golden client stream `expected` (members named in `volatile_keys` normalised) and the
// whole-feed run, and, when `ok` is set, end with that stream_feed result. Returns the
// whole-feed run.
inline Run expect_stream(const Factory& make, std::string_view upstream, std::string_view expected,
                         const std::vector<std::string>& volatile_keys = {"id", "created"},
                         std::optional<bool> ok = std::nullopt) {
  Run whole;
  bool first = true;
  for (const auto& split : standard_splits(upstream.size())) {
    SCOPED_TRACE("fed as " + split.name);
    auto translator = make();
    if (translator == nullptr) {
      ADD_FAILURE() << "no translator";
      return whole;
    }
    const auto run = feed(*translator, upstream, split);
    EXPECT_TRUE(golden::sse_equal(expected, run.out, volatile_keys));
    if (ok) {
      EXPECT_EQ(run.ok, *ok);
    }
    if (first) {
      whole = run;
      first = false;
    } else {
      EXPECT_TRUE(golden::sse_equal(whole.out, run.out, volatile_keys)) << "differs from the whole feed";
      EXPECT_EQ(run.ok, whole.ok);
    }
  }
  return whole;
}

// Request translation takes its input read-only and is idempotent across retries: translating
// `body` with two fresh translators leaves it unchanged and gives the same upstream body.
inline void expect_request_read_only(const Factory& make, const boost::json::object& body) {
  const auto before = boost::json::serialize(body);
  std::string first;
  std::string second;
  const auto error1 = make()->translate_request(body, first);
  const auto error2 = make()->translate_request(body, second);
  EXPECT_EQ(boost::json::serialize(body), before) << "the client's body was changed";
  EXPECT_EQ(error1.has_value(), error2.has_value());
  EXPECT_EQ(first, second) << "a second attempt translated differently";
}

// Every `<dir>/<case>/client_request.json` under the golden directory (sorted), for checks that
// run over all request cases.
inline std::vector<std::string> request_cases(const std::string& dir) {
  std::vector<std::string> out;
  const std::filesystem::path root = std::filesystem::path(SLUICE_GOLDEN_DIR) / dir;
  for (const auto& entry : std::filesystem::directory_iterator(root))
    if (std::filesystem::exists(entry.path() / "client_request.json"))
      out.push_back((std::filesystem::path(dir) / entry.path().filename() / "client_request.json").string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::harness
