#include "http/api_error.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sluice::http {
namespace {

boost::json::object parse_error(const std::string& body) {
  const auto value = boost::json::parse(body);
  EXPECT_TRUE(value.is_object());
  EXPECT_EQ(value.as_object().size(), 1u) << body;
  return value.as_object().at("error").as_object();
}

TEST(ApiErrorTest, AllFourKeysPresentWithNullParamAndCode) {
  ApiError e;
  e.message = "boom";
  e.type = "server_error";
  const auto inner = parse_error(openai_error_body(e));
  ASSERT_EQ(inner.size(), 4u);
  EXPECT_EQ(inner.at("message"), "boom");
  EXPECT_EQ(inner.at("type"), "server_error");
  EXPECT_TRUE(inner.at("param").is_null());
  EXPECT_TRUE(inner.at("code").is_null());
}

TEST(ApiErrorTest, ParamAndCodeWhenSet) {
  ApiError e;
  e.message = "no route";
  e.type = "invalid_request_error";
  e.code = "route_not_found";
  e.param = "model";
  const auto inner = parse_error(openai_error_body(e));
  ASSERT_EQ(inner.size(), 4u);
  EXPECT_EQ(inner.at("code"), "route_not_found");
  EXPECT_EQ(inner.at("param"), "model");
}

TEST(ApiErrorTest, EscapesQuotesBackslashesAndNewlines) {
  ApiError e;
  e.message = "say \"hi\"\nback\\slash\ttab";
  e.type = "server_error";
  e.code = "x";
  const auto body = openai_error_body(e);
  EXPECT_EQ(body.find('\n'), std::string::npos) << "raw newline in " << body;
  EXPECT_NE(body.find(R"(say \"hi\"\nback\\slash\ttab)"), std::string::npos) << body;
  EXPECT_EQ(parse_error(body).at("message"), "say \"hi\"\nback\\slash\ttab");
}

TEST(ApiErrorTest, ExactSerialisation) {
  ApiError e;
  e.message = "m";
  e.type = "t";
  e.code = "c";
  EXPECT_EQ(openai_error_body(e), R"({"error":{"message":"m","type":"t","param":null,"code":"c"}})");
}

}  // namespace
}  // namespace sluice::http
