#include "proxy/heads.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;
using ::testing::Not;

http::RequestHeader client_head(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::RequestHeader head;
  head.method(bhttp::verb::post);
  head.target("/v1/chat/completions");
  head.version(11);
  for (const auto& [name, value] : fields) head.insert(name, value);
  return head;
}

BackendRuntime runtime(std::string auth_header) {
  BackendRuntime b;
  b.name = "b";
  b.ai = true;
  b.auth_header = std::move(auth_header);
  return b;
}

TEST(ClientCredential, BackendHeaderThenBearerThenKeyHeaders) {
  const auto anthropic = runtime("x-api-key");
  EXPECT_EQ(client_credential(client_head({{"x-api-key", "k0"}}), anthropic, ""), "k0");
  EXPECT_EQ(client_credential(client_head({{"Authorization", "Bearer k1"}}), anthropic, ""), "k1");
  const auto openai = runtime("Authorization");
  EXPECT_EQ(client_credential(client_head({{"Authorization", "Bearer k2"}}), openai, "Bearer "), "k2");
  EXPECT_EQ(client_credential(client_head({{"x-api-key", "k3"}}), openai, "Bearer "), "k3");
  EXPECT_EQ(client_credential(client_head({{"api-key", "k4"}}), openai, "Bearer "), "k4");
  EXPECT_EQ(client_credential(client_head({{"x-goog-api-key", "k5"}}), openai, "Bearer "), "k5");
  EXPECT_EQ(client_credential(client_head({}), openai, "Bearer "), "");
}

TEST(BuildUpstreamHead, ReplacesEveryClientCredentialWithTheBackends) {
  const auto backend = runtime("x-api-key");
  UpstreamHeadSpec spec;
  spec.target = "/v1/messages";
  spec.host = "api.anthropic.com";
  spec.body_size = 12;
  spec.replace_auth = true;
  spec.auth_value = "sk-gateway";
  const auto head = build_upstream_head(client_head({{"Authorization", "Bearer client"},
                                                     {"x-api-key", "client"},
                                                     {"api-key", "client"},
                                                     {"x-goog-api-key", "client"},
                                                     {"x-request-id", "r1"}}),
                                        backend, {}, spec);
  EXPECT_THAT(head, HasSubstr("POST /v1/messages HTTP/1.1\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("client")));
  EXPECT_THAT(head, HasSubstr("x-api-key: sk-gateway\r\n"));
  EXPECT_THAT(head, HasSubstr("x-request-id: r1\r\n"));
  EXPECT_THAT(head, HasSubstr("Host: api.anthropic.com\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: 12\r\n"));
}

TEST(BuildUpstreamHead, TranslatedRequestsDropTheClientFormatHeaders) {
  const auto backend = runtime("x-goog-api-key");
  UpstreamHeadSpec spec;
  spec.target = "/v1beta/models/g:generateContent";
  spec.host = "generativelanguage.googleapis.com";
  spec.replace_auth = true;
  spec.auth_value = "gk";
  spec.translated = true;
  const auto head = build_upstream_head(client_head({{"Content-Type", "application/json; charset=utf-8"},
                                                     {"Accept-Encoding", "gzip"},
                                                     {"anthropic-version", "2023-06-01"},
                                                     {"User-Agent", "sdk"}}),
                                        backend, {}, spec);
  EXPECT_THAT(head, Not(HasSubstr("gzip")));
  EXPECT_THAT(head, Not(HasSubstr("anthropic-version")));
  EXPECT_THAT(head, Not(HasSubstr("charset")));
  EXPECT_THAT(head, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(head, HasSubstr("User-Agent: sdk\r\n"));
  EXPECT_THAT(head, HasSubstr("x-goog-api-key: gk\r\n"));
}

TEST(BuildUpstreamHead, ANativeClientKeepsItsOwnAnthropicVersion) {
  auto backend = runtime("x-api-key");
  UpstreamHeadSpec spec;
  spec.target = "/v1/messages";
  spec.host = "h";
  spec.replace_auth = true;
  spec.auth_value = "k";
  spec.extra = {{"anthropic-version", "2023-06-01"}};
  const auto own = build_upstream_head(client_head({{"anthropic-version", "2024-01-01"}}), backend, {}, spec);
  EXPECT_THAT(own, HasSubstr("anthropic-version: 2024-01-01\r\n"));
  EXPECT_THAT(own, Not(HasSubstr("2023-06-01")));
  const auto configured = build_upstream_head(client_head({}), backend, {}, spec);
  EXPECT_THAT(configured, HasSubstr("anthropic-version: 2023-06-01\r\n"));
}

TEST(BuildUpstreamHead, StreamedBodiesKeepChunkedFraming) {
  const auto backend = runtime("Authorization");
  UpstreamHeadSpec spec;
  spec.target = "/v1/files";
  spec.host = "h";
  spec.framing = BodyFraming::Chunked;
  const auto head = build_upstream_head(client_head({{"Transfer-Encoding", "chunked"}}), backend, {}, spec);
  EXPECT_THAT(head, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("Content-Length")));
}

TEST(BuildTranslatedHead, KeepsUpstreamIdsNotItsFraming) {
  http::ResponseHeader upstream;
  upstream.result(bhttp::status::ok);
  upstream.set(bhttp::field::content_type, "text/event-stream");
  upstream.set(bhttp::field::content_length, "999");
  upstream.set(bhttp::field::content_encoding, "gzip");
  upstream.set("request-id", "req_1");
  const auto json =
      build_translated_head(&upstream, 200, "application/json", 42, 11, true, ClientFraming::ContentLength, {});
  EXPECT_THAT(json, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(json, HasSubstr("request-id: req_1\r\n"));
  EXPECT_THAT(json, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(json, HasSubstr("Content-Length: 42\r\n"));
  EXPECT_THAT(json, Not(HasSubstr("999")));
  EXPECT_THAT(json, Not(HasSubstr("gzip")));
  const auto stream =
      build_translated_head(&upstream, 200, "text/event-stream", 0, 11, true, ClientFraming::Chunked, {});
  EXPECT_THAT(stream, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(stream, HasSubstr("Cache-Control: no-cache\r\n"));
  const auto http10 =
      build_translated_head(nullptr, 503, "application/json", 2, 10, false, ClientFraming::ContentLength, {});
  EXPECT_THAT(http10, HasSubstr("HTTP/1.0 503 Service Unavailable\r\n"));
  EXPECT_THAT(http10, HasSubstr("Connection: close\r\n"));
}

TEST(TranslatedHead, RateLimitsAndRequestIdsUnderTheClientsNames) {
  http::ResponseHeader anthropic;
  anthropic.result(bhttp::status::ok);
  anthropic.set("request-id", "req_1");
  anthropic.set("anthropic-ratelimit-requests-remaining", "49");
  anthropic.set("anthropic-ratelimit-tokens-reset", "2026-12-03T09:00:00Z");
  const auto to_openai = build_translated_head(&anthropic, 200, "application/json", 2, 11, true,
                                               ClientFraming::ContentLength, {}, {}, HeaderNaming::OpenAI);
  EXPECT_THAT(to_openai, HasSubstr("anthropic-ratelimit-requests-remaining: 49\r\n")) << "the provider's kept";
  EXPECT_THAT(to_openai, HasSubstr("x-ratelimit-remaining-requests: 49\r\n"));
  EXPECT_THAT(to_openai, HasSubstr("x-ratelimit-reset-tokens: 2026-12-03T09:00:00Z\r\n"));
  EXPECT_THAT(to_openai, HasSubstr("x-request-id: req_1\r\n"));
  EXPECT_THAT(to_openai, Not(HasSubstr("x-ratelimit-limit-requests")));

  http::ResponseHeader openai;
  openai.result(bhttp::status::ok);
  openai.set("x-request-id", "req_2");
  openai.set("x-ratelimit-limit-tokens", "30000");
  openai.set("request-id", "already");
  const auto to_anthropic = build_translated_head(&openai, 200, "application/json", 2, 11, true,
                                                  ClientFraming::ContentLength, {}, {}, HeaderNaming::Anthropic);
  EXPECT_THAT(to_anthropic, HasSubstr("anthropic-ratelimit-tokens-limit: 30000\r\n"));
  EXPECT_THAT(to_anthropic, HasSubstr("request-id: already\r\n"));
  EXPECT_THAT(to_anthropic, Not(HasSubstr("\r\nrequest-id: req_2"))) << "a name the provider used is not overwritten";
  const auto as_is = build_translated_head(&openai, 200, "application/json", 2, 11, true, ClientFraming::ContentLength,
                                           {}, {}, HeaderNaming::AsIs);
  EXPECT_THAT(as_is, Not(HasSubstr("anthropic-ratelimit")));
}

}  // namespace
}  // namespace sluice::proxy
