#include "observe/access_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "config/resources.hpp"

namespace sluice::observe {
namespace {

using namespace std::chrono_literals;

// 2024-03-05T06:07:08.123Z
const auto kStart = std::chrono::system_clock::time_point(1709618828s + 123ms);

AccessLogEntry sample_entry() {
  AccessLogEntry e;
  e.start = kStart;
  e.client = "127.0.0.1:53412";
  e.method = "POST";
  e.path = "/openrouter/chat/completions?x=1";
  e.protocol = "HTTP/1.1";
  e.route = "llm/chat";
  e.backend = "openrouter";
  e.upstream = "openrouter.ai:443";
  e.upstream_path = "/api/v1/chat/completions?x=1";
  e.path_source = "prefix";
  e.model = "gpt-4o-mini";
  e.stream = true;
  e.status = 200;
  e.bytes_received = 321;
  e.bytes_sent = 4567;
  e.duration_ms = 12.3456;
  e.upstream_first_byte_ms = 7.5;
  return e;
}

// Formats one entry, checks it is exactly one line, parses it.
boost::json::object format_and_parse(const AccessLogEntry& e) {
  std::string out;
  format_access_log(e, out);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per entry: " << out;
  boost::system::error_code ec;
  auto value = boost::json::parse(out, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << out;
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return "<missing>";
  return std::string(v->as_string());
}

TEST(AccessLogTest, EveryFieldIsPresent) {
  const auto o = format_and_parse(sample_entry());
  EXPECT_EQ(str(o, "time"), "2024-03-05T06:07:08.123Z");
  EXPECT_EQ(str(o, "client"), "127.0.0.1:53412");
  EXPECT_EQ(str(o, "method"), "POST");
  EXPECT_EQ(str(o, "path"), "/openrouter/chat/completions?x=1");
  EXPECT_EQ(str(o, "route"), "llm/chat");
  EXPECT_EQ(str(o, "backend"), "openrouter");
  EXPECT_EQ(str(o, "upstream"), "openrouter.ai:443");
  EXPECT_EQ(str(o, "upstream_path"), "/api/v1/chat/completions?x=1");
  EXPECT_EQ(str(o, "path_source"), "prefix");
  EXPECT_EQ(str(o, "model"), "gpt-4o-mini");
  ASSERT_TRUE(o.contains("stream"));
  EXPECT_EQ(o.at("stream"), true);
  EXPECT_EQ(o.at("status").to_number<int>(), 200);
  EXPECT_EQ(o.at("bytes_received").to_number<std::uint64_t>(), 321u);
  EXPECT_EQ(o.at("bytes_sent").to_number<std::uint64_t>(), 4567u);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").to_number<double>(), 12.346);
  EXPECT_DOUBLE_EQ(o.at("upstream_first_byte_ms").to_number<double>(), 7.5);
  EXPECT_EQ(str(o, "protocol"), "HTTP/1.1");
  EXPECT_FALSE(o.contains("error"));
  EXPECT_EQ(o.size(), 17u);
}

TEST(AccessLogTest, OptionalFieldsAreOmittedOrPresentAsNeeded) {
  auto e = sample_entry();
  e.stream = false;
  e.upstream_first_byte_ms = -1;
  e.error = "no route matched";
  e.status = 404;
  e.route = "";
  e.backend = "";
  const auto o = format_and_parse(e);
  EXPECT_EQ(o.at("stream"), false);
  EXPECT_FALSE(o.contains("upstream_first_byte_ms"));
  EXPECT_EQ(str(o, "error"), "no route matched");
  EXPECT_EQ(o.at("status").to_number<int>(), 404);
  EXPECT_EQ(str(o, "route"), "");
  EXPECT_EQ(str(o, "backend"), "");
}

TEST(AccessLogTest, ZeroFirstByteIsKept) {
  auto e = sample_entry();
  e.upstream_first_byte_ms = 0;
  const auto o = format_and_parse(e);
  ASSERT_TRUE(o.contains("upstream_first_byte_ms"));
  EXPECT_DOUBLE_EQ(o.at("upstream_first_byte_ms").to_number<double>(), 0.0);
}

TEST(AccessLogTest, DefaultEntryIsValidJson) {
  const auto o = format_and_parse(AccessLogEntry{});
  EXPECT_EQ(str(o, "time"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(o.at("status").to_number<int>(), 0);
}

TEST(AccessLogTest, EscapesStringsSoTheLineStaysValidJson) {
  auto e = sample_entry();
  e.path = "/a\"b\\c\nd\re\tf";
  e.model = std::string_view("ctl\x01\x1f end", 9);
  e.error = "upstream said \"no\"\n";
  e.client = "caf\xc3\xa9";  // UTF-8 passes through
  const auto o = format_and_parse(e);
  EXPECT_EQ(str(o, "path"), "/a\"b\\c\nd\re\tf");
  EXPECT_EQ(str(o, "model"), std::string("ctl\x01\x1f end", 9));
  EXPECT_EQ(str(o, "error"), "upstream said \"no\"\n");
  EXPECT_EQ(str(o, "client"), "caf\xc3\xa9");
}

// A request target may carry invalid UTF-8 (e.g. a raw 0xff byte); the line must stay JSON.
TEST(AccessLogTest, InvalidUtf8StillGivesValidJson) {
  auto e = sample_entry();
  e.path = "/v1/\xff\xfe/chat";
  const auto o = format_and_parse(e);
  EXPECT_TRUE(o.contains("path"));
}

TEST(AppendJsonEscapedTest, ExactEscapes) {
  std::string out = "prefix:";
  append_json_escaped("a\"b\\c\nd\re\tf\x01g\x1fh", out);
  EXPECT_EQ(out, "prefix:a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh");
}

TEST(AppendJsonEscapedTest, PlainTextIsUnchanged) {
  std::string out;
  append_json_escaped("plain /path?q=1 caf\xc3\xa9", out);
  EXPECT_EQ(out, "plain /path?q=1 caf\xc3\xa9");
}

TEST(AppendJsonEscapedTest, EmbeddedNulIsEscaped) {
  std::string out;
  append_json_escaped(std::string_view("a\0b", 3), out);
  EXPECT_EQ(out, "a\\u0000b");
}

TEST(AccessLogTest, AppendsToExistingBuffer) {
  std::string out;
  format_access_log(sample_entry(), out);
  const auto first = out;
  format_access_log(sample_entry(), out);
  EXPECT_EQ(out, first + first);
}

// ------------------------------------------------------------------ AccessLogBuffer

class PipeFixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe(fds_), 0); }
  void TearDown() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  std::string drain() {
    ::close(fds_[1]);
    fds_[1] = -1;
    std::string all;
    char buf[4096];
    for (;;) {
      const auto n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      all.append(buf, static_cast<std::size_t>(n));
    }
    return all;
  }
  int fds_[2] = {-1, -1};
};

TEST_F(PipeFixture, BufferWritesWholeLinesOnFlush) {
  {
    AccessLogBuffer log(fds_[1]);
    EXPECT_TRUE(log.enabled());
    EXPECT_TRUE(log.empty());
    log.write(sample_entry());
    auto e = sample_entry();
    e.status = 502;
    log.write(e);
    EXPECT_FALSE(log.empty()) << "small writes are buffered";
    log.flush();
    EXPECT_TRUE(log.empty());
  }
  const auto all = drain();
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < all.size();) {
    const auto nl = all.find('\n', start);
    ASSERT_NE(nl, std::string::npos) << "every line ends with a newline";
    lines.push_back(all.substr(start, nl - start));
    start = nl + 1;
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(boost::json::parse(lines[0]).as_object().at("status").to_number<int>(), 200);
  EXPECT_EQ(boost::json::parse(lines[1]).as_object().at("status").to_number<int>(), 502);
}

TEST_F(PipeFixture, DestructorFlushes) {
  { AccessLogBuffer(fds_[1]).write(sample_entry()); }
  const auto all = drain();
  std::string expected;
  format_access_log(sample_entry(), expected);
  EXPECT_EQ(all, expected);
}

TEST(AccessLogBufferTest, DisabledWithoutFd) {
  AccessLogBuffer log(-1);
  EXPECT_FALSE(log.enabled());
  log.write(sample_entry());
  EXPECT_TRUE(log.empty());
}

// ------------------------------------------------------------------ credentials and line size

const std::vector<std::string> kRedact = config::AccessLog{}.redactQueryParams;

boost::json::object format_with(const AccessLogEntry& e, const AccessLogOptions& options, std::string* line = nullptr) {
  std::string out;
  format_access_log(e, out, options);
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per entry: " << out;
  EXPECT_LT(out.size(), 4096u);
  if (line != nullptr) *line = out;
  boost::system::error_code ec;
  auto value = boost::json::parse(out, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << out;
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

TEST(AccessLogRedaction, CredentialQueryParametersAreRedactedInBothPaths) {
  auto e = sample_entry();
  e.path = "/gemini/models/x:generateContent?alt=sse&KEY=AIzaSecret&Api-Key=k2&token=t&code=c#frag";
  e.upstream_path =
      "/v1beta/models/"
      "x?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F&x=1&sig=s&signature=s2&apikey=a"
      "&api_key=b&access_token=c&x-amz-security-token=d&password=p&secret=q";
  std::string line;
  const auto o = format_with(e, AccessLogOptions{kRedact, {}}, &line);
  EXPECT_EQ(str(o, "path"),
            "/gemini/models/x:generateContent?alt=sse&KEY=REDACTED&Api-Key=REDACTED&token=REDACTED"
            "&code=REDACTED#frag");
  EXPECT_EQ(str(o, "upstream_path"),
            "/v1beta/models/"
            "x?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&x=1&sig=REDACTED&signature=REDACTED"
            "&apikey=REDACTED&api_key=REDACTED&access_token=REDACTED&x-amz-security-token=REDACTED&"
            "password=REDACTED"
            "&secret=REDACTED");
  for (const char* secret : {"AIzaSecret", "k2", "AKIA", "abc"})
    EXPECT_EQ(line.find(secret), std::string::npos) << secret;
}

TEST(AccessLogRedaction, PercentEncodedNamesAreRedactedToo) {
  EXPECT_EQ(redact_query("/p?api%2Dkey=s&keep=1", kRedact), "/p?api%2Dkey=REDACTED&keep=1");
  EXPECT_EQ(redact_query("/p?keyword=1&monkey=2", kRedact), "/p?keyword=1&monkey=2");
  EXPECT_EQ(redact_query("/p", kRedact), "/p");
  EXPECT_EQ(redact_query("/p?key", kRedact), "/p?key");
}

TEST(AccessLogRedaction, TheListIsConfigurable) {
  auto e = sample_entry();
  e.path = "/p?key=visible&session=hidden";
  const auto o = format_with(e, AccessLogOptions{{"SESSION"}, {}});
  EXPECT_EQ(str(o, "path"), "/p?key=visible&session=REDACTED");
}

TEST(AccessLogTruncation, LongFieldsAreCutSoTheLineStaysBelowPipeBuf) {
  auto e = sample_entry();
  const std::string long_path = "/chat/" + std::string(10'000, 'p');
  const std::string long_model(3'000, 'm');
  const std::string long_error(5'000, '"');  // escapes to twice its size
  const std::string long_upstream = "/up/" + std::string(2'000, 'u') + "\xE2\x82\xAC";
  e.path = long_path;
  e.model = long_model;
  e.error = long_error;
  e.upstream_path = long_upstream;
  e.provider = "primary";
  e.principal = "team-a";
  e.attempts = 2;
  e.prompt_tokens = 7;
  std::string line;
  const auto o = format_with(e, AccessLogOptions{kRedact, {}}, &line);
  EXPECT_GT(line.size(), 3'000u) << "fields are cut only as much as needed";
  EXPECT_TRUE(str(o, "path").ends_with("\xE2\x80\xA6(truncated)")) << str(o, "path");
  EXPECT_TRUE(str(o, "path").starts_with("/chat/ppp"));
  EXPECT_TRUE(str(o, "error").ends_with("(truncated)"));
  EXPECT_EQ(str(o, "provider"), "primary");
  EXPECT_EQ(str(o, "principal"), "team-a") << "kept in a cut line too";
  EXPECT_EQ(o.at("attempts").as_int64(), 2);
  EXPECT_EQ(o.at("prompt_tokens").as_int64(), 7);
  EXPECT_EQ(o.at("status").as_int64(), 200);
}

TEST(AccessLogTruncation, ControlCharacterEscapesAreNeverSplit) {
  auto e = sample_entry();
  const std::string controls(8'000, '\x01');  // each byte escapes to \u0001
  e.path = controls;                          // (the entry holds views)
  const auto o = format_with(e, AccessLogOptions{});
  EXPECT_TRUE(str(o, "path").ends_with("(truncated)"));
}

TEST(AccessLogTruncation, ShortLinesAreUnchanged) {
  std::string plain;
  format_access_log(sample_entry(), plain);
  std::string with_options;
  format_access_log(sample_entry(), with_options, AccessLogOptions{kRedact, {}});
  EXPECT_EQ(plain, with_options);
}

// ------------------------------------------------------------------ fields and the field list

TEST(AccessLogFields, NewFieldsAreWrittenWhenSet) {
  auto e = sample_entry();
  e.request_id = "0123456789abcdef0123456789abcdef";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.time_to_first_token_ms = 812.25;
  e.limit = "TrafficPolicy/limits spec.rateLimit.local[0]";
  const std::vector<std::string> reasons = {"backend chat provider a answered HTTP 503", "b: connect \"refused\""};
  e.failover_reasons = reasons;
  const auto o = format_and_parse(e);
  EXPECT_EQ(str(o, "request_id"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(str(o, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_DOUBLE_EQ(o.at("time_to_first_token_ms").to_number<double>(), 812.25);
  EXPECT_EQ(str(o, "limit"), "TrafficPolicy/limits spec.rateLimit.local[0]");
  ASSERT_TRUE(o.contains("failover_reasons"));
  const auto& array = o.at("failover_reasons").as_array();
  ASSERT_EQ(array.size(), 2u);
  EXPECT_EQ(array[0].as_string(), reasons[0]);
  EXPECT_EQ(array[1].as_string(), reasons[1]);
}

TEST(AccessLogFields, UnsetNewFieldsAreOmitted) {
  const auto o = format_and_parse(sample_entry());
  for (const char* name : {"request_id", "trace_id", "time_to_first_token_ms", "limit", "failover_reasons"})
    EXPECT_FALSE(o.contains(name)) << name;
}

TEST(AccessLogFields, NamesRoundTrip) {
  for (const auto field : default_access_log_fields())
    EXPECT_EQ(access_log_field(access_log_field_name(field)), field) << access_log_field_name(field);
  EXPECT_FALSE(access_log_field("nope"));
  EXPECT_FALSE(access_log_field("Status")) << "names are exact";
  EXPECT_EQ(default_access_log_fields().size(), kAccessLogFieldCount);
}

TEST(AccessLogFields, OnlyListedFieldsInTheirOrder) {
  auto e = sample_entry();
  e.request_id = "id-1";
  AccessLogOptions options;
  options.fields = {AccessLogField::Status, AccessLogField::RequestId, AccessLogField::Path, AccessLogField::Error};
  std::string line;
  format_access_log(e, line, options);
  EXPECT_EQ(line, "{\"status\":200,\"request_id\":\"id-1\",\"path\":\"/openrouter/chat/completions?x=1\"}\n")
      << "error is empty: omitted";
}

TEST(AccessLogFields, ListedTimeComesFirstWhenAsked) {
  AccessLogOptions options;
  options.fields = {AccessLogField::Method, AccessLogField::Time};
  std::string line;
  format_access_log(sample_entry(), line, options);
  EXPECT_EQ(line, "{\"method\":\"POST\",\"time\":\"2024-03-05T06:07:08.123Z\"}\n");
}

TEST(AccessLogFields, DefaultOrderIsTheDocumentedOne) {
  auto e = sample_entry();
  e.request_id = "r";
  e.error = "x";
  std::string line;
  format_access_log(e, line);
  EXPECT_TRUE(line.starts_with("{\"time\":\"2024-03-05T06:07:08.123Z\",\"request_id\":\"r\",\"client\":")) << line;
  EXPECT_TRUE(line.ends_with(",\"error\":\"x\"}\n")) << line;
}

TEST(AccessLogTruncation, LongFailoverReasonsAreCut) {
  auto e = sample_entry();
  const std::vector<std::string> reasons(3, std::string(3'000, 'r'));
  e.failover_reasons = reasons;
  const auto o = format_with(e, AccessLogOptions{});
  const auto& array = o.at("failover_reasons").as_array();
  ASSERT_EQ(array.size(), 3u);
  for (const auto& reason : array) EXPECT_TRUE(reason.as_string().ends_with("(truncated)"));
  EXPECT_EQ(o.at("status").as_int64(), 200);
}

}  // namespace
}  // namespace sluice::observe
