// The provider decoders and client encoders of src/translate/codec.hpp, tested on their own:
// decoders on the upstream side of the golden files (events expected, and the same events for
// every split of a stream), encoders on event sequences, and decoder + encoder together against
// the client side of the goldens.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "bedrock_events.hpp"
#include "event_recorder.hpp"
#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/decode_bedrock.hpp"
#include "translate/decode_gemini.hpp"
#include "translate/decode_openai.hpp"
#include "translate/encode_anthropic_messages.hpp"
#include "translate/encode_openai_chat.hpp"

namespace sluice::translate {
namespace {

using Lines = std::vector<std::string>;
using testing_events::Recorder;

// Decodes `upstream` with a fresh decoder in the given split, then ends it.
template <class Decoder>
Lines decode_stream(std::string_view upstream, const harness::Split& split) {
  Decoder decoder;
  Recorder recorder;
  std::size_t pos = 0;
  bool ok = true;
  for (std::size_t i = 0; pos < upstream.size() && ok; ++i) {
    const auto size = split.sizes.empty() ? upstream.size() : split.sizes[i % split.sizes.size()];
    ok = decoder.feed(upstream.substr(pos, size), recorder);
    pos += size;
  }
  decoder.end(recorder);
  return recorder.lines;
}

// The same events for every standard split; returns them.
template <class Decoder>
Lines decode_every_split(std::string_view upstream) {
  const auto whole = decode_stream<Decoder>(upstream, {"whole", {}});
  for (const auto& split : harness::standard_splits(upstream.size())) {
    EXPECT_EQ(decode_stream<Decoder>(upstream, split), whole) << split.name;
  }
  return whole;
}

EncoderOptions anthropic_options() {
  EncoderOptions options;
  options.client_model = "claude-sonnet-4-5";
  options.fallback_model = "gpt-4o-mini";
  return options;
}

// ---------------------------------------------------------------------------------------------
// OpenAI decoder

TEST(OpenAiDecoder, StreamGoldenGivesStartTextToolFinishUsageEndInEverySplit) {
  const auto lines =
      decode_every_split<OpenAiStreamDecoder>(golden::read_file("anthropic_client/stream_text_tool/upstream.sse"));
  EXPECT_EQ(lines, (Lines{"start chatcmpl-1 gpt-4o-mini", "text 0 Let me ", "text 0 check.",
                          "tool 0 call_w get_weather ", "tool 0   {\"city\":", "tool 0    \"Paris\"}",
                          "finish tool_calls tool_calls", "usage 18 9 27 5", "end"}));
}

TEST(OpenAiDecoder, ErrorEventGivesErrorAndNothingAfter) {
  const auto lines =
      decode_every_split<OpenAiStreamDecoder>(golden::read_file("anthropic_client/stream_error/upstream.sse"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("error ", 0), 0u) << lines.back();
}

TEST(OpenAiDecoder, StreamWithoutDoneEndsWhenAFinishWasSeenElseErrs) {
  Recorder finished;
  OpenAiStreamDecoder a;
  EXPECT_TRUE(a.feed("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n", finished));
  a.end(finished);
  EXPECT_EQ(finished.lines, (Lines{"start  ", "finish length length", "end"}));

  Recorder cut;
  OpenAiStreamDecoder b;
  EXPECT_TRUE(b.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", cut));
  b.end(cut);
  EXPECT_EQ(cut.lines.back(), "error 502 upstream_bad_response stream ended early");
}

TEST(OpenAiDecoder, MalformedChunkIsA502ErrorAndFeedReturnsFalseAfterwards) {
  Recorder recorder;
  OpenAiStreamDecoder decoder;
  EXPECT_FALSE(decoder.feed("data: {oops\n\n", recorder));
  EXPECT_FALSE(decoder.feed("data: [DONE]\n\n", recorder));
  decoder.end(recorder);
  EXPECT_EQ(recorder.lines, (Lines{"error 502 upstream_bad_response malformed upstream stream event"}));
}

TEST(OpenAiDecoder, OtherChoicesAreIgnoredAndReasoningIsDecoded) {
  Recorder recorder;
  OpenAiStreamDecoder decoder;
  decoder.feed(
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"no\"}},"
      "{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\",\"content\":\"yes\"}}]}\n\n",
      recorder);
  EXPECT_EQ(recorder.lines, (Lines{"start c m", "text 0 yes", "reasoning 0 hm"}));
}

TEST(OpenAiDecoder, CompleteReplyGoldenGivesTheSameKindsOfEvents) {
  Recorder recorder;
  const auto error =
      decode_openai_response(golden::read_file("anthropic_client/response_text_tool/upstream_response.json"), recorder);
  ASSERT_FALSE(error);
  ASSERT_GE(recorder.lines.size(), 4u);
  EXPECT_EQ(recorder.lines.front().rfind("start ", 0), 0u);
  EXPECT_EQ(recorder.lines.back(), "end");
  bool tool = false;
  bool finish = false;
  for (const auto& line : recorder.lines) {
    tool = tool || line.rfind("tool 0 ", 0) == 0;
    finish = finish || line.rfind("finish ", 0) == 0;
  }
  EXPECT_TRUE(tool);
  EXPECT_TRUE(finish);
}

TEST(OpenAiDecoder, CompleteReplyWithoutChoicesIsA502AndNoEvent) {
  Recorder recorder;
  const auto error = decode_openai_response(R"({"id":"x","choices":[]})", recorder);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502u);
  EXPECT_TRUE(recorder.lines.empty());
}

TEST(OpenAiDecoder, ErrorCodesFromOpenAiFormTranslatorsKeepTheProviderStatus) {
  EXPECT_EQ(openai_stream_error(boost::json::parse(R"({"type":"server_error","code":"overloaded_error"})")).status,
            529u);
  EXPECT_EQ(openai_stream_error(boost::json::parse(R"({"type":"server_error","code":"RESOURCE_EXHAUSTED"})")).status,
            429u);
  EXPECT_EQ(openai_stream_error(boost::json::parse(R"({"code":"ModelTimeoutException"})")).status, 504u);
  EXPECT_EQ(openai_stream_error(boost::json::parse(R"("plain")")).message, "plain");
}

// ---------------------------------------------------------------------------------------------
// Provider decoders

TEST(AnthropicDecoder, UsageCountsBeyondUint64AreIgnoredNotConverted) {
  Recorder recorder;
  AnthropicStreamDecoder decoder;
  EXPECT_TRUE(
      decoder.feed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\","
                   "\"usage\":{\"input_tokens\":1e64,\"output_tokens\":2.0}}}\n\n",
                   recorder));
  EXPECT_EQ(recorder.lines, (Lines{"start m c", "usage 0 2 2 0"}));
}

// Ids a decoder mints (call_ + 24 alphanumerics) differ from run to run: masked.
Lines without_minted_ids(Lines lines) {
  static const std::regex minted("call_[A-Za-z0-9]{24}");
  for (auto& line : lines) line = std::regex_replace(line, minted, "call_<minted>");
  return lines;
}

TEST(ProviderDecoders, GoldenStreamsGiveTheSameEventsInEverySplitAndEndOrErr) {
  struct Case {
    std::string file;
    std::function<Lines(std::string_view, const harness::Split&)> decode;
  };
  const std::vector<Case> cases = {
      {"openai_anthropic/stream/text_then_tool/upstream.sse", decode_stream<AnthropicStreamDecoder>},
      {"openai_anthropic/stream/truncated/upstream.sse", decode_stream<AnthropicStreamDecoder>},
      {"openai_gemini/stream/tool_calls/upstream.sse", decode_stream<GeminiStreamDecoder>},
      {"openai_gemini/stream/error_event/upstream.sse", decode_stream<GeminiStreamDecoder>},
      {"openai_gemini/stream/prompt_blocked/upstream.sse", decode_stream<GeminiStreamDecoder>},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto upstream = golden::read_file(c.file);
    const auto whole = c.decode(upstream, {"whole", {}});
    ASSERT_FALSE(whole.empty());
    EXPECT_EQ(whole.front().rfind("start ", 0), 0u);
    EXPECT_TRUE(whole.back() == "end" || whole.back().rfind("error ", 0) == 0) << whole.back();
    for (const auto& split : harness::standard_splits(upstream.size()))
      EXPECT_EQ(without_minted_ids(c.decode(upstream, split)), without_minted_ids(whole)) << split.name;
  }
}

TEST(AnthropicDecoder, TextThenToolGoldenEvents) {
  const auto lines = decode_stream<AnthropicStreamDecoder>(
      golden::read_file("openai_anthropic/stream/text_then_tool/upstream.sse"), {"whole", {}});
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "start msg_S1 claude-sonnet-4-5-20250929");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "tool 0 toolu_T1 get_weather "), lines.end());
  EXPECT_EQ(lines[lines.size() - 2], "finish tool_calls tool_use");
  EXPECT_EQ(lines.back(), "end");
}

TEST(GeminiDecoder, FunctionCallsAreWholeWithMintedIdsAndStopBecomesToolCalls) {
  const auto lines = decode_stream<GeminiStreamDecoder>(
      golden::read_file("openai_gemini/stream/tool_calls/upstream.sse"), {"whole", {}});
  std::size_t tools = 0;
  for (const auto& line : lines) {
    if (line.rfind("tool ", 0) != 0) continue;
    ++tools;
    EXPECT_NE(line.find("{\"city\":"), std::string::npos) << line;
  }
  EXPECT_EQ(tools, 2u);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "finish tool_calls STOP"), lines.end());
  EXPECT_EQ(lines.back(), "end");
}

TEST(BedrockDecoder, GoldenEventStreamGivesToolCallsFinishUsageAndEnd) {
  const auto bytes = golden::bedrock_event_stream(
      boost::json::parse(golden::read_file("openai_bedrock/stream/text_tool_usage/upstream_events.json")).as_array());
  const auto whole = decode_stream<BedrockStreamDecoder>(bytes, {"whole", {}});
  for (const auto& split : harness::standard_splits(bytes.size()))
    EXPECT_EQ(decode_stream<BedrockStreamDecoder>(bytes, split), whole) << split.name;
  ASSERT_GE(whole.size(), 5u);
  EXPECT_EQ(whole.front(), "start  ");
  EXPECT_NE(std::find(whole.begin(), whole.end(), "tool 1 tooluse_B get_time "), whole.end());
  EXPECT_EQ(whole.back(), "end");
  EXPECT_EQ(whole[whole.size() - 2].rfind("usage 24 15 39 4", 0), 0u);
}

TEST(ProviderDecoders, CompleteGoldenRepliesDecodeWithoutErrorAndEndWithEnd) {
  struct Case {
    std::string dir;
    std::function<std::optional<http::ApiError>(std::string_view, llm::EventSink&)> decode;
  };
  const std::vector<Case> cases = {
      {"openai_anthropic/response",
       [](std::string_view b, llm::EventSink& s) { return decode_anthropic_response(b, "", s); }},
      {"openai_gemini/response", [](std::string_view b, llm::EventSink& s) { return decode_gemini_response(b, s); }},
      {"openai_bedrock/response",
       [](std::string_view b, llm::EventSink& s) { return decode_bedrock_response(b, "", s); }},
  };
  std::size_t n = 0;
  for (const auto& c : cases) {
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(SLUICE_GOLDEN_DIR) / c.dir)) {
      const auto file = c.dir + "/" + entry.path().filename().string() + "/upstream_response.json";
      SCOPED_TRACE(file);
      Recorder recorder;
      const auto error = c.decode(golden::read_file(file), recorder);
      ASSERT_FALSE(error) << error->message;
      EXPECT_EQ(recorder.lines.front().rfind("start", 0), 0u);
      EXPECT_EQ(recorder.lines.back(), "end");
      ++n;
    }
  }
  EXPECT_GT(n, 15u);
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages encoder

std::string encode_all(StreamEncoder& encoder, const std::vector<llm::Event>& events) {
  std::string out;
  for (const auto& event : events) encoder.encode(event, out);
  return out;
}

TEST(AnthropicEncoder, TextAndToolBlocksAreNumberedAndClosedThenMessageDeltaAfterUsage) {
  AnthropicStreamEncoder encoder(anthropic_options());
  llm::Usage usage;
  usage.prompt_tokens = 10;
  usage.completion_tokens = 3;
  usage.cached_tokens = 4;
  const auto out = encode_all(
      encoder, {llm::MessageStart{"x", "gpt"}, llm::TextDelta{0, "Hi"}, llm::ToolCallDelta{0, "call_1", "f", ""},
                llm::ToolCallDelta{0, "", "", "{}"}, llm::Finish{llm::FinishReason::ToolCalls, "tool_calls"},
                llm::UsageEvent{usage}, llm::End{}});
  const std::string expected =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"x\",\"type\":\"message\","
      "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,"
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
      "{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
      "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"f\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
      "\"stop_sequence\":null},\"usage\":{\"input_tokens\":6,\"output_tokens\":3,\"cache_read_input_tokens\":4,"
      "\"cache_creation_input_tokens\":0}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  EXPECT_TRUE(golden::sse_equal(expected, out));
  EXPECT_TRUE(encoder.closed());
  EXPECT_FALSE(encoder.failed());
}

TEST(AnthropicEncoder, ErrorIsOneErrorEventAndNothingFollows) {
  AnthropicStreamEncoder encoder(anthropic_options());
  const auto out = encode_all(
      encoder, {llm::TextDelta{0, "a"}, llm::Error{http::ApiError{429, "rate_limit_error", "x", "slow down", {}}},
                llm::TextDelta{0, "b"}, llm::End{}});
  const auto events = golden::split_sse(out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "error");
  EXPECT_TRUE(golden::json_equal(R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})",
                                 events.back().data));
  EXPECT_TRUE(encoder.failed());
}

TEST(AnthropicEncoder, EndWithoutFinishGivesToolUseWhenAToolWasCalled) {
  AnthropicStreamEncoder encoder(anthropic_options());
  const auto out = encode_all(encoder, {llm::ToolCallDelta{0, "", "f", "{}"}, llm::End{}});
  EXPECT_NE(out.find("\"stop_reason\":\"tool_use\""), std::string::npos);
  EXPECT_NE(out.find("\"id\":\"toolu_"), std::string::npos) << "a generated tool id";
}

TEST(AnthropicEncoder, CompleteReplyFromEvents) {
  AnthropicResponseEncoder encoder(anthropic_options());
  for (const llm::Event& event :
       std::vector<llm::Event>{llm::MessageStart{"x", "gpt"}, llm::TextDelta{0, "Hi "}, llm::TextDelta{0, "there"},
                               llm::ToolCallDelta{0, "call_1", "f", "{\"a\":"}, llm::ToolCallDelta{0, "", "", "1}"},
                               llm::Finish{llm::FinishReason::Length, "length"}, llm::End{}})
    encoder.on_event(event);
  EXPECT_TRUE(golden::json_equal(
      R"({"id":"<volatile>","type":"message","role":"assistant","model":"claude-sonnet-4-5",
          "content":[{"type":"text","text":"Hi there"},{"type":"tool_use","id":"call_1","name":"f","input":{"a":1}}],
          "stop_reason":"max_tokens","stop_sequence":null,
          "usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}})",
      encoder.body(), {"id"}));
}

// ---------------------------------------------------------------------------------------------
// Decoder + encoder against the goldens

TEST(OpenAiToAnthropicCodec, DecodedGoldenStreamsEncodeToTheGoldenClientStreams) {
  for (const std::string name : {"stream_text_tool", "stream_usage_after_finish", "stream_error"}) {
    SCOPED_TRACE(name);
    const auto upstream = golden::read_file("anthropic_client/" + name + "/upstream.sse");
    OpenAiStreamDecoder decoder;
    AnthropicStreamEncoder encoder(anthropic_options());
    std::string out;
    EncodingSink sink(encoder, out);
    decoder.feed(upstream, sink);
    decoder.end(sink);
    EXPECT_TRUE(golden::sse_equal(golden::read_file("anthropic_client/" + name + "/client.sse"), out));
  }
}

TEST(StreamConversion, AfterACompleteReplyTheRestIsReadAndIgnoredAfterAnErrorFeedingStops) {
  const std::string reply =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\","
      "\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
      "\"usage\":{\"output_tokens\":2}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  StreamConversion<AnthropicStreamDecoder, OpenAiChatStreamEncoder> complete(AnthropicStreamDecoder(),
                                                                             OpenAiChatStreamEncoder({}));
  llm::Usage usage;
  std::string out;
  EXPECT_TRUE(complete.feed(reply, out, usage));
  EXPECT_NE(out.find("data: [DONE]"), std::string::npos) << out;
  EXPECT_EQ(usage.completion_tokens, 2u);
  out.clear();
  EXPECT_TRUE(complete.feed("event: ping\ndata: {}\n\n", out, usage))
      << "bytes after a complete reply are not an error: the upstream body is read to its end";
  complete.end(out, usage);
  EXPECT_EQ(out, "") << "nothing follows the closing events";

  StreamConversion<AnthropicStreamDecoder, OpenAiChatStreamEncoder> broken(AnthropicStreamDecoder(),
                                                                           OpenAiChatStreamEncoder({}));
  out.clear();
  EXPECT_FALSE(broken.feed(
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
      out, usage));
  EXPECT_NE(out.find("error"), std::string::npos) << out;
  out.clear();
  EXPECT_FALSE(broken.feed(reply, out, usage)) << "after an error event the stream is over";
  broken.end(out, usage);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace sluice::translate
