// responses_client: Responses API clients served by an OpenAI-format chain (the request decoder
// and the Responses encoders; the provider halves have their own tests, and
// responses_client_direct_test.cpp runs them together). Golden files under
// tests/golden/responses_client/<case>/: client_request.json -> upstream_request.json,
// upstream_response.json -> client_response.json, upstream.sse -> client.sse.
#include "translate/responses_client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/common.hpp"
#include "translate/reasoning_item.hpp"
#include "translate/responses_store_echo.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;
using golden::sse_equal;

// Minted ids and times differ on every run.
const std::vector<std::string> kVolatile = {"id", "created_at", "item_id"};

RequestContext context(bool stream = false) {
  RequestContext ctx;
  ctx.model = "claude-sonnet-4-5";
  ctx.stream = stream;
  return ctx;
}

json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  EXPECT_TRUE(value.is_object()) << text;
  return value.is_object() ? value.get_object() : json::object{};
}

// A translator that decoded `client_request` (so its encoders echo it).
std::unique_ptr<Translator> translator_for(std::string_view client_request, bool stream = false) {
  auto translator = make_responses_client(context(stream), nullptr);
  std::string upstream;
  const auto error = translator->translate_request(parse_object(client_request), upstream);
  EXPECT_FALSE(error.has_value()) << (error ? error->message : "");
  return translator;
}

std::optional<http::ApiError> convert_error(std::string_view client) {
  auto translator = make_responses_client(context(), nullptr);
  std::string upstream;
  return translator->translate_request(parse_object(client), upstream);
}

std::vector<golden::Event> events_of(const std::string& sse) {
  return golden::split_sse(sse);
}

// ----------------------------------------------------------------------------------------------
// Requests

TEST(ResponsesClientRequest, GoldenCases) {
  for (const std::string name : {"agents_round_trip", "string_input"}) {
    SCOPED_TRACE(name);
    auto translator = make_responses_client(context(), nullptr);
    std::string upstream;
    const auto error = translator->translate_request(parse_object(read_file(name + "/client_request.json")), upstream);
    ASSERT_FALSE(error.has_value()) << error->message;
    EXPECT_TRUE(json_equal(read_file(name + "/upstream_request.json"), upstream, {})) << name;
    harness::expect_request_read_only([] { return make_responses_client(context(), nullptr); },
                                      parse_object(read_file(name + "/client_request.json")));
  }
}

TEST(ResponsesClientRequest, JsonObjectFormatAndStringToolChoices) {
  auto translator = make_responses_client(context(), nullptr);
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(
      parse_object(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}},"tool_choice":"required",
                       "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]})"),
      upstream));
  const auto body = parse_object(upstream);
  EXPECT_EQ(json::serialize(body.at("response_format")), R"({"type":"json_object"})");
  EXPECT_EQ(body.at("tool_choice"), json::value("required"));
  EXPECT_FALSE(body.contains("stream"));

  translator = make_responses_client(context(), nullptr);
  ASSERT_FALSE(translator->translate_request(
      parse_object(R"({"model":"m","input":"x","tool_choice":{"type":"function","name":"f"},
                       "tools":[{"type":"function","name":"f"}],"text":{"format":{"type":"text"}}})"),
      upstream));
  const auto named = parse_object(upstream);
  EXPECT_EQ(json::serialize(named.at("tool_choice")), R"({"type":"function","function":{"name":"f"}})");
  EXPECT_FALSE(named.contains("response_format"));
}

TEST(ResponsesClientRequest, WhatCannotBeCarriedIs400NamingTheField) {
  struct Case {
    std::string body;
    std::string param;
    std::string words;  // part of the message
  };
  const std::vector<Case> cases = {
      {R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"web_search"}]})", "tools[1].type",
       "web_search"},
      {R"({"model":"m","input":"x","tools":[{"type":"file_search","vector_store_ids":["v"]}]})", "tools[0].type",
       "file_search"},
      {R"({"model":"m","input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]})",
       "tools[0].type", "code_interpreter"},
      {R"({"model":"m","input":"x","tool_choice":{"type":"web_search_preview"}})", "tool_choice.type",
       "web_search_preview"},
      {R"({"model":"m","input":"x","previous_response_id":"resp_1"})", "previous_response_id", "response store"},
      {R"({"model":"m","input":"x","store":true})", "store", "response store"},
      {R"({"model":"m","input":"x","conversation":"conv_1"})", "conversation", "conversation"},
      {R"({"model":"m","input":"x","background":true})", "background", "background"},
      {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", "input[0].type", "item_reference"},
      {R"({"model":"m","input":[{"type":"web_search_call","id":"ws_1","status":"completed"}]})", "input[0].type",
       "web_search_call"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]})",
       "input[0].content[0].type", "input_file"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})",
       "input[0].content[0].file_id", "file_id"},
      {R"({"model":"m"})", "input", "Field required"},
      {R"({"model":"m","input":7})", "input", "expected a string"},
      {R"({"model":"m","input":[{"role":"tool","content":"x"}]})", "input[0].role", "expected"},
      {R"({"model":"m","input":[{"type":"function_call","name":"f"}]})", "input[0].call_id", "Field required"},
      {R"({"model":"m","input":"x","max_output_tokens":"9"})", "max_output_tokens", "integer"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"r"}}})", "text.format.schema",
       "Field required"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"xml"}}})", "text.format.type", "json_schema"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    const auto error = convert_error(c.body);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->status, 400u);
    EXPECT_EQ(error->type, "invalid_request_error");
    EXPECT_EQ(error->param, c.param);
    EXPECT_NE(error->message.find(c.words), std::string::npos) << error->message;
  }
}

TEST(ResponsesClientRequest, ModelIsTheExchangesEffectiveModel) {
  auto translator = make_responses_client(context(), nullptr);
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(parse_object(R"({"model":"gpt-5","input":"x"})"), upstream));
  EXPECT_EQ(parse_object(upstream).at("model"), json::value("claude-sonnet-4-5"));
}

// ----------------------------------------------------------------------------------------------
// Complete replies

TEST(ResponsesClientResponse, TextAndToolCallsBecomeOutputItems) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x","metadata":{"team":"a"},"max_output_tokens":50})");
  std::string client;
  ASSERT_FALSE(translator->translate_response(read_file("response_text_tool/upstream_response.json"), client));
  EXPECT_TRUE(json_equal(read_file("response_text_tool/client_response.json"), client, kVolatile));
  const auto body = parse_object(client);
  EXPECT_TRUE(body.at("id").as_string().starts_with("resp_"));
  const auto& output = body.at("output").as_array();
  ASSERT_EQ(output.size(), 3u);
  EXPECT_TRUE(output[0].at("id").as_string().starts_with("msg_"));
  EXPECT_TRUE(output[1].at("id").as_string().starts_with("fc_"));
  EXPECT_EQ(output[1].at("call_id"), json::value("call_1"));
  EXPECT_EQ(output[2].at("call_id"), json::value("call_2"));
  EXPECT_EQ(translator->usage().prompt_tokens, 30u);
}

TEST(ResponsesClientResponse, LengthIsIncompleteWithReasonAndReasoningIsAnItem) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x"})");
  std::string client;
  ASSERT_FALSE(translator->translate_response(
      R"({"id":"c","model":"deepseek-r1","choices":[{"index":0,"message":{"role":"assistant","content":"Part",
          "reasoning_content":"Hmm."},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":9,
          "total_tokens":12,"completion_tokens_details":{"reasoning_tokens":5}}})",
      client));
  const auto body = parse_object(client);
  EXPECT_EQ(body.at("status"), json::value("incomplete"));
  EXPECT_EQ(json::serialize(body.at("incomplete_details")), R"({"reason":"max_output_tokens"})");
  const auto& output = body.at("output").as_array();
  ASSERT_EQ(output.size(), 2u);
  EXPECT_EQ(output[0].at("type"), json::value("reasoning"));
  EXPECT_EQ(output[0].at("summary").at(0).at("text"), json::value("Hmm."));
  EXPECT_EQ(output[1].at("status"), json::value("incomplete"));
  EXPECT_EQ(body.at("usage").at("output_tokens_details").at("reasoning_tokens"), json::value(5));
  EXPECT_EQ(body.at("model"), json::value("deepseek-r1"));
}

TEST(ResponsesClientResponse, MalformedUpstreamIs502) {
  for (const std::string upstream : {"not json", "[]", R"({"choices":[]})"}) {
    auto translator = translator_for(R"({"model":"m","input":"x"})");
    std::string client;
    const auto error = translator->translate_response(upstream, client);
    ASSERT_TRUE(error.has_value()) << upstream;
    EXPECT_EQ(error->status, 502u);
  }
}

// ----------------------------------------------------------------------------------------------
// Streams

TEST(ResponsesClientStream, EverySplitGivesTheGoldenEvents) {
  for (const std::string name : {"stream_text_tool", "stream_reasoning_length", "stream_error"}) {
    SCOPED_TRACE(name);
    harness::expect_stream(
        [] { return translator_for(R"({"model":"gpt-5","input":"x","stream":true,"metadata":{"k":"v"}})", true); },
        read_file(name + "/upstream.sse"), read_file(name + "/client.sse"), kVolatile);
  }
}

TEST(ResponsesClientStream, SequenceNumbersCountUpAndItemIdsHoldWithinAnItem) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x","stream":true})", true);
  const auto run = harness::feed(*translator, read_file("stream_text_tool/upstream.sse"), harness::Split{"", {5}});
  ASSERT_TRUE(run.ok);
  const auto events = events_of(run.out);
  ASSERT_FALSE(events.empty());
  std::string response_id;
  std::map<std::uint64_t, std::string> item_ids;  // output_index -> id
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto data = parse_object(events[i].data);
    EXPECT_EQ(data.at("type"), json::value(events[i].name));
    EXPECT_EQ(data.at("sequence_number"), json::value(i)) << events[i].name;
    if (const auto* response = data.if_contains("response")) {
      const auto id = std::string(response->at("id").as_string());
      if (response_id.empty()) response_id = id;
      EXPECT_EQ(id, response_id);
    }
    if (const auto* item = data.if_contains("item")) {
      const auto index = data.at("output_index").to_number<std::uint64_t>();
      const auto id = std::string(item->at("id").as_string());
      if (!item_ids.contains(index)) item_ids[index] = id;
      EXPECT_EQ(item_ids[index], id);
    }
    if (const auto* item_id = data.if_contains("item_id")) {
      const auto index = data.at("output_index").to_number<std::uint64_t>();
      EXPECT_EQ(item_ids[index], std::string(item_id->as_string())) << events[i].name;
    }
  }
  EXPECT_EQ(events.front().name, "response.created");
  EXPECT_EQ(events.back().name, "response.completed");
  const auto completed = parse_object(events.back().data).at("response").as_object();
  EXPECT_EQ(completed.at("output").as_array().size(), 2u);
  EXPECT_EQ(completed.at("usage").at("input_tokens"), json::value(18));
  EXPECT_EQ(completed.at("usage").at("input_tokens_details").at("cached_tokens"), json::value(5));
}

TEST(ResponsesClientStream, MidStreamErrorIsResponseFailedAndNothingFollows) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x","stream":true})", true);
  const auto run = harness::feed(*translator, read_file("stream_error/upstream.sse"), harness::Split{"", {}});
  EXPECT_FALSE(run.ok);
  const auto events = events_of(run.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "response.failed");
  const auto failed = parse_object(events.back().data).at("response").as_object();
  EXPECT_EQ(failed.at("status"), json::value("failed"));
  EXPECT_EQ(failed.at("error").at("message"), json::value("Rate limit reached for requests"));
  EXPECT_EQ(run.out.find("ignored"), std::string::npos);
}

TEST(ResponsesClientStream, StreamFailWritesResponseFailed) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x","stream":true})", true);
  std::string out;
  translator->stream_fail(http::ApiError{504, "timeout_error", "upstream_timeout", "timed out", {}}, out);
  const auto events = events_of(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].name, "response.created");
  EXPECT_EQ(events[1].name, "response.in_progress");
  EXPECT_EQ(events[2].name, "response.failed");
  EXPECT_EQ(parse_object(events[2].data).at("response").at("error").at("code"), json::value("upstream_timeout"));
}

// ----------------------------------------------------------------------------------------------
// Signed reasoning through encrypted_content (translate/reasoning_item.hpp)

TEST(ResponsesReasoningSeal, SealedContentReadsBackAndForeignOrAlteredContentIsRecognised) {
  const auto thinking = seal_thinking_block(json::object{{"type", "thinking"}, {"thinking", "t"}, {"signature", "S"}});
  ASSERT_TRUE(thinking.starts_with("sluice.v1."));
  auto read = unseal_reasoning(thinking);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(json::serialize(read->thinking_block), R"({"type":"thinking","thinking":"t","signature":"S"})");
  read = unseal_reasoning(seal_thought_signature("call_1", "G"));
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->thinking_block.empty());
  EXPECT_EQ(read->call_id, "call_1");
  EXPECT_EQ(read->thought_signature, "G");
  read = unseal_reasoning(seal_thinking_block(json::object{{"type", "redacted_thinking"}, {"data", "R"}}));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(json::serialize(read->thinking_block), R"({"type":"redacted_thinking","data":"R"})");

  EXPECT_FALSE(is_sealed_reasoning("gAAAAABoOpenAiFernetToken=="));
  for (const std::string& altered :
       {std::string("sluice.v1.!!!"), std::string("sluice.v1.") + base64_encode("not json"),
        std::string("sluice.v1.") + base64_encode(R"({"family":"openai","block":{}})"),
        std::string("sluice.v1.") + base64_encode(R"({"family":"anthropic","block":{"type":"thinking"}})"),
        std::string("sluice.v1.") + base64_encode(R"({"family":"google","call_id":"c"})")}) {
    SCOPED_TRACE(altered);
    EXPECT_TRUE(is_sealed_reasoning(altered));
    EXPECT_FALSE(unseal_reasoning(altered).has_value());
  }
}

TEST(ResponsesClientRequest, AlteredSealedReasoningIs400NamingEncryptedContent) {
  json::array input;
  input.push_back(json::object{{"role", "user"}, {"content", "q"}});
  input.push_back(
      json::object{{"type", "reasoning"}, {"summary", json::array{}}, {"encrypted_content", "sluice.v1.bm90IGpzb24="}});
  const auto error = convert_error(json::serialize(json::object{{"model", "m"}, {"input", input}}));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "input[1].encrypted_content");
  EXPECT_NE(error->message.find("encrypted_content"), std::string::npos);
}

TEST(ResponsesClientResponse, SignaturesAreSealedInReasoningItemsThatReadBack) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x"})");
  std::string client;
  ASSERT_FALSE(translator->translate_response(
      R"({"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
          "reasoning_content":"Think.","thinking_blocks":[{"type":"thinking","thinking":"Think.","signature":"S1"},
          {"type":"redacted_thinking","data":"R1"}],
          "tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"},
                         "extra_content":{"google":{"thought_signature":"G1"}}}]},
          "finish_reason":"tool_calls"}]})",
      client));
  const auto body = parse_object(client);
  const auto& output = body.at("output").as_array();
  ASSERT_EQ(output.size(), 4u) << client;
  EXPECT_EQ(output[0].at("summary").at(0).at("text"), json::value("Think."));
  auto read = unseal_reasoning(output[0].at("encrypted_content").as_string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(json::serialize(read->thinking_block), R"({"type":"thinking","thinking":"Think.","signature":"S1"})");
  EXPECT_TRUE(output[1].at("summary").as_array().empty());
  read = unseal_reasoning(output[1].at("encrypted_content").as_string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(json::serialize(read->thinking_block), R"({"type":"redacted_thinking","data":"R1"})");
  read = unseal_reasoning(output[2].at("encrypted_content").as_string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->call_id, "call_a");
  EXPECT_EQ(read->thought_signature, "G1");
  EXPECT_EQ(output[3].at("type"), json::value("function_call"));

  // Sent back, they reach the provider: tests/unit/responses_reasoning_test.cpp.
}

TEST(ResponsesClientStream, SignaturesCloseReasoningItemsWithSealedContent) {
  auto translator = translator_for(R"({"model":"gpt-5","input":"x","stream":true})", true);
  const std::string upstream =
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"reasoning_content\":\"Thi\"}}]}\n\n"
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"nk.\"}}]}\n\n"
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"thinking_blocks\":[{\"type\":"
      "\"thinking\",\"thinking\":\"\",\"signature\":\"S1\"}]}}]}\n\n"
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"More.\"}}]}\n\n"
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":"
      "\"call_g\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"},\"extra_content\":"
      "{\"google\":{\"thought_signature\":\"G1\"}}}]}}]}\n\n"
      "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"
      "\n\n"
      "data: [DONE]\n\n";
  const auto run = harness::feed(*translator, upstream, harness::Split{"", {}});
  ASSERT_TRUE(run.ok);
  const auto events = events_of(run.out);
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().name, "response.completed");
  std::vector<json::object> done;
  for (const auto& event : events)
    if (event.name == "response.output_item.done") done.push_back(parse_object(event.data).at("item").as_object());
  const auto completed = parse_object(events.back().data);
  const auto& output = completed.at("response").at("output").as_array();
  ASSERT_EQ(done.size(), 3u) << run.out;
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(done[0].at("summary").at(0).at("text"), json::value("Think."));
  auto read = unseal_reasoning(done[0].at("encrypted_content").as_string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(json::serialize(read->thinking_block), R"({"type":"thinking","thinking":"Think.","signature":"S1"})");
  EXPECT_EQ(done[1].at("summary").at(0).at("text"), json::value("More."));
  read = unseal_reasoning(done[1].at("encrypted_content").as_string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->call_id, "call_g");
  EXPECT_EQ(read->thought_signature, "G1");
  EXPECT_EQ(done[2].at("type"), json::value("function_call"));
  EXPECT_EQ(done[2].at("call_id"), json::value("call_g"));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(output[i], json::value(done[i]));
}

TEST(ResponsesClientResponse, StoredAnswersEchoStoreAndPreviousResponseId) {
  auto ctx = context();
  ctx.responses_stored = true;
  ctx.responses_previous_id = "resp_prev";
  auto translator = make_responses_client(ctx, nullptr);
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(parse_object(R"({"model":"m","input":"x","store":false})"), upstream));
  std::string client;
  ASSERT_FALSE(translator->translate_response(read_file("response_text_tool/upstream_response.json"), client));
  const auto body = parse_object(client);
  EXPECT_EQ(body.at("store"), json::value(true));
  EXPECT_EQ(body.at("previous_response_id"), json::value("resp_prev"));

  translator = translator_for(R"({"model":"m","input":"x"})");
  ASSERT_FALSE(translator->translate_response(read_file("response_text_tool/upstream_response.json"), client));
  EXPECT_EQ(parse_object(client).at("store"), json::value(false));
  EXPECT_TRUE(parse_object(client).at("previous_response_id").is_null());
}

TEST(ResponsesStoreEcho, NativeResponseObjectsSayStoreAndPreviousResponseId) {
  auto echo = make_responses_store_echo(false, {true, "resp_prev"}, 1 << 20);
  std::string client;
  ASSERT_FALSE(echo->translate_response(
      R"({"id":"resp_1","object":"response","model":"gpt-4o","store":false,"previous_response_id":null,
          "output":[],"usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}})",
      client));
  auto body = parse_object(client);
  EXPECT_EQ(body.at("store"), json::value(true));
  EXPECT_EQ(body.at("previous_response_id"), json::value("resp_prev"));
  EXPECT_EQ(echo->usage().prompt_tokens, 3u);
  EXPECT_TRUE(echo->translate_response("not json", client).has_value());

  // A stream: the events with a response object are rewritten, the others pass as they came.
  auto stream = make_responses_store_echo(true, {false, "resp_prev"}, 1 << 20);
  const std::string delta =
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n";
  const std::string upstream =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"store\":false,"
      "\"previous_response_id\":null}}\n\n" +
      delta +
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"store\":false,"
      "\"previous_response_id\":null,\"usage\":{\"input_tokens\":4,\"output_tokens\":1,\"total_tokens\":5}}}\n\n";
  const auto run = harness::feed(*stream, upstream, harness::Split{"", {7}});
  ASSERT_TRUE(run.ok);
  const std::string& out = run.out;
  const auto events = events_of(out);
  ASSERT_EQ(events.size(), 3u) << out;
  for (const std::size_t i : {0u, 2u}) {
    const auto data = parse_object(events[i].data);
    EXPECT_EQ(data.at("response").at("store"), json::value(false));
    EXPECT_EQ(data.at("response").at("previous_response_id"), json::value("resp_prev"));
  }
  EXPECT_NE(out.find(delta), std::string::npos);
  EXPECT_EQ(stream->usage().prompt_tokens, 4u);
}

}  // namespace
}  // namespace sluice::translate
