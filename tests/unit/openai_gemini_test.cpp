// Golden tests for the OpenAI <-> Gemini translators (chat, stream, errors, embeddings).
// Case files live under tests/golden/openai_gemini/<kind>/<case>/.
#include "translate/openai_gemini.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <cstring>
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

RequestContext chat_context(bool stream) {
  RequestContext context;
  context.model = "gemini-2.5-flash";
  context.client_model = "gemini-2.5-flash";
  context.stream = stream;
  return context;
}

RequestContext embedding_context() {
  RequestContext context;
  context.model = "text-embedding-004";
  context.client_model = "text-embedding-004";
  return context;
}

json::object read_object(const std::string& relative) {
  auto value = golden::parse_or_fail(read_file(relative), relative);
  return value.is_object() ? value.get_object() : json::object{};
}

bool wants_stream(const json::object& body) {
  const auto* stream = body.if_contains("stream");
  return stream != nullptr && stream->is_bool() && stream->get_bool();
}

// ---------------------------------------------------------------------------------------------
// Requests.

void expect_request(const std::string& name) {
  SCOPED_TRACE(name);
  auto body = read_object("request/" + name + "/client_request.json");
  auto translator = make_openai_to_gemini(chat_context(wants_stream(body)));
  std::string upstream;
  const auto error = translator->translate_request(body, upstream);
  ASSERT_FALSE(error) << error->message << " (" << error->param.value_or("") << ")";
  EXPECT_TRUE(json_equal(read_file("request/" + name + "/upstream_request.json"), upstream));
}

TEST(OpenAiGeminiRequest, SystemAndDeveloperMessagesAllGoToSystemInstructionInOrder) {
  expect_request("system_developer");
}
TEST(OpenAiGeminiRequest, ToolCallsAndResultsRoundTripWithNamesRecoveredFromToolCallIds) {
  expect_request("tool_round_trip");
}
TEST(OpenAiGeminiRequest, TwoParallelToolResultsBecomeOneUserTurnWithTwoFunctionResponsesFirst) {
  expect_request("parallel_tool_results");
}
TEST(OpenAiGeminiRequest, DataUriImageIsInlineDataAndUrlIsFileDataWithGuessedMimeType) {
  expect_request("images");
}
TEST(OpenAiGeminiRequest, InputAudioIsInlineData) {
  expect_request("audio_input");
}
TEST(OpenAiGeminiRequest, ZeroSamplingValuesSurviveStopStringBecomesListMaxCompletionTokensWins) {
  expect_request("sampling_zero_and_stop_string");
}
TEST(OpenAiGeminiRequest, StopListKeptAndNullTemperatureNotSent) {
  expect_request("stop_list");
}
TEST(OpenAiGeminiRequest, NoMaxTokensMeansNoMaxOutputTokensAndNoGenerationConfig) {
  expect_request("no_max_tokens");
}
TEST(OpenAiGeminiRequest, JsonSchemaResponseFormatBecomesResponseJsonSchema) {
  expect_request("response_format_json_schema");
}
TEST(OpenAiGeminiRequest, JsonObjectResponseFormatBecomesJsonMimeType) {
  expect_request("response_format_json_object");
}
TEST(OpenAiGeminiRequest, ToolChoiceRequiredIsAny) {
  expect_request("tool_choice_required");
}
TEST(OpenAiGeminiRequest, NamedToolChoiceIsAnyWithAllowedFunctionNames) {
  expect_request("tool_choice_named");
}
TEST(OpenAiGeminiRequest, ToolChoiceNoneIsNone) {
  expect_request("tool_choice_none");
}

TEST(OpenAiGeminiRequest, ReasoningEffortIsAThinkingBudgetAndToolCallSignaturesAreReplayedPerCall) {
  expect_request("reasoning_and_thought_signatures");
}
TEST(OpenAiGeminiRequest, TheClientsExactThinkingBudgetWins) {
  expect_request("reasoning_exact_budget");
}
TEST(OpenAiGeminiRequest, ReasoningEffortNoneIsABudgetOfZero) {
  expect_request("reasoning_none");
}

// The thinkingConfig sent for `pivot_reasoning` (members added to a one-message pivot) to `model`.
std::string thinking_config(const std::string& model, const std::string& pivot_reasoning) {
  auto context = chat_context(false);
  context.model = model;
  auto translator = make_openai_to_gemini(context);
  auto body = read_object("request/reasoning_none/client_request.json");
  body.erase("reasoning_effort");
  const auto extra = json::parse("{" + pivot_reasoning + "}").as_object();
  for (const auto& member : extra) body[member.key()] = member.value();
  std::string upstream;
  const auto error = translator->translate_request(body, upstream);
  EXPECT_FALSE(error) << error->message;
  const auto sent = json::parse(upstream).as_object();
  const auto* config = sent.if_contains("generationConfig");
  return config != nullptr && config->as_object().contains("thinkingConfig")
             ? json::serialize(config->at("thinkingConfig"))
             : std::string();
}

TEST(OpenAiGeminiRequest, Gemini3TakesAThinkingLevelEarlierModelsABudget) {
  EXPECT_TRUE(gemini_takes_thinking_level("gemini-3-pro-preview"));
  EXPECT_TRUE(gemini_takes_thinking_level("models/gemini-3.5-flash"));
  EXPECT_TRUE(gemini_takes_thinking_level("publishers/google/models/gemini-10-ultra"));
  EXPECT_FALSE(gemini_takes_thinking_level("gemini-2.5-flash"));
  EXPECT_FALSE(gemini_takes_thinking_level("gemini-exp-1206"));
  EXPECT_FALSE(gemini_takes_thinking_level("gemma-3-27b-it"));

  EXPECT_EQ(thinking_config("gemini-3-pro-preview", R"("reasoning_effort":"minimal")"),
            R"({"thinkingLevel":"low","includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-3-pro-preview", R"("reasoning_effort":"low")"),
            R"({"thinkingLevel":"low","includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-3-flash-preview", R"("reasoning_effort":"medium")"),
            R"({"thinkingLevel":"high","includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-3-pro-preview", R"("reasoning_effort":"xhigh","x_sluice_thinking_budget":3000)"),
            R"({"thinkingLevel":"high","includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-3-pro-preview", R"("reasoning_effort":"none")"), R"({"thinkingBudget":0})");
  EXPECT_EQ(thinking_config("gemini-3-pro-preview", R"("reasoning_effort":"medium","x_sluice_thinking_budget":-1)"),
            R"({"includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-2.5-flash", R"("reasoning_effort":"low")"),
            R"({"thinkingBudget":1024,"includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-2.5-flash", R"("reasoning_effort":"medium","x_sluice_thinking_budget":-1)"),
            R"({"thinkingBudget":-1,"includeThoughts":true})");
  EXPECT_EQ(thinking_config("gemini-2.5-flash", ""), "");
}

void expect_request_error(const std::string& name) {
  SCOPED_TRACE(name);
  auto body = read_object("request_errors/" + name + "/client_request.json");
  const auto expected = read_object("request_errors/" + name + "/expected_error.json");
  auto translator = make_openai_to_gemini(chat_context(wants_stream(body)));
  std::string upstream;
  const auto error = translator->translate_request(body, upstream);
  ASSERT_TRUE(error) << "accepted: " << upstream;
  EXPECT_EQ(error->status, expected.at("status").to_number<unsigned>());
  EXPECT_EQ(error->type, expected.at("type").as_string());
  ASSERT_TRUE(error->param);
  EXPECT_EQ(*error->param, expected.at("param").as_string());
}

TEST(OpenAiGeminiRequestError, UnknownToolCallIdIs400NamingTheToolMessage) {
  expect_request_error("unknown_tool_call_id");
}
TEST(OpenAiGeminiRequestError, UnknownReasoningEffortIs400) {
  expect_request_error("unknown_reasoning_effort");
}
TEST(OpenAiGeminiRequestError, MalformedArgumentsAre400NamingTheArguments) {
  expect_request_error("malformed_arguments");
}
TEST(OpenAiGeminiRequestError, FewerToolResultsThanToolCallsIs400) {
  expect_request_error("missing_tool_result");
}
TEST(OpenAiGeminiRequestError, NAboveOneWhenStreamingIs400) {
  expect_request_error("n_above_one_streaming");
}
TEST(OpenAiGeminiRequestError, ImageUrlThatIsNeitherDataUriNorHttpIs400) {
  expect_request_error("unsupported_part");
}

TEST(OpenAiGeminiRequest, ModelIsNotPutInTheBody) {
  json::object body{{"model", "gemini-2.5-flash"},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", "x"}}}}};
  auto translator = make_openai_to_gemini(chat_context(false));
  std::string upstream;
  ASSERT_FALSE(translator->translate_request(body, upstream));
  EXPECT_EQ(upstream.find("\"model\""), std::string::npos) << upstream;
}

// ---------------------------------------------------------------------------------------------
// Non-stream responses.

void expect_response(const std::string& name, Translator* translator = nullptr) {
  SCOPED_TRACE(name);
  auto owned = translator == nullptr ? make_openai_to_gemini(chat_context(false)) : nullptr;
  if (translator == nullptr) translator = owned.get();
  std::string client;
  const auto error = translator->translate_response(read_file("response/" + name + "/upstream_response.json"), client);
  ASSERT_FALSE(error) << error->message;
  EXPECT_TRUE(json_equal(read_file("response/" + name + "/client_response.json"), client));
}

TEST(OpenAiGeminiResponse, AllTextPartsAreConcatenated) {
  expect_response("text_multi_part");
}
TEST(OpenAiGeminiResponse, FunctionCallThoughtSignatureBecomesExtraContentOnItsToolCall) {
  expect_response("function_call_thought_signature");
}
TEST(OpenAiGeminiResponse, StopWithFunctionCallsIsToolCallsWithNullContent) {
  expect_response("stop_with_function_call");
}
TEST(OpenAiGeminiResponse, SafetyIsContentFilter) {
  expect_response("safety");
}
TEST(OpenAiGeminiResponse, UnknownFinishReasonIsStop) {
  expect_response("unknown_reason");
}
TEST(OpenAiGeminiResponse, MaxTokensIsLength) {
  expect_response("max_tokens");
}
TEST(OpenAiGeminiResponse, CachedContentTokensAreCachedTokens) {
  expect_response("cached_tokens");
}
TEST(OpenAiGeminiResponse, BlockedPromptIsContentFilterWithNullContent) {
  expect_response("prompt_blocked");
}

TEST(OpenAiGeminiResponse, ThoughtsAreReasoningContentAndCountInCompletionTokens) {
  auto translator = make_openai_to_gemini(chat_context(false));
  expect_response("thinking_usage", translator.get());
  const auto usage = translator->usage();
  EXPECT_TRUE(usage.known);
  EXPECT_EQ(usage.prompt_tokens, 20u);
  EXPECT_EQ(usage.completion_tokens, 603u);
  EXPECT_EQ(usage.reasoning_tokens, 405u);
  EXPECT_EQ(usage.total_tokens, 623u);
}

TEST(OpenAiGeminiResponse, MintedToolCallIdsStartWithCall) {
  auto translator = make_openai_to_gemini(chat_context(false));
  std::string client;
  ASSERT_FALSE(
      translator->translate_response(read_file("response/stop_with_function_call/upstream_response.json"), client));
  const auto value = json::parse(client);
  const auto& calls = value.at("choices").at(0).at("message").at("tool_calls").as_array();
  EXPECT_TRUE(calls.at(0).at("id").as_string().starts_with("call_"));
  EXPECT_TRUE(value.at("id").as_string().starts_with("chatcmpl-"));
}

TEST(OpenAiGeminiResponse, EachCandidateIsOneChoiceWhenNAboveOne) {
  expect_response("two_candidates");
}

TEST(OpenAiGeminiResponse, ErrorObjectInA2xxBodyBecomesTheMappedError) {
  auto translator = make_openai_to_gemini(chat_context(false));
  std::string client;
  const auto error = translator->translate_response(
      R"({"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}})", client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 429u);
  EXPECT_EQ(error->message, "quota");
  const auto no_code = translator->translate_response(R"({"error":{"message":"odd"}})", client);
  ASSERT_TRUE(no_code);
  EXPECT_EQ(no_code->status, 502u);
}

TEST(OpenAiGeminiResponse, BodyThatIsNotJsonIs502) {
  auto translator = make_openai_to_gemini(chat_context(false));
  std::string client;
  const auto error = translator->translate_response("<html>oops</html>", client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502u);
  EXPECT_EQ(error->code, "upstream_bad_response");
}

TEST(OpenAiGeminiResponse, NoCandidatesAndNoBlockReasonIs502) {
  auto translator = make_openai_to_gemini(chat_context(false));
  std::string client;
  const auto error = translator->translate_response(R"({"usageMetadata":{"promptTokenCount":1}})", client);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502u);
}

// ---------------------------------------------------------------------------------------------
// Streams.

// stream/<name>: upstream.sse -> client.sse, in every split of the shared harness.
void expect_stream(const std::string& name, bool feed_ok) {
  SCOPED_TRACE(name);
  const auto make = [&name]() -> std::unique_ptr<Translator> {
    auto body = read_object("stream/" + name + "/client_request.json");
    auto translator = make_openai_to_gemini(chat_context(true));
    std::string upstream_request;
    const auto error = translator->translate_request(body, upstream_request);
    EXPECT_FALSE(error);
    return translator;
  };
  const auto expected = read_file("stream/" + name + "/client.sse");
  harness::expect_stream(make, read_file("stream/" + name + "/upstream.sse"), expected, {"id", "created"}, feed_ok);
}

TEST(OpenAiGeminiStream, RepeatedUsageIsEmittedOnceAtTheEndWhenIncludeUsage) {
  expect_stream("repeated_usage_included", true);
}
TEST(OpenAiGeminiStream, NoUsageChunkAndNoUsageFieldWithoutIncludeUsage) {
  expect_stream("repeated_usage_not_requested", true);
}
TEST(OpenAiGeminiStream, CrlfDelimitedEventsAndThoughtsAsReasoningContent) {
  expect_stream("crlf_thoughts", true);
}
TEST(OpenAiGeminiStream, WholeFunctionCallsAreOneDeltaEachIndexedFromZeroAndFinishIsToolCalls) {
  expect_stream("tool_calls", true);
}
TEST(OpenAiGeminiStream, StreamWithoutFinishReasonEndsWithAnErrorEvent) {
  expect_stream("truncated", true);
}
TEST(OpenAiGeminiStream, UpstreamErrorPayloadBecomesOpenAiErrorEventAndStopsTheStream) {
  expect_stream("error_event", false);
}
TEST(OpenAiGeminiStream, BlockedPromptIsContentFilterFinish) {
  expect_stream("prompt_blocked", true);
}

TEST(OpenAiGeminiStream, WithoutResponseIdOneMintedIdIsUsedForEveryChunk) {
  auto translator = make_openai_to_gemini(chat_context(true));
  std::string out;
  ASSERT_TRUE(translator->stream_feed(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n"
      "data: "
      "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},"
      "\"finishReason\":\"STOP\"}]}\n\n",
      out));
  translator->stream_end(out);
  std::vector<std::string> ids;
  for (const auto& event : golden::split_sse(out)) {
    if (event.data == "[DONE]") continue;
    const auto chunk = json::parse(event.data);
    ids.emplace_back(chunk.at("id").as_string());
    const auto& choices = chunk.at("choices").as_array();
    if (!choices.empty()) {
      if (const auto* calls = choices.at(0).at("delta").as_object().if_contains("tool_calls")) {
        EXPECT_TRUE(calls->at(0).at("id").as_string().starts_with("call_"));
      }
    }
  }
  ASSERT_EQ(ids.size(), 3u);  // text, tool call, finish
  EXPECT_TRUE(ids[0].starts_with("chatcmpl-"));
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(ids[0], ids[2]);
}

TEST(OpenAiGeminiStream, StreamFailAppendsOneErrorEvent) {
  auto translator = make_openai_to_gemini(chat_context(true));
  std::string out;
  translator->stream_fail(http::ApiError{504, "server_error", "upstream_timeout", "timed out", std::nullopt}, out);
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(
      json_equal(R"({"error":{"message":"timed out","type":"server_error","param":null,"code":"upstream_timeout"}})",
                 events[0].data));
}

TEST(OpenAiGeminiRobustness, OddShapesAreErrorsOrAcceptedButNeverThrow) {
  const char* bodies[] = {
      R"({})",
      R"({"messages":{}})",
      R"({"messages":[1,"x",null]})",
      R"({"messages":[{"role":"user","content":5}]})",
      R"({"messages":[{"role":"user","content":[1,{"type":"image_url","image_url":7},{"type":"input_audio"}]}]})",
      R"({"messages":[{"role":"assistant","tool_calls":[1,{"function":5},{"function":{"name":"f","arguments":7}}]}]})",
      R"({"messages":[{"role":"assistant","tool_calls":{}}]})",
      R"({"messages":[{"role":"tool","content":"x"}]})",
      R"({"messages":[{"role":"system","content":"only system"}]})",
      R"({"messages":[{"role":"user","content":"x"}],"tools":[1],"tool_choice":5})",
      R"({"messages":[{"role":"user","content":"x"}],"tools":{},"temperature":"hot","stop":[1]})",
      R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":3}})",
      R"({"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function"},"n":"2"})",
      R"({"messages":[{"role":"user","content":""},{"role":"assistant","content":null}],"stream_options":3})",
  };
  for (const char* text : bodies) {
    auto body = json::parse(text).as_object();
    auto translator = make_openai_to_gemini(chat_context(true));
    std::string upstream;
    EXPECT_NO_THROW({
      const auto error = translator->translate_request(body, upstream);
      if (error) {
        EXPECT_EQ(error->status, 400u) << text;
      }
    }) << text;
  }
  const char* responses[] = {
      "",
      "[]",
      "null",
      R"({"candidates":5})",
      R"({"candidates":[5]})",
      R"({"candidates":[{"content":{"parts":[5,{"functionCall":3},{"text":4}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"args":[1]}}]}}],"usageMetadata":{"promptTokenCount":-3,"totalTokenCount":1.5e30}})"};
  for (const char* text : responses) {
    auto translator = make_openai_to_gemini(chat_context(false));
    std::string client;
    EXPECT_NO_THROW(translator->translate_response(text, client)) << text;
  }
  auto translator = make_openai_to_gemini(chat_context(true));
  std::string out;
  EXPECT_NO_THROW({
    translator->stream_feed("data: [1,2]\n\n", out);
    translator->stream_end(out);
  });
}

// ---------------------------------------------------------------------------------------------
// Errors.

void expect_error(const std::string& name) {
  SCOPED_TRACE(name);
  const auto expected = read_object("errors/" + name + "/expected.json");
  auto translator = make_openai_to_gemini(chat_context(false));
  const auto error = translator->translate_error(expected.at("upstream_status").to_number<unsigned>(), "",
                                                 read_file("errors/" + name + "/upstream_body.json"));
  EXPECT_EQ(error.status, expected.at("status").to_number<unsigned>());
  EXPECT_TRUE(json_equal(json::serialize(expected.at("body")), http::openai_error_body(error)));
}

TEST(OpenAiGeminiError, ApiKeyInvalidReasonIs401) {
  expect_error("api_key_invalid");
}
TEST(OpenAiGeminiError, ApiKeyNotValidMessageIs401) {
  expect_error("api_key_invalid_message_only");
}
TEST(OpenAiGeminiError, ResourceExhaustedIs429EvenWrappedInAnArray) {
  expect_error("resource_exhausted");
}
TEST(OpenAiGeminiError, NotFoundKeeps404AndMessage) {
  expect_error("not_found");
}
TEST(OpenAiGeminiError, UnparseableBodyNamesTheStatusAndQuotesTheBody) {
  expect_error("unparseable");
}

// ---------------------------------------------------------------------------------------------
// Embeddings.

std::unique_ptr<Translator> make_embeddings(bool vertex) {
  return vertex ? make_openai_embeddings_to_vertex(embedding_context())
                : make_openai_embeddings_to_gemini(embedding_context());
}

void expect_embeddings(const std::string& name, bool vertex) {
  SCOPED_TRACE(name);
  const std::string dir = "embeddings/" + name + "/";
  auto body = read_object(dir + "client_request.json");
  auto translator = make_embeddings(vertex);
  std::string upstream;
  const auto error = translator->translate_request(body, upstream);
  ASSERT_FALSE(error) << error->message;
  EXPECT_TRUE(json_equal(read_file(dir + "upstream_request.json"), upstream));
  std::string client;
  const auto response_error = translator->translate_response(read_file(dir + "upstream_response.json"), client);
  ASSERT_FALSE(response_error) << response_error->message;
  EXPECT_TRUE(json_equal(read_file(dir + "client_response.json"), client));
}

// Decodes the base64 embedding of the response and checks it holds the upstream values as
// little-endian float32.
void expect_base64_decodes_to_upstream_values(const std::string& name, bool vertex) {
  SCOPED_TRACE(name);
  const std::string dir = "embeddings/" + name + "/";
  auto body = read_object(dir + "client_request.json");
  auto translator = make_embeddings(vertex);
  std::string upstream, client;
  ASSERT_FALSE(translator->translate_request(body, upstream));
  ASSERT_FALSE(translator->translate_response(read_file(dir + "upstream_response.json"), client));
  const auto response = json::parse(read_file(dir + "upstream_response.json"));
  const auto& values = vertex ? response.at("predictions").at(0).at("embeddings").at("values").as_array()
                              : response.at("embeddings").at(0).at("values").as_array();
  const auto decoded = base64_decode(json::parse(client).at("data").at(0).at("embedding").as_string());
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(decoded->data()) + i * 4;
    const std::uint32_t bits =
        std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
    EXPECT_EQ(std::bit_cast<float>(bits), static_cast<float>(values[i].to_number<double>())) << "value " << i;
  }
}

TEST(OpenAiGeminiEmbeddings, GeminiBatchEmbedContentsFloats) {
  expect_embeddings("gemini_float", false);
}
TEST(OpenAiGeminiEmbeddings, GeminiBase64WhenAsked) {
  expect_embeddings("gemini_base64", false);
  expect_base64_decodes_to_upstream_values("gemini_base64", false);
}
TEST(OpenAiGeminiEmbeddings, VertexPredictFloatsWithTokenCountsSummed) {
  expect_embeddings("vertex_float", true);
}
TEST(OpenAiGeminiEmbeddings, VertexBase64WhenAsked) {
  expect_embeddings("vertex_base64", true);
  expect_base64_decodes_to_upstream_values("vertex_base64", true);
}

TEST(OpenAiGeminiEmbeddings, TokenIdInputIs400NamingInputAndProvider) {
  for (const bool vertex : {false, true}) {
    for (const char* input : {"[1,2,3]", "[[1,2],[3]]"}) {
      json::object body{{"model", "text-embedding-004"}, {"input", json::parse(input)}};
      auto translator = make_embeddings(vertex);
      std::string upstream;
      const auto error = translator->translate_request(body, upstream);
      ASSERT_TRUE(error) << input;
      EXPECT_EQ(error->status, 400u);
      EXPECT_EQ(error->param.value_or(""), "input");
      EXPECT_NE(error->message.find(vertex ? "Vertex AI" : "Gemini"), std::string::npos) << error->message;
    }
  }
}

TEST(OpenAiGeminiEmbeddings, StreamingIsAnErrorEvent) {
  auto translator = make_embeddings(false);
  std::string out;
  EXPECT_FALSE(translator->stream_feed("data: {}\n\n", out));
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].data.find("\"error\""), std::string::npos);
}

TEST(OpenAiGeminiEmbeddings, ErrorsUseTheGeminiMapping) {
  auto translator = make_embeddings(true);
  const auto error = translator->translate_error(
      400, "", R"({"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}})");
  EXPECT_EQ(error.status, 401u);
}

TEST(OpenAiGeminiRequest, EveryGoldenRequestIsTranslatedReadOnlyAndIdenticallyOnRetry) {
  std::size_t cases = 0;
  for (const std::string dir : {"request", "stream"}) {
    for (const auto& file : harness::request_cases(dir)) {
      SCOPED_TRACE(file);
      const auto body = read_object(file);
      harness::expect_request_read_only([] { return make_openai_to_gemini(chat_context(false)); }, body);
      ++cases;
    }
  }
  EXPECT_GT(cases, 3u);
}

}  // namespace
}  // namespace sluice::translate
