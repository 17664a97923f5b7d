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
