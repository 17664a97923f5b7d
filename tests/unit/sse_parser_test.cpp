#include "translate/sse_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::translate {
namespace {

struct Parsed {
  std::vector<SseEvent> events;
  SseParser::End end;
};

Parsed parse_whole(std::string_view stream, std::size_t max = SseParser::kDefaultMaxEventBytes) {
  SseParser parser(max);
  Parsed out;
  parser.feed(stream, out.events);
  out.end = parser.finish();
  return out;
}

Parsed parse_in_chunks(std::string_view stream, std::size_t chunk, std::size_t max = SseParser::kDefaultMaxEventBytes) {
  SseParser parser(max);
  Parsed out;
  for (std::size_t i = 0; i < stream.size(); i += chunk) parser.feed(stream.substr(i, chunk), out.events);
  out.end = parser.finish();
  return out;
}

SseEvent make(std::string data, std::string event = "", std::string id = "") {
  SseEvent e;
  e.data = std::move(data);
  e.event = std::move(event);
  e.id = std::move(id);
  return e;
}

TEST(SseParser, SingleDataEvent) {
  const auto p = parse_whole("data: hello\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0], make("hello"));
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, AllLineEndingsAreEquivalent) {
  for (const char* stream :
       {"event: e\ndata: x\n\n", "event: e\r\ndata: x\r\n\r\n", "event: e\rdata: x\r\r", "event: e\r\ndata: x\n\r"}) {
    const auto p = parse_whole(stream);
    ASSERT_EQ(p.events.size(), 1u) << stream;
    EXPECT_EQ(p.events[0], make("x", "e")) << stream;
    EXPECT_EQ(p.end, SseParser::End::kClean) << stream;
  }
}

TEST(SseParser, CrlfSplitAcrossChunksIsOneLineEnd) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("data: a\r", events);
  parser.feed("\ndata: b\r", events);
  EXPECT_TRUE(events.empty());
  parser.feed("\n\r", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
  parser.feed("\n", events);  // the LF of the blank line's CRLF, not a second blank line
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(parser.finish(), SseParser::End::kClean);
}

TEST(SseParser, CrlfThenLfAndCrCrEachEndAnEvent) {
  // "\r" ends the data line; the "\n" after a *completed* CR is the same line end, so the next
  // "\n" is the blank line.
  const auto p = parse_whole("data: a\r\n\ndata: b\r\r");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].data, "a");
  EXPECT_EQ(p.events[1].data, "b");
}

TEST(SseParser, OptionalSingleSpaceAfterColon) {
  const auto p = parse_whole("data:no-space\n\ndata: one\n\ndata:  two\n\n");
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].data, "no-space");
  EXPECT_EQ(p.events[1].data, "one");
  EXPECT_EQ(p.events[2].data, " two");
}

TEST(SseParser, FieldWithoutColonHasEmptyValue) {
  const auto p = parse_whole("data\n\ndata\ndata\n\n");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].data, "");
  EXPECT_EQ(p.events[1].data, "\n");
}

TEST(SseParser, ValueMayContainColons) {
  const auto p = parse_whole("data: {\"a\":\"b:c\"}\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "{\"a\":\"b:c\"}");
}

TEST(SseParser, CommentsAreIgnored) {
  const auto p = parse_whole(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {}\n: mid-event\n\n:\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "{}");
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, LongCommentIsNotBufferedAgainstTheLimit) {
  const std::string stream = ": " + std::string(1000, 'x') + "\ndata: ok\n\n";
  const auto p = parse_in_chunks(stream, 7, 64);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "ok");
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, MultipleDataLinesJoinWithNewline) {
  const auto p = parse_whole("data: first\ndata: second\ndata:\ndata: fourth\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "first\nsecond\n\nfourth");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  const auto p = parse_whole("event: ping\n\nid: 7\n\nretry: 10\n\n\n\ndata: x\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].event, "") << "the event type does not leak into the next event";
  EXPECT_EQ(p.events[0].id, "7") << "the last event ID persists";
  EXPECT_FALSE(p.events[0].retry.has_value());
}

TEST(SseParser, EmptyDataLineStillDispatches) {
  const auto p = parse_whole("data:\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "");
}

TEST(SseParser, IdPersistsAndIdWithNulIsIgnored) {
  using namespace std::string_literals;
  const auto p = parse_whole("id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n"s);
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_EQ(p.events[0].id, "1");
  EXPECT_EQ(p.events[1].id, "1");
  EXPECT_EQ(p.events[2].id, "1");
  EXPECT_EQ(p.events[3].id, "");
}

TEST(SseParser, RetryAcceptsOnlyAsciiDigits) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed(
      "retry: 1500\ndata: a\n\nretry: 12a\ndata: b\n\nretry: -1\ndata: c\n\n"
      "retry: 99999999999999999999999\ndata: d\n\n",
      events);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].retry, 1500u);
  EXPECT_FALSE(events[1].retry.has_value());
  EXPECT_FALSE(events[2].retry.has_value());
  EXPECT_FALSE(events[3].retry.has_value());
  EXPECT_EQ(parser.reconnection_time(), 1500u);
}

TEST(SseParser, UnknownFieldsAreIgnored) {
  const auto p = parse_whole("foo: bar\ndata: x\nDATA: y\nData: z\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "x");
}

TEST(SseParser, LeadingBomIsIgnoredOnlyAtStreamStart) {
  const auto p = parse_whole(
      "\xEF\xBB\xBF"
      "data: a\n\n\xEF\xBB\xBF"
      "data: b\n\n");
  ASSERT_EQ(p.events.size(), 1u) << "a later BOM makes the field name unknown";
  EXPECT_EQ(p.events[0].data, "a");
  const auto split = parse_in_chunks(
      "\xEF\xBB\xBF"
      "data: a\n\n",
      1);
  ASSERT_EQ(split.events.size(), 1u);
  EXPECT_EQ(split.events[0].data, "a");
}

TEST(SseParser, PartialBomPrefixIsData) {
  const auto p = parse_in_chunks(
      "\xEF\xBB"
      "data: a\n\n",
      1);
  EXPECT_TRUE(p.events.empty()) << "the field name is then \"\\xEF\\xBBdata\"";
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, FinishReportsPartialEvent) {
  EXPECT_EQ(parse_whole("").end, SseParser::End::kClean);
  EXPECT_EQ(parse_whole("data: x\n\n").end, SseParser::End::kClean);
  EXPECT_EQ(parse_whole("data: x\n").end, SseParser::End::kPartialEvent);
  EXPECT_EQ(parse_whole("data: x").end, SseParser::End::kPartialEvent);
  EXPECT_EQ(parse_whole("data: x\n\nevent: y\n").end, SseParser::End::kPartialEvent);
  EXPECT_EQ(parse_whole("data: x\n\n: keep-alive").end, SseParser::End::kClean);
  EXPECT_EQ(parse_whole("data: x\n\n: keep-alive\n").end, SseParser::End::kClean);
  const auto p = parse_whole("data: a\n\ndata: b");
  ASSERT_EQ(p.events.size(), 1u) << "the unterminated event is not dispatched";
}

TEST(SseParser, FinishResetsForANewStream) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("id: 3\ndata: partial", events);
  EXPECT_EQ(parser.finish(), SseParser::End::kPartialEvent);
  parser.feed("data: fresh\n\n", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], make("fresh"));
}

TEST(SseParser, OversizedEventIsAStickyError) {
  SseParser parser(32);
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.feed("data: small\n\n", events));
  EXPECT_FALSE(parser.feed("data: " + std::string(40, 'x'), events));
  EXPECT_TRUE(parser.failed());
  EXPECT_NE(parser.error().find("32"), std::string_view::npos);
  EXPECT_FALSE(parser.feed("\n\ndata: ok\n\n", events));
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(parser.finish(), SseParser::End::kError);
}

TEST(SseParser, ManyDataLinesCountTowardsTheLimit) {
  std::string stream;
  for (int i = 0; i < 20; ++i) stream += "data: 0123456789\n";
  stream += "\n";
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{5}, stream.size()}) {
    SseParser parser(100);
    std::vector<SseEvent> events;
    for (std::size_t i = 0; i < stream.size(); i += chunk)
      parser.feed(std::string_view(stream).substr(i, chunk), events);
    EXPECT_TRUE(parser.failed()) << chunk;
    EXPECT_TRUE(events.empty()) << chunk;
    EXPECT_LE(parser.buffered_bytes(), 100u);
  }
}

TEST(SseParser, EventAtTheLimitIsAccepted) {
  const std::string stream = "data: " + std::string(26, 'x') + "\n\n";  // 32-byte line
  const auto p = parse_in_chunks(stream, 3, 32);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, CallbackSinkSeesEachEvent) {
  SseParser parser;
  std::vector<std::string> seen;
  parser.feed("event: a\ndata: 1\n\nevent: b\ndata: 2\n\n",
              [&seen](const SseEvent& e) { seen.push_back(e.event + "=" + e.data); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "b=2"}));
}

const char* const kOpenAiStream =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

const char* const kAnthropicStream =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[],\"usage\":"
    "{\"input_tokens\":5,\"output_tokens\":1}}}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n"
    "event: ping\r\n"
    "data: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
    "event: content_block_stop\r\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: message_delta\r\n"
    "data: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\r\n\r\n"
    "event: message_stop\r\n"
    "data: {\"type\":\"message_stop\"}\r\n\r\n";

TEST(SseParser, OpenAiChunkStreamWithDone) {
  const auto p = parse_whole(kOpenAiStream);
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_NE(p.events[1].data.find("\"content\":\"Hi\""), std::string::npos);
  EXPECT_EQ(p.events[3].data, "[DONE]");
  for (const auto& e : p.events) EXPECT_EQ(e.event, "");
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, AnthropicEventDataPairs) {
  const auto p = parse_whole(kAnthropicStream);
  const std::vector<std::string> types = {"message_start",       "content_block_start", "ping",
                                          "content_block_delta", "content_block_stop",  "message_delta",
                                          "message_stop"};
  ASSERT_EQ(p.events.size(), types.size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(p.events[i].event, types[i]);
    EXPECT_NE(p.events[i].data.find("\"type\":"), std::string::npos);
    EXPECT_EQ(p.events[i].data.find('\r'), std::string::npos);
  }
  EXPECT_EQ(p.end, SseParser::End::kClean);
}

TEST(SseParser, AnyChunkingEqualsWholeFeeding) {
  const std::string mixed = std::string("\xEF\xBB\xBF") + kOpenAiStream + kAnthropicStream +
                            "id: 9\rretry: 20\revent: x\rdata: a\rdata: b\r\r: c\r\ndata: tail";
  for (const std::string& stream : {std::string(kOpenAiStream), std::string(kAnthropicStream), mixed}) {
    const auto whole = parse_whole(stream);
    for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
      const auto split = parse_in_chunks(stream, chunk);
      EXPECT_EQ(split.events, whole.events) << "chunk " << chunk;
      EXPECT_EQ(split.end, whole.end) << "chunk " << chunk;
    }
  }
  const auto m = parse_whole(mixed);
  ASSERT_FALSE(m.events.empty());
  EXPECT_EQ(m.events.back(), (SseEvent{"x", "a\nb", "9", 20}));
  EXPECT_EQ(m.end, SseParser::End::kPartialEvent);
}

}  // namespace
}  // namespace sluice::translate
