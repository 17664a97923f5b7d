// Golden tests for the OpenAI -> Bedrock translators (Converse / ConverseStream chat, InvokeModel
// embeddings). Stream inputs are binary AWS event-stream frames built here from the JSON event
// lists under tests/golden/openai_bedrock/stream/<case>/upstream_events.json.
#include "translate/openai_bedrock.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "bedrock_events.hpp"
#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/aws_eventstream.hpp"
#include "translate/common.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;
using golden::sse_equal;

constexpr const char* kChatModel = "anthropic.claude-3-5-sonnet-20240620-v1:0";

RequestContext chat_context(bool stream = false) {
  RequestContext context;
  context.model = kChatModel;
  context.client_model = "claude-sonnet";
  context.stream = stream;
  return context;
}

json::object load_object(const std::string& relative) {
  auto v = golden::parse_or_fail(read_file(relative), relative);
  return v.is_object() ? v.get_object() : json::object{};
}

json::array load_array(const std::string& relative) {
  auto v = golden::parse_or_fail(read_file(relative), relative);
  return v.is_array() ? v.get_array() : json::array{};
}

// Client request -> upstream body, asserting success.
std::string translate(Translator& t, json::object body) {
  std::string upstream;
  const auto error = t.translate_request(body, upstream);
  EXPECT_FALSE(error.has_value()) << (error ? error->message : "");
  return upstream;
}

std::string encode_events(const json::array& events) {
  return golden::bedrock_event_stream(events);
}

// Feeds `bytes` in pieces of `chunk` bytes (0: all at once) with the shared harness.
harness::Run run_stream(Translator& t, std::string_view bytes, std::size_t chunk) {
  return harness::feed(t, bytes,
                       harness::Split{"", chunk == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{chunk}});
}

// Every tool-call id in a chat.completion or chunk stream, in order (the golden comparison
// treats "id" members as volatile, so stable tool ids are asserted with this).
void collect_tool_ids(const json::value& v, std::vector<std::string>& ids) {
  if (v.is_object()) {
    for (const auto& [k, member] : v.get_object()) {
      if (k == "tool_calls" && member.is_array()) {
        for (const auto& call : member.get_array())
          if (const auto* id = call.is_object() ? call.get_object().if_contains("id") : nullptr)
            ids.emplace_back(id->as_string());
      } else {
        collect_tool_ids(member, ids);
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) collect_tool_ids(item, ids);
  }
}

std::vector<std::string> tool_ids_in_sse(const std::string& sse) {
  std::vector<std::string> ids;
  for (const auto& event : golden::split_sse(sse)) {
    boost::system::error_code ec;
    const auto v = json::parse(event.data, ec);
    if (!ec) collect_tool_ids(v, ids);
  }
  return ids;
}

// ---- requests ----

class RequestGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(RequestGolden, ClientRequestBecomesConverseBody) {
  const std::string dir = std::string("request/") + GetParam();
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream = translate(*t, load_object(dir + "/client_request.json"));
  EXPECT_TRUE(json_equal(read_file(dir + "/upstream_request.json"), upstream));
  // The model travels in the URL, never in the body.
  EXPECT_EQ(upstream.find("\"model\""), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestGolden,
                         ::testing::Values("system_hoisting", "tools_roundtrip", "image_data_uri", "sampling",
                                           "tool_choice_none_history", "response_format",
                                           "reasoning_claude_tool_loop"));

TEST(OpenAiBedrockRequest, ReasoningEffortOnANonClaudeModelIs400AndNoneIsANoOp) {
  RequestContext context = chat_context();
  context.model = "meta.llama3-70b-instruct-v1:0";
  auto t = make_openai_to_bedrock(context);
  auto body = json::parse(R"({"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]})");
  std::string upstream;
  const auto error = t->translate_request(body.as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "reasoning_effort");
  auto none = make_openai_to_bedrock(context);
  const auto sent = translate(
      *none, json::parse(R"({"model":"m","reasoning_effort":"none","messages":[{"role":"user","content":"hi"}]})")
                 .as_object());
  EXPECT_TRUE(json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})", sent));
}

TEST(OpenAiBedrockRequest, NovaTwoReasoningEffortIsReasoningConfig) {
  RequestContext context = chat_context();
  context.model = "us.amazon.nova-2-lite-v1:0";
  const auto sent_for = [&](std::string_view effort) {
    auto t = make_openai_to_bedrock(context);
    return translate(*t, json::parse(std::string(R"({"model":"m","reasoning_effort":")") + std::string(effort) +
                                     R"(","messages":[{"role":"user","content":"hi"}]})")
                             .as_object());
  };
  const auto config = [&](std::string_view effort) {
    const auto sent = json::parse(sent_for(effort)).as_object();
    const auto* fields = sent.if_contains("additionalModelRequestFields");
    return fields != nullptr ? json::serialize(*fields) : std::string();
  };
  EXPECT_EQ(config("minimal"), R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}})");
  EXPECT_EQ(config("low"), R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}})");
  EXPECT_EQ(config("medium"), R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"medium"}})");
  EXPECT_EQ(config("high"), R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}})");
  EXPECT_EQ(config("xhigh"), R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}})");
  EXPECT_EQ(config("none"), "");

  context.model = "amazon.nova-pro-v1:0";  // Nova 1 cannot reason
  auto t = make_openai_to_bedrock(context);
  std::string upstream;
  const auto error = t->translate_request(
      json::parse(R"({"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]})").as_object(),
      upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "reasoning_effort");
}

TEST(OpenAiBedrockRequest, ClaudeFourSixAndLaterThinkAdaptivelyWithAnEffort) {
  EXPECT_TRUE(claude_takes_adaptive_thinking("anthropic.claude-opus-4-6-v1"));
  EXPECT_TRUE(claude_takes_adaptive_thinking("us.anthropic.claude-sonnet-4-6"));
  EXPECT_TRUE(claude_takes_adaptive_thinking("anthropic.claude-opus-4-7"));
  EXPECT_TRUE(claude_takes_adaptive_thinking("anthropic.claude-fable-5"));
  EXPECT_TRUE(claude_takes_adaptive_thinking("anthropic.claude-mythos-preview"));
  EXPECT_FALSE(claude_takes_adaptive_thinking("anthropic.claude-sonnet-4-5-20250929-v1:0"));
  EXPECT_FALSE(claude_takes_adaptive_thinking("anthropic.claude-opus-4-20250514-v1:0"));
  EXPECT_FALSE(claude_takes_adaptive_thinking("anthropic.claude-haiku-4-5-20251001-v1:0"));
  EXPECT_FALSE(claude_takes_adaptive_thinking("anthropic.claude-3-7-sonnet-20250219-v1:0"));

  RequestContext context = chat_context();
  context.model = "anthropic.claude-opus-4-6-v1";
  auto t = make_openai_to_bedrock(context);
  const auto sent = json::parse(translate(*t, json::parse(R"({"model":"m","reasoning_effort":"xhigh",
      "messages":[{"role":"user","content":"hi"}]})")
                                                  .as_object()))
                        .as_object();
  EXPECT_EQ(json::serialize(sent.at("additionalModelRequestFields")),
            R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"max"}})");
  EXPECT_EQ(sent.at("inferenceConfig").at("maxTokens"), json::value(context.default_max_tokens + 32768));
}

TEST(OpenAiBedrockRequest, ClaudeThinkingBudgetIsClampedBelowTheClientsMax) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto sent = translate(*t, json::parse(R"({"model":"m","reasoning_effort":"high","max_tokens":3000,
      "messages":[{"role":"user","content":"hi"}]})")
                                      .as_object());
  EXPECT_TRUE(
      json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":3000},
      "additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2999}}})",
                 sent));
}

TEST(OpenAiBedrockRequest, MaxTokensOmittedWhenClientGaveNone) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream =
      translate(*t, json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})").as_object());
  EXPECT_TRUE(json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})", upstream));
}

TEST(OpenAiBedrockRequest, MaxTokensUsedWhenMaxCompletionTokensAbsent) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream = translate(
      *t, json::parse(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":0,"temperature":0.0})").as_object());
  EXPECT_TRUE(json_equal(
      R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":0,"temperature":0.0}})",
      upstream));
}

TEST(OpenAiBedrockRequest, ToolChoiceNoneWithoutToolHistoryDropsToolConfig) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream = translate(*t, json::parse(R"({"messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"})")
                                          .as_object());
  EXPECT_TRUE(json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})", upstream));
}

TEST(OpenAiBedrockRequest, ToolChoiceAutoAndNamed) {
  const char* tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  auto expected = [](const char* choice) {
    return std::string(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[)"
                       R"({"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}],)"
                       R"("toolChoice":)") +
           choice + "}}";
  };
  auto t1 = make_openai_to_bedrock(chat_context());
  EXPECT_TRUE(json_equal(expected(R"({"auto":{}})"),
                         translate(*t1, json::parse(std::string(R"({"messages":[{"role":"user","content":"hi"}],)") +
                                                    tools + R"(,"tool_choice":"auto"})")
                                            .as_object())));
  auto t2 = make_openai_to_bedrock(chat_context());
  EXPECT_TRUE(
      json_equal(expected(R"({"tool":{"name":"f"}})"),
                 translate(*t2, json::parse(std::string(R"({"messages":[{"role":"user","content":"hi"}],)") + tools +
                                            R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})")
                                    .as_object())));
}

TEST(OpenAiBedrockRequest, JsonObjectBecomesForcedJsonResponseTool) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream = translate(
      *t, json::parse(R"({"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}})")
              .as_object());
  EXPECT_TRUE(json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[
      {"toolSpec":{"name":"json_response","description":"Respond with a JSON object.",
                   "inputSchema":{"json":{"type":"object"}}}}],
      "toolChoice":{"tool":{"name":"json_response"}}}})",
                         upstream));
}

TEST(OpenAiBedrockRequest, ToolResultsGoFirstInAMergedUserTurn) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto upstream = translate(*t, json::parse(R"({"messages":[{"role":"user","content":"hi"},
      {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
      {"role":"user","content":"by the way"},
      {"role":"tool","tool_call_id":"t1","content":"done"}],
      "tools":[{"type":"function","function":{"name":"f"}}]})")
                                          .as_object());
  EXPECT_TRUE(json_equal(R"({"messages":[{"role":"user","content":[{"text":"hi"}]},
      {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{"a":1}}}]},
      {"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"done"}]}},{"text":"by the way"}]}],
      "toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}]}})",
                         upstream));
}

TEST(OpenAiBedrockRequest, ToolIdRewriteIsDeterministicAndKeepsPairsMatched) {
  const char* body = R"({"messages":[{"role":"user","content":"hi"},
      {"role":"assistant","tool_calls":[{"id":"fc/1 x","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"fc/1 x","content":"ok"}],
      "tools":[{"type":"function","function":{"name":"f"}}]})";
  auto t1 = make_openai_to_bedrock(chat_context());
  auto t2 = make_openai_to_bedrock(chat_context());
  const auto a = json::parse(translate(*t1, json::parse(body).as_object()));
  const auto b = json::parse(translate(*t2, json::parse(body).as_object()));
  EXPECT_EQ(a, b);
  const auto& messages = a.at("messages").as_array();
  const auto use_id = messages.at(1).at("content").at(0).at("toolUse").at("toolUseId").as_string();
  const auto result_id = messages.at(2).at("content").at(0).at("toolResult").at("toolUseId").as_string();
  EXPECT_EQ(use_id, result_id);
  EXPECT_EQ(std::string(use_id).rfind("fc_1_x_", 0), 0u) << use_id;
  for (const char c : use_id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
}

TEST(OpenAiBedrockRequest, RejectedRequestsNameTheField) {
  for (const auto& c : load_array("errors/request_errors.json")) {
    const auto& o = c.as_object();
    SCOPED_TRACE(std::string(o.at("name").as_string()));
    auto t = make_openai_to_bedrock(chat_context());
    auto body = o.at("request").as_object();
    std::string upstream;
    const auto error = t->translate_request(body, upstream);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->status, 400u);
    EXPECT_EQ(error->type, "invalid_request_error");
    ASSERT_TRUE(error->param.has_value());
    EXPECT_EQ(*error->param, std::string(o.at("param").as_string()));
    EXPECT_NE(error->message.find(std::string(o.at("message_contains").as_string())), std::string::npos)
        << error->message;
  }
}

// ---- non-stream responses ----

class ResponseGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(ResponseGolden, ConverseResponseBecomesChatCompletion) {
  const std::string dir = std::string("response/") + GetParam();
  auto t = make_openai_to_bedrock(chat_context());
  // json_response is only unwrapped when the client asked for response_format.
  if (std::string(GetParam()) == "json_response")
    translate(*t,
              json::parse(R"({"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}})")
                  .as_object());
  std::string client;
  const auto error = t->translate_response(read_file(dir + "/upstream_response.json"), client);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(read_file(dir + "/client_response.json"), client));
  EXPECT_EQ(json::parse(client).at("id").as_string().subview().substr(0, 9), "chatcmpl-");
}

INSTANTIATE_TEST_SUITE_P(Cases, ResponseGolden,
                         ::testing::Values("text_cache_usage", "tool_use", "reasoning", "json_response"));

TEST(OpenAiBedrockResponse, ToolUseIdsKeptUnchanged) {
  auto t = make_openai_to_bedrock(chat_context());
  std::string client;
  ASSERT_FALSE(t->translate_response(read_file("response/tool_use/upstream_response.json"), client));
  std::vector<std::string> ids;
  collect_tool_ids(json::parse(client), ids);
  EXPECT_EQ(ids, (std::vector<std::string>{"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "tooluse_2"}));
}

TEST(OpenAiBedrockResponse, UsageWithCacheInOpenAiSemantics) {
  auto t = make_openai_to_bedrock(chat_context());
  std::string client;
  ASSERT_FALSE(t->translate_response(read_file("response/text_cache_usage/upstream_response.json"), client));
  const auto u = t->usage();
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 28u);  // 10 input + 12 cache read + 6 cache write
  EXPECT_EQ(u.cached_tokens, 12u);
  EXPECT_EQ(u.cache_creation_tokens, 6u);
  EXPECT_EQ(u.completion_tokens, 5u);
  EXPECT_EQ(u.total_tokens, 33u);
}

TEST(OpenAiBedrockResponse, StopReasonMapping) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"max_tokens", "length"},
      {"tool_use", "tool_calls"},
      {"guardrail_intervened", "content_filter"},
      {"content_filtered", "content_filter"},
      {"something_new", "stop"},
  };
  for (const auto& [bedrock, openai] : cases) {
    SCOPED_TRACE(bedrock);
    auto t = make_openai_to_bedrock(chat_context());
    const std::string content = std::string(bedrock) == "tool_use"
                                    ? R"({"toolUse":{"toolUseId":"t","name":"f","input":{}}})"
                                    : R"({"text":"x"})";
    std::string client;
    ASSERT_FALSE(t->translate_response(std::string(R"({"output":{"message":{"role":"assistant","content":[)") +
                                           content + R"(]}},"stopReason":")" + bedrock + R"("})",
                                       client));
    EXPECT_EQ(json::parse(client).at("choices").at(0).at("finish_reason").as_string(), openai);
  }
}

TEST(OpenAiBedrockResponse, MalformedUpstreamIs502) {
  for (const char* body : {"not json", "{}", R"({"output":{"message":{"role":"assistant"}}})"}) {
    auto t = make_openai_to_bedrock(chat_context());
    std::string client;
    const auto error = t->translate_response(body, client);
    ASSERT_TRUE(error.has_value()) << body;
    EXPECT_EQ(error->status, 502u);
    EXPECT_EQ(error->type, "server_error");
    EXPECT_EQ(error->code, "upstream_bad_response");
  }
}

// ---- errors ----

TEST(OpenAiBedrockErrors, ErrorTypeHeaderMapsStatus) {
  for (const auto& c : load_array("errors/upstream_errors.json")) {
    const auto& o = c.as_object();
    SCOPED_TRACE(std::string(o.at("name").as_string()));
    auto t = make_openai_to_bedrock(chat_context());
    const auto error =
        t->translate_error(static_cast<unsigned>(o.at("status").as_int64()), std::string(o.at("header").as_string()),
                           std::string(o.at("body").as_string()));
    EXPECT_EQ(error.status, static_cast<unsigned>(o.at("expected_status").as_int64()));
    EXPECT_TRUE(json_equal(json::serialize(o.at("expected")), http::openai_error_body(error)));
  }
}

TEST(OpenAiBedrockErrors, UnparseableBodyKeepsAtMost200Bytes) {
  auto t = make_openai_to_bedrock(chat_context());
  const auto error = t->translate_error(502, "", std::string(1000, 'x'));
  EXPECT_EQ(error.message, "backend returned HTTP 502: " + std::string(200, 'x'));
}

// ---- streams ----

class StreamGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(StreamGolden, EventStreamBecomesOpenAiChunksInAnyChunking) {
  const std::string dir = std::string("stream/") + GetParam();
  const auto bytes = encode_events(load_array(dir + "/upstream_events.json"));
  const auto expected = read_file(dir + "/client.sse");
  const bool expect_ok = std::string(GetParam()) != "exception_mid_stream";
  const auto make = [&dir]() -> std::unique_ptr<Translator> {
    auto t = make_openai_to_bedrock(chat_context(true));
    translate(*t, load_object(dir + "/client_request.json"));
    return t;
  };
  const auto whole = harness::expect_stream(make, bytes, expected, {"id", "created"}, expect_ok);
  // One stable id for the whole stream.
  std::string id;
  for (const auto& event : golden::split_sse(whole.out)) {
    boost::system::error_code ec;
    const auto v = json::parse(event.data, ec);
    if (ec || !v.is_object() || !v.as_object().contains("id")) continue;
    if (id.empty()) id = std::string(v.at("id").as_string());
    EXPECT_EQ(id, v.at("id").as_string());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, StreamGolden,
                         ::testing::Values("text_tool_usage", "text_no_usage", "exception_mid_stream",
                                           "json_response"));

TEST(OpenAiBedrockStream, ByteByByteOutputIdenticalToWholeFeed) {
  const auto bytes = encode_events(load_array("stream/text_tool_usage/upstream_events.json"));
  auto whole = make_openai_to_bedrock(chat_context(true));
  auto bytewise = make_openai_to_bedrock(chat_context(true));
  translate(*whole, load_object("stream/text_tool_usage/client_request.json"));
  translate(*bytewise, load_object("stream/text_tool_usage/client_request.json"));
  const auto a = run_stream(*whole, bytes, 0);
  const auto b = run_stream(*bytewise, bytes, 1);
  EXPECT_TRUE(sse_equal(a.out, b.out));
  EXPECT_EQ(golden::split_sse(a.out).size(), golden::split_sse(b.out).size());
}

TEST(OpenAiBedrockStream, ToolUseIdsKeptUnchangedInChunks) {
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_tool_usage/client_request.json"));
  const auto r = run_stream(*t, encode_events(load_array("stream/text_tool_usage/upstream_events.json")), 5);
  EXPECT_EQ(tool_ids_in_sse(r.out), (std::vector<std::string>{"tooluse_A", "tooluse_B"}));
}

TEST(OpenAiBedrockStream, RoleOnFirstDeltaWhenMessageStartMissing) {
  auto events = load_array("stream/text_no_usage/upstream_events.json");
  const auto bytes = encode_events(json::array{events[4], events[5], events[7]});  // "Hi", "", messageStop
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_no_usage/client_request.json"));
  const auto r = run_stream(*t, bytes, 0);
  const std::string c =
      R"("id":"<volatile>","object":"chat.completion.chunk","created":"<volatile>","model":"claude-sonnet")";
  EXPECT_TRUE(sse_equal("data: {" + c +
                            R"(,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},)"
                            R"("logprobs":null,"finish_reason":null}]})" +
                            "\n\ndata: {" + c +
                            R"(,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"content_filter"}]})" +
                            "\n\ndata: [DONE]\n\n",
                        r.out));
}

TEST(OpenAiBedrockStream, UsageRecordedFromMetadata) {
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_no_usage/client_request.json"));
  run_stream(*t, encode_events(load_array("stream/text_no_usage/upstream_events.json")), 0);
  EXPECT_TRUE(t->usage().known);
  EXPECT_EQ(t->usage().prompt_tokens, 3u);
  EXPECT_EQ(t->usage().completion_tokens, 2u);
}

TEST(OpenAiBedrockStream, CorruptedCrcIsA502ErrorEvent) {
  auto events = load_array("stream/text_no_usage/upstream_events.json");
  const auto first = encode_events(json::array{events[0]});
  auto bytes = encode_events(events);
  bytes[first.size() + 20] ^= 0x01;  // inside the second message: its CRC no longer matches
  const std::string expected =
      R"(data: {"id":"<volatile>","object":"chat.completion.chunk","created":"<volatile>",)"
      R"("model":"claude-sonnet","choices":[{"index":0,"delta":{"role":"assistant","content":""},)"
      R"("logprobs":null,"finish_reason":null}]})"
      "\n\n";
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
    SCOPED_TRACE("chunk size " + std::to_string(chunk));
    auto t = make_openai_to_bedrock(chat_context(true));
    translate(*t, load_object("stream/text_no_usage/client_request.json"));
    const auto r = run_stream(*t, bytes, chunk);
    EXPECT_FALSE(r.ok);
    const auto events_out = golden::split_sse(r.out);
    ASSERT_EQ(events_out.size(), 2u) << r.out;
    EXPECT_TRUE(sse_equal(expected, r.out.substr(0, r.out.find("\n\n") + 2)));
    const auto error = json::parse(events_out[1].data);
    EXPECT_EQ(error.at("error").at("type").as_string(), "server_error");
    EXPECT_EQ(error.at("error").at("code").as_string(), "upstream_bad_response");
    EXPECT_NE(std::string(error.at("error").at("message").as_string()).find("malformed Bedrock event stream"),
              std::string::npos);
  }
}

TEST(OpenAiBedrockStream, EndWithoutMessageStopIsAnErrorEvent) {
  auto events = load_array("stream/text_no_usage/upstream_events.json");
  const auto bytes = encode_events(json::array{events[0], events[4]});  // messageStart, "Hi"
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_no_usage/client_request.json"));
  const auto r = run_stream(*t, bytes, 3);
  EXPECT_TRUE(r.ok);
  const auto out = golden::split_sse(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  const auto error = json::parse(out[2].data);
  EXPECT_NE(std::string(error.at("error").at("message").as_string()).find("ended early"), std::string::npos);
  EXPECT_EQ(r.out.find("[DONE]"), std::string::npos);
}

TEST(OpenAiBedrockStream, EndInsideAFrameIsAnErrorEvent) {
  auto events = load_array("stream/text_no_usage/upstream_events.json");
  const auto bytes = encode_events(events);
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_no_usage/client_request.json"));
  const auto r = run_stream(*t, std::string_view(bytes).substr(0, bytes.size() - 5), 0);
  const auto out = golden::split_sse(r.out);
  ASSERT_FALSE(out.empty());
  EXPECT_NE(out.back().data.find("ended early"), std::string::npos) << out.back().data;
  EXPECT_EQ(r.out.find("[DONE]"), std::string::npos);
}

TEST(OpenAiBedrockStream, StreamFailAppendsOneErrorEvent) {
  auto t = make_openai_to_bedrock(chat_context(true));
  translate(*t, load_object("stream/text_no_usage/client_request.json"));
  std::string out;
  http::ApiError error{504, "server_error", "upstream_timeout", "upstream timed out", std::nullopt};
  t->stream_fail(error, out);
  t->stream_fail(error, out);
  t->stream_end(out);
  EXPECT_TRUE(sse_equal(
      R"(data: {"error":{"message":"upstream timed out","type":"server_error","param":null,"code":"upstream_timeout"}})"
      "\n\n",
      out));
}

// ---- embeddings ----

RequestContext embed_context(const char* model, const char* client_model) {
  RequestContext context;
  context.model = model;
  context.client_model = client_model;
  return context;
}

void check_embeddings(const char* model, const char* family, const char* response_file, bool base64) {
  auto t = make_openai_embeddings_to_bedrock(embed_context(model, family));
  auto body = load_object(std::string("embeddings/") + family + "_client_request.json");
  if (base64) body["encoding_format"] = "base64";
  EXPECT_TRUE(json_equal(read_file(std::string("embeddings/") + family + "_upstream_request.json"),
                         translate(*t, std::move(body))));
  std::string client;
  const auto error = t->translate_response(read_file(std::string("embeddings/") + response_file), client);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(read_file(std::string("embeddings/") + family +
                                   (base64 ? "_client_response_base64.json" : "_client_response.json")),
                         client));
}

TEST(OpenAiBedrockEmbeddings, TitanFloat) {
  check_embeddings("amazon.titan-embed-text-v2:0", "titan", "titan_upstream_response.json", false);
}
TEST(OpenAiBedrockEmbeddings, TitanBase64) {
  check_embeddings("amazon.titan-embed-text-v2:0", "titan", "titan_upstream_response.json", true);
}
TEST(OpenAiBedrockEmbeddings, CohereFloat) {
  check_embeddings("cohere.embed-english-v3", "cohere", "cohere_upstream_response.json", false);
}
TEST(OpenAiBedrockEmbeddings, CohereBase64) {
  check_embeddings("cohere.embed-english-v3", "cohere", "cohere_upstream_response.json", true);
}
TEST(OpenAiBedrockEmbeddings, CohereEmbeddingsByTypeForm) {
  check_embeddings("cohere.embed-multilingual-v3", "cohere", "cohere_upstream_response_typed.json", false);
}

TEST(OpenAiBedrockEmbeddings, TitanSingleStringInput) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("amazon.titan-embed-text-v1", "titan"));
  EXPECT_TRUE(json_equal(R"({"inputText":"hello"})",
                         translate(*t, json::parse(R"({"model":"titan","input":"hello"})").as_object())));
}

// A list on Titan is one call per input (the proxy sends them concurrently): the calls' bodies
// in input order, their replies joined in that order with the token counts summed.
TEST(OpenAiBedrockEmbeddings, TitanListIsOneCallPerInput) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("amazon.titan-embed-text-v2:0", "titan"));
  const auto first = translate(*t, load_object("embeddings/titan_list_client_request.json"));
  const auto expected = golden::parse_or_fail(read_file("embeddings/titan_list_upstream_requests.json"), "requests");
  const auto calls = t->upstream_calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(first, calls[0]);
  for (std::size_t i = 0; i < calls.size(); ++i)
    EXPECT_TRUE(json_equal(json::serialize(expected.as_array()[i]), calls[i])) << i;

  const auto replies = golden::parse_or_fail(read_file("embeddings/titan_list_upstream_responses.json"), "replies");
  std::vector<std::string> bodies;
  for (const auto& reply : replies.as_array()) bodies.push_back(json::serialize(reply));
  std::string client;
  const auto error = t->translate_responses(bodies, client);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(read_file("embeddings/titan_list_client_response.json"), client));
  EXPECT_EQ(t->usage().prompt_tokens, 12u);

  // A missing reply is the gateway's bug, never a shorter list.
  bodies.pop_back();
  const auto short_error = t->translate_responses(bodies, client);
  ASSERT_TRUE(short_error.has_value());
  EXPECT_EQ(short_error->status, 502u);
}

TEST(OpenAiBedrockEmbeddings, TitanSingleInputListIsOneCall) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("amazon.titan-embed-text-v2:0", "titan"));
  EXPECT_TRUE(
      json_equal(R"({"inputText":"a"})", translate(*t, json::parse(R"({"model":"titan","input":["a"]})").as_object())));
  EXPECT_TRUE(t->upstream_calls().empty());
}

TEST(OpenAiBedrockEmbeddings, MoreThan2048InputsIs400NamingInput) {
  for (const char* model : {"amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"}) {
    auto t = make_openai_embeddings_to_bedrock(embed_context(model, "m"));
    json::array inputs;
    for (int i = 0; i < 2049; ++i) inputs.emplace_back("x");
    json::object body{{"model", "m"}, {"input", std::move(inputs)}};
    std::string upstream;
    const auto error = t->translate_request(body, upstream);
    ASSERT_TRUE(error.has_value()) << model;
    EXPECT_EQ(error->status, 400u);
    EXPECT_EQ(error->param, std::optional<std::string>("input"));
    EXPECT_NE(error->message.find("2048"), std::string::npos) << error->message;
  }
}

TEST(OpenAiBedrockEmbeddings, TaskTypeIsCohereInputTypeAndRefusedOnTitan) {
  auto cohere = make_openai_embeddings_to_bedrock(embed_context("cohere.embed-english-v3", "cohere"));
  EXPECT_TRUE(json_equal(
      R"({"texts":["q"],"input_type":"search_query"})",
      translate(*cohere,
                json::parse(R"({"model":"c","input":["q"],"x_sluice_task_type":"RETRIEVAL_QUERY"})").as_object())));

  std::string upstream;
  auto other = make_openai_embeddings_to_bedrock(embed_context("cohere.embed-english-v3", "cohere"));
  auto error = other->translate_request(
      json::parse(R"({"model":"c","input":"q","x_sluice_task_type":"SEMANTIC_SIMILARITY"})").as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("x_sluice_task_type"));
  EXPECT_NE(error->message.find("SEMANTIC_SIMILARITY"), std::string::npos) << error->message;

  auto titan = make_openai_embeddings_to_bedrock(embed_context("amazon.titan-embed-text-v2:0", "titan"));
  error = titan->translate_request(
      json::parse(R"({"model":"t","input":"q","x_sluice_task_type":"RETRIEVAL_QUERY"})").as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("x_sluice_task_type"));
}

TEST(OpenAiBedrockEmbeddings, OtherModelIs400NamingIt) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("meta.llama3-8b-instruct-v1:0", "llama"));
  auto body = json::parse(R"({"model":"llama","input":"a"})").as_object();
  std::string upstream;
  const auto error = t->translate_request(body, upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_NE(error->message.find("meta.llama3-8b-instruct-v1:0"), std::string::npos) << error->message;
}

TEST(OpenAiBedrockEmbeddings, TokenArraysAre400) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("cohere.embed-english-v3", "cohere"));
  auto body = json::parse(R"({"model":"cohere","input":[[1,2,3]]})").as_object();
  std::string upstream;
  const auto error = t->translate_request(body, upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("input"));
}

TEST(OpenAiBedrockEmbeddings, ThrottlingHeaderIs429) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("cohere.embed-english-v3", "cohere"));
  const auto error = t->translate_error(400, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                                        R"({"message":"slow down"})");
  EXPECT_EQ(error.status, 429u);
  EXPECT_EQ(error.message, "slow down");
}

TEST(OpenAiBedrockEmbeddings, MalformedResponseIs502) {
  auto t = make_openai_embeddings_to_bedrock(embed_context("amazon.titan-embed-text-v2:0", "titan"));
  translate(*t, json::parse(R"({"model":"titan","input":"a"})").as_object());
  std::string client;
  const auto error = t->translate_response(R"({"embedding":["x"]})", client);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 502u);
}

TEST(OpenAiBedrockRequest, EveryGoldenRequestIsTranslatedReadOnlyAndIdenticallyOnRetry) {
  std::size_t cases = 0;
  for (const std::string dir : {"request", "stream"}) {
    for (const auto& file : harness::request_cases(dir)) {
      SCOPED_TRACE(file);
      const auto body = load_object(file);
      harness::expect_request_read_only([] { return make_openai_to_bedrock(chat_context()); }, body);
      ++cases;
    }
  }
  EXPECT_GT(cases, 3u);
}

}  // namespace
}  // namespace sluice::translate
