// Golden tests for the Gemini embedContent / batchEmbedContents client on OpenAI-format
// providers (tests/golden/gemini_embed_client/): the request as an OpenAI embeddings request,
// the reply in Gemini's shape and order, and every refusal naming its Gemini field. Its use on
// Bedrock (Titan's one call per text, Cohere's input_type) is in gemini_embed_bedrock_test.cpp.
#include "translate/gemini_embed_client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "golden.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;

json::object load_object(const std::string& relative) {
  auto v = golden::parse_or_fail(read_file(relative), relative);
  return v.is_object() ? v.get_object() : json::object{};
}

std::unique_ptr<Translator> client(bool batch) {
  RequestContext context;
  context.model = "text-embedding-3-small";
  context.gemini_action = batch ? "batchEmbedContents" : "embedContent";
  return make_gemini_embed_client(context, nullptr);
}

void check_exchange(bool batch, const std::string& name) {
  auto t = client(batch);
  const auto body = load_object(name + "_request.json");
  const auto before = json::serialize(body);
  std::string upstream;
  const auto error = t->translate_request(body, upstream);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(json::serialize(body), before) << "the client body is read, never changed";
  EXPECT_TRUE(json_equal(read_file(name + "_openai_request.json"), upstream));
  EXPECT_TRUE(t->upstream_calls().empty());
  std::string again;
  ASSERT_FALSE(client(batch)->translate_request(body, again).has_value());
  EXPECT_EQ(again, upstream);

  std::string reply;
  const auto reply_error = t->translate_response(read_file(name + "_openai_response.json"), reply);
  ASSERT_FALSE(reply_error.has_value()) << reply_error->message;
  EXPECT_TRUE(json_equal(read_file(name + "_client_response.json"), reply));
  EXPECT_TRUE(t->usage().known);
}

TEST(GeminiEmbedClient, EmbedContentIsOneInput) {
  check_exchange(false, "embed_content");
}

// Several parts of one content are one input; replies are placed by their index.
TEST(GeminiEmbedClient, BatchIsAListInRequestOrder) {
  check_exchange(true, "batch");
}

TEST(GeminiEmbedClient, EveryRefusalNamesItsField) {
  const auto cases = golden::parse_or_fail(read_file("request_errors.json"), "request_errors.json");
  ASSERT_TRUE(cases.is_array());
  for (const auto& c : cases.get_array()) {
    const auto& o = c.get_object();
    SCOPED_TRACE(std::string(o.at("name").get_string()));
    GeminiEmbedPivot pivot;
    const auto error = gemini_embed_to_openai(o.at("body").get_object(), o.at("batch").get_bool(), "m", pivot);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->status, 400u);
    const std::string param(o.at("param").get_string());
    EXPECT_EQ(error->param, std::optional<std::string>(param));
    EXPECT_EQ(error->message.rfind(param + ": ", 0), 0u) << error->message;
  }
}

TEST(GeminiEmbedClient, TooManyRequestsIs400NamingRequests) {
  json::array requests;
  for (std::size_t i = 0; i <= kMaxGeminiEmbedContents; ++i)
    requests.push_back(json::object{{"content", json::object{{"parts", json::array{json::object{{"text", "x"}}}}}}});
  GeminiEmbedPivot pivot;
  const auto error = gemini_embed_to_openai(json::object{{"requests", std::move(requests)}}, true, "m", pivot);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("requests"));
}

// OpenAI-format embeddings have no task type: refused, never dropped (TASK_TYPE_UNSPECIFIED is
// no task type at all).
TEST(GeminiEmbedClient, TaskTypeIsRefusedOnOpenAiFormat) {
  std::string upstream;
  auto error = client(false)->translate_request(
      json::parse(R"({"content":{"parts":[{"text":"a"}]},"taskType":"RETRIEVAL_QUERY"})").as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("taskType"));
  error = client(true)->translate_request(
      json::parse(R"({"requests":[{"content":{"parts":[{"text":"a"}]},"task_type":"CLUSTERING"}]})").as_object(),
      upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("requests[0].taskType"));
  error = client(false)->translate_request(
      json::parse(R"({"content":{"parts":[{"text":"a"}]},"taskType":"TASK_TYPE_UNSPECIFIED",
                      "output_dimensionality":4})")
          .as_object(),
      upstream);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(R"({"model":"text-embedding-3-small","input":"a","encoding_format":"float","dimensions":4})",
                         upstream));
}

TEST(GeminiEmbedClient, RepliesThatDoNotMatchAre502) {
  for (const char* reply : {R"({"data":[{"index":0,"embedding":[1]}]})",                              // one for two
                            R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]})",  // repeated index
                            R"({"data":[{"index":0,"embedding":[1]},{"index":5,"embedding":[2]}]})",  // out of range
                            R"({"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":"AAAA"}]})",  // not floats
                            R"({"object":"list"})", R"([1,2])", "not json"}) {
    SCOPED_TRACE(reply);
    auto t = client(true);
    std::string upstream;
    ASSERT_FALSE(t->translate_request(json::parse(R"({"requests":[{"content":{"parts":[{"text":"a"}]}},
                                                                {"content":{"parts":[{"text":"b"}]}}]})")
                                          .as_object(),
                                      upstream)
                     .has_value());
    std::string out;
    const auto error = t->translate_response(reply, out);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->status, 502u);
  }
}

TEST(GeminiEmbedClient, ProviderErrorsKeepStatusAndMessage) {
  const auto error =
      client(false)->translate_error(429, "", R"({"error":{"message":"Rate limit reached","type":"requests"}})");
  EXPECT_EQ(error.status, 429u);
  EXPECT_EQ(error.message, "Rate limit reached");
}

}  // namespace
}  // namespace sluice::translate
