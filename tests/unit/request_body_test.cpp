#include "proxy/request_body.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sluice::proxy {
namespace {

std::optional<http::ApiError> inspect(std::string& body, BodyInfo& info,
                                      const std::optional<std::string>& override_model = std::nullopt) {
  return inspect_json_body(body, override_model, info);
}

TEST(RequestBodyTest, ExtractsTopLevelModelAndStream) {
  std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  EXPECT_EQ(info.model, "gpt-4o");
  EXPECT_TRUE(info.stream);
}

TEST(RequestBodyTest, NestedModelAndStreamKeysAreIgnored) {
  std::string body =
      R"({"metadata":{"model":"inner","stream":true},"messages":[{"model":"x"}],"model":"outer","stream":false})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  EXPECT_EQ(info.model, "outer");
  EXPECT_FALSE(info.stream);
}

TEST(RequestBodyTest, AbsentOrNonStringModelLeavesItEmpty) {
  std::string body = R"({"model":42,"stream":"yes"})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  EXPECT_EQ(info.model, "");
  EXPECT_FALSE(info.stream);
}

TEST(RequestBodyTest, EscapedKeysAndValuesAreDecoded) {
  std::string body = R"({"mo\u0064el":"gpt\u002d4","stream":true})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  EXPECT_EQ(info.model, "gpt-4");
}

TEST(RequestBodyTest, MalformedJsonNamesLineColumnAndOffset) {
  std::string body = "{\"model\": \"x\",\n \"messages\": [}";  // the "}" is byte 29, line 2 column 15
  BodyInfo info;
  const auto error = inspect(body, info);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400u);
  EXPECT_EQ(error->code, "invalid_json");
  EXPECT_NE(error->message.find("at line 2, column 15 (byte offset 29)"), std::string::npos) << error->message;
}

TEST(RequestBodyTest, TrailingDataIsRejected) {
  std::string body = R"({"model":"x"} {"again":1})";
  BodyInfo info;
  const auto error = inspect(body, info);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "invalid_json");
}

TEST(RequestBodyTest, IncompleteDocumentIsRejected) {
  std::string body = R"({"model":)";
  BodyInfo info;
  const auto error = inspect(body, info);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("byte offset 9"), std::string::npos) << error->message;
}

TEST(RequestBodyTest, NonObjectAndEmptyBodiesAreRejected) {
  for (std::string body : {std::string("[1,2]"), std::string("\"text\""), std::string("42")}) {
    BodyInfo info;
    const auto error = inspect(body, info);
    ASSERT_TRUE(error.has_value()) << body;
    EXPECT_EQ(error->message, "request body must be a JSON object");
  }
  std::string empty;
  BodyInfo info;
  const auto error = inspect(empty, info);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "request body is empty; expected a JSON object");
}

// The generation parameters of the parsed document (generation_parameters, what traces read
// when a stage changed the document): the scan must agree with it.
GenerationParameters parameters_from_document(const std::string& body) {
  return generation_parameters(boost::json::parse(body).as_object());
}

TEST(RequestBodyTest, ScanKeepsTheGenerationParameters) {
  struct Case {
    std::string body;
    std::optional<double> max_tokens, temperature, top_p;
  };
  const std::vector<Case> cases{
      {R"({"model":"m","max_tokens":50,"temperature":0.2,"top_p":0.9})", 50, 0.2, 0.9},
      {R"({"max_output_tokens":10,"max_tokens":20})", 20, {}, {}},
      {R"({"max_tokens":20,"max_completion_tokens":30,"max_output_tokens":5})", 30, {}, {}},
      {R"({"max_completion_tokens":"x","max_tokens":5})", 5, {}, {}},
      {R"({"generationConfig":{"maxOutputTokens":7,"temperature":1,"topP":0.5},"temperature":0.3,"max_tokens":2})", 7,
       1.0, 0.5},
      {R"({"temperature":0.3,"generationConfig":{"thinkingConfig":{"temperature":9,"topP":8},"topP":0.1}})",
       {},
       0.3,
       0.1},
      {R"({"metadata":{"temperature":5},"messages":[{"max_tokens":3,"top_p":1}],"tools":[{"temperature":2}]})",
       {},
       {},
       {}},
      {R"({"temperature":null,"top_p":"0.9","max_tokens":[1]})", {}, {}, {}},
      {R"({"generationConfig":[{"maxOutputTokens":7}],"top_p":0})", {}, {}, 0.0},
      {R"({"generationConfig":{"maxOutputTokens":{"x":1},"temperature":0.4}})", {}, 0.4, {}},
      {R"({"max_tokens":18446744073709551615,"temperature":-1})", 18446744073709551615.0, -1.0, {}},
      {R"({"generationConfig":{"maxOutputTokens":3},"max_completion_tokens":9})", 3, {}, {}},
      {R"({"model":"m"})", {}, {}, {}},
  };
  for (const auto& c : cases) {
    std::string body = c.body;
    BodyInfo info;
    ASSERT_EQ(inspect(body, info), std::nullopt) << c.body;
    EXPECT_EQ(info.parameters.max_tokens, c.max_tokens) << c.body;
    EXPECT_EQ(info.parameters.temperature, c.temperature) << c.body;
    EXPECT_EQ(info.parameters.top_p, c.top_p) << c.body;
    const auto reference = parameters_from_document(c.body);
    EXPECT_EQ(info.parameters.max_tokens, reference.max_tokens) << c.body;
    EXPECT_EQ(info.parameters.temperature, reference.temperature) << c.body;
    EXPECT_EQ(info.parameters.top_p, reference.top_p) << c.body;
    // The reader for translated requests scans the same way.
    BodyInfo parsed;
    boost::json::value document;
    ASSERT_EQ(parse_json_body(c.body, {}, document, parsed), std::nullopt) << c.body;
    EXPECT_EQ(parsed.parameters.max_tokens, c.max_tokens) << c.body;
    EXPECT_EQ(parsed.parameters.temperature, c.temperature) << c.body;
    EXPECT_EQ(parsed.parameters.top_p, c.top_p) << c.body;
  }
}

TEST(RequestBodyTest, ModelOverrideRewritesTheBodyAndKeepsTheRest) {
  std::string body = R"({"model":"client","messages":[{"role":"user","content":"hi"}],"temperature":0})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info, std::string("forced")), std::nullopt);
  EXPECT_EQ(info.model, "forced");
  const auto value = boost::json::parse(body);
  EXPECT_EQ(value.at("model").as_string(), "forced");
  EXPECT_EQ(value.at("temperature").as_int64(), 0);
  EXPECT_EQ(value.at("messages").as_array().size(), 1u);
}

TEST(RequestBodyTest, WithoutOverrideTheBodyIsForwardedByteForByte) {
  const std::string original = "{ \"model\" : \"m\",  \"x\": 1.50 }";
  std::string body = original;
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  EXPECT_EQ(body, original);
}

TEST(RequestBodyTest, DuplicateTopLevelKeyIsRefusedByBothReaders) {
  const std::string body = R"({"model":"gpt-4o-mini","messages":[],"model":"gpt-4o"})";
  std::string copy = body;
  BodyInfo info;
  const auto scanned = inspect(copy, info);
  ASSERT_TRUE(scanned);
  EXPECT_EQ(scanned->status, 400u);
  EXPECT_EQ(scanned->code, "duplicate_key");
  EXPECT_NE(scanned->message.find("\"model\""), std::string::npos);
  boost::json::monotonic_resource arena;
  boost::json::value document;
  BodyInfo parsed_info;
  const auto parsed = parse_json_body(body, boost::json::storage_ptr(&arena), document, parsed_info);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->code, "duplicate_key");
}

TEST(RequestBodyTest, DuplicateKeysAmongManyAreFound) {
  std::string body = "{";
  for (int i = 0; i < 100; ++i) body += "\"k" + std::to_string(i) + "\":1,";
  body += "\"k57\":2}";
  BodyInfo info;
  const auto error = inspect(body, info);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "duplicate_key");
}

TEST(RequestBodyTest, NestedDuplicateKeysAreTheDocumentsBusiness) {
  std::string body = R"({"model":"m","metadata":{"a":1,"a":2}})";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
}

TEST(RequestBodyTest, DeepToolSchemasAreAccepted) {
  std::string nested;
  // 60 levels of object schemas: 120 JSON levels, plus 5 around them.
  for (int i = 0; i < 60; ++i) nested += R"({"type":"object","properties":{"x":)";
  nested += "{}";
  for (int i = 0; i < 60; ++i) nested += "}}";
  std::string body =
      R"({"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":)" + nested + "}}]}";
  BodyInfo info;
  EXPECT_EQ(inspect(body, info), std::nullopt);
  boost::json::monotonic_resource arena;
  boost::json::value document;
  EXPECT_EQ(parse_json_body(body, boost::json::storage_ptr(&arena), document, info), std::nullopt);
}

TEST(RequestBodyTest, NestingBeyondTheLimitIsRefused) {
  std::string body = R"({"model":"m","x":)" + std::string(200, '[') + std::string(200, ']') + "}";
  BodyInfo info;
  const auto error = inspect(body, info);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400u);
}

TEST(RequestBodyTest, ModelMustBeShortPrintableAndNotADotSegment) {
  for (const std::string& model : {std::string(300, 'm'), std::string("gpt\\r\\nX: y"), std::string("."),
                                   std::string(".."), std::string("a\\u0000b")}) {
    std::string body = "{\"model\":\"" + model + "\"}";
    BodyInfo info;
    const auto error = inspect(body, info);
    ASSERT_TRUE(error) << model;
    EXPECT_EQ(error->code, "invalid_model") << model;
  }
}

TEST(RequestBodyTest, NumbersBeyondDoubleRangeAreRefused) {
  // A model override would re-serialise them as Infinity / NaN, which is not JSON.
  for (const char* number : {"1e400", "-1e400", "0.00e0722296"}) {
    std::string body = std::string(R"({"model":"m","temperature":)") + number + "}";
    BodyInfo info;
    const auto error = inspect(body, info);
    ASSERT_TRUE(error) << number;
    EXPECT_EQ(error->code, "invalid_json") << number;
  }
}

}  // namespace
}  // namespace sluice::proxy
