// Signed reasoning through Responses API items on translated providers: a provider's signed
// reasoning (Anthropic thinking blocks, Claude on Bedrock reasoningContent, Gemini thought
// signatures) reaches a Responses client in reasoning items' encrypted_content, and the same
// items sent back in `input` give the provider its signed reasoning again, in its own format.
// The Responses client translator composed with each provider translator (as the exchange
// composes them).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "translate/openai_anthropic.hpp"
#include "translate/openai_bedrock.hpp"
#include "translate/openai_gemini.hpp"
#include "translate/reasoning_item.hpp"
#include "translate/responses_client.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;

RequestContext context_for(std::string model) {
  RequestContext context;
  context.model = std::move(model);
  return context;
}

std::unique_ptr<Translator> responses_on(std::string_view provider, const std::string& model) {
  const auto context = context_for(model);
  if (provider == "anthropic") return make_responses_client(context, make_openai_to_anthropic(context));
  if (provider == "gemini") return make_responses_client(context, make_openai_to_gemini(context));
  return make_responses_client(context, make_openai_to_bedrock(context));
}

const json::object kTool{
    {"type", "function"},
    {"name", "get_weather"},
    {"parameters", json::object{{"type", "object"}, {"properties", json::object{{"city", {{"type", "string"}}}}}}}};

json::object request(json::array input) {
  return json::object{{"model", "m"},
                      {"input", std::move(input)},
                      {"tools", json::array{kTool}},
                      {"reasoning", json::object{{"effort", "low"}}},
                      {"max_output_tokens", 4096}};
}

// The first turn's output (a reply of `provider`), then the provider request of the next turn
// that sends that output back with the tool's result.
struct RoundTrip {
  json::array output;
  json::object next_upstream;
};

RoundTrip round_trip(std::string_view provider, const std::string& model, std::string_view upstream_reply) {
  RoundTrip out;
  json::array input{json::object{{"role", "user"}, {"content", "Weather in Paris?"}}};
  auto first = responses_on(provider, model);
  std::string upstream;
  EXPECT_FALSE(first->translate_request(request(input), upstream));
  std::string client;
  const auto error = first->translate_response(upstream_reply, client);
  EXPECT_FALSE(error) << error->message;
  auto reply = json::parse(client).as_object();
  out.output = reply.at("output").as_array();
  std::string call_id;
  for (const auto& item : out.output) {
    input.push_back(item);
    if (item.at("type") == json::value("function_call")) call_id = item.at("call_id").as_string();
  }
  input.push_back(json::object{{"type", "function_call_output"}, {"call_id", call_id}, {"output", "21C"}});
  auto next = responses_on(provider, model);
  const auto next_error = next->translate_request(request(input), upstream);
  EXPECT_FALSE(next_error) << next_error->message;
  out.next_upstream = json::parse(upstream).as_object();
  return out;
}

TEST(ResponsesReasoning, AnthropicThinkingBlocksTravelInEncryptedContentAndBack) {
  const auto trip = round_trip("anthropic", "claude-sonnet-4-5", R"({"id":"msg_1","type":"message",
      "role":"assistant","model":"claude-sonnet-4-5","content":[
        {"type":"thinking","thinking":"Let me think.","signature":"SIG1"},
        {"type":"redacted_thinking","data":"RED1"},
        {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
      "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}})");
  ASSERT_EQ(trip.output.size(), 3u) << json::serialize(trip.output);
  EXPECT_EQ(trip.output[0].at("summary").at(0).at("text"), json::value("Let me think."));
  EXPECT_TRUE(trip.output[0].at("encrypted_content").as_string().starts_with(kSealedReasoningPrefix));
  EXPECT_TRUE(trip.output[1].at("summary").as_array().empty());
  const auto& messages = trip.next_upstream.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u) << json::serialize(trip.next_upstream);
  const auto& content = messages[1].at("content").as_array();
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(json::serialize(content[0]), R"({"type":"thinking","thinking":"Let me think.","signature":"SIG1"})");
  EXPECT_EQ(json::serialize(content[1]), R"({"type":"redacted_thinking","data":"RED1"})");
  EXPECT_EQ(content[2].at("type"), json::value("tool_use"));
  // The turn keeps thinking: the assistant turn starts with its signed block.
  EXPECT_EQ(trip.next_upstream.at("thinking").at("type"), json::value("enabled"));
}

TEST(ResponsesReasoning, BedrockClaudeReasoningContentTravelsInEncryptedContentAndBack) {
  const auto trip = round_trip("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", R"({"output":{"message":{
      "role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Hmm.","signature":"BSIG"}}},
        {"toolUse":{"toolUseId":"tu_1","name":"get_weather","input":{"city":"Paris"}}}]}},
      "stopReason":"tool_use","usage":{"inputTokens":3,"outputTokens":5,"totalTokens":8}})");
  ASSERT_EQ(trip.output.size(), 2u) << json::serialize(trip.output);
  const auto& messages = trip.next_upstream.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u) << json::serialize(trip.next_upstream);
  const auto& content = messages[1].at("content").as_array();
  EXPECT_EQ(json::serialize(content.at(0)),
            R"({"reasoningContent":{"reasoningText":{"text":"Hmm.","signature":"BSIG"}}})");
  EXPECT_TRUE(content.at(1).as_object().contains("toolUse"));
  EXPECT_TRUE(trip.next_upstream.at("additionalModelRequestFields").as_object().contains("thinking"));
}

TEST(ResponsesReasoning, GeminiThoughtSignaturesTravelInEncryptedContentAndBackToTheirCall) {
  const auto trip = round_trip("gemini", "gemini-2.5-flash", R"({"candidates":[{"content":{"role":"model","parts":[
        {"text":"Thinking.","thought":true},
        {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"GSIG"}]},
      "finishReason":"STOP","index":0}],
      "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7}})");
  ASSERT_EQ(trip.output.size(), 2u) << json::serialize(trip.output);
  EXPECT_EQ(trip.output[0].at("summary").at(0).at("text"), json::value("Thinking."));
  const auto sealed = unseal_reasoning(trip.output[0].at("encrypted_content").as_string());
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->thought_signature, "GSIG");
  EXPECT_EQ(json::value(sealed->call_id), trip.output[1].at("call_id"));
  const auto& contents = trip.next_upstream.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u) << json::serialize(trip.next_upstream);
  const auto& part = contents[1].at("parts").at(0).as_object();
  EXPECT_TRUE(part.contains("functionCall"));
  EXPECT_EQ(part.at("thoughtSignature"), json::value("GSIG"));
}

TEST(ResponsesReasoning, ABlockForAnotherFamilyIsNotSentAndForeignContentIsDropped) {
  // An Anthropic block sent to Gemini, and OpenAI's own encrypted_content sent to Anthropic.
  json::array input{
      json::object{{"role", "user"}, {"content", "q"}},
      json::object{{"type", "reasoning"},
                   {"summary", json::array{}},
                   {"encrypted_content",
                    seal_thinking_block(json::object{{"type", "thinking"}, {"thinking", "t"}, {"signature", "S"}})}},
      json::object{{"type", "message"}, {"role", "assistant"}, {"content", "a"}},
      json::object{{"role", "user"}, {"content", "q2"}}};
  auto gemini = responses_on("gemini", "gemini-2.5-flash");
  std::string upstream;
  ASSERT_FALSE(gemini->translate_request(request(input), upstream));
  EXPECT_EQ(upstream.find("\"S\""), std::string::npos) << upstream;

  input[1].as_object()["encrypted_content"] = "gAAAAABforeign";
  auto anthropic = responses_on("anthropic", "claude-sonnet-4-5");
  ASSERT_FALSE(anthropic->translate_request(request(input), upstream));
  const auto body = json::parse(upstream).as_object();
  EXPECT_EQ(json::serialize(body.at("messages").at(1).at("content")), R"([{"type":"text","text":"a"}])") << upstream;
}

}  // namespace
}  // namespace sluice::translate
