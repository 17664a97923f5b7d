// StreamUsageMembers (proxy/usage_members.hpp): a stream's cost added to its final usage object,
// whatever the chunking, and nothing else changed.
#include "proxy/usage_members.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

using pipeline::ClientSchema;

constexpr std::string_view kOpenAiStream =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \\\"usage\\\":{\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

// Runs `stream` through a filter in pieces of `piece` bytes; `calls` counts the provide calls.
std::string run(ClientSchema schema, std::string_view stream, std::size_t piece, int& calls,
                std::size_t max_event = 1 << 20) {
  StreamUsageMembers members(schema, max_event, [&](std::string& out) {
    ++calls;
    out.append("\"sluice_cost_usd\":0.000012");
  });
  std::string out;
  for (std::size_t at = 0; at < stream.size(); at += piece) members.feed(stream.substr(at, piece), out);
  members.finish(out);
  return out;
}

TEST(StreamUsageMembers, AddsTheMembersToTheOpenAiUsageChunkOnlyInAnyChunking) {
  std::string expected(kOpenAiStream);
  const auto at = expected.find("\"usage\":{") + 9;
  expected.insert(at, "\"sluice_cost_usd\":0.000012,");
  for (const std::size_t piece :
       {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, kOpenAiStream.size()}) {
    int calls = 0;
    EXPECT_EQ(run(ClientSchema::OpenAI, kOpenAiStream, piece, calls), expected) << piece;
    EXPECT_EQ(calls, 1) << piece;
  }
}

TEST(StreamUsageMembers, AnthropicMessageDeltaNotMessageStart) {
  const std::string stream =
      "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}\r\n\r\n"
      "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{}}\r\n\r\n"
      "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
  int calls = 0;
  const auto out = run(ClientSchema::Anthropic, stream, 5, calls);
  EXPECT_EQ(calls, 1);
  std::string expected = stream;
  expected.replace(expected.find("\"usage\":{}"), 10, "\"usage\":{\"sluice_cost_usd\":0.000012}");
  EXPECT_EQ(out, expected);
}

TEST(StreamUsageMembers, NoUsageChunkNoChangeAndAnUnfinishedEventStillLeaves) {
  const std::string stream = "data: {\"choices\":[],\"usage\":null}\n\ndata: {\"choices\":[]}";
  int calls = 0;
  EXPECT_EQ(run(ClientSchema::OpenAI, stream, 3, calls), stream);
  EXPECT_EQ(calls, 0);
}

TEST(StreamUsageMembers, AnEventPastTheBoundStepsAside) {
  const std::string big = "data: {\"x\":\"" + std::string(200, 'y') + "\"}\n\n";
  const std::string stream = big + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n";
  int calls = 0;
  EXPECT_EQ(run(ClientSchema::OpenAI, stream, 16, calls, 64), stream);
  EXPECT_EQ(calls, 0);
}

TEST(InsertUsageMembers, EmptyAndSpacedObjects) {
  std::string event = "data: {\"usage\" : { }}";
  EXPECT_TRUE(insert_usage_members(event, "\"c\":1"));
  EXPECT_EQ(event, "data: {\"usage\" : {\"c\":1 }}");
  std::string none = "data: {\"usage\":null}";
  EXPECT_FALSE(insert_usage_members(none, "\"c\":1"));
}

}  // namespace
}  // namespace sluice::proxy
