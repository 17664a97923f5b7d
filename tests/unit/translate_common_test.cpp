#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstring>
#include <string>

#include "translate/common.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;

TEST(AppendJsonString, RoundTripsEveryByteClassThroughAJsonParser) {
  std::string text = "plain \"quoted\" back\\slash\nnew\rline\ttab \x01\x1f ünïcödé 😀 </script>";
  std::string out;
  append_json_string(out, text);
  EXPECT_EQ(out.front(), '"');
  EXPECT_EQ(out.back(), '"');
  EXPECT_EQ(out.find('\n'), std::string::npos) << "raw newlines would break an SSE data line";
  EXPECT_EQ(json::parse(out).as_string(), text);
}

TEST(AppendJsonString, EmptyAndUnescapedTextCostNothingExtra) {
  std::string out;
  append_json_string(out, "");
  EXPECT_EQ(out, "\"\"");
  out.clear();
  append_json_string(out, "hello");
  EXPECT_EQ(out, "\"hello\"");
}

TEST(Base64, RoundTripsAllPaddingLengths) {
  for (const std::string& s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                               std::string("abcd"), std::string("\0\xff\x10", 3)}) {
    const auto encoded = base64_encode(s);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base64_decode(encoded), s);
  }
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_FALSE(base64_decode("YW*j"));
}

TEST(EmbeddingToBase64, IsLittleEndianFloat32) {
  const auto encoded = embedding_to_base64(json::array{1.0, -2.5, 0, 3});
  const auto bytes = base64_decode(encoded);
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), 16u);
  float values[4];
  std::memcpy(values, bytes->data(), 16);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.5f);
  EXPECT_EQ(values[2], 0.0f);
  EXPECT_EQ(values[3], 3.0f);
  EXPECT_EQ(static_cast<unsigned char>((*bytes)[3]), 0x3f) << "1.0f = 0x3f800000, little-endian";
}

TEST(ParseDataUri, OnlyBase64DataUris) {
  const auto uri = parse_data_uri("data:image/png;base64,iVBORw0KGgo=");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->media_type, "image/png");
  EXPECT_EQ(uri->data, "iVBORw0KGgo=");
  const auto with_params = parse_data_uri("data:image/jpeg;name=a.jpg;base64,AAAA");
  ASSERT_TRUE(with_params);
  EXPECT_EQ(with_params->media_type, "image/jpeg");
  EXPECT_FALSE(parse_data_uri("https://example.com/cat.png"));
  EXPECT_FALSE(parse_data_uri("data:text/plain,hello"));
  EXPECT_FALSE(parse_data_uri("data:image/png;base64"));
}

TEST(ContentText, StringsAndTextPartsJoinedByNewline) {
  EXPECT_EQ(content_text(json::value("hi")), "hi");
  EXPECT_EQ(
      content_text(json::parse(
          R"([{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}])")),
      "a\nb");
  EXPECT_EQ(content_text(json::value(nullptr)), "");
}

TEST(NewId, PrefixAndTwentyFourAlphanumerics) {
  const auto a = new_id("call_");
  const auto b = new_id("call_");
  EXPECT_EQ(a.rfind("call_", 0), 0u);
  EXPECT_EQ(a.size(), 5u + 24u);
  for (char c : a.substr(5)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << a;
  EXPECT_NE(a, b);
}

TEST(ErrorEvents, OpenAiAndAnthropicShapes) {
  const http::ApiError error{529, "server_error", "overloaded", "busy\nnow", {}};
  std::string openai;
  append_openai_error_event(openai, error);
  ASSERT_EQ(openai.rfind("data: ", 0), 0u);
  ASSERT_EQ(openai.substr(openai.size() - 2), "\n\n");
  EXPECT_EQ(json::parse(openai.substr(6)).at("error").at("message"), "busy\nnow");
  std::string anthropic;
  append_anthropic_error_event(anthropic, error);
  ASSERT_EQ(anthropic.rfind("event: error\ndata: ", 0), 0u);
  const auto body = json::parse(anthropic.substr(19));
  EXPECT_EQ(body.at("type"), "error");
  EXPECT_EQ(body.at("error").at("type"), "overloaded_error");
}

TEST(StatusTypes, OpenAiAndAnthropicErrorTypes) {
  EXPECT_EQ(openai_error_type(401), "authentication_error");
  EXPECT_EQ(openai_error_type(429), "rate_limit_error");
  EXPECT_EQ(openai_error_type(503), "server_error");
  EXPECT_EQ(openai_error_type(422), "invalid_request_error");
  EXPECT_EQ(http::anthropic_error_type(529), "overloaded_error");
  EXPECT_EQ(http::anthropic_error_type(413), "request_too_large");
  EXPECT_EQ(http::anthropic_error_type(500), "api_error");
  EXPECT_EQ(http::anthropic_error_type(400), "invalid_request_error");
}

}  // namespace
}  // namespace sluice::translate
