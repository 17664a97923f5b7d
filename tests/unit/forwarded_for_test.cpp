#include "http/forwarded_for.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace sluice::http {
namespace {

std::string client(std::vector<std::string_view> values, unsigned hops) {
  return forwarded_client(values, hops).value_or("<peer>");
}

TEST(ForwardedAddress, AcceptsAddressesStrictly) {
  EXPECT_EQ(parse_forwarded_address("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(parse_forwarded_address("  203.0.113.7\t"), "203.0.113.7");
  EXPECT_EQ(parse_forwarded_address("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(parse_forwarded_address("203.0.113.7:8080"), "203.0.113.7");
  EXPECT_EQ(parse_forwarded_address("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(parse_forwarded_address("[2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(parse_forwarded_address("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(parse_forwarded_address("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
  EXPECT_EQ(parse_forwarded_address("0:0:0:0:0:0:0:1"), "::1");
}

TEST(ForwardedAddress, RejectsEverythingElse) {
  for (const char* bad : {"",
                          " ",
                          "unknown",
                          "_hidden",
                          "203.0.113",
                          "203.0.113.7.1",
                          "203.0.113.256",
                          "01.2.3.4",
                          "1.2.3.04",
                          "1..2.3",
                          "1.2.3.4:",
                          "1.2.3.4:65536",
                          "1.2.3.4:http",
                          "-1.2.3.4",
                          "1.2.3.4 5",
                          "[1.2.3.4]",
                          "2001:db8::1%eth0",
                          "[2001:db8::1",
                          "[2001:db8::1]x",
                          "[2001:db8::1]:99999",
                          "2001:db8:::1",
                          "g::1",
                          "example.com",
                          "1.2.3.4/24",
                          "0x7f.0.0.1",
                          "1234.1.1.1"}) {
    EXPECT_FALSE(parse_forwarded_address(bad)) << bad;
  }
}

TEST(ForwardedFor, ZeroHopsIsThePeer) {
  EXPECT_EQ(client({"203.0.113.7"}, 0), "<peer>");
}

TEST(ForwardedFor, HopsCountFromTheRight) {
  EXPECT_EQ(client({"198.51.100.1, 203.0.113.7, 10.0.0.2"}, 1), "10.0.0.2");
  EXPECT_EQ(client({"198.51.100.1, 203.0.113.7, 10.0.0.2"}, 2), "203.0.113.7");
  EXPECT_EQ(client({"198.51.100.1, 203.0.113.7, 10.0.0.2"}, 3), "198.51.100.1");
  EXPECT_EQ(client({"198.51.100.1,203.0.113.7"}, 2), "198.51.100.1");
}

TEST(ForwardedFor, SeveralFieldsAreOneList) {
  EXPECT_EQ(client({"198.51.100.1, 203.0.113.7", "10.0.0.2"}, 2), "203.0.113.7");
  EXPECT_EQ(client({"198.51.100.1", "203.0.113.7"}, 2), "198.51.100.1");
}

TEST(ForwardedFor, TooFewEntriesIsThePeer) {
  EXPECT_EQ(client({"203.0.113.7"}, 2), "<peer>");
  EXPECT_EQ(client({}, 1), "<peer>");
}

TEST(ForwardedFor, AMalformedTrustedEntryIsThePeer) {
  EXPECT_EQ(client({"198.51.100.1, bogus"}, 1), "<peer>");
  EXPECT_EQ(client({"198.51.100.1, bogus, 10.0.0.2"}, 2), "<peer>");
  EXPECT_EQ(client({"198.51.100.1,, 10.0.0.2"}, 2), "<peer>");
  EXPECT_EQ(client({""}, 1), "<peer>");
}

TEST(ForwardedFor, UntrustedEntriesLeftOfTheClientAreNotRead) {
  EXPECT_EQ(client({"not an address, <script>, 203.0.113.7"}, 1), "203.0.113.7");
  EXPECT_EQ(client({"garbage, 203.0.113.7, 10.0.0.2"}, 2), "203.0.113.7");
}

}  // namespace
}  // namespace sluice::http
