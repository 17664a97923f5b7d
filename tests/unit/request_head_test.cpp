#include "http/request_head.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include "http/syntax.hpp"

namespace sluice::http {
namespace {

namespace bhttp = boost::beast::http;

struct Outcome {
  bool parsed = false;  // Beast accepted the head
  std::optional<ApiError> refused;
  std::string target;
  std::string host;
};

// Parses `raw` (one request head) as the client session does, then applies the edge's rules.
Outcome check(std::string raw) {
  http::RequestParser<bhttp::empty_body> parser;
  boost::system::error_code ec;
  const auto used = parser.put(boost::asio::buffer(raw), ec);
  Outcome out;
  if (ec || !parser.is_header_done()) return out;
  out.parsed = true;
  out.refused = canonicalize_request_head(parser.get().base(), std::string_view(raw).substr(0, used));
  out.target = std::string(parser.get().target());
  out.host = std::string(parser.get()[bhttp::field::host]);
  return out;
}

unsigned status_of(const std::string& raw) {
  const auto out = check(raw);
  if (!out.parsed) return 400;  // Beast itself refuses it: a 400 at the edge
  return out.refused ? out.refused->status : 0;
}

TEST(RequestHeadTest, PlainRequestPasses) {
  const auto out = check("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n");
  ASSERT_TRUE(out.parsed);
  EXPECT_FALSE(out.refused);
  EXPECT_EQ(out.target, "/v1/chat/completions");
}

TEST(RequestHeadTest, TransferEncodingNotEndingInChunkedIsRefused) {
  for (const char* te : {"xchunked", "gzip", "chunked, identity", "identity", "chunked;x=1", "chunked, chunked"}) {
    const auto raw = std::string("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: ") + te + "\r\n\r\n";
    EXPECT_EQ(status_of(raw), 400u) << te;
  }
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: "
                      "gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0u);
}

// Found by request_head_fuzz: an empty Transfer-Encoding field followed by "chunked" was
// accepted with two fields left in the head, which another parser may frame differently.
TEST(RequestHeadTest, TransferEncodingMustBeOneFieldSayingExactlyChunked) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding:\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"),
            400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"),
            400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: , chunked\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding:  chunked \r\n\r\n"), 0u);
}

TEST(RequestHeadTest, TransferEncodingWithContentLengthIsRefused) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: "
                      "xchunked\r\nContent-Length: 4\r\n\r\n"),
            400u);
}

TEST(RequestHeadTest, TransferEncodingInHttp10IsRefused) {
  EXPECT_EQ(status_of("POST / HTTP/1.0\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, ContentLengthMustBeOneNumber) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 4, 4\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: +4\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, HostIsRequiredOnceAndValid) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: gw.example.com:443\r\n\r\n"), 0u);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\n\r\n"), 0u);
}

TEST(RequestHeadTest, AbsoluteFormBecomesOriginFormWithItsAuthority) {
  const auto out = check("GET http://api.example.com:8080/v1/models?x=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(out.parsed);
  EXPECT_FALSE(out.refused);
  EXPECT_EQ(out.target, "/v1/models?x=1");
  EXPECT_EQ(out.host, "api.example.com:8080");
  const auto bare = check("GET HTTPS://api.example.com HTTP/1.1\r\nHost: other\r\n\r\n");
  EXPECT_EQ(bare.target, "/");
  EXPECT_EQ(status_of("GET http://u:p@api.example.com/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET ftp://api.example.com/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, OtherTargetFormsAndConnectAreRefused) {
  EXPECT_EQ(status_of("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"), 405u);
  EXPECT_EQ(status_of("OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET api.example.com:443 HTTP/1.1\r\nHost: gw\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, FragmentInTargetIsRefused) {
  EXPECT_EQ(status_of("GET /v1/files/file-1/content#/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, PathIsCanonicalised) {
  const auto out = check("POST /v1/files/../audio/speech?a=b HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(out.parsed);
  EXPECT_FALSE(out.refused);
  EXPECT_EQ(out.target, "/v1/audio/speech?a=b");
  EXPECT_EQ(status_of("GET /v1/a%2Fb HTTP/1.1\r\nHost: gw\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, ObsFoldIsRefused) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n b\r\n\r\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n\tb\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, BareLineFeedsAreRefused) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\nHost: gw\n\n"), 400u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: gw\nX: y\r\n\r\n"), 400u);
}

TEST(RequestHeadTest, OnlyHttp1IsServed) {
  for (const char* version : {"HTTP/1.2", "HTTP/2.0", "HTTP/0.9"}) {
    const auto status = status_of(std::string("GET / ") + version + "\r\nHost: gw\r\n\r\n");
    EXPECT_TRUE(status == 400u || status == 505u) << version << ": " << status;
  }
}

TEST(RequestHeadTest, UnknownExpectationIsRefused) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"), 0u);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: gw\r\nExpect: something\r\nContent-Length: 1\r\n\r\n"), 417u);
}

TEST(RequestHeadTest, ContinueOnlyForHttp11) {
  http::RequestHeader head;
  head.version(11);
  head.set(bhttp::field::expect, "100-continue");
  EXPECT_TRUE(expects_continue(head));
  head.version(10);
  EXPECT_FALSE(expects_continue(head));
}

TEST(RequestHeadTest, FieldValuesAndNames) {
  EXPECT_TRUE(valid_field_value("Bearer sk-abc\tdef"));
  EXPECT_FALSE(valid_field_value("a\r\nX-Injected: 1"));
  EXPECT_FALSE(valid_field_value(std::string_view("a\0b", 3)));
  EXPECT_TRUE(valid_field_name("x-api-key"));
  EXPECT_FALSE(valid_field_name("x api"));
  EXPECT_FALSE(valid_field_name(""));
}

}  // namespace
}  // namespace sluice::http
