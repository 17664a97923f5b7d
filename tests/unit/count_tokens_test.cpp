// count_tokens: token counts translated between the client's count API (Anthropic count_tokens,
// Gemini countTokens) and the provider's (Gemini / Vertex AI countTokens, Anthropic count_tokens,
// Vertex AI Claude count-tokens:rawPredict, Bedrock CountTokens), through the chat chains the
// gateway builds. Golden files under tests/golden/count_tokens/<case>/:
//   client_request.json -> upstream_request.json, the case named <client>_to_<provider>.
#include "translate/count_tokens.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "golden.hpp"
#include "translate/anthropic_client.hpp"
#include "translate/gemini_client.hpp"
#include "translate/openai_anthropic.hpp"
#include "translate/openai_bedrock.hpp"
#include "translate/openai_gemini.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;

RequestContext context(CountProvider provider) {
  RequestContext ctx;
  switch (provider) {
    case CountProvider::Gemini:
      ctx.model = "gemini-2.5-flash";
      break;
    case CountProvider::VertexGemini:
      ctx.model = "gemini-2.5-pro";
      break;
    case CountProvider::Anthropic:
      ctx.model = "claude-sonnet-4-5";
      break;
    case CountProvider::VertexAnthropic:
      ctx.model = "claude-sonnet-4-5@20250929";
      ctx.model_in_body = false;
      ctx.anthropic_body_version = "vertex-2023-10-16";
      break;
    case CountProvider::Bedrock:
      ctx.model = "anthropic.claude-3-5-sonnet-20241022-v2:0";
      break;
  }
  return ctx;
}

// The translator the gateway builds (translate/select.cpp) for this pair.
std::unique_ptr<Translator> make(CountClient client, CountProvider provider) {
  const auto ctx = context(provider);
  std::unique_ptr<Translator> chat;
  switch (provider) {
    case CountProvider::Gemini:
    case CountProvider::VertexGemini:
      chat = make_openai_to_gemini(ctx);
      break;
    case CountProvider::Anthropic:
    case CountProvider::VertexAnthropic:
      chat = make_openai_to_anthropic(ctx);
      break;
    case CountProvider::Bedrock:
      chat = make_openai_to_bedrock(ctx);
      break;
  }
  chat = client == CountClient::Anthropic ? make_anthropic_client(ctx, std::move(chat))
                                          : make_gemini_client(ctx, std::move(chat));
  return make_count_tokens(client, provider, ctx, std::move(chat));
}

json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return value.is_object() ? value.get_object() : json::object{};
}

void expect_request_case(const std::string& name, CountClient client, CountProvider provider) {
  const auto in = parse_object(read_file(name + "/client_request.json"));
  const auto before = json::serialize(in);
  auto translator = make(client, provider);
  std::string out;
  const auto error = translator->translate_request(in, out);
  ASSERT_FALSE(error.has_value()) << name << ": " << error->message;
  EXPECT_TRUE(json_equal(read_file(name + "/upstream_request.json"), out, {})) << name << ": " << out;
  EXPECT_EQ(json::serialize(in), before) << "the client body is read, never changed";
  std::string again;
  ASSERT_FALSE(make(client, provider)->translate_request(in, again).has_value());
  EXPECT_EQ(out, again) << "a retry converts to the same body";
}

TEST(CountTokensRequest, AnthropicToGemini) {
  expect_request_case("anthropic_to_gemini", CountClient::Anthropic, CountProvider::Gemini);
}
TEST(CountTokensRequest, AnthropicToVertexGemini) {
  expect_request_case("anthropic_to_vertex_gemini", CountClient::Anthropic, CountProvider::VertexGemini);
}
TEST(CountTokensRequest, AnthropicToVertexAnthropic) {
  expect_request_case("anthropic_to_vertex_anthropic", CountClient::Anthropic, CountProvider::VertexAnthropic);
}
TEST(CountTokensRequest, AnthropicToBedrock) {
  expect_request_case("anthropic_to_bedrock", CountClient::Anthropic, CountProvider::Bedrock);
}
TEST(CountTokensRequest, GeminiToAnthropic) {
  expect_request_case("gemini_to_anthropic", CountClient::Gemini, CountProvider::Anthropic);
}
TEST(CountTokensRequest, GeminiGenerateContentRequestToAnthropic) {
  expect_request_case("gemini_wrapped_to_anthropic", CountClient::Gemini, CountProvider::Anthropic);
}
TEST(CountTokensRequest, GeminiToVertexAnthropic) {
  expect_request_case("gemini_to_vertex_anthropic", CountClient::Gemini, CountProvider::VertexAnthropic);
}
TEST(CountTokensRequest, GeminiToBedrock) {
  expect_request_case("gemini_to_bedrock", CountClient::Gemini, CountProvider::Bedrock);
}

TEST(CountTokensRequest, RefusalsNameTheClientsField) {
  std::string out;
  auto error = make(CountClient::Anthropic, CountProvider::Gemini)
                   ->translate_request(parse_object(R"({"model":"m","system":"s"})"), out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param, "messages");

  error = make(CountClient::Gemini, CountProvider::Bedrock)
              ->translate_request(
                  parse_object(R"({"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}]})"), out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->param->substr(0, 8), "tools[0]");

  error = make(CountClient::Gemini, CountProvider::Anthropic)
              ->translate_request(parse_object(R"({"generateContentRequest":"nope"})"), out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "generateContentRequest");
}

TEST(CountTokensResponse, TheProvidersCountInTheClientsShape) {
  struct Case {
    CountClient client;
    CountProvider provider;
    std::string_view upstream;
    std::string_view client_body;
  };
  const Case cases[] = {
      {CountClient::Anthropic, CountProvider::Gemini, R"({"totalTokens":31,"promptTokensDetails":[]})",
       R"({"input_tokens":31})"},
      {CountClient::Anthropic, CountProvider::VertexGemini, R"({"totalTokens":7,"totalBillableCharacters":28})",
       R"({"input_tokens":7})"},
      {CountClient::Anthropic, CountProvider::VertexAnthropic, R"({"input_tokens":12})", R"({"input_tokens":12})"},
      {CountClient::Anthropic, CountProvider::Bedrock, R"({"inputTokens":44})", R"({"input_tokens":44})"},
      {CountClient::Gemini, CountProvider::Anthropic, R"({"input_tokens":5})", R"({"totalTokens":5})"},
      {CountClient::Gemini, CountProvider::VertexAnthropic, R"({"input_tokens":0})", R"({"totalTokens":0})"},
      {CountClient::Gemini, CountProvider::Bedrock, R"({"inputTokens":9})", R"({"totalTokens":9})"},
  };
  for (const auto& c : cases) {
    std::string out;
    const auto error = make(c.client, c.provider)->translate_response(c.upstream, out);
    ASSERT_FALSE(error.has_value()) << c.upstream;
    EXPECT_TRUE(json_equal(c.client_body, out, {})) << c.upstream << " -> " << out;
  }
}

TEST(CountTokensResponse, AReplyWithoutACountIsABadUpstream) {
  for (const std::string_view body : {"", "[]", R"({"input_tokens":3})", R"({"inputTokens":-1})",
                                      R"({"inputTokens":"3"})", R"({"inputTokens":2.5})"}) {
    std::string out;
    const auto error = make(CountClient::Anthropic, CountProvider::Bedrock)->translate_response(body, out);
    ASSERT_TRUE(error.has_value()) << body;
    EXPECT_EQ(error->status, 502u) << body;
  }
}

TEST(CountTokensError, ProviderErrorsKeepTheirStatusAndMessage) {
  auto error =
      make(CountClient::Anthropic, CountProvider::Gemini)
          ->translate_error(429, "", R"({"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}})");
  EXPECT_EQ(error.status, 429u);
  EXPECT_EQ(error.message, "quota");
  error = make(CountClient::Gemini, CountProvider::Bedrock)
              ->translate_error(400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                                R"({"message":"The provided model doesn't support counting tokens."})");
  EXPECT_EQ(error.status, 400u);
  EXPECT_EQ(error.message, "The provided model doesn't support counting tokens.");
  error = make(CountClient::Gemini, CountProvider::Anthropic)
              ->translate_error(529, "", R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
  EXPECT_EQ(error.message, "busy");
}

TEST(CountTokensStream, ACountNeverStreams) {
  std::string out;
  EXPECT_FALSE(make(CountClient::Anthropic, CountProvider::Gemini)->stream_feed("data: {}\n\n", out));
  EXPECT_NE(out.find("event: error"), std::string::npos) << out;
}

TEST(CountTokensModels, BedrockCountsForClaudeOnly) {
  EXPECT_TRUE(counts_tokens_for(CountProvider::Bedrock, "anthropic.claude-3-5-sonnet-20241022-v2:0"));
  EXPECT_TRUE(counts_tokens_for(CountProvider::Bedrock, "us.anthropic.claude-sonnet-4-20250514-v1:0"));
  EXPECT_TRUE(counts_tokens_for(CountProvider::Bedrock,
                                "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-7-sonnet"));
  EXPECT_FALSE(counts_tokens_for(CountProvider::Bedrock, "amazon.nova-pro-v1:0"));
  EXPECT_FALSE(counts_tokens_for(CountProvider::Bedrock, "meta.llama3-70b-instruct-v1:0"));
  EXPECT_TRUE(counts_tokens_for(CountProvider::Gemini, "anything"));
  EXPECT_TRUE(counts_tokens_for(CountProvider::VertexAnthropic, "claude-x"));
}

}  // namespace
}  // namespace sluice::translate
