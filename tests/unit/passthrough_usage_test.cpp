// PassthroughUsageReader (translate/passthrough_usage.hpp): the usage an unread (passthrough)
// answer reports, in each provider's naming, from a JSON body or an SSE stream in any chunking.
#include "translate/passthrough_usage.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::translate {
namespace {

PassthroughUsageReader read(bool stream, std::string_view body, std::size_t piece, std::size_t bound = 1 << 20) {
  PassthroughUsageReader reader(stream, bound);
  for (std::size_t at = 0; at < body.size(); at += piece) reader.feed(body.substr(at, piece));
  reader.finish();
  return reader;
}

TEST(PassthroughUsage, ResponsesApiBody) {
  const std::string body =
      R"({"id":"resp_1","object":"response","model":"gpt-4o-2024","output":[],"usage":{"input_tokens":120,)"
      R"("input_tokens_details":{"cached_tokens":20},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":7}}})";
  const auto reader = read(false, body, 5);
  const auto& usage = reader.usage();
  ASSERT_TRUE(usage.known);
  EXPECT_EQ(usage.prompt_tokens, 120u);
  EXPECT_EQ(usage.cached_tokens, 20u);
  EXPECT_EQ(usage.completion_tokens, 30u);
  EXPECT_EQ(usage.reasoning_tokens, 7u);
  EXPECT_EQ(reader.model(), "gpt-4o-2024");
}

TEST(PassthroughUsage, ResponsesApiStreamReadsResponseCompletedInAnyChunking) {
  const std::string stream =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"m\",\"usage\":null}}\n\n"
      "event: response.output_text.delta\ndata: "
      "{\"type\":\"response.output_text.delta\",\"delta\":\"\\\"usage\\\"\"}\n\n"
      "event: response.completed\r\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-x\","
      "\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}}\r\n\r\n";
  for (const std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{17}, stream.size()}) {
    const auto reader = read(true, stream, piece);
    ASSERT_TRUE(reader.usage().known) << piece;
    EXPECT_EQ(reader.usage().prompt_tokens, 9u) << piece;
    EXPECT_EQ(reader.usage().completion_tokens, 4u) << piece;
    EXPECT_EQ(reader.model(), "gpt-x") << piece;
  }
}

TEST(PassthroughUsage, AnthropicCountsAddTheCacheToTheInput) {
  const std::string body =
      R"({"model":"claude-x","usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":5,"output_tokens":3}})";
  const auto reader = read(false, body, 64);
  EXPECT_EQ(reader.usage().prompt_tokens, 115u);
  EXPECT_EQ(reader.usage().cached_tokens, 100u);
  EXPECT_EQ(reader.usage().cache_creation_tokens, 5u);
  EXPECT_EQ(reader.usage().completion_tokens, 3u);
}

TEST(PassthroughUsage, GeminiUsageMetadataInSseJsonArrayAndBody) {
  const std::string chunk1 =
      R"({"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}],"modelVersion":"gemini-2.5-flash"})";
  const std::string chunk2 =
      R"({"candidates":[{"content":{"parts":[{"text":"b"}],"role":"model"},"finishReason":"STOP"}],)"
      R"("usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":9,"thoughtsTokenCount":5,)"
      R"("cachedContentTokenCount":8,"totalTokenCount":54},"modelVersion":"gemini-2.5-flash-001"})";
  const auto check = [](const PassthroughUsageReader& reader, const char* what) {
    const auto& usage = reader.usage();
    ASSERT_TRUE(usage.known) << what;
    EXPECT_EQ(usage.prompt_tokens, 40u) << what;
    EXPECT_EQ(usage.completion_tokens, 14u) << what << ": candidates plus thoughts";
    EXPECT_EQ(usage.reasoning_tokens, 5u) << what;
    EXPECT_EQ(usage.cached_tokens, 8u) << what;
    EXPECT_EQ(usage.total_tokens, 54u) << what;
    EXPECT_EQ(reader.model(), "gemini-2.5-flash-001") << what;
  };
  for (const std::size_t piece : {1, 7, 1000}) {
    check(read(true, "data: " + chunk1 + "\r\n\r\ndata: " + chunk2 + "\r\n\r\n", piece), "alt=sse");
    check(read(false, "[" + chunk1 + ",\r\n" + chunk2 + "]", piece), "JSON array");
    check(read(false, chunk2, piece), "complete body");
  }
}

TEST(PassthroughUsage, NothingKnownWithoutTokenCountsOrPastTheBound) {
  EXPECT_FALSE(read(false, R"({"usage":{"images":2}})", 4).usage().known);
  EXPECT_FALSE(read(false, R"({"data":[1,2,3]})", 4).usage().known);
  EXPECT_FALSE(read(false, "not json", 4).usage().known);
  const std::string big = R"({"pad":")" + std::string(200, 'x') + R"(","usage":{"prompt_tokens":1}})";
  EXPECT_FALSE(read(false, big, 16, 64).usage().known);
}

TEST(PassthroughUsage, AnEventPastTheBoundIsSkippedAndTheNextOneRead) {
  const std::string stream = "data: {\"pad\":\"" + std::string(300, 'y') + "\",\"usage\":{\"prompt_tokens\":1}}\n\n" +
                             "data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n";
  const auto reader = read(true, stream, 7, 128);
  ASSERT_TRUE(reader.usage().known);
  EXPECT_EQ(reader.usage().prompt_tokens, 2u);
  EXPECT_EQ(reader.usage().completion_tokens, 3u);
}

}  // namespace
}  // namespace sluice::translate
