#include "observe/request_id.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sluice::observe {
namespace {

TEST(RequestId, GeneratedIdsAre32HexDigitsAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = generate_request_id();
    const auto text = id.view();
    ASSERT_EQ(text.size(), 32u);
    for (const char c : text) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << text;
    seen.emplace(text);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestId, ValidIdsAreVisibleAsciiAndBounded) {
  EXPECT_TRUE(valid_request_id("abc-123_XYZ.~!"));
  EXPECT_TRUE(valid_request_id(std::string(kMaxRequestIdBytes, 'a')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(kMaxRequestIdBytes + 1, 'a')));
  EXPECT_FALSE(valid_request_id("has space"));
  EXPECT_FALSE(valid_request_id("tab\t"));
  EXPECT_FALSE(valid_request_id("new\nline"));
  EXPECT_FALSE(valid_request_id("caf\xC3\xA9"));
  EXPECT_FALSE(valid_request_id(std::string_view("nul\0", 4)));
}

TEST(RequestId, TheClientsIdOnlyWhenTrustedAndValid) {
  EXPECT_EQ(choose_request_id("client-id-1", true).view(), "client-id-1");
  EXPECT_NE(choose_request_id("client-id-1", false).view(), "client-id-1");
  EXPECT_EQ(choose_request_id("client-id-1", false).view().size(), 32u);
  EXPECT_EQ(choose_request_id("bad id", true).view().size(), 32u);
  EXPECT_EQ(choose_request_id("", true).view().size(), 32u);
}

}  // namespace
}  // namespace sluice::observe
