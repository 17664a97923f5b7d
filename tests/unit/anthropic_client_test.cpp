// anthropic_client: Anthropic Messages clients served by an OpenAI-format chain. Golden files
// under tests/golden/anthropic_client/<case>/: client_request.json -> upstream_request.json,
// upstream_response.json -> client_response.json, upstream.sse -> client.sse.
#include "translate/anthropic_client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/common.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;
using golden::sse_equal;

RequestContext context(bool stream = false) {
  RequestContext ctx;
  ctx.model = "gpt-4o-mini";
  ctx.client_model = "claude-sonnet-4-5";
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

// Converts a client request; returns the upstream body (empty on error).
std::string convert(std::string_view client, std::optional<http::ApiError>* error_out = nullptr) {
  auto translator = make_anthropic_client(context(), nullptr);
  auto body = parse_object(client);
  std::string upstream;
  auto error = translator->translate_request(body, upstream);
  if (error_out != nullptr) {
    *error_out = error;
  } else {
    EXPECT_FALSE(error.has_value()) << (error ? error->message : "");
  }
  return upstream;
}

void expect_request_case(const std::string& name) {
  const auto upstream = convert(read_file(name + "/client_request.json"));
  // No generated values in a request: tool-call ids are compared too (no volatile keys).
  EXPECT_TRUE(json_equal(read_file(name + "/upstream_request.json"), upstream, {})) << name;
}

// Feeds `upstream` in pieces of `piece` bytes (0: all at once) with the shared harness.
std::string run_stream(Translator& translator, std::string_view upstream, std::size_t piece, bool* ok_out = nullptr) {
  const auto run =
      harness::feed(translator, upstream,
                    harness::Split{"", piece == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{piece}});
  if (ok_out != nullptr) *ok_out = run.ok;
  return run.out;
}

std::string stream_direct(std::string_view upstream, std::size_t piece, bool* ok = nullptr) {
  auto translator = make_anthropic_client(context(true), nullptr);
  return run_stream(*translator, upstream, piece, ok);
}

std::size_t count_events(const std::string& sse, std::string_view name) {
  std::size_t n = 0;
  for (const auto& event : golden::split_sse(sse)) n += event.name == name;
  return n;
}

// ----------------------------------------------------------------------------------------------
// Requests

TEST(AnthropicClientRequest, SystemStringBecomesOneSystemMessage) {
  expect_request_case("system_string");
}

TEST(AnthropicClientRequest, SystemBlocksJoinedIntoOneSystemMessageAndCacheControlDropped) {
  expect_request_case("system_blocks");
}

TEST(AnthropicClientRequest, ToolUseAndToolResultRoundTripWithToolMessagesFirst) {
  expect_request_case("tool_round_trip");
}

TEST(AnthropicClientRequest, ImagesBase64AndUrl) {
  expect_request_case("images");
}

TEST(AnthropicClientRequest, NamedToolChoiceAndDisableParallelToolUse) {
  expect_request_case("tool_choice_named");
}

TEST(AnthropicClientRequest, StopSequencesZeroTemperatureUserStreamAndDroppedFields) {
  expect_request_case("sampling");
}

TEST(AnthropicClientRequest, ToolChoiceVariants) {
  const std::string tools = R"("tools":[{"name":"f","input_schema":{"type":"object"}}],)";
  struct Case {
    std::string choice;
    std::string expected_choice;  // JSON, or empty when absent
    bool parallel_false;
  };
  const std::vector<Case> cases = {
      {R"({"type":"auto"})", R"("auto")", false},
      {R"({"type":"any"})", R"("required")", false},
      {R"({"type":"none"})", R"("none")", false},
      {R"({"type":"auto","disable_parallel_tool_use":true})", R"("auto")", true},
      {R"({"type":"any","disable_parallel_tool_use":false})", R"("required")", false},
  };
  for (const auto& c : cases) {
    const auto upstream = convert(R"({"model":"m","max_tokens":5,)" + tools + R"("tool_choice":)" + c.choice +
                                  R"(,"messages":[{"role":"user","content":"x"}]})");
    const auto body = parse_object(upstream);
    ASSERT_TRUE(body.contains("tool_choice")) << c.choice;
    EXPECT_EQ(json::serialize(body.at("tool_choice")), json::serialize(json::parse(c.expected_choice))) << c.choice;
    if (c.parallel_false) {
      ASSERT_TRUE(body.contains("parallel_tool_calls")) << c.choice;
      EXPECT_EQ(body.at("parallel_tool_calls"), json::value(false));
    } else {
      EXPECT_FALSE(body.contains("parallel_tool_calls")) << c.choice;
    }
  }
}

TEST(AnthropicClientRequest, ToolChoiceWithoutToolsIsNotSent) {
  const auto body = parse_object(convert(
      R"({"model":"m","max_tokens":5,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"x"}]})"));
  EXPECT_FALSE(body.contains("tool_choice"));
  EXPECT_FALSE(body.contains("tools"));
}

TEST(AnthropicClientRequest, MissingMaxTokensIsAnthropicStyle400) {
  std::optional<http::ApiError> error;
  convert(R"({"model":"m","messages":[{"role":"user","content":"x"}]})", &error);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->message, "max_tokens: Field required");
  EXPECT_EQ(error->param, "max_tokens");
  const auto body = http::anthropic_error_body(*error);
  EXPECT_TRUE(json_equal(
      R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}})", body));
}

TEST(AnthropicClientRequest, ServerToolWithoutInputSchemaIs400NamingTheTool) {
  std::optional<http::ApiError> error;
  convert(R"({"model":"m","max_tokens":5,"tools":[{"name":"ok","input_schema":{"type":"object"}},
             {"type":"web_search_20250305","name":"web_search","max_uses":3}],
             "messages":[{"role":"user","content":"x"}]})",
          &error);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "tools[1]");
  EXPECT_NE(error->message.find("web_search_20250305"), std::string::npos) << error->message;
}

TEST(AnthropicClientRequest, UnsupportedBlockTypeIs400NamingTheBlock) {
  std::optional<http::ApiError> error;
  convert(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a"},
             {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]})",
          &error);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "messages[0].content[1].type");
}

TEST(AnthropicClientRequest, AServerKeptThreadIs400NamingIt) {
  std::optional<http::ApiError> error;
  convert(R"({"model":"m","max_tokens":5,"thread":{"type":"continue","previous_message_id":"msg_1"},
             "messages":[{"role":"user","content":"x"}]})",
          &error);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "thread");
  // thread: false (the whole conversation in messages) is fine.
  convert(R"({"model":"m","max_tokens":5,"thread":false,"messages":[{"role":"user","content":"x"}]})");
}

TEST(AnthropicClientRequest, ModelIsTheExchangesEffectiveModel) {
  const auto body =
      parse_object(convert(R"({"model":"claude-opus-4","max_tokens":5,"messages":[{"role":"user","content":"x"}]})"));
  EXPECT_EQ(body.at("model"), json::value("gpt-4o-mini"));
}

TEST(AnthropicClientRequest, TopKIsDroppedAndTopPZeroSurvives) {
  const auto body = parse_object(convert(
      R"({"model":"m","max_tokens":5,"top_k":5,"top_p":0,"temperature":0.0,"messages":[{"role":"user","content":"x"}]})"));
  EXPECT_FALSE(body.contains("top_k"));
  ASSERT_TRUE(body.contains("top_p"));
  EXPECT_EQ(body.at("top_p").to_number<double>(), 0.0);
  ASSERT_TRUE(body.contains("temperature"));
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.0);
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(AnthropicClientRequest, ThinkingAndOutputConfigBecomeReasoningEffortAndResponseFormatExtensionsStripped) {
  expect_request_case("thinking_output_config");
}

TEST(AnthropicClientRequest, ThinkingDisabledIsNoneAndOutputFormatIsJsonSchema) {
  expect_request_case("thinking_disabled_output_format");
}

TEST(AnthropicClientRequest, ThinkingBudgetsMapToEffortsAndAdaptiveReadsOutputConfigEffort) {
  const auto effort = [](std::string_view thinking, std::string_view extra = "") {
    const auto body =
        parse_object(convert(std::string(R"({"model":"m","max_tokens":50000,"thinking":)") + std::string(thinking) +
                             std::string(extra) + R"(,"messages":[{"role":"user","content":"x"}]})"));
    return std::string(body.at("reasoning_effort").as_string());
  };
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":1024})"), "low");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":2048})"), "low");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":2049})"), "medium");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":8192})"), "medium");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":8193})"), "high");
  EXPECT_EQ(effort(R"({"type":"adaptive"})"), "medium");
  EXPECT_EQ(effort(R"({"type":"adaptive"})", R"(,"output_config":{"effort":"low"})"), "low");
  EXPECT_EQ(effort(R"({"type":"adaptive"})", R"(,"output_config":{"effort":"max"})"), "xhigh");
}

TEST(AnthropicClientRequest, MalformedThinkingAndOutputConfigAre400NamingTheField) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"("thinking":{"type":"on"})", "thinking.type"},
      {R"("thinking":{"type":"enabled"})", "thinking.budget_tokens"},
      {R"("thinking":{"type":"enabled","budget_tokens":"lots"})", "thinking.budget_tokens"},
      {R"("thinking":"yes")", "thinking"},
      {R"("thinking":{"type":"adaptive"},"output_config":{"effort":"extreme"})", "output_config.effort"},
      {R"("output_config":{"format":{"type":"json_object"}})", "output_config.format.type"},
      {R"("output_config":{"format":{"type":"json_schema"}})", "output_config.format.schema"},
      {R"("output_config":[])", "output_config"},
      {R"("output_format":{"type":"text"})", "output_format.type"},
  };
  for (const auto& [member, param] : cases) {
    std::optional<http::ApiError> error;
    convert(std::string(R"({"model":"m","max_tokens":5,)") + std::string(member) +
                R"(,"messages":[{"role":"user","content":"x"}]})",
            &error);
    ASSERT_TRUE(error.has_value()) << member;
    EXPECT_EQ(error->status, 400u) << member;
    EXPECT_EQ(error->param, std::string(param)) << member;
  }
}

// ----------------------------------------------------------------------------------------------
// Responses

void expect_response_case(const std::string& name) {
  auto translator = make_anthropic_client(context(), nullptr);
  std::string client;
  const auto error = translator->translate_response(read_file(name + "/upstream_response.json"), client);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(read_file(name + "/client_response.json"), client)) << name;
}

TEST(AnthropicClientResponse, TextAndToolCallsWithMalformedArgumentsAsEmptyInput) {
  expect_response_case("response_text_tool");
  // The golden comparison treats "id" as volatile; tool ids must be kept as they are.
  auto translator = make_anthropic_client(context(), nullptr);
  std::string client;
  ASSERT_FALSE(translator->translate_response(read_file("response_text_tool/upstream_response.json"), client));
  const auto body = parse_object(client);
  EXPECT_EQ(body.at("content").at(1).at("id"), json::value("call_1"));
  EXPECT_EQ(body.at("content").at(2).at("id"), json::value("call_2"));
  EXPECT_TRUE(body.at("id").as_string().starts_with("msg_"));
}

TEST(AnthropicClientResponse, SignedThinkingBlocksComeBackWithSignaturesUnsignedReasoningWithAnEmptyOne) {
  expect_response_case("response_thinking");
}

TEST(AnthropicClientResponse, UsageSubtractsCachedTokens) {
  expect_response_case("response_usage");
  auto translator = make_anthropic_client(context(), nullptr);
  std::string client;
  ASSERT_FALSE(translator->translate_response(read_file("response_usage/upstream_response.json"), client));
  const auto usage = translator->usage();
  EXPECT_TRUE(usage.known);
  EXPECT_EQ(usage.prompt_tokens, 18u);
  EXPECT_EQ(usage.cached_tokens, 5u);
  EXPECT_EQ(usage.completion_tokens, 7u);
  EXPECT_EQ(usage.reasoning_tokens, 2u);
  EXPECT_EQ(usage.total_tokens, 25u);
}

TEST(AnthropicClientResponse, FinishReasonMapping) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\"stop\"", "end_turn"},
      {"\"length\"", "max_tokens"},
      {"\"tool_calls\"", "tool_use"},
      {"\"content_filter\"", "refusal"},
      {"\"function_call\"", "tool_use"},
      {"\"eos\"", "end_turn"},
      {"null", "end_turn"},
  };
  for (const auto& [finish, expected] : cases) {
    auto translator = make_anthropic_client(context(), nullptr);
    std::string client;
    const std::string upstream = R"({"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant",
        "content":"a"},"finish_reason":)" +
                                 finish + "}]}";
    ASSERT_FALSE(translator->translate_response(upstream, client)) << finish;
    EXPECT_EQ(parse_object(client).at("stop_reason"), json::value(expected)) << finish;
  }
}

TEST(AnthropicClientResponse, ModelFallsBackToUpstreamModelWithoutClientModel) {
  auto ctx = context();
  ctx.client_model.clear();
  auto translator = make_anthropic_client(ctx, nullptr);
  std::string client;
  ASSERT_FALSE(translator->translate_response(
      R"({"model":"llama3","choices":[{"index":0,"message":{"content":null,"tool_calls":[]},"finish_reason":"stop"}]})",
      client));
  const auto body = parse_object(client);
  EXPECT_EQ(body.at("model"), json::value("llama3"));
  EXPECT_TRUE(body.at("content").as_array().empty());
  EXPECT_TRUE(
      json_equal(R"({"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0})",
                 json::serialize(body.at("usage"))));
}

TEST(AnthropicClientResponse, MalformedUpstreamIs502) {
  for (const std::string upstream : {"not json", "[]", R"({"choices":[]})", R"({"choices":[{"index":0}]})"}) {
    auto translator = make_anthropic_client(context(), nullptr);
    std::string client;
    const auto error = translator->translate_response(upstream, client);
    ASSERT_TRUE(error.has_value()) << upstream;
    EXPECT_EQ(error->status, 502u);
    EXPECT_EQ(error->code, "upstream_bad_response");
  }
}

// ----------------------------------------------------------------------------------------------
// Streams

TEST(AnthropicClientStream, TextThenToolCallWithSplitArguments) {
  const auto upstream = read_file("stream_text_tool/upstream.sse");
  bool ok = false;
  const auto out = stream_direct(upstream, 0, &ok);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(sse_equal(read_file("stream_text_tool/client.sse"), out));
  EXPECT_NE(out.find(R"("id":"call_w")"), std::string::npos) << "tool id kept";
  EXPECT_EQ(count_events(out, "message_delta"), 1u);
  EXPECT_EQ(count_events(out, "message_stop"), 1u);
  EXPECT_EQ(golden::split_sse(out).back().name, "message_stop");
}

TEST(AnthropicClientStream, EverySplitGivesTheGoldenEvents) {
  for (const std::string name : {"stream_text_tool", "stream_usage_after_finish", "stream_error", "stream_thinking"}) {
    SCOPED_TRACE(name);
    harness::expect_stream([] { return make_anthropic_client(context(true), nullptr); },
                           read_file(name + "/upstream.sse"), read_file(name + "/client.sse"));
  }
}

TEST(AnthropicClientStream, UsageChunkAfterFinishChunkEndsTheMessageOnce) {
  const auto upstream = read_file("stream_usage_after_finish/upstream.sse");
  auto translator = make_anthropic_client(context(true), nullptr);
  // Up to and including the finish chunk: the block is closed but message_delta waits for usage.
  const auto usage_at = upstream.find(
      R"(data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"llama3.1:8b","choices":[],)");
  ASSERT_NE(usage_at, std::string::npos);
  std::string out;
  ASSERT_TRUE(translator->stream_feed(std::string_view(upstream).substr(0, usage_at), out));
  EXPECT_EQ(count_events(out, "content_block_stop"), 1u);
  EXPECT_EQ(count_events(out, "message_delta"), 0u);
  // The usage chunk completes the message; [DONE] and stream_end add nothing.
  const auto done_at = upstream.find("data: [DONE]");
  ASSERT_TRUE(translator->stream_feed(std::string_view(upstream).substr(usage_at, done_at - usage_at), out));
  EXPECT_EQ(count_events(out, "message_delta"), 1u);
  EXPECT_EQ(count_events(out, "message_stop"), 1u);
  const auto size = out.size();
  ASSERT_TRUE(translator->stream_feed(std::string_view(upstream).substr(done_at), out));
  translator->stream_end(out);
  EXPECT_EQ(out.size(), size);
  EXPECT_TRUE(sse_equal(read_file("stream_usage_after_finish/client.sse"), out));
  EXPECT_EQ(translator->usage().prompt_tokens, 11u);
  EXPECT_EQ(translator->usage().completion_tokens, 2u);
}

TEST(AnthropicClientStream, OpenAiErrorEventMidStreamBecomesAnthropicErrorEvent) {
  auto translator = make_anthropic_client(context(true), nullptr);
  std::string out;
  EXPECT_FALSE(translator->stream_feed(read_file("stream_error/upstream.sse"), out));
  EXPECT_TRUE(sse_equal(read_file("stream_error/client.sse"), out));
  // Nothing follows the error event.
  const auto size = out.size();
  EXPECT_FALSE(translator->stream_feed("data: [DONE]\n\n", out));
  translator->stream_end(out);
  http::ApiError late{500, "server_error", "x", "late", std::nullopt};
  translator->stream_fail(late, out);
  EXPECT_EQ(out.size(), size);
}

TEST(AnthropicClientStream, ProviderErrorKindInTheCodeKeepsItsAnthropicType) {
  // What an inner translator emits for a provider's mid-stream error: the OpenAI type says only
  // server_error; the code names the provider's kind.
  const struct {
    const char* code;
    const char* anthropic_type;
  } cases[] = {{"overloaded_error", "overloaded_error"},    {"UNAVAILABLE", "overloaded_error"},
               {"ThrottlingException", "rate_limit_error"}, {"RESOURCE_EXHAUSTED", "rate_limit_error"},
               {"DEADLINE_EXCEEDED", "timeout_error"},      {"something_else", "api_error"}};
  for (const auto& c : cases) {
    auto translator = make_anthropic_client(context(true), nullptr);
    std::string out;
    const std::string event = std::string("data: {\"error\":{\"message\":\"busy\",\"type\":\"server_error\",") +
                              "\"param\":null,\"code\":\"" + c.code + "\"}}\n\n";
    EXPECT_FALSE(translator->stream_feed(event, out));
    const auto events = golden::split_sse(out);
    ASSERT_FALSE(events.empty()) << c.code;
    EXPECT_EQ(events.back().name, "error");
    const auto body = boost::json::parse(events.back().data);
    EXPECT_EQ(body.at("error").at("type"), c.anthropic_type) << c.code;
    EXPECT_EQ(body.at("error").at("message"), "busy");
  }
}

TEST(AnthropicClientStream, FinishWithoutUsageOrDoneEndsAtStreamEnd) {
  const std::string upstream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":null}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
  auto translator = make_anthropic_client(context(true), nullptr);
  std::string out;
  ASSERT_TRUE(translator->stream_feed(upstream, out));
  EXPECT_EQ(count_events(out, "message_delta"), 0u);
  translator->stream_end(out);
  const auto events = golden::split_sse(out);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2].name, "message_delta");
  EXPECT_TRUE(json_equal(
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},
          "usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}})",
      events[events.size() - 2].data));
  EXPECT_EQ(events.back().name, "message_stop");
}

TEST(AnthropicClientStream, DoneWithoutFinishReasonEndsCleanly) {
  const std::string upstream =
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_z","function":{"name":"z","arguments":"{}"}}]}}]})"
      "\n\ndata: [DONE]\n\n";
  bool ok = false;
  const auto out = stream_direct(upstream, 0, &ok);
  EXPECT_TRUE(ok);
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[3].name, "content_block_stop");
  EXPECT_NE(events[4].data.find(R"("stop_reason":"tool_use")"), std::string::npos) << events[4].data;
  EXPECT_EQ(events[5].name, "message_stop");
}

TEST(AnthropicClientStream, NamedErrorEventAndMalformedDataAreErrors) {
  for (const std::string& upstream :
       {std::string("event: error\ndata: {\"message\":\"boom\"}\n\n"), std::string("data: {not json\n\n")}) {
    bool ok = true;
    const auto out = stream_direct(upstream, 0, &ok);
    EXPECT_FALSE(ok) << upstream;
    ASSERT_FALSE(golden::split_sse(out).empty());
    EXPECT_EQ(golden::split_sse(out).back().name, "error") << upstream;
    EXPECT_EQ(count_events(out, "error"), 1u);
  }
}

TEST(AnthropicClientStream, StreamEndingWithoutFinishIsErrorEvent) {
  const std::string upstream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n";
  auto translator = make_anthropic_client(context(true), nullptr);
  std::string out;
  ASSERT_TRUE(translator->stream_feed(upstream, out));
  translator->stream_end(out);
  const auto events = golden::split_sse(out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "error");
  EXPECT_NE(events.back().data.find("stream ended early"), std::string::npos) << events.back().data;
  EXPECT_EQ(count_events(out, "message_stop"), 0u);
}

TEST(AnthropicClientStream, StreamFailEmitsOneAnthropicErrorEvent) {
  auto translator = make_anthropic_client(context(true), nullptr);
  std::string out;
  ASSERT_TRUE(translator->stream_feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n", out));
  http::ApiError error{504, "server_error", "upstream_timeout", "backend timed out", std::nullopt};
  translator->stream_fail(error, out);
  const auto events = golden::split_sse(out);
  EXPECT_EQ(events.back().name, "error");
  EXPECT_TRUE(json_equal(R"({"type":"error","error":{"type":"timeout_error","message":"backend timed out"}})",
                         events.back().data));
  EXPECT_EQ(translator->stream_content_type(), "text/event-stream");
}

TEST(AnthropicClientStream, ParallelToolCallsGetSeparateBlocks) {
  const std::string upstream =
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"a","arguments":"{}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"b","arguments":"{\"x\""}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":1}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"
      "\n\ndata: [DONE]\n\n";
  const auto out = stream_direct(upstream, 0);
  const auto events = golden::split_sse(out);
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.name);
  const std::vector<std::string> expected = {
      "message_start",       "content_block_start", "content_block_delta", "content_block_stop", "content_block_start",
      "content_block_delta", "content_block_delta", "content_block_stop",  "message_delta",      "message_stop"};
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(json_equal(
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"x","name":"b","input":{}}})",
      events[4].data));
  EXPECT_NE(events[4].data.find(R"("id":"call_b")"), std::string::npos);
  EXPECT_NE(events[8].data.find(R"("stop_reason":"tool_use")"), std::string::npos);
}

// ----------------------------------------------------------------------------------------------
// Errors (no inner translator: the upstream speaks OpenAI)

TEST(AnthropicClientError, OpenAiErrorBodyKeepsStatusAndMessage) {
  auto translator = make_anthropic_client(context(), nullptr);
  const auto error = translator->translate_error(
      429, "",
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})");
  EXPECT_EQ(error.status, 429u);
  EXPECT_EQ(error.message, "Rate limit reached");
  EXPECT_TRUE(json_equal(R"({"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached"}})",
                         http::anthropic_error_body(error)));
}

TEST(AnthropicClientError, OllamaAndVllmShapesAndUnparseableBody) {
  auto translator = make_anthropic_client(context(), nullptr);
  EXPECT_EQ(translator->translate_error(404, "", R"({"error":"model 'x' not found"})").message, "model 'x' not found");
  EXPECT_EQ(
      translator->translate_error(400, "", R"({"object":"error","message":"bad","type":"BadRequestError"})").message,
      "bad");
  const auto error = translator->translate_error(502, "", "<html>Bad Gateway</html>");
  EXPECT_EQ(error.status, 502u);
  EXPECT_EQ(error.message, "backend returned HTTP 502: <html>Bad Gateway</html>");
  const auto long_body = std::string(500, 'x');
  EXPECT_EQ(translator->translate_error(500, "", long_body).message,
            "backend returned HTTP 500: " + std::string(200, 'x'));
}

// ----------------------------------------------------------------------------------------------
// Chaining through an inner translator (OpenAI -> a fake provider)

struct Calls {
  std::vector<std::string> requests;  // OpenAI bodies the inner translator received
  int responses = 0;
  int feeds = 0;
  int ends = 0;
  std::vector<unsigned> error_statuses;
};

// A fake provider format: upstream stream lines "T <text>", "F <finish_reason>", "E <message>";
// a non-stream body "<text>|<finish_reason>". It produces OpenAI bytes, as a real inner would.
class FakeInner final : public Translator {
 public:
  explicit FakeInner(Calls& calls) : calls_(calls) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream) override {
    calls_.requests.push_back(json::serialize(body));
    upstream = "FAKE:" + json::serialize(body);
    return std::nullopt;
  }
  std::optional<http::ApiError> translate_response(std::string_view upstream, std::string& client) override {
    ++calls_.responses;
    const auto bar = upstream.find('|');
    if (bar == std::string_view::npos) return http::ApiError{502, "server_error", "upstream_bad_response", "fake", {}};
    json::object message{{"role", "assistant"}, {"content", upstream.substr(0, bar)}};
    json::object choice{{"index", 0}, {"message", message}, {"finish_reason", upstream.substr(bar + 1)}};
    client = json::serialize(json::object{{"id", "chatcmpl-f"},
                                          {"object", "chat.completion"},
                                          {"model", "fake-model"},
                                          {"choices", json::array{choice}},
                                          {"usage", json::object{{"prompt_tokens", 4}, {"completion_tokens", 3}}}});
    return std::nullopt;
  }
  http::ApiError translate_error(unsigned status, std::string_view, std::string_view body) override {
    calls_.error_statuses.push_back(status);
    return http::ApiError{503, "server_error", "upstream_error", "inner: " + std::string(body), std::nullopt};
  }
  bool stream_feed(std::string_view bytes, std::string& out) override {
    ++calls_.feeds;
    pending_.append(bytes);
    std::size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      const auto line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (line.size() < 2) continue;
      const auto rest = line.substr(2);
      if (line[0] == 'T') {
        append_sse_data(out, R"({"choices":[{"index":0,"delta":{"content":)" + json::serialize(json::value(rest)) +
                                 "},\"finish_reason\":null}],\"usage\":null}");
      } else if (line[0] == 'F') {
        append_sse_data(out, R"({"choices":[{"index":0,"delta":{},"finish_reason":")" + rest + "\"}],\"usage\":null}");
      } else if (line[0] == 'E') {
        append_openai_error_event(out, http::ApiError{529, "server_error", "overloaded", rest, std::nullopt});
        return false;
      }
    }
    return true;
  }
  void stream_end(std::string& out) override {
    ++calls_.ends;
    append_sse_data(out, R"({"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}})");
    append_sse_done(out);
  }
  void stream_fail(const http::ApiError& error, std::string& out) override { append_openai_error_event(out, error); }
  Usage usage() const override { return {}; }

 private:
  Calls& calls_;
  std::string pending_;
};

TEST(AnthropicClientChained, RequestIsConvertedThenHandedToInner) {
  Calls calls;
  auto translator = make_anthropic_client(context(), std::make_unique<FakeInner>(calls));
  auto body = parse_object(read_file("system_string/client_request.json"));
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(body, upstream));
  ASSERT_EQ(calls.requests.size(), 1u);
  EXPECT_TRUE(json_equal(read_file("system_string/upstream_request.json"), calls.requests[0]));
  EXPECT_EQ(upstream, "FAKE:" + calls.requests[0]);
}

TEST(AnthropicClientChained, TheInnerTranslatorReceivesThePivotExtensions) {
  Calls calls;
  auto translator = make_anthropic_client(context(), std::make_unique<FakeInner>(calls));
  auto body = parse_object(read_file("thinking_output_config/client_request.json"));
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(body, upstream));
  ASSERT_EQ(calls.requests.size(), 1u);
  const auto pivot = parse_object(calls.requests[0]);
  EXPECT_EQ(pivot.at("x_sluice_thinking_budget"), json::value(4000));
  EXPECT_TRUE(json_equal(R"([{"type":"thinking","thinking":"I need the tool.","signature":"SIG1"},
                             {"type":"redacted_thinking","data":"ENC=="}])",
                         json::serialize(pivot.at("messages").at(1).at("thinking_blocks")), {}));
}

TEST(AnthropicClientChained, RequestErrorStopsBeforeInner) {
  Calls calls;
  auto translator = make_anthropic_client(context(), std::make_unique<FakeInner>(calls));
  auto body = parse_object(R"({"model":"m","messages":[]})");
  std::string upstream;
  EXPECT_TRUE(translator->translate_request(body, upstream).has_value());
  EXPECT_TRUE(calls.requests.empty());
}

TEST(AnthropicClientChained, ResponseGoesThroughInner) {
  Calls calls;
  auto translator = make_anthropic_client(context(), std::make_unique<FakeInner>(calls));
  std::string client;
  ASSERT_FALSE(translator->translate_response("Salut|length", client));
  EXPECT_EQ(calls.responses, 1);
  EXPECT_TRUE(json_equal(R"({"id":"x","type":"message","role":"assistant","model":"claude-sonnet-4-5",
      "content":[{"type":"text","text":"Salut"}],"stop_reason":"max_tokens","stop_sequence":null,
      "usage":{"input_tokens":4,"output_tokens":3,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}})",
                         client));
  // An inner error is passed on unchanged.
  const auto error = translator->translate_response("garbage", client);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "fake");
}

TEST(AnthropicClientChained, ErrorsComeFromInner) {
  Calls calls;
  auto translator = make_anthropic_client(context(), std::make_unique<FakeInner>(calls));
  const auto error = translator->translate_error(529, "", "busy");
  ASSERT_EQ(calls.error_statuses.size(), 1u);
  EXPECT_EQ(calls.error_statuses[0], 529u);
  // The inner (OpenAI-facing) translator says 503; an Anthropic client is told the provider's 529
  // (overloaded_error), as a native Anthropic backend would tell it.
  EXPECT_EQ(error.status, 529u);
  EXPECT_EQ(error.message, "inner: busy");
  const auto other = translator->translate_error(500, "", "broken");
  EXPECT_EQ(other.status, 503u) << "other statuses are the inner translator's";
}

TEST(AnthropicClientChained, StreamGoesThroughInnerInAnyChunking) {
  const auto upstream = read_file("chained/upstream.txt");
  for (const std::size_t piece : {0, 1, 5}) {
    Calls calls;
    auto translator = make_anthropic_client(context(true), std::make_unique<FakeInner>(calls));
    bool ok = false;
    const auto out = run_stream(*translator, upstream, piece, &ok);
    EXPECT_TRUE(ok);
    EXPECT_TRUE(sse_equal(read_file("chained/client.sse"), out)) << "piece " << piece;
    EXPECT_GE(calls.feeds, 1);
    EXPECT_EQ(calls.ends, 1);
    EXPECT_EQ(translator->usage().prompt_tokens, 4u);
  }
}

TEST(AnthropicClientChained, InnerStreamErrorBecomesAnthropicErrorEvent) {
  Calls calls;
  auto translator = make_anthropic_client(context(true), std::make_unique<FakeInner>(calls));
  std::string out;
  EXPECT_FALSE(translator->stream_feed("T Hi\nE Overloaded\n", out));
  const auto events = golden::split_sse(out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(count_events(out, "error"), 1u);
  // The OpenAI error type "server_error" gives status 500 -> Anthropic api_error.
  EXPECT_TRUE(
      json_equal(R"({"type":"error","error":{"type":"api_error","message":"Overloaded"}})", events.back().data));
}

TEST(AnthropicClientRequest, EveryGoldenRequestIsTranslatedReadOnlyAndIdenticallyOnRetry) {
  std::size_t cases = 0;
  for (const std::string dir : {"."}) {
    for (const auto& file : harness::request_cases(dir)) {
      SCOPED_TRACE(file);
      const auto body = parse_object(read_file(file));
      harness::expect_request_read_only([] { return make_anthropic_client(context(), nullptr); }, body);
      ++cases;
    }
  }
  EXPECT_GT(cases, 3u);
}

}  // namespace
}  // namespace sluice::translate
