// A Gemini embedContent / batchEmbedContents client on Bedrock embedding models: the Gemini
// embed client (gemini_embed_client) in front of the OpenAI -> Bedrock embeddings translator.
// A batch on Amazon Titan is one call per text, joined back in request order; Cohere takes the
// batch in one call, its input_type from the taskType; refusals name the Gemini field.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "golden.hpp"
#include "translate/gemini_embed_client.hpp"
#include "translate/openai_bedrock.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;

std::unique_ptr<Translator> on_bedrock(const char* model, bool batch) {
  RequestContext context;
  context.model = model;
  context.gemini_action = batch ? "batchEmbedContents" : "embedContent";
  return make_gemini_embed_client(context, make_openai_embeddings_to_bedrock(context));
}

constexpr const char* kTitan = "amazon.titan-embed-text-v2:0";
constexpr const char* kCohere = "cohere.embed-english-v3";

TEST(GeminiEmbedOnBedrock, TitanBatchIsOneCallPerTextInOrder) {
  auto t = on_bedrock(kTitan, true);
  std::string first;
  const auto body = json::parse(R"({"requests":[
      {"model":"models/amazon.titan-embed-text-v2:0","content":{"parts":[{"text":"a"}]},"outputDimensionality":4},
      {"model":"models/amazon.titan-embed-text-v2:0","content":{"parts":[{"text":"b"}]},"outputDimensionality":4},
      {"model":"models/amazon.titan-embed-text-v2:0","content":{"parts":[{"text":"c"}]},"outputDimensionality":4}]})")
                        .as_object();
  ASSERT_FALSE(t->translate_request(body, first).has_value());
  const auto calls = t->upstream_calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], first);
  EXPECT_TRUE(json_equal(R"({"inputText":"b","dimensions":4})", calls[1]));
  const std::vector<std::string> replies = {R"({"embedding":[1,0],"inputTextTokenCount":1})",
                                            R"({"embedding":[0,1],"inputTextTokenCount":2})",
                                            R"({"embedding":[1,1],"inputTextTokenCount":3})"};
  std::string client;
  const auto error = t->translate_responses(replies, client);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_TRUE(json_equal(R"({"embeddings":[{"values":[1,0]},{"values":[0,1]},{"values":[1,1]}]})", client));
  EXPECT_EQ(t->usage().prompt_tokens, 6u);
}

TEST(GeminiEmbedOnBedrock, TitanEmbedContentIsOneCall) {
  auto t = on_bedrock(kTitan, false);
  std::string upstream;
  ASSERT_FALSE(t->translate_request(json::parse(R"({"content":{"parts":[{"text":"hello"}]}})").as_object(), upstream)
                   .has_value());
  EXPECT_TRUE(json_equal(R"({"inputText":"hello"})", upstream));
  EXPECT_TRUE(t->upstream_calls().empty());
  std::string client;
  ASSERT_FALSE(t->translate_response(R"({"embedding":[0.5,0.25],"inputTextTokenCount":2})", client).has_value());
  EXPECT_TRUE(json_equal(R"({"embedding":{"values":[0.5,0.25]}})", client));
}

TEST(GeminiEmbedOnBedrock, TaskTypeIsCohereInputTypeAndRefusedOnTitan) {
  auto cohere = on_bedrock(kCohere, true);
  std::string upstream;
  ASSERT_FALSE(cohere
                   ->translate_request(json::parse(R"({"requests":[
                       {"content":{"parts":[{"text":"q"}]},"taskType":"RETRIEVAL_QUERY"},
                       {"content":{"parts":[{"text":"r"}]},"taskType":"RETRIEVAL_QUERY"}]})")
                                           .as_object(),
                                       upstream)
                   .has_value());
  EXPECT_TRUE(json_equal(R"({"texts":["q","r"],"input_type":"search_query"})", upstream));
  EXPECT_TRUE(cohere->upstream_calls().empty());

  auto titan = on_bedrock(kTitan, true);
  auto error = titan->translate_request(
      json::parse(R"({"requests":[{"content":{"parts":[{"text":"q"}]},"taskType":"RETRIEVAL_QUERY"}]})").as_object(),
      upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("requests[0].taskType"));

  auto similarity = on_bedrock(kCohere, false);
  error = similarity->translate_request(
      json::parse(R"({"content":{"parts":[{"text":"q"}]},"taskType":"SEMANTIC_SIMILARITY"})").as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("taskType"));

  auto dims = on_bedrock(kCohere, false);
  error = dims->translate_request(
      json::parse(R"({"content":{"parts":[{"text":"q"}]},"outputDimensionality":8})").as_object(), upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, std::optional<std::string>("outputDimensionality"));
}

TEST(GeminiEmbedOnBedrock, ThrottlingIs429) {
  const auto error = on_bedrock(kTitan, true)->translate_error(429, "ThrottlingException", R"({"message":"slow"})");
  EXPECT_EQ(error.status, 429u);
  EXPECT_EQ(error.message, "slow");
}

}  // namespace
}  // namespace sluice::translate
