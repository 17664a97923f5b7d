// Golden tests for the OpenAI Chat Completions -> Anthropic Messages translator. Case files live
// under tests/golden/openai_anthropic/: request/<case>/{client_request,upstream_request}.json,
// response/<case>/{upstream_response,client_response}.json (+ optional client_request.json),
// stream/<case>/{client_request.json,upstream.sse,client.sse}, errors/cases.json and
// request_errors/cases.json.
#include "translate/openai_anthropic.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "golden.hpp"
#include "stream_harness.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;

RequestContext context() {
  RequestContext c;
  c.model = "claude-sonnet-4-5";
  c.client_model = "claude-sonnet-4-5";
  return c;
}

RequestContext vertex_context() {
  RequestContext c = context();
  c.model_in_body = false;
  c.anthropic_body_version = "vertex-2023-10-16";
  return c;
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.get_object();
}

// Runs the client request through translate_request; the request must be accepted.
void prime(Translator& t, const std::string& client_request_file) {
  auto body = parse_object(golden::read_file(client_request_file));
  std::string upstream;
  const auto err = t.translate_request(body, upstream);
  ASSERT_FALSE(err.has_value()) << err->message;
}

// request/<name>: client_request.json -> upstream_request.json, compared exactly (no volatile keys:
// tool ids must come out as written).
void expect_request(const std::string& name, RequestContext c = context()) {
  auto t = make_openai_to_anthropic(std::move(c));
  auto body = parse_object(golden::read_file("request/" + name + "/client_request.json"));
  std::string upstream;
  const auto err = t->translate_request(body, upstream);
  ASSERT_FALSE(err.has_value()) << err->message;
  EXPECT_TRUE(golden::json_equal(golden::read_file("request/" + name + "/upstream_request.json"), upstream, {}));
}

// response/<name>: upstream_response.json -> client_response.json; only "created" is volatile
// (the id is the Anthropic message id and tool-call ids must be kept).
void expect_response(const std::string& name, const std::string& client_request = "") {
  auto t = make_openai_to_anthropic(context());
  if (!client_request.empty()) prime(*t, client_request);
  std::string client;
  const auto err = t->translate_response(golden::read_file("response/" + name + "/upstream_response.json"), client);
  ASSERT_FALSE(err.has_value()) << err->message;
  EXPECT_TRUE(golden::json_equal(golden::read_file("response/" + name + "/client_response.json"), client, {"created"}));
}

std::unique_ptr<Translator> stream_translator(const std::string& name) {
  auto t = make_openai_to_anthropic(context());
  prime(*t, "stream/" + name + "/client_request.json");
  return t;
}

// stream/<name>: upstream.sse -> client.sse, in every split of the shared harness.
harness::Run expect_stream(const std::string& name) {
  SCOPED_TRACE(name);
  const auto expected = golden::read_file("stream/" + name + "/client.sse");
  return harness::expect_stream([&name] { return stream_translator(name); },
                                golden::read_file("stream/" + name + "/upstream.sse"), expected, {"created"});
}

// ---------------------------------------------------------------------------------------------
// Requests

TEST(OpenAiAnthropicRequest, SystemAndDeveloperMessagesAllGoToSystemBlocksInOrder) {
  expect_request("system_developer");
}

TEST(OpenAiAnthropicRequest, ConsecutiveToolMessagesMergeIntoOneUserTurnWithResultsFirst) {
  expect_request("tool_results_merged");
}

TEST(OpenAiAnthropicRequest, ToolIdsWithDotOrColonAreRewrittenIdenticallyInToolUseAndToolResult) {
  expect_request("tool_id_rewrite");
}

TEST(OpenAiAnthropicRequest, ImageDataUriBecomesBase64AndUrlBecomesUrlSourceEmptyTextDropped) {
  expect_request("images");
}

TEST(OpenAiAnthropicRequest, ZeroSamplingKeptStopStringBecomesListUserBecomesMetadataDefaultMaxTokens) {
  expect_request("sampling_zero_stop_string");
}

TEST(OpenAiAnthropicRequest, MaxCompletionTokensWinsOverMaxTokensAndStopListKept) {
  expect_request("max_completion_tokens_precedence");
}

TEST(OpenAiAnthropicRequest, MaxTokensAloneIsUsed) {
  expect_request("max_tokens_only");
}

TEST(OpenAiAnthropicRequest, DefaultMaxTokensComesFromContext) {
  RequestContext c = context();
  c.default_max_tokens = 1000;
  expect_request("default_max_tokens_from_context", c);
}

TEST(OpenAiAnthropicRequest, ToolsAutoDefaultSchemaAndDescription) {
  expect_request("tools_auto");
}

TEST(OpenAiAnthropicRequest, RequiredBecomesAnyAndParallelFalseDisablesParallelToolUse) {
  expect_request("tool_choice_required_no_parallel");
}

TEST(OpenAiAnthropicRequest, NamedToolChoiceBecomesTool) {
  expect_request("tool_choice_named");
}

TEST(OpenAiAnthropicRequest, ToolChoiceNoneBecomesNone) {
  expect_request("tool_choice_none");
}

TEST(OpenAiAnthropicRequest, ParallelFalseWithoutToolChoiceBecomesAutoWithDisableParallel) {
  expect_request("parallel_false_no_choice");
}

TEST(OpenAiAnthropicRequest, JsonSchemaOnAModelWithStructuredOutputsBecomesOutputConfigFormat) {
  expect_request("response_format_json_schema");
}

TEST(OpenAiAnthropicRequest, JsonSchemaOnAnOlderModelKeepsTheForcedJsonResponseTool) {
  RequestContext c = context();
  c.model = "claude-3-5-sonnet-20241022";
  expect_request("response_format_json_schema_older_model", c);
}

TEST(OpenAiAnthropicRequest, JsonSchemaOnVertexKeepsTheForcedJsonResponseTool) {
  expect_request("response_format_json_schema_vertex", vertex_context());
}

TEST(OpenAiAnthropicRequest, ReasoningEffortBecomesThinkingAndRaisesTheDefaultMaxTokensByTheBudget) {
  expect_request("reasoning_effort_default_max_tokens");
}

TEST(OpenAiAnthropicRequest, ThinkingBudgetIsClampedBelowTheClientsMaxTokens) {
  expect_request("reasoning_budget_clamped_below_max");
}

TEST(OpenAiAnthropicRequest, ReasoningEffortNoneSendsNoThinkingAndNoThinkingBlocks) {
  expect_request("reasoning_none_sends_no_thinking");
}

TEST(OpenAiAnthropicRequest, ToolLoopReplaysSignedThinkingBlocksFirstWithTheExactBudget) {
  expect_request("reasoning_tool_loop_replays_signed_thinking");
}

TEST(OpenAiAnthropicRequest, ToolLoopWithoutThinkingBlocksContinuesWithoutThinking) {
  expect_request("reasoning_tool_loop_without_thinking_blocks_continues_without_thinking");
}

TEST(OpenAiAnthropicRequest, ReasoningWithNativeJsonSchemaSendsBoth) {
  expect_request("reasoning_with_native_json_schema");
}

TEST(OpenAiAnthropicRequest, ClaudeFourSixAndLaterThinkAdaptivelyWithAnEffort) {
  // The upstream request for `model` and the pivot members `extra`.
  const auto sent = [](std::string model, std::string extra, RequestContext c = context()) {
    c.model = std::move(model);
    auto t = make_openai_to_anthropic(c);
    std::string upstream;
    const auto error = t->translate_request(
        parse_object(R"({"model":"m",)" + extra + R"("messages":[{"role":"user","content":"Hi"}]})"), upstream);
    EXPECT_FALSE(error.has_value()) << error->message;
    return parse_object(upstream);
  };
  auto body = sent("claude-opus-4-6", R"("reasoning_effort":"high",)");
  EXPECT_EQ(json::serialize(body.at("thinking")), R"({"type":"adaptive"})");
  EXPECT_EQ(json::serialize(body.at("output_config")), R"({"effort":"high"})");
  EXPECT_EQ(body.at("max_tokens"), json::value(4096 + 16384));
  EXPECT_EQ(sent("claude-opus-4-7", R"("reasoning_effort":"xhigh",)").at("output_config").at("effort"),
            json::value("max"));
  EXPECT_EQ(sent("claude-sonnet-4-6", R"("reasoning_effort":"xhigh",)").at("output_config").at("effort"),
            json::value("high"));
  EXPECT_EQ(sent("claude-sonnet-4-6-20260101", R"("reasoning_effort":"minimal",)").at("output_config").at("effort"),
            json::value("low"));
  EXPECT_EQ(sent("claude-mythos-preview", R"("reasoning_effort":"medium",)").at("output_config").at("effort"),
            json::value("medium"));
  // A dynamic ask: Claude's default effort. A client max is kept (no budget to fit below it).
  body = sent("claude-opus-4-6", R"("reasoning_effort":"medium","x_sluice_thinking_budget":-1,"max_tokens":900,)");
  EXPECT_EQ(json::serialize(body.at("thinking")), R"({"type":"adaptive"})");
  EXPECT_FALSE(body.contains("output_config"));
  EXPECT_EQ(body.at("max_tokens"), json::value(900));
  // Structured output and effort share output_config.
  body = sent("claude-opus-4-6",
              R"("reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"name":"x",
                 "schema":{"type":"object"}}},)");
  EXPECT_EQ(body.at("output_config").at("effort"), json::value("low"));
  EXPECT_TRUE(body.at("output_config").as_object().contains("format"));
  // Earlier models, and Vertex AI, keep the budget.
  for (const char* model : {"claude-sonnet-4-5", "claude-opus-4-5-20251101", "claude-haiku-4-6",
                            "claude-opus-4-20250514", "claude-3-7-sonnet-latest", "my-alias"}) {
    SCOPED_TRACE(model);
    EXPECT_EQ(sent(model, R"("reasoning_effort":"high",)").at("thinking").at("type"), json::value("enabled"));
  }
  EXPECT_EQ(sent("claude-opus-4-6", R"("reasoning_effort":"high",)", vertex_context()).at("thinking").at("type"),
            json::value("enabled"));
}

TEST(OpenAiAnthropicRequest, StructuredOutputModelNames) {
  // Through the request: json_schema goes native or to the tool, by model name.
  const auto native = [](std::string model) {
    RequestContext c = context();
    c.model = std::move(model);
    auto t = make_openai_to_anthropic(c);
    auto body = parse_object(golden::read_file("request/response_format_json_schema/client_request.json"));
    std::string upstream;
    EXPECT_FALSE(t->translate_request(body, upstream).has_value());
    return upstream.find("\"output_config\"") != std::string::npos;
  };
  for (const char* yes :
       {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5",
        "claude-opus-4-5@20251101", "claude-sonnet-4-6", "claude-opus-5", "my-alias", "claude-latest"})
    EXPECT_TRUE(native(yes)) << yes;
  for (const char* no :
       {"claude-3-5-sonnet-20241022", "claude-3-7-sonnet-latest", "claude-sonnet-4-20250514", "claude-opus-4-0",
        "claude-opus-4@20250514", "claude-2.1", "claude-instant-1.2", "claude-3-haiku-20240307"})
    EXPECT_FALSE(native(no)) << no;
}

TEST(OpenAiAnthropicRequest, JsonObjectResponseFormatAddsObjectSchemaTool) {
  expect_request("response_format_json_object");
}

TEST(OpenAiAnthropicRequest, AssistantNullContentWithToolCallsGivesOnlyToolUseBlocksEmptyArgsAreEmptyObject) {
  expect_request("assistant_tool_calls_only");
}

TEST(OpenAiAnthropicRequest, ConsecutiveAssistantMessagesMergeAndFinalPrefillIsRightTrimmed) {
  expect_request("assistant_merge_prefill");
}

TEST(OpenAiAnthropicRequest, StreamTrueIsKeptInBody) {
  expect_request("stream");
}

TEST(OpenAiAnthropicRequest, VertexModeOmitsModelAndPutsAnthropicVersionInBody) {
  expect_request("vertex_stream", vertex_context());
}

// request_errors/cases.json: [{"name", "request", "status", "param"}]: each request is rejected
// with that status, type invalid_request_error and the named param.
TEST(OpenAiAnthropicRequest, InexpressibleOrMalformedRequestsAreRejectedNamingTheField) {
  const auto cases = golden::parse_or_fail(golden::read_file("request_errors/cases.json"), "cases");
  ASSERT_TRUE(cases.is_array());
  ASSERT_FALSE(cases.get_array().empty());
  for (const auto& item : cases.get_array()) {
    const auto& c = item.get_object();
    const std::string name(c.at("name").get_string());
    auto t = make_openai_to_anthropic(context());
    auto body = c.at("request").get_object();
    std::string upstream;
    const auto err = t->translate_request(body, upstream);
    ASSERT_TRUE(err.has_value()) << name << ": request was accepted: " << upstream;
    EXPECT_EQ(err->status, c.at("status").to_number<unsigned>()) << name;
    EXPECT_EQ(err->type, "invalid_request_error") << name;
    ASSERT_TRUE(err->param.has_value()) << name;
    EXPECT_EQ(*err->param, c.at("param").get_string()) << name << ": " << err->message;
    if (const auto* contains = c.if_contains("message_contains")) {
      EXPECT_NE(err->message.find(contains->get_string().c_str()), std::string::npos) << name << ": " << err->message;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

TEST(OpenAiAnthropicResponse, AllTextBlocksConcatenatedThinkingToReasoningContentCacheUsage) {
  expect_response("text_thinking_cache_usage");
}

TEST(OpenAiAnthropicResponse, ToolUseBecomesToolCallsWithSerializedInputAndIdKept) {
  expect_response("tool_use");
}

TEST(OpenAiAnthropicResponse, OnlyToolCallsGiveNullContent) {
  expect_response("tool_use_only");
}

TEST(OpenAiAnthropicResponse, ModelContextWindowExceededIsLength) {
  expect_response("context_window_exceeded");
}

TEST(OpenAiAnthropicResponse, MaxTokensIsLength) {
  expect_response("max_tokens");
}

TEST(OpenAiAnthropicResponse, UnknownStopReasonIsStop) {
  expect_response("unknown_stop_reason");
}

TEST(OpenAiAnthropicResponse, RefusalIsContentFilter) {
  expect_response("refusal");
}

TEST(OpenAiAnthropicResponse, JsonResponseToolCallBecomesContentWithFinishStop) {
  expect_response("json_mode", "request/response_format_json_object/client_request.json");
}

TEST(OpenAiAnthropicResponse, UsageAccessorReportsOpenAiSemantics) {
  auto t = make_openai_to_anthropic(context());
  std::string client;
  ASSERT_FALSE(
      t->translate_response(golden::read_file("response/text_thinking_cache_usage/upstream_response.json"), client));
  const auto u = t->usage();
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 18u);
  EXPECT_EQ(u.cached_tokens, 5u);
  EXPECT_EQ(u.cache_creation_tokens, 3u);
  EXPECT_EQ(u.completion_tokens, 20u);
  EXPECT_EQ(u.total_tokens, 38u);
}

TEST(OpenAiAnthropicResponse, MalformedUpstreamBodyIs502UpstreamBadResponse) {
  for (const std::string body : {"not json", "[]", "{\"type\":\"message\"}"}) {
    auto t = make_openai_to_anthropic(context());
    std::string client;
    const auto err = t->translate_response(body, client);
    ASSERT_TRUE(err.has_value()) << body;
    EXPECT_EQ(err->status, 502u);
    EXPECT_EQ(err->type, "server_error");
    EXPECT_EQ(err->code, "upstream_bad_response");
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: errors/cases.json: [{"name", "status", "body", "expected":
// {"status","type","code","message"}}]

TEST(OpenAiAnthropicError, ProviderErrorsMapToOpenAiErrorsWith529As503) {
  const auto cases = golden::parse_or_fail(golden::read_file("errors/cases.json"), "cases");
  ASSERT_TRUE(cases.is_array());
  ASSERT_FALSE(cases.get_array().empty());
  for (const auto& item : cases.get_array()) {
    const auto& c = item.get_object();
    const std::string name(c.at("name").get_string());
    auto t = make_openai_to_anthropic(context());
    const auto err = t->translate_error(c.at("status").to_number<unsigned>(), "", c.at("body").get_string());
    const auto& e = c.at("expected").get_object();
    EXPECT_EQ(err.status, e.at("status").to_number<unsigned>()) << name;
    EXPECT_EQ(err.type, e.at("type").get_string()) << name;
    EXPECT_EQ(err.code, e.at("code").get_string()) << name;
    EXPECT_EQ(err.message, e.at("message").get_string()) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Streams

TEST(OpenAiAnthropicStream, TextThenToolCallToolIndexZeroRoleOnlyOnFirstChunkPingIgnored) {
  const auto run = expect_stream("text_then_tool");
  EXPECT_TRUE(run.ok);
  // Role appears exactly once.
  std::size_t roles = 0;
  for (const auto& e : golden::split_sse(run.out)) roles += e.data.find("\"role\"") != std::string::npos;
  EXPECT_EQ(roles, 1u);
}

TEST(OpenAiAnthropicStream, IncludeUsageGivesNullUsageOnChunksThenUsageChunkWithCumulativeCounts) {
  const auto run = expect_stream("include_usage");
  EXPECT_TRUE(run.ok);
  auto t = stream_translator("include_usage");
  harness::feed(*t, golden::read_file("stream/include_usage/upstream.sse"), {"whole", {}});
  const auto u = t->usage();
  EXPECT_EQ(u.prompt_tokens, 18u);
  EXPECT_EQ(u.completion_tokens, 20u);
  EXPECT_EQ(u.total_tokens, 38u);
}

TEST(OpenAiAnthropicStream, WithoutIncludeUsageNoUsageFieldAndNoUsageChunk) {
  const auto run = expect_stream("no_include_usage");
  EXPECT_TRUE(run.ok);
  EXPECT_EQ(run.out.find("usage"), std::string::npos);
}

TEST(OpenAiAnthropicStream, ErrorEventMidStreamBecomesOpenAiErrorEventAndFeedReturnsFalse) {
  const auto run = expect_stream("error_mid_stream");
  EXPECT_FALSE(run.ok);
  EXPECT_EQ(run.out.find("[DONE]"), std::string::npos);
}

TEST(OpenAiAnthropicStream, StreamEndingWithoutMessageStopEndsWithErrorEvent) {
  const auto run = expect_stream("truncated");
  EXPECT_TRUE(run.ok);
  EXPECT_EQ(run.out.find("[DONE]"), std::string::npos);
  EXPECT_EQ(run.out.find("finish_reason\":\"stop"), std::string::npos);
}

TEST(OpenAiAnthropicStream, ThinkingDeltasBecomeReasoningContentUnknownEventsIgnored) {
  EXPECT_TRUE(expect_stream("thinking_unknown_events").ok);
}

TEST(OpenAiAnthropicStream, JsonResponseToolArgumentsStreamAsContentWithFinishStop) {
  EXPECT_TRUE(expect_stream("json_mode").ok);
}

TEST(OpenAiAnthropicStream, StreamFailAppendsOneErrorEventAndNothingAfter) {
  auto t = make_openai_to_anthropic(context());
  prime(*t, "stream/no_include_usage/client_request.json");
  std::string out;
  ASSERT_TRUE(
      t->stream_feed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
                     "\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
                     out));
  out.clear();
  t->stream_fail(http::ApiError{504, "server_error", "upstream_timeout", "upstream timed out", std::nullopt}, out);
  t->stream_end(out);
  EXPECT_FALSE(t->stream_feed("event: ping\ndata: {\"type\":\"ping\"}\n\n", out));
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 1u) << out;
  EXPECT_TRUE(golden::json_equal(
      R"({"error":{"message":"upstream timed out","type":"server_error","param":null,"code":"upstream_timeout"}})",
      events[0].data));
}

TEST(OpenAiAnthropicStream, NonJsonDataForAKnownEventIsA502ErrorEvent) {
  auto t = make_openai_to_anthropic(context());
  prime(*t, "stream/no_include_usage/client_request.json");
  std::string out;
  EXPECT_FALSE(t->stream_feed("event: message_start\ndata: {oops\n\n", out));
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 1u) << out;
  EXPECT_NE(events[0].data.find("upstream_bad_response"), std::string::npos);
}

TEST(OpenAiAnthropicStream, EventsWithoutEventLineUseDataTypeAndStrayDeltasAreIgnored) {
  auto t = make_openai_to_anthropic(context());
  prime(*t, "stream/no_include_usage/client_request.json");
  std::string out;
  const std::string upstream =
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_D\",\"model\":\"m\"}}\n\n"
      "data: "
      "{\"type\":\"content_block_delta\",\"index\":9,\"delta\":{\"type\":\"text_delta\",\"text\":"
      "\"x\"}}\n\n"
      "data: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_"
      "tokens\":-3}}\n\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  ASSERT_TRUE(t->stream_feed(upstream, out));
  t->stream_end(out);
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 3u) << out;
  EXPECT_NE(events[0].data.find("\"role\":\"assistant\""), std::string::npos);
  EXPECT_NE(events[1].data.find("\"finish_reason\":\"stop\""), std::string::npos);
  EXPECT_EQ(events[2].data, "[DONE]");
  EXPECT_EQ(t->usage().completion_tokens, 0u);
}

TEST(OpenAiAnthropicStream, GarbageNeverCrashesAndEndsWithDoneOrOneErrorEvent) {
  const std::vector<std::string> inputs = {
      "event: content_block_start\ndata: [1,2]\n\n",
      "event: content_block_start\ndata: {\"index\":\"zero\"}\n\n",
      "data: not json at all\n\n",
      "event: error\ndata: {}\n\n",
      std::string("\0\xff\xfe\n\n", 5),
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\nevent: message_start\ndata: "
      "{\"type\":\"message_start\"}\n\n",
  };
  for (const auto& input : inputs) {
    auto t = make_openai_to_anthropic(context());
    prime(*t, "stream/include_usage/client_request.json");
    std::string out;
    t->stream_feed(input, out);
    t->stream_end(out);
    const auto events = golden::split_sse(out);
    ASSERT_FALSE(events.empty()) << input;
    const bool done = events.back().data == "[DONE]";
    const bool error = events.back().data.find("\"error\"") != std::string::npos;
    EXPECT_TRUE(done || error) << input << " -> " << out;
    std::size_t errors = 0;
    for (const auto& e : events) errors += e.data.starts_with("{\"error\"");
    EXPECT_LE(errors, 1u) << out;
  }
}

TEST(OpenAiAnthropicRequest, EveryGoldenRequestIsTranslatedReadOnlyAndIdenticallyOnRetry) {
  std::size_t cases = 0;
  for (const std::string dir : {"request", "stream"}) {
    for (const auto& file : harness::request_cases(dir)) {
      SCOPED_TRACE(file);
      const auto body = parse_object(golden::read_file(file));
      harness::expect_request_read_only([] { return make_openai_to_anthropic(context()); }, body);
      ++cases;
    }
  }
  EXPECT_GT(cases, 3u);
}

}  // namespace
}  // namespace sluice::translate
