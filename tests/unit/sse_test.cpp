#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "translate/common.hpp"

namespace sluice::http {
namespace {

// Feeds `stream` split at the given chunk sizes (cycled) and returns the tracker.
SseBoundaryTracker feed_in_chunks(std::string_view stream, const std::vector<std::size_t>& sizes) {
  SseBoundaryTracker t;
  std::size_t i = 0;
  for (std::size_t k = 0; i < stream.size(); ++k) {
    const auto n = std::min(sizes[k % sizes.size()], stream.size() - i);
    t.feed(stream.substr(i, n));
    i += n;
  }
  return t;
}

struct Expectation {
  std::string stream;
  bool boundary;
  std::string separator;
};

const std::vector<Expectation>& cases() {
  static const std::vector<Expectation> kCases = {
      {"", true, ""},
      {"data: {\"a\":1}\n\n", true, ""},
      {"data: {\"a\":1}\n", false, "\n"},
      {"data: {\"a\":1}", false, "\n\n"},
      {"data: 1\n\ndata: 2\n\n", true, ""},
      {"data: 1\n\ndata: 2", false, "\n\n"},
      {"data: 1\n\ndata: 2\n", false, "\n"},
      {"event: x\ndata: 1\n", false, "\n"},
      {"event: x\ndata: 1\n\n", true, ""},
      {": comment\n\n", true, ""},
      {"data: 1\r\n\r\n", true, ""},
      {"data: 1\r\n", false, "\n"},
      {"data: 1\r\n\r\ndata: 2", false, "\n\n"},
      {"data: 1\r\ndata: 2\r\n\r\n", true, ""},
      {"data: 1\n\n\n", true, ""},
  };
  return kCases;
}

TEST(SseBoundaryTrackerTest, FreshTrackerIsAtABoundary) {
  SseBoundaryTracker t;
  EXPECT_TRUE(t.at_event_boundary());
  EXPECT_EQ(t.separator_needed(), "");
  t.feed("");
  EXPECT_TRUE(t.at_event_boundary());
}

TEST(SseBoundaryTrackerTest, WholeStreams) {
  for (const auto& c : cases()) {
    SseBoundaryTracker t;
    t.feed(c.stream);
    EXPECT_EQ(t.at_event_boundary(), c.boundary) << testing::PrintToString(c.stream);
    EXPECT_EQ(t.separator_needed(), c.separator) << testing::PrintToString(c.stream);
  }
}

TEST(SseBoundaryTrackerTest, ByteByByte) {
  for (const auto& c : cases()) {
    const auto t = feed_in_chunks(c.stream, {1});
    EXPECT_EQ(t.at_event_boundary(), c.boundary) << testing::PrintToString(c.stream);
    EXPECT_EQ(t.separator_needed(), c.separator) << testing::PrintToString(c.stream);
  }
}

TEST(SseBoundaryTrackerTest, OddChunkings) {
  const std::vector<std::vector<std::size_t>> chunkings = {{2}, {3}, {5}, {7, 1}, {1, 2, 3}, {13}, {4, 1, 1}};
  for (const auto& c : cases()) {
    for (const auto& sizes : chunkings) {
      const auto t = feed_in_chunks(c.stream, sizes);
      EXPECT_EQ(t.at_event_boundary(), c.boundary) << testing::PrintToString(c.stream) << " chunk " << sizes[0];
      EXPECT_EQ(t.separator_needed(), c.separator) << testing::PrintToString(c.stream) << " chunk " << sizes[0];
    }
  }
}

TEST(SseBoundaryTrackerTest, CrlfSplitBetweenCrAndLf) {
  SseBoundaryTracker t;
  t.feed("data: 1\r");
  EXPECT_FALSE(t.at_event_boundary());
  t.feed("\n\r");
  EXPECT_FALSE(t.at_event_boundary());
  EXPECT_EQ(t.separator_needed(), "\n");
  t.feed("\n");
  EXPECT_TRUE(t.at_event_boundary());
  EXPECT_EQ(t.separator_needed(), "");
}

TEST(SseBoundaryTrackerTest, TracksStateAcrossEvents) {
  SseBoundaryTracker t;
  t.feed("data: {\"choices\":[]}\n\n");
  EXPECT_TRUE(t.at_event_boundary());
  t.feed("data: {\"cho");
  EXPECT_FALSE(t.at_event_boundary());
  EXPECT_EQ(t.separator_needed(), "\n\n");
  t.feed("ices\":[]}\n");
  EXPECT_EQ(t.separator_needed(), "\n");
  t.feed("\n");
  EXPECT_EQ(t.separator_needed(), "");
}

TEST(SseBoundaryTrackerTest, SeparatorCompletesTheEvent) {
  for (const auto& c : cases()) {
    SseBoundaryTracker t;
    t.feed(c.stream);
    t.feed(t.separator_needed());
    EXPECT_TRUE(t.at_event_boundary()) << testing::PrintToString(c.stream);
  }
}

// ------------------------------------------------------------------ the OpenAI error event

// The event relayed streams end with when the upstream fails (translate/common.hpp).
std::string sse_error_event(std::string_view message, std::string_view type, std::string_view code) {
  std::string out;
  translate::append_openai_error_event(out, ApiError{502, type, code, std::string(message), {}});
  return out;
}

TEST(SseErrorEventTest, IsOneDataEventWithAnOpenAiError) {
  const auto event = sse_error_event("upstream reset the stream", "server_error", "upstream_reset");
  ASSERT_GE(event.size(), 8u);
  EXPECT_EQ(event.substr(0, 6), "data: ");
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  const auto json = event.substr(6, event.size() - 8);
  EXPECT_EQ(json.find('\n'), std::string::npos) << "the JSON must stay on one data line";

  const auto value = boost::json::parse(json);
  const auto& error = value.as_object().at("error").as_object();
  EXPECT_EQ(error.size(), 4u);
  EXPECT_EQ(error.at("message"), "upstream reset the stream");
  EXPECT_EQ(error.at("type"), "server_error");
  EXPECT_TRUE(error.at("param").is_null());
  EXPECT_EQ(error.at("code"), "upstream_reset");
}

TEST(SseErrorEventTest, ExactBytes) {
  EXPECT_EQ(sse_error_event("m", "t", "c"),
            "data: {\"error\":{\"message\":\"m\",\"type\":\"t\",\"param\":null,\"code\":\"c\"}}\n\n");
}

TEST(SseErrorEventTest, MessageWithNewlinesStaysOnOneLine) {
  const auto event = sse_error_event("line1\nline2\r\n\"quoted\"", "server_error", "x");
  const auto json = event.substr(6, event.size() - 8);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.find('\r'), std::string::npos);
  EXPECT_EQ(boost::json::parse(json).at("error").at("message"), "line1\nline2\r\n\"quoted\"");
}

TEST(SseErrorEventTest, EmptyCodeIsNull) {
  const auto event = sse_error_event("m", "server_error", "");
  EXPECT_TRUE(boost::json::parse(event.substr(6, event.size() - 8)).at("error").at("code").is_null());
}

TEST(SseErrorEventTest, EndsOnABoundary) {
  SseBoundaryTracker t;
  t.feed("data: partial");
  t.feed(t.separator_needed());
  t.feed(sse_error_event("m", "server_error", "c"));
  EXPECT_TRUE(t.at_event_boundary());
}

}  // namespace
}  // namespace sluice::http
