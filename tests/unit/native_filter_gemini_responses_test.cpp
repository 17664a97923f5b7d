// The response guard on native Gemini (SSE and JSON-array streams, complete replies) and native
// Responses API replies (translate/native_filter_gemini.cpp, native_filter_responses.cpp), with
// the guard's real filter; the JSON-array splitter they read Gemini streams with; and the
// reply texts a response webhook is given for both.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "guard/matcher.hpp"
#include "guarded_filter.hpp"
#include "pipeline/request_record.hpp"
#include "policy/response_guard.hpp"
#include "translate/json_array_stream.hpp"
#include "translate/native_filter.hpp"
#include "translate/reply_text.hpp"
#include "translate/sse_parser.hpp"

namespace sluice {
namespace {

namespace json = boost::json;

constexpr std::string_view kCard = "4111111111111111";
constexpr std::size_t kMaxEvent = 1 << 20;

using test_support::cut;
using test_support::Guarded;

// The upstream bytes fed in two reads, cut at `at`.
std::string run_stream(translate::Translator& translator, std::string_view upstream, std::size_t at) {
  std::string out;
  at = std::min(at, upstream.size());
  if (translator.stream_feed(upstream.substr(0, at), out) && translator.stream_feed(upstream.substr(at), out))
    translator.stream_end(out);
  return out;
}

// ---- Gemini ----

json::object gemini_chunk(json::array parts, const char* finish = nullptr) {
  json::object candidate{{"content", {{"parts", std::move(parts)}, {"role", "model"}}}, {"index", 0}};
  if (finish != nullptr) candidate["finishReason"] = finish;
  json::object chunk{{"candidates", json::array{std::move(candidate)}}, {"modelVersion", "gemini-x"}};
  if (finish != nullptr)
    chunk["usageMetadata"] = {{"promptTokenCount", 3}, {"candidatesTokenCount", 5}, {"totalTokenCount", 8}};
  return chunk;
}

// A stream of `pieces` of text (the last chunk finishes), as SSE or one JSON array.
std::string gemini_stream(const std::vector<std::string>& pieces, bool json_array, const json::array& last_parts = {}) {
  std::vector<json::object> chunks;
  for (const auto& piece : pieces) chunks.push_back(gemini_chunk(json::array{json::object{{"text", piece}}}));
  chunks.push_back(gemini_chunk(last_parts, "STOP"));
  std::string out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto text = json::serialize(chunks[i]);
    if (json_array) {
      out += (i == 0 ? "[" : ",\r\n") + text;
    } else {
      out += "data: " + text + "\r\n\r\n";
    }
  }
  if (json_array) out += "]";
  return out;
}

// The chunks a client reads from a Gemini stream.
std::vector<json::object> read_gemini(std::string_view body, bool json_array) {
  std::vector<json::object> chunks;
  if (json_array) {
    const auto parsed = json::parse(body);  // throws when the array is not valid JSON
    for (const auto& element : parsed.as_array()) chunks.push_back(element.as_object());
    return chunks;
  }
  translate::SseParser parser;
  std::vector<translate::SseEvent> events;
  EXPECT_TRUE(parser.feed(body, events));
  for (const auto& event : events) chunks.push_back(json::parse(event.data).as_object());
  return chunks;
}

std::string gemini_text(const std::vector<json::object>& chunks) {
  std::string text;
  for (const auto& chunk : chunks) {
    const auto* candidates = chunk.if_contains("candidates");
    if (candidates == nullptr) continue;
    for (const auto& candidate : candidates->as_array()) {
      const auto* content = candidate.as_object().if_contains("content");
      const auto* parts = content != nullptr ? content->as_object().if_contains("parts") : nullptr;
      if (parts == nullptr) continue;
      for (const auto& part : parts->as_array())
        if (const auto* t = part.as_object().if_contains("text")) text += t->as_string();
    }
  }
  return text;
}

TEST(ResponseGuardGeminiNative, CardSplitAtEveryPositionAndEveryReadIsMaskedInBothFramings) {
  const std::string text = "card " + std::string(kCard) + " and mail bob@corp.example ok";
  for (const bool json_array : {false, true}) {
    for (std::size_t i = 1; i < text.size(); i += 3) {
      const auto upstream = gemini_stream(cut(text, {i}), json_array);
      for (std::size_t at = 0; at <= upstream.size(); at += 17) {
        Guarded guarded;
        auto native = translate::make_gemini_native_filter(*guarded.filter, json_array, kMaxEvent);
        const auto out = run_stream(*native, upstream, at);
        ASSERT_EQ(out.find("4111"), std::string::npos) << json_array << " " << i << " " << at;
        const auto chunks = read_gemini(out, json_array);
        ASSERT_EQ(gemini_text(chunks), "card <CREDIT_CARD> and mail <EMAIL> ok") << json_array << " " << i;
        EXPECT_EQ(chunks.back().at("candidates").at(0).at("finishReason").as_string(), "STOP");
        EXPECT_EQ(native->usage().prompt_tokens, 3u);
        EXPECT_EQ(native->usage().completion_tokens, 5u);
        EXPECT_EQ(native->facts().model, "gemini-x");
      }
    }
  }
}

TEST(ResponseGuardGeminiNative, HeldTextGoesOutBeforeAFunctionCallWhoseArgsAreMaskedAndThoughtsAreLeft) {
  json::array last{
      json::object{{"text", "thinking of 4111111111111111"}, {"thought", true}},
      json::object{{"functionCall", {{"name", "mail"}, {"args", {{"to", json::array{"a@b.co"}}, {"n", 1}}}}},
                   {"thoughtSignature", "c2ln"}}};
  Guarded guarded;
  auto native = translate::make_gemini_native_filter(*guarded.filter, false, kMaxEvent);
  const auto out = run_stream(*native, gemini_stream({"write to x@y", ".io now"}, false, last), 0);
  const auto chunks = read_gemini(out, false);
  const auto& parts = chunks.back().at("candidates").at(0).at("content").at("parts").as_array();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].at("text").as_string(), "thinking of 4111111111111111") << "a thought is left as sent";
  ASSERT_TRUE(parts[1].as_object().contains("text")) << "the held text goes out before the call";
  EXPECT_EQ(gemini_text(chunks), "thinking of 4111111111111111write to <EMAIL> now");
  EXPECT_EQ(parts[2].at("functionCall").at("args").at("to").at(0).as_string(), "<EMAIL>");
  EXPECT_EQ(parts[2].at("functionCall").at("args").at("n").as_int64(), 1);
  EXPECT_EQ(parts[2].at("thoughtSignature").as_string(), "c2ln");
  EXPECT_EQ(out.find("x@y"), std::string::npos);
}

TEST(ResponseGuardGeminiNative, TextHeldWhenTheStreamEndsWithoutAFinishGoesOutInOneMoreChunk) {
  Guarded guarded;
  auto native = translate::make_gemini_native_filter(*guarded.filter, true, kMaxEvent);
  std::string upstream = "[" + json::serialize(gemini_chunk(json::array{json::object{{"text", "call 4111"}}})) + "]";
  const auto chunks = read_gemini(run_stream(*native, upstream, 5), true);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(gemini_text(chunks), "call 4111");
}

TEST(ResponseGuardGeminiNative, RejectFinishesAsSafetyThenGooglesErrorAndClosesTheArray) {
  for (const bool json_array : {false, true}) {
    Guarded guarded(true);
    auto native = translate::make_gemini_native_filter(*guarded.filter, json_array, kMaxEvent);
    const auto out = run_stream(*native, gemini_stream(cut("write to x@y.io please", {10}), json_array), 0);
    EXPECT_EQ(out.find("x@y"), std::string::npos);
    const auto chunks = read_gemini(out, json_array);
    ASSERT_GE(chunks.size(), 2u);
    EXPECT_EQ(chunks[chunks.size() - 2].at("candidates").at(0).at("finishReason").as_string(), "SAFETY");
    EXPECT_EQ(chunks.back().at("error").at("code").as_int64(), 403);
    EXPECT_EQ(native->stream_content_type(), json_array ? "application/json" : "text/event-stream");
  }
}

TEST(ResponseGuardGeminiNative, CompleteReplyMasksTextAndArgsAndRejectionIsTheError) {
  const std::string body =
      R"({"candidates":[{"index":0,"finishReason":"STOP","content":{"role":"model","parts":[)"
      R"({"text":"t 4111111111111111","thought":true},{"text":"card 4111111111111111"},)"
      R"({"functionCall":{"name":"n","args":{"to":["a@b.co"]}}}]}}],)"
      R"("usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":4,"totalTokenCount":6},"modelVersion":"g"})";
  Guarded guarded;
  auto native = translate::make_gemini_native_filter(*guarded.filter, false, kMaxEvent);
  std::string client;
  ASSERT_FALSE(native->translate_response(body, client).has_value());
  const auto parts = json::parse(client).at("candidates").at(0).at("content").at("parts").as_array();
  EXPECT_EQ(parts[0].at("text").as_string(), "t 4111111111111111");
  EXPECT_EQ(parts[1].at("text").as_string(), "card <CREDIT_CARD>");
  EXPECT_EQ(parts[2].at("functionCall").at("args").at("to").at(0).as_string(), "<EMAIL>");
  EXPECT_EQ(native->usage().completion_tokens, 4u);
  EXPECT_EQ(native->facts().finish_reason, "STOP");

  Guarded rejecting(true);
  auto rejected = translate::make_gemini_native_filter(*rejecting.filter, false, kMaxEvent);
  const auto error = rejected->translate_response(body, client);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 403u);
}

TEST(ResponseGuardGeminiNative, ABrokenArrayEndsWithAnErrorElement) {
  Guarded guarded;
  auto native = translate::make_gemini_native_filter(*guarded.filter, true, kMaxEvent);
  std::string out;
  EXPECT_FALSE(native->stream_feed("[{\"candidates\":[]}, 7", out));
  const auto chunks = read_gemini(out, true);
  EXPECT_EQ(chunks.back().at("error").at("code").as_int64(), 502);
}

// ---- Responses API ----

std::string responses_event(json::object event) {
  const std::string type(event.at("type").as_string());
  return "event: " + type + "\ndata: " + json::serialize(event) + "\n\n";
}

// A native Responses stream of one message whose text comes in `pieces`, then a function call
// whose arguments come in `argument_pieces`.
std::string responses_stream(const std::vector<std::string>& pieces,
                             const std::vector<std::string>& argument_pieces = {}) {
  std::string text, arguments;
  for (const auto& p : pieces) text += p;
  for (const auto& p : argument_pieces) arguments += p;
  int seq = 0;
  std::string out;
  auto emit = [&](json::object event) {
    event["sequence_number"] = seq++;
    out += responses_event(std::move(event));
  };
  const json::object created{{"id", "resp_1"}, {"object", "response"}, {"status", "in_progress"}, {"model", "gpt-x"}};
  emit({{"type", "response.created"}, {"response", created}});
  emit({{"type", "response.output_item.added"},
        {"output_index", 0},
        {"item", {{"id", "msg_1"}, {"type", "message"}, {"role", "assistant"}, {"content", json::array()}}}});
  for (const auto& piece : pieces)
    emit({{"type", "response.output_text.delta"},
          {"item_id", "msg_1"},
          {"output_index", 0},
          {"content_index", 0},
          {"delta", piece},
          {"logprobs", json::array()}});
  emit({{"type", "response.output_text.done"},
        {"item_id", "msg_1"},
        {"output_index", 0},
        {"content_index", 0},
        {"text", text}});
  emit({{"type", "response.content_part.done"},
        {"item_id", "msg_1"},
        {"output_index", 0},
        {"content_index", 0},
        {"part", {{"type", "output_text"}, {"text", text}}}});
  const json::object message{{"id", "msg_1"},
                             {"type", "message"},
                             {"role", "assistant"},
                             {"content", json::array{json::object{{"type", "output_text"}, {"text", text}}}}};
  emit({{"type", "response.output_item.done"}, {"output_index", 0}, {"item", message}});
  json::array output{message};
  if (!argument_pieces.empty()) {
    for (const auto& piece : argument_pieces)
      emit({{"type", "response.function_call_arguments.delta"},
            {"item_id", "fc_1"},
            {"output_index", 1},
            {"delta", piece}});
    emit({{"type", "response.function_call_arguments.done"},
          {"item_id", "fc_1"},
          {"output_index", 1},
          {"arguments", arguments}});
    const json::object call{
        {"id", "fc_1"}, {"type", "function_call"}, {"call_id", "c1"}, {"name", "mail"}, {"arguments", arguments}};
    emit({{"type", "response.output_item.done"}, {"output_index", 1}, {"item", call}});
    output.push_back(call);
  }
  json::object completed = created;
  completed["status"] = "completed";
  completed["output"] = output;
  completed["usage"] = {{"input_tokens", 3}, {"output_tokens", 5}, {"total_tokens", 8}};
  emit({{"type", "response.completed"}, {"response", completed}});
  return out;
}

std::vector<json::object> read_responses(std::string_view sse) {
  translate::SseParser parser;
  std::vector<translate::SseEvent> events;
  EXPECT_TRUE(parser.feed(sse, events));
  std::vector<json::object> out;
  for (const auto& event : events) {
    out.push_back(json::parse(event.data).as_object());
    EXPECT_EQ(event.event, out.back().at("type").as_string());
  }
  return out;
}

std::string joined(const std::vector<json::object>& events, std::string_view type) {
  std::string text;
  for (const auto& event : events)
    if (event.at("type").as_string() == type) text += event.at("delta").as_string();
  return text;
}

const json::object& first(const std::vector<json::object>& events, std::string_view type) {
  for (const auto& event : events)
    if (event.at("type").as_string() == type) return event;
  throw std::runtime_error("no " + std::string(type));
}

TEST(ResponseGuardResponsesNative, SecretsSplitAtEveryPositionAreMaskedAndEveryRepetitionAgrees) {
  const std::string text = "card " + std::string(kCard) + " ok";
  const std::string arguments = R"({"to":"bob@corp.example"})";
  for (std::size_t i = 1; i < text.size(); ++i) {
    const auto upstream = responses_stream(cut(text, {i}), cut(arguments, {std::min(i, arguments.size() - 1)}));
    for (std::size_t at = 0; at <= upstream.size(); at += 97) {
      Guarded guarded;
      auto native = translate::make_responses_native_filter(*guarded.filter, {}, kMaxEvent);
      const auto out = run_stream(*native, upstream, at);
      ASSERT_EQ(out.find("4111"), std::string::npos) << i;
      ASSERT_EQ(out.find("bob@"), std::string::npos) << i;
      const auto events = read_responses(out);
      for (std::size_t k = 0; k < events.size(); ++k)
        ASSERT_EQ(events[k].at("sequence_number").as_int64(), static_cast<std::int64_t>(k)) << i;
      const auto deltas = joined(events, "response.output_text.delta");
      ASSERT_EQ(deltas, "card <CREDIT_CARD> ok") << i;
      EXPECT_EQ(first(events, "response.output_text.done").at("text").as_string(), deltas);
      EXPECT_EQ(first(events, "response.content_part.done").at("part").at("text").as_string(), deltas);
      EXPECT_EQ(first(events, "response.output_item.done").at("item").at("content").at(0).at("text").as_string(),
                deltas);
      const auto args = joined(events, "response.function_call_arguments.delta");
      EXPECT_EQ(args, R"({"to":"<EMAIL>"})");
      EXPECT_EQ(first(events, "response.function_call_arguments.done").at("arguments").as_string(), args);
      const auto& response = events.back().at("response");
      EXPECT_EQ(events.back().at("type").as_string(), "response.completed");
      EXPECT_EQ(response.at("output").at(0).at("content").at(0).at("text").as_string(), deltas);
      EXPECT_EQ(response.at("output").at(1).at("arguments").as_string(), args);
      EXPECT_EQ(native->usage().prompt_tokens, 3u);
      EXPECT_EQ(native->usage().completion_tokens, 5u);
      EXPECT_EQ(native->facts().model, "gpt-x");
    }
  }
}

TEST(ResponseGuardResponsesNative, RejectEndsWithResponseFailedCarryingTheError) {
  Guarded guarded(true);
  auto native = translate::make_responses_native_filter(*guarded.filter, {}, kMaxEvent);
  const auto out = run_stream(*native, responses_stream(cut("write to x@y.io please", {10})), 0);
  EXPECT_EQ(out.find("x@y"), std::string::npos);
  const auto events = read_responses(out);
  const auto& last = events.back();
  EXPECT_EQ(last.at("type").as_string(), "response.failed");
  EXPECT_EQ(last.at("response").at("id").as_string(), "resp_1");
  EXPECT_EQ(last.at("response").at("status").as_string(), "failed");
  EXPECT_EQ(last.at("response").at("error").at("code").as_string(), "content_filter");
}

TEST(ResponseGuardResponsesNative, CompleteReplyMasksMessagesArgumentsAndSummaries) {
  const std::string body =
      R"({"id":"resp_1","object":"response","model":"gpt-x","status":"completed","output":[)"
      R"({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"mail a@b.co"}]},)"
      R"({"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":"card 4111111111111111","annotations":[]}]},)"
      R"({"type":"function_call","id":"f","call_id":"c","name":"n","arguments":"{\"to\":\"a@b.co\"}"}],)"
      R"("usage":{"input_tokens":2,"output_tokens":4,"total_tokens":6}})";
  Guarded guarded;
  auto native = translate::make_responses_native_filter(*guarded.filter, {}, kMaxEvent);
  std::string client;
  ASSERT_FALSE(native->translate_response(body, client).has_value());
  const auto output = json::parse(client).at("output").as_array();
  EXPECT_EQ(output[0].at("summary").at(0).at("text").as_string(), "mail <EMAIL>");
  EXPECT_EQ(output[1].at("content").at(0).at("text").as_string(), "card <CREDIT_CARD>");
  EXPECT_TRUE(output[1].at("content").at(0).as_object().contains("annotations"));
  EXPECT_EQ(output[2].at("arguments").as_string(), R"({"to":"<EMAIL>"})");
  EXPECT_EQ(native->usage().completion_tokens, 4u);

  Guarded rejecting(true);
  auto rejected = translate::make_responses_native_filter(*rejecting.filter, {}, kMaxEvent);
  ASSERT_TRUE(rejected->translate_response(body, client).has_value());
}

TEST(ResponseGuardResponsesNative, ResponseObjectsSayWhatTheResponseStoreAsks) {
  // A guarded native answer the response store keeps: every response object, streamed or
  // complete (and the one a rejection ends with), says store: true and the conversation it
  // continued, as the store's echo does without a guard.
  const translate::StoreEcho echo{true, "resp_previous"};
  Guarded guarded;
  auto native = translate::make_responses_native_filter(*guarded.filter, echo, kMaxEvent);
  const auto events = read_responses(run_stream(*native, responses_stream({"hello"}), 0));
  std::size_t responses = 0;
  for (const auto& event : events) {
    const auto* response = event.if_contains("response");
    if (response == nullptr) continue;
    ++responses;
    EXPECT_EQ(response->at("store").as_bool(), true) << event.at("type").as_string();
    EXPECT_EQ(response->at("previous_response_id").as_string(), "resp_previous");
  }
  EXPECT_EQ(responses, 2u) << "response.created and response.completed";

  const std::string body =
      R"({"id":"resp_1","object":"response","store":false,"previous_response_id":null,"output":[]})";
  Guarded whole;
  auto complete = translate::make_responses_native_filter(*whole.filter, echo, kMaxEvent);
  std::string client;
  ASSERT_FALSE(complete->translate_response(body, client).has_value());
  EXPECT_EQ(json::parse(client).at("store").as_bool(), true);
  EXPECT_EQ(json::parse(client).at("previous_response_id").as_string(), "resp_previous");

  Guarded rejecting(true);
  auto rejected = translate::make_responses_native_filter(*rejecting.filter, echo, kMaxEvent);
  const auto failed = read_responses(run_stream(*rejected, responses_stream({"mail x@y.io"}), 0)).back();
  EXPECT_EQ(failed.at("type").as_string(), "response.failed");
  EXPECT_EQ(failed.at("response").at("store").as_bool(), true);
}

TEST(ResponseGuardResponsesNative, TextKeptForTheDoneEventsIsBounded) {
  // Each event fits the bound, their text together does not: the stream ends with
  // response.failed (502) instead of holding it all.
  const std::vector<std::string> pieces(40, "twenty bytes of text");
  Guarded guarded;
  auto native = translate::make_responses_native_filter(*guarded.filter, {}, 400);
  std::string out;
  EXPECT_FALSE(native->stream_feed(responses_stream(pieces), out));
  const auto events = read_responses(out);
  EXPECT_EQ(events.back().at("type").as_string(), "response.failed");
  EXPECT_EQ(events.back().at("response").at("error").at("code").as_string(), "upstream_bad_response");
}

TEST(ResponseGuardGeminiNative, ACandidateIndexPastTheBoundEndsTheStream) {
  Guarded guarded;
  auto native = translate::make_gemini_native_filter(*guarded.filter, false, kMaxEvent);
  json::object chunk = gemini_chunk(json::array{json::object{{"text", "hi"}}});
  chunk["candidates"].as_array()[0].as_object()["index"] = 500;
  std::string out;
  EXPECT_FALSE(native->stream_feed("data: " + json::serialize(chunk) + "\n\n", out));
  const auto chunks = read_gemini(out, false);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks.back().at("error").at("code").as_int64(), 502);
}

// ---- the JSON-array splitter ----

TEST(JsonArrayStream, ElementsComeWholeAtEveryChunkingWithBracketsAndQuotesInStrings) {
  const std::string array = R"( [ {"a":"]},{\"[","b":[1,{"c":2}]} ,
 {"d":"\\"} ,[3] ] )";
  for (std::size_t at = 0; at <= array.size(); ++at) {
    for (std::size_t step = 1; step <= 3; ++step) {
      translate::JsonArrayStream stream(1024);
      std::vector<std::string> elements;
      std::size_t from = 0;
      const auto feed = [&](std::string_view piece) {
        ASSERT_TRUE(stream.feed(piece, [&](std::string_view e) { elements.emplace_back(e); }));
      };
      feed(std::string_view(array).substr(0, at));
      for (from = at; from < array.size(); from += step) feed(std::string_view(array).substr(from, step));
      ASSERT_TRUE(stream.closed());
      ASSERT_EQ(elements.size(), 3u) << at;
      EXPECT_EQ(elements[0], R"({"a":"]},{\"[","b":[1,{"c":2}]})");
      EXPECT_EQ(elements[1], R"({"d":"\\"})");
      EXPECT_EQ(elements[2], "[3]");
      for (const auto& e : elements) EXPECT_NO_THROW(json::parse(e));
    }
  }
}

TEST(JsonArrayStream, WhatIsNotAnArrayOfObjectsAndAnElementPastTheBoundFail) {
  const auto fails = [](std::string_view input, std::size_t bound = 1024) {
    translate::JsonArrayStream stream(bound);
    const bool ok = stream.feed(input, [](std::string_view) {});
    return !ok && stream.failed();
  };
  EXPECT_TRUE(fails("{}"));
  EXPECT_TRUE(fails("[1]"));
  EXPECT_TRUE(fails("[{}] x"));
  EXPECT_TRUE(fails(R"([{"a":"0123456789"}])", 8));
  EXPECT_FALSE(fails("[ {} , {} ]  "));
}

// ---- what a response webhook is given ----

TEST(ReplyTexts, NativeResponsesAndGeminiJsonArrayStreams) {
  const auto stream = responses_stream({"hel", "lo"});
  EXPECT_EQ(
      translate::reply_texts(provider::WireFormat::OpenAI, true, stream, translate::ReplyFormat::Responses).choices[0],
      "hello");
  const std::string body =
      R"({"output":[{"type":"reasoning","summary":[]},{"type":"message","content":[{"type":"output_text","text":"hi"}]}]})";
  EXPECT_EQ(
      translate::reply_texts(provider::WireFormat::OpenAI, false, body, translate::ReplyFormat::Responses).choices[0],
      "hi");
  const auto array = gemini_stream({"a", "b"}, true);
  const auto texts =
      translate::reply_texts(provider::WireFormat::Gemini, true, array, translate::ReplyFormat::GeminiJsonArray);
  EXPECT_FALSE(texts.error.has_value());
  EXPECT_EQ(texts.choices[0], "ab");
  EXPECT_TRUE(translate::reply_texts(provider::WireFormat::Gemini, true, "[{\"candidates\":[]}",
                                     translate::ReplyFormat::GeminiJsonArray)
                  .error.has_value());
}

}  // namespace
}  // namespace sluice
