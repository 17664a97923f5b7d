// The response guard on every path a reply takes: native OpenAI and Anthropic bodies and
// streams (translate/native_filter.hpp), translated streams and bodies (the filter between the
// decoder and the encoder), with the guard's real filter (policy/response_guard.hpp).
#include "policy/response_guard.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "guard/matcher.hpp"
#include "guarded_filter.hpp"
#include "pipeline/request_record.hpp"
#include "translate/native_filter.hpp"
#include "translate/select.hpp"
#include "translate/sse_parser.hpp"

namespace sluice {
namespace {

namespace json = boost::json;

constexpr std::string_view kCard = "4111111111111111";
constexpr std::size_t kMaxEvent = 1 << 20;

const guard::Matcher& matcher() {
  return test_support::guard_matcher();
}

std::string masked(std::string_view text) {
  std::string out;
  matcher().mask(text, out);
  return out;
}

using test_support::cut;
using test_support::Guarded;
const http::ApiError& kRejection = test_support::kGuardRejection;

std::string openai_chunk(std::string_view content, const char* finish = nullptr) {
  json::object delta{{"content", content}};
  json::object choice{{"index", 0}, {"delta", delta}, {"finish_reason", finish ? json::value(finish) : nullptr}};
  json::object chunk{{"id", "chatcmpl-1"},
                     {"object", "chat.completion.chunk"},
                     {"created", 1},
                     {"model", "m"},
                     {"choices", json::array{choice}}};
  return "data: " + json::serialize(chunk) + "\n\n";
}

std::string openai_stream(const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& piece : pieces) out += openai_chunk(piece);
  out += openai_chunk("", "stop");
  out += "data: [DONE]\n\n";
  return out;
}

std::vector<translate::SseEvent> events_of(std::string_view sse) {
  translate::SseParser parser;
  std::vector<translate::SseEvent> events;
  EXPECT_TRUE(parser.feed(sse, events));
  return events;
}

// The text a client reads from an OpenAI stream (choice 0's content), and its finish reason.
struct OpenAiRead {
  std::string text;
  std::string finish;
  std::string arguments;
  bool error = false;
  bool done = false;
};

OpenAiRead read_openai(std::string_view sse) {
  OpenAiRead read;
  for (const auto& event : events_of(sse)) {
    if (event.data == "[DONE]") {
      read.done = true;
      continue;
    }
    const auto chunk = json::parse(event.data).as_object();
    if (chunk.contains("error")) {
      read.error = true;
      continue;
    }
    for (const auto& choice : chunk.at("choices").as_array()) {
      const auto& delta = choice.at("delta").as_object();
      if (const auto* content = delta.if_contains("content"); content && content->is_string())
        read.text += content->as_string();
      if (const auto* calls = delta.if_contains("tool_calls"))
        for (const auto& call : calls->as_array())
          if (const auto* function = call.as_object().if_contains("function"))
            read.arguments += function->as_object().at("arguments").as_string();
      if (const auto& finish = choice.at("finish_reason"); finish.is_string()) read.finish = finish.as_string();
    }
  }
  return read;
}

std::string run_stream(translate::Translator& translator, const std::vector<std::string>& upstream_reads) {
  std::string out;
  for (const auto& read : upstream_reads)
    if (!translator.stream_feed(read, out)) return out;
  translator.stream_end(out);
  return out;
}

TEST(ResponseGuardOpenAiNative, CardSplitAtEveryPairOfPositionsIsMaskedAndNeverSent) {
  const std::string text = std::string("Your card ") + std::string(kCard) + " is on file, mail a@b.co";
  const auto expected = masked(text);
  ASSERT_EQ(expected, "Your card <CREDIT_CARD> is on file, mail <EMAIL>");
  for (std::size_t i = 1; i < text.size(); ++i) {
    for (std::size_t j = i + 1; j < text.size(); j += 3) {
      Guarded guarded;
      auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
      const auto upstream = openai_stream(cut(text, {i, j}));
      // The upstream bytes arrive in reads that cut events too.
      const auto out = run_stream(*native, cut(upstream, {upstream.size() / 3, upstream.size() / 2}));
      const auto read = read_openai(out);
      ASSERT_EQ(read.text, expected) << "cuts " << i << "," << j;
      EXPECT_EQ(read.finish, "stop");
      EXPECT_TRUE(read.done);
      EXPECT_EQ(out.find("1111"), std::string::npos);
    }
  }
}

TEST(ResponseGuardOpenAiNative, CardOverFiveEventsKeepsEventsAndEnvelope) {
  const std::string text = std::string("pay ") + std::string(kCard) + " now";
  Guarded guarded;
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  const auto out = run_stream(*native, {openai_stream(cut(text, {5, 8, 11, 14, 17}))});
  const auto events = events_of(out);
  // Six content chunks, the finish chunk, [DONE]: the same events as upstream.
  ASSERT_EQ(events.size(), 8u);
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto chunk = json::parse(events[i].data).as_object();
    EXPECT_EQ(chunk.at("id").as_string(), "chatcmpl-1");
    EXPECT_EQ(chunk.at("model").as_string(), "m");
  }
  EXPECT_EQ(read_openai(out).text, "pay <CREDIT_CARD> now");
  EXPECT_EQ(guarded.record.guard, "response mask CREDIT_CARD");
}

TEST(ResponseGuardOpenAiNative, TextHeldAtTheEndGoesOutWithTheFinishChunk) {
  Guarded guarded;
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  const auto out = run_stream(*native, {openai_chunk("short answer"), openai_chunk("", "stop"), "data: [DONE]\n\n"});
  const auto events = events_of(out);
  ASSERT_EQ(events.size(), 3u);
  const auto first = json::parse(events[0].data).as_object();
  EXPECT_EQ(first.at("choices").as_array()[0].at("delta").at("content").as_string(), "");
  const auto last = json::parse(events[1].data).as_object();
  EXPECT_EQ(last.at("choices").as_array()[0].at("delta").at("content").as_string(), "short answer");
  EXPECT_EQ(last.at("choices").as_array()[0].at("finish_reason").as_string(), "stop");
}

TEST(ResponseGuardOpenAiNative, ToolCallArgumentsAreMaskedAcrossFragments) {
  const std::string arguments = R"({"to":"jane@example.com","ref":"TCK-123456"})";
  std::string upstream;
  const auto pieces = cut(arguments, {9, 15, 30});
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    json::object call{{"index", 0}, {"function", {{"arguments", pieces[i]}}}};
    if (i == 0) {
      call["id"] = "call_1";
      call["type"] = "function";
      call["function"].as_object()["name"] = "send";
    }
    json::object chunk{
        {"id", "c"},
        {"choices", json::array{json::object{
                        {"index", 0}, {"delta", {{"tool_calls", json::array{call}}}}, {"finish_reason", nullptr}}}}};
    upstream += "data: " + json::serialize(chunk) + "\n\n";
  }
  json::object finish{
      {"id", "c"},
      {"choices", json::array{json::object{{"index", 0}, {"delta", json::object()}, {"finish_reason", "tool_calls"}}}}};
  upstream += "data: " + json::serialize(finish) + "\n\ndata: [DONE]\n\n";
  Guarded guarded;
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  const auto read = read_openai(run_stream(*native, {upstream}));
  EXPECT_EQ(read.arguments, R"({"to":"<EMAIL>","ref":"<ticket>"})");
  EXPECT_EQ(read.finish, "tool_calls");
}

TEST(ResponseGuardOpenAiNative, RejectEndsTheStreamWithContentFilterAndAnError) {
  const std::string text = std::string("card ") + std::string(kCard) + " and more text after it";
  Guarded guarded(true);
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  std::string out;
  bool reading = true;
  for (const auto& piece : cut(openai_stream(cut(text, {7, 12, 18, 22})), {40, 200, 400}))
    if (reading) reading = native->stream_feed(piece, out);
  EXPECT_FALSE(reading);  // the relay stops reading the upstream
  const auto read = read_openai(out);
  EXPECT_EQ(read.finish, "content_filter");
  EXPECT_TRUE(read.error);
  EXPECT_FALSE(read.done);
  EXPECT_EQ(out.find("1111"), std::string::npos);
  EXPECT_EQ(out.find("more text"), std::string::npos);
  EXPECT_EQ(guarded.record.guard, "response reject CREDIT_CARD");
}

TEST(ResponseGuardOpenAiNative, UsageChunkAskedBySluiceIsDroppedAndCounted) {
  Guarded guarded;
  auto native = translate::make_openai_native_filter(*guarded.filter, true, kMaxEvent);
  const std::string usage =
      R"(data: {"id":"c","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})"
      "\n\n";
  const auto out = run_stream(*native, {openai_chunk("hello"), openai_chunk("", "stop"), usage, "data: [DONE]\n\n"});
  EXPECT_EQ(out.find("prompt_tokens"), std::string::npos);
  EXPECT_EQ(native->usage().prompt_tokens, 5u);
  EXPECT_EQ(native->usage().completion_tokens, 7u);
}

TEST(ResponseGuardOpenAiNative, CompleteReplyIsMaskedInPlaceAndOtherMembersKept) {
  const std::string body = R"({"id":"chatcmpl-9","object":"chat.completion","system_fingerprint":"fp","choices":[)"
                           R"({"index":0,"message":{"role":"assistant","content":"card 4111111111111111"},)"
                           R"("logprobs":{"content":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,)"
                           R"("completion_tokens":2,"total_tokens":3}})";
  Guarded guarded;
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  std::string client;
  ASSERT_FALSE(native->translate_response(body, client).has_value());
  const auto reply = json::parse(client).as_object();
  EXPECT_EQ(reply.at("choices").at(0).at("message").at("content").as_string(), "card <CREDIT_CARD>");
  EXPECT_EQ(reply.at("system_fingerprint").as_string(), "fp");
  EXPECT_TRUE(reply.at("choices").at(0).as_object().contains("logprobs"));
  EXPECT_EQ(native->usage().completion_tokens, 2u);
}

TEST(ResponseGuardOpenAiNative, CompleteReplyRejectedIsTheError) {
  const std::string body =
      R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"mail a@b.co"},"finish_reason":"stop"}]})";
  Guarded guarded(true);
  auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
  std::string client;
  const auto error = native->translate_response(body, client);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 403u);
  EXPECT_EQ(error->message, "The response was rejected by policy");
}

// Anthropic stream events for one text block with `pieces`, then a tool_use block.
std::string anthropic_stream(const std::vector<std::string>& pieces, const std::vector<std::string>& json_pieces) {
  auto event = [](std::string_view name, const json::object& data) {
    return "event: " + std::string(name) + "\ndata: " + json::serialize(data) + "\n\n";
  };
  std::string out = event("message_start", {{"type", "message_start"},
                                            {"message",
                                             {{"id", "msg_1"},
                                              {"type", "message"},
                                              {"role", "assistant"},
                                              {"content", json::array()},
                                              {"model", "claude"},
                                              {"usage", {{"input_tokens", 3}, {"output_tokens", 1}}}}}});
  out += event("content_block_start",
               {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}});
  for (const auto& piece : pieces)
    out += event("content_block_delta",
                 {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", piece}}}});
  out += event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
  out += event(
      "content_block_start",
      {{"type", "content_block_start"},
       {"index", 1},
       {"content_block", {{"type", "tool_use"}, {"id", "toolu_1"}, {"name", "send"}, {"input", json::object()}}}});
  for (const auto& piece : json_pieces)
    out += event("content_block_delta", {{"type", "content_block_delta"},
                                         {"index", 1},
                                         {"delta", {{"type", "input_json_delta"}, {"partial_json", piece}}}});
  out += event("content_block_stop", {{"type", "content_block_stop"}, {"index", 1}});
  out += event("message_delta", {{"type", "message_delta"},
                                 {"delta", {{"stop_reason", "tool_use"}, {"stop_sequence", nullptr}}},
                                 {"usage", {{"output_tokens", 9}}}});
  out += event("message_stop", {{"type", "message_stop"}});
  return out;
}

struct AnthropicRead {
  std::string text;        // block 0
  std::string input_json;  // block 1
  std::vector<std::string> types;
  std::string stop_reason;
};

AnthropicRead read_anthropic(std::string_view sse) {
  AnthropicRead read;
  for (const auto& event : events_of(sse)) {
    read.types.push_back(event.event);
    const auto data = json::parse(event.data).as_object();
    if (event.event == "content_block_delta") {
      const auto& delta = data.at("delta").as_object();
      if (data.at("index").as_int64() == 0) read.text += delta.at("text").as_string();
      if (data.at("index").as_int64() == 1) read.input_json += delta.at("partial_json").as_string();
    } else if (event.event == "message_delta") {
      read.stop_reason = data.at("delta").at("stop_reason").as_string();
    }
  }
  return read;
}

TEST(ResponseGuardAnthropicNative, SecretsSplitAtEveryPositionAreMaskedPerBlock) {
  const std::string text = std::string("card ") + std::string(kCard) + ", ticket TCK-654321.";
  const std::string input = R"({"email":"bob@corp.example"})";
  for (std::size_t i = 1; i < text.size(); ++i) {
    Guarded guarded;
    auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
    const auto upstream = anthropic_stream(cut(text, {i}), cut(input, {std::min(i, input.size() - 1)}));
    const auto read = read_anthropic(run_stream(*native, {upstream}));
    ASSERT_EQ(read.text, "card <CREDIT_CARD>, ticket <ticket>.") << i;
    ASSERT_EQ(read.input_json, R"({"email":"<EMAIL>"})") << i;
    EXPECT_EQ(read.stop_reason, "tool_use");
    EXPECT_EQ(read.types.back(), "message_stop");
  }
  Guarded guarded;
  auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
  run_stream(*native, {anthropic_stream({"x"}, {"{}"})});
  EXPECT_EQ(native->usage().prompt_tokens, 3u);
  EXPECT_EQ(native->usage().completion_tokens, 9u);
}

TEST(ResponseGuardAnthropicNative, HeldTextGoesOutBeforeTheBlockStops) {
  Guarded guarded;
  auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
  const auto read = read_anthropic(run_stream(*native, {anthropic_stream({"hello"}, {"{}"})}));
  // message_start, block start, delta (empty: held), delta (released), block stop, ...
  ASSERT_GE(read.types.size(), 5u);
  EXPECT_EQ(read.types[2], "content_block_delta");
  EXPECT_EQ(read.types[3], "content_block_delta");
  EXPECT_EQ(read.types[4], "content_block_stop");
  EXPECT_EQ(read.text, "hello");
}

TEST(ResponseGuardAnthropicNative, RejectStopsAsRefusalWithAnErrorEvent) {
  Guarded guarded(true);
  auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
  const auto out = run_stream(*native, {anthropic_stream(cut("write to x@y.io please", {10}), {"{}"})});
  const auto read = read_anthropic(out);
  EXPECT_EQ(read.stop_reason, "refusal");
  EXPECT_EQ(read.types.back(), "error");
  EXPECT_EQ(out.find("x@y"), std::string::npos);
}

TEST(ResponseGuardAnthropicNative, CompleteReplyMasksTextAndToolInputStrings) {
  const std::string body = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[)"
                           R"({"type":"thinking","thinking":"t 4111111111111111","signature":"sig"},)"
                           R"({"type":"text","text":"card 4111111111111111"},)"
                           R"({"type":"tool_use","id":"t","name":"n","input":{"to":["a@b.co"],"n":1}}],)"
                           R"("stop_reason":"end_turn","usage":{"input_tokens":2,"output_tokens":4}})";
  Guarded guarded;
  auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
  std::string client;
  ASSERT_FALSE(native->translate_response(body, client).has_value());
  const auto reply = json::parse(client).as_object();
  const auto& content = reply.at("content").as_array();
  EXPECT_EQ(content[0].at("signature").as_string(), "sig");  // signed thinking left as sent
  EXPECT_EQ(content[1].at("text").as_string(), "card <CREDIT_CARD>");
  EXPECT_EQ(content[2].at("input").at("to").at(0).as_string(), "<EMAIL>");
  EXPECT_EQ(content[2].at("input").at("n").as_int64(), 1);
}

// Translated: an OpenAI client on an Anthropic provider, the filter between the halves.
TEST(ResponseGuardTranslated, AnthropicStreamToOpenAiClientIsMaskedAtEverySplit) {
  const std::string text = std::string("card ") + std::string(kCard) + " ok";
  for (std::size_t i = 1; i < text.size(); ++i) {
    Guarded guarded;
    translate::RequestContext context;
    context.model = "claude";
    context.stream = true;
    auto selection =
        translate::select_translator(translate::ClientApi::OpenAIChat, provider::WireFormat::Anthropic, context);
    ASSERT_TRUE(selection.translator);
    auto& translator = *selection.translator;
    std::string upstream_body;
    const auto request = json::parse(R"({"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]})");
    ASSERT_FALSE(translator.translate_request(request.as_object(), upstream_body).has_value());
    translator.filter_text(guarded.filter.get());
    const auto read = read_openai(run_stream(translator, {anthropic_stream(cut(text, {i}), {})}));
    ASSERT_EQ(read.text, "card <CREDIT_CARD> ok") << i;
    EXPECT_TRUE(read.done);
  }
}

TEST(ResponseGuardTranslated, CompleteReplyRejectedIsTheError) {
  Guarded guarded(true);
  translate::RequestContext context;
  context.model = "claude";
  auto selection =
      translate::select_translator(translate::ClientApi::OpenAIChat, provider::WireFormat::Anthropic, context);
  auto& translator = *selection.translator;
  std::string upstream_body;
  const auto request = json::parse(R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(translator.translate_request(request.as_object(), upstream_body).has_value());
  translator.filter_text(guarded.filter.get());
  std::string client;
  const auto error = translator.translate_response(
      R"({"id":"m","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"TCK-111111"}],)"
      R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})",
      client);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 403u);
  EXPECT_EQ(guarded.record.guard, "response reject ticket");
}

TEST(ResponseGuardTranslated, OpenAiStreamToAnthropicClientIsMasked) {
  Guarded guarded;
  translate::RequestContext context;
  context.model = "gpt";
  context.stream = true;
  auto selection =
      translate::select_translator(translate::ClientApi::AnthropicMessages, provider::WireFormat::OpenAI, context);
  ASSERT_TRUE(selection.translator);
  auto& translator = *selection.translator;
  std::string upstream_body;
  const auto request =
      json::parse(R"({"model":"gpt","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(translator.translate_request(request.as_object(), upstream_body).has_value());
  translator.filter_text(guarded.filter.get());
  const auto out = run_stream(translator, {openai_stream(cut("mail me at al@ice.dev now", {12, 14, 19}))});
  std::string text;
  for (const auto& event : events_of(out)) {
    if (event.event != "content_block_delta") continue;
    text += json::parse(event.data).at("delta").at("text").as_string();
  }
  EXPECT_EQ(text, "mail me at <EMAIL> now");
}

// What the access log reads from a translator: the answering model and why choice 0 stopped.
TEST(ReplyFacts, NativeAndTranslatedStreamsReportModelAndFinishReason) {
  {
    Guarded guarded;
    auto native = translate::make_openai_native_filter(*guarded.filter, false, kMaxEvent);
    run_stream(*native, {openai_stream({"hello"})});
    EXPECT_EQ(native->facts().model, "m");
    EXPECT_EQ(native->facts().finish_reason, "stop");
  }
  {
    Guarded guarded;
    auto native = translate::make_anthropic_native_filter(*guarded.filter, kMaxEvent);
    run_stream(*native, {anthropic_stream({"hello"}, {"{}"})});
    EXPECT_EQ(native->facts().model, "claude");
    EXPECT_EQ(native->facts().finish_reason, "tool_use");
  }
  translate::RequestContext context;
  context.model = "claude";
  context.stream = true;
  auto selection =
      translate::select_translator(translate::ClientApi::OpenAIChat, provider::WireFormat::Anthropic, context);
  auto& translator = *selection.translator;
  std::string upstream_body;
  const auto request = json::parse(R"({"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(translator.translate_request(request.as_object(), upstream_body).has_value());
  run_stream(translator, {anthropic_stream({"hello"}, {})});
  EXPECT_EQ(translator.facts().model, "claude");
  EXPECT_EQ(translator.facts().finish_reason, "tool_use");
}

TEST(TextFilterChain, SecondFilterReadsWhatTheFirstReleased) {
  pipeline::RequestRecord record;
  auto mask = policy::make_response_guard_filter(matcher(), false, kRejection, record);
  auto again = policy::make_response_guard_filter(matcher(), false, kRejection, record);
  std::vector<std::unique_ptr<llm::TextFilter>> filters;
  filters.push_back(std::move(mask));
  filters.push_back(std::move(again));
  llm::TextFilterChain chain(std::move(filters));
  const llm::TextChannel channel{};
  std::string out;
  for (const auto& piece : cut("a@b.co then 4111111111111111 end", {3, 9, 20})) chain.feed(channel, piece, out);
  chain.finish(channel, out);
  EXPECT_EQ(out, "<EMAIL> then <CREDIT_CARD> end");
  EXPECT_EQ(chain.rejection(), nullptr);
}

}  // namespace
}  // namespace sluice
