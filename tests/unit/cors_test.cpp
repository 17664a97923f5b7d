// CORS (policy/cors.hpp): allowOrigins validation and matching, the header lines of preflights
// and actual requests, decoding and its diagnostics (TrafficPolicy section and HTTPRoute filter),
// the merge across levels and the stage's answers.
#include "policy/cors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "config/loader.hpp"
#include "config/yaml_reader.hpp"
#include "diagnostic_lines.hpp"
#include "policy/registry.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"

namespace sluice::policy {
namespace {

namespace bhttp = boost::beast::http;

TEST(CorsOrigin, ValidPatterns) {
  for (const char* pattern :
       {"*", "https://app.example.com", "http://localhost:5173", "https://*.example.com", "https://*.example.com:8443",
        "http://127.0.0.1:8080", "http://[::1]:3000", "chrome-extension://abcdef"})
    EXPECT_EQ(cors_origin_problem(pattern), "") << pattern;
}

TEST(CorsOrigin, InvalidPatternsSayWhy) {
  EXPECT_THAT(cors_origin_problem("app.example.com"), ::testing::HasSubstr("is not an origin"));
  EXPECT_THAT(cors_origin_problem("https://app.example.com/"), ::testing::HasSubstr("has a path"));
  EXPECT_THAT(cors_origin_problem("https://app.example.com/x"), ::testing::HasSubstr("has a path"));
  EXPECT_THAT(cors_origin_problem("https://app.example.com:0"), ::testing::HasSubstr("invalid port"));
  EXPECT_THAT(cors_origin_problem("https://app.example.com:99999"), ::testing::HasSubstr("invalid port"));
  EXPECT_THAT(cors_origin_problem("https://app.*.com"), ::testing::HasSubstr("first label"));
  EXPECT_THAT(cors_origin_problem("https://*"), ::testing::HasSubstr("first label"));
  EXPECT_THAT(cors_origin_problem("https://a..b"), ::testing::HasSubstr("invalid host"));
  EXPECT_THAT(cors_origin_problem("https://"), ::testing::HasSubstr("invalid host"));
  EXPECT_THAT(cors_origin_problem("1http://a"), ::testing::HasSubstr("URL scheme"));
}

TEST(CorsOrigin, ExactMatchIgnoresCaseButNotPortOrScheme) {
  const OriginPattern exact("https://app.example.com");
  EXPECT_TRUE(exact.matches("https://app.example.com"));
  EXPECT_TRUE(exact.matches("HTTPS://App.Example.com"));
  EXPECT_FALSE(exact.matches("http://app.example.com"));
  EXPECT_FALSE(exact.matches("https://app.example.com:8443"));
  EXPECT_FALSE(exact.matches("https://app.example.com.evil.net"));
  EXPECT_FALSE(exact.matches("null"));
}

TEST(CorsOrigin, WildcardMatchesSubdomainsOnly) {
  const OriginPattern wildcard("https://*.example.com");
  EXPECT_TRUE(wildcard.matches("https://app.example.com"));
  EXPECT_TRUE(wildcard.matches("https://a.b.example.com"));
  EXPECT_FALSE(wildcard.matches("https://example.com")) << "the wildcard stands for at least one label";
  EXPECT_FALSE(wildcard.matches("https://.example.com"));
  EXPECT_FALSE(wildcard.matches("https://evilexample.com"));
  EXPECT_FALSE(wildcard.matches("http://app.example.com")) << "the scheme must match";
  EXPECT_FALSE(wildcard.matches("https://app.example.com:8443")) << "no port in the pattern: none in the origin";
  EXPECT_FALSE(wildcard.matches("https://x/y.example.com"));
  const OriginPattern with_port("http://*.localhost:3000");
  EXPECT_TRUE(with_port.matches("http://ui.localhost:3000"));
  EXPECT_FALSE(with_port.matches("http://ui.localhost:3001"));
  EXPECT_FALSE(with_port.matches("http://ui.localhost"));
  EXPECT_TRUE(OriginPattern("*").matches("null"));
}

config::CorsPolicy app_policy() {
  config::CorsPolicy cors;
  cors.allowOrigins = std::vector<std::string>{"https://app.example.com", "https://*.example.org"};
  cors.allowMethods = std::vector<std::string>{"post", "GET", "OPTIONS"};
  cors.allowHeaders = std::vector<std::string>{"authorization", "content-type", "x-api-key"};
  cors.exposeHeaders = std::vector<std::string>{"x-request-id"};
  cors.maxAge = 600;
  return cors;
}

TEST(CorsRules, AllowedPreflightGetsEveryAllowHeader) {
  const CorsRules rules(app_policy());
  std::string out;
  rules.preflight_headers("https://app.example.com", "POST", "authorization, Content-Type", out);
  EXPECT_EQ(out,
            "Access-Control-Allow-Origin: https://app.example.com\r\n"
            "Vary: Origin\r\n"
            "Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
            "Access-Control-Allow-Headers: authorization, content-type, x-api-key\r\n"
            "Access-Control-Max-Age: 600\r\n");
}

TEST(CorsRules, DeniedPreflightGetsNoAllowHeader) {
  const CorsRules rules(app_policy());
  for (const auto& [origin, method, headers] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"https://evil.example.net", "POST", "authorization"},
           {"https://app.example.com", "DELETE", ""},
           {"https://app.example.com", "POST", "authorization, x-unlisted"},
       }) {
    std::string out;
    rules.preflight_headers(origin, method, headers, out);
    EXPECT_EQ(out, "Vary: Origin\r\n") << origin << " " << method << " " << headers;
  }
  std::string safelisted;
  rules.preflight_headers("https://ui.example.org", "HEAD", "", safelisted);
  EXPECT_THAT(safelisted, ::testing::HasSubstr("Access-Control-Allow-Origin: https://ui.example.org\r\n"))
      << "GET, HEAD and POST need not be listed";
}

TEST(CorsRules, ActualRequestGetsOriginExposeAndVary) {
  const CorsRules rules(app_policy());
  std::string out;
  rules.actual_headers("https://app.example.com", out);
  EXPECT_EQ(out,
            "Access-Control-Allow-Origin: https://app.example.com\r\n"
            "Vary: Origin\r\n"
            "Access-Control-Expose-Headers: x-request-id\r\n");
  std::string denied;
  rules.actual_headers("https://evil.example.net", denied);
  EXPECT_EQ(denied, "Vary: Origin\r\n");
}

TEST(CorsRules, AnyOriginWithoutCredentialsIsAStar) {
  config::CorsPolicy cors;
  cors.allowOrigins = std::vector<std::string>{"*"};
  const CorsRules rules(cors);
  std::string out;
  rules.actual_headers("https://anything.test", out);
  EXPECT_EQ(out, "Access-Control-Allow-Origin: *\r\n") << "the same answer for every origin: no Vary";
  std::string preflight;
  rules.preflight_headers("https://anything.test", "POST", "", preflight);
  EXPECT_EQ(preflight, "Access-Control-Allow-Origin: *\r\n");
}

TEST(CorsRules, CredentialsNeverGoWithAStar) {
  config::CorsPolicy cors;
  cors.allowOrigins = std::vector<std::string>{"*"};
  cors.allowMethods = std::vector<std::string>{"*"};
  cors.allowHeaders = std::vector<std::string>{"*"};
  cors.allowCredentials = true;
  const CorsRules rules(cors);
  std::string out;
  rules.actual_headers("https://anything.test", out);
  EXPECT_EQ(out,
            "Access-Control-Allow-Origin: https://anything.test\r\n"
            "Vary: Origin\r\n"
            "Access-Control-Allow-Credentials: true\r\n");
  std::string preflight;
  rules.preflight_headers("https://anything.test", "PUT", "authorization,x-custom", preflight);
  EXPECT_EQ(preflight,
            "Access-Control-Allow-Origin: https://anything.test\r\n"
            "Vary: Origin\r\n"
            "Access-Control-Allow-Methods: PUT\r\n"
            "Access-Control-Allow-Headers: authorization,x-custom\r\n"
            "Access-Control-Allow-Credentials: true\r\n")
      << "wildcard lists answer with what was asked (a literal * would not cover Authorization)";
}

using testing::problems;

constexpr const char* kBackendAndRoute = R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080}]
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: b}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: other}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - name: main
)";

TEST(CorsSection, DiagnosticsNameFileResourceAndField) {
  const auto loaded = config::load_sources({{"p.yaml", std::string(kBackendAndRoute) + R"(    backendRefs: [{name: b}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{kind: HTTPRoute, name: r}]
  cors:
    allowOrigins: ["https://ok.example.com", "app.example.com", "https://app.example.com/"]
    allowMethods: [POST, "BAD METHOD"]
    allowHeaders: ["content-type", "x:y"]
    maxAge: -1
    allowCredential: true
)"}});
  EXPECT_THAT(problems(loaded.diagnostics),
              ::testing::ElementsAre(
                  "p.yaml: TrafficPolicy/p: spec.cors.maxAge: must be between 0 and 86400, found -1",
                  "p.yaml: TrafficPolicy/p: spec.cors.allowOrigins[1]: \"app.example.com\" is not an origin: expected "
                  "scheme://host[:port] (e.g. https://app.example.com), a wildcard origin (https://*.example.com) or "
                  "\"*\"",
                  "p.yaml: TrafficPolicy/p: spec.cors.allowOrigins[2]: \"https://app.example.com/\" has a path, "
                  "query or fragment: an origin is scheme://host[:port] only",
                  "p.yaml: TrafficPolicy/p: spec.cors.allowMethods[1]: \"BAD METHOD\" is not a method (an HTTP "
                  "token) or \"*\"",
                  "p.yaml: TrafficPolicy/p: spec.cors.allowHeaders[1]: \"x:y\" is not a header name (an HTTP token) "
                  "or \"*\"",
                  "p.yaml: TrafficPolicy/p: spec.cors.allowCredential: unknown field"));
}

TEST(CorsFilter, DecodesLikeTheSectionWithTheFiltersPath) {
  const auto loaded = config::load_sources({{"r.yaml", std::string(kBackendAndRoute) + R"(    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example.com"], allowCredentials: true, maxAge: 30}
    - type: CORS
      cors: {allowOrigins: ["ftp//x"]}
    backendRefs: [{name: b}]
)"}});
  EXPECT_THAT(problems(loaded.diagnostics),
              ::testing::ElementsAre("r.yaml: HTTPRoute/r: spec.rules[0].filters[1].cors.allowOrigins[0]: \"ftp//x\" "
                                     "is not an origin: expected scheme://host[:port] (e.g. https://app.example.com), "
                                     "a wildcard origin (https://*.example.com) or \"*\""));
  const auto& filter = loaded.config.routes.at(0).rules.at(0).filters.at(0);
  EXPECT_EQ(filter.type, config::FilterType::CORS);
  EXPECT_EQ(*filter.cors.allowOrigins, std::vector<std::string>{"https://app.example.com"});
  EXPECT_TRUE(*filter.cors.allowCredentials);
  EXPECT_EQ(*filter.cors.maxAge, 30u);
}

TEST(CorsSection, MergesFieldByFieldTheSpecificWinning) {
  config::CorsPolicy general = app_policy();
  config::CorsPolicy specific;
  specific.maxAge = 5;
  specific.allowCredentials = true;
  const auto merged = merge(general, specific);
  EXPECT_EQ(*merged.maxAge, 5u);
  EXPECT_TRUE(*merged.allowCredentials);
  EXPECT_EQ(merged.allowOrigins, general.allowOrigins) << "unset in the specific policy: the general one's stays";
}

// The rule's stage, run on a request head: the verdict and the header lines it leaves.
struct StageRun {
  pipeline::Verdict verdict;
  std::string lines;
  std::size_t response_edits = 0;
};

// Stages as a snapshot compiles them (policy/registry.cpp), run on a request head.
class CorsStageTest : public ::testing::Test {
 protected:
  void load(const std::string& yaml) {
    auto loaded = config::load_sources({{"c.yaml", yaml}});
    ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    config::Diagnostics diags;
    snapshot_ = proxy::Snapshot::build(std::move(loaded.config), diags, 1);
    ASSERT_FALSE(diags.has_errors()) << diags.format_all();
    worker_.emplace(0, snapshot_, -1);
  }
  // The cors stages of a rule's chain.
  std::vector<const pipeline::Stage*> cors_stages(const pipeline::Chain& chain) const {
    std::vector<const pipeline::Stage*> out;
    for (const auto& stage : chain.stages())
      if (stage->name() == "cors") out.push_back(stage.get());
    return out;
  }
  const pipeline::Stage& rule_stage() {
    const auto stages = cors_stages(snapshot_->rule_chains.at(0));
    EXPECT_EQ(stages.size(), 1u) << "one stage for every level";
    return *stages.at(0);
  }
  StageRun run(const pipeline::Stage& stage, const std::string& backend, bhttp::verb method,
               std::vector<std::pair<std::string, std::string>> headers) {
    http::RequestHeader head;
    head.method(method);
    for (const auto& [name, value] : headers) head.insert(name, value);
    pipeline::RequestRecord record;
    pipeline::RequestContext request(*worker_, *snapshot_->routes.rules().at(0), snapshot_->backends.at(backend),
                                     record);
    request.head = &head;
    StageRun out;
    out.verdict = stage.on_request_head(request);
    out.lines = request.response_header_lines;
    out.response_edits = request.response_header_edits.size();
    return out;
  }

  std::shared_ptr<const proxy::Snapshot> snapshot_;
  std::optional<proxy::Worker> worker_;
};

TEST_F(CorsStageTest, PreflightIsAnsweredWith204AndActualRequestsGetTheirLines) {
  load(std::string(kBackendAndRoute) + R"(    backendRefs: [{name: b}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  cors: {allowOrigins: ["https://app.example.com"], allowHeaders: [authorization]}
  auth: {apiKey: {keys: [{name: a, keyHash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}}
)");
  const auto& stage = rule_stage();
  const auto& order = snapshot_->rule_chains.at(0).stages();
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order[0]->name(), "cors") << "a preflight is answered before auth asks for a credential";
  EXPECT_EQ(order[1]->name(), "auth");
  const auto preflight = run(stage, "b", bhttp::verb::options,
                             {{"Origin", "https://app.example.com"},
                              {"Access-Control-Request-Method", "POST"},
                              {"Access-Control-Request-Headers", "authorization"}});
  EXPECT_EQ(preflight.verdict.kind, pipeline::Verdict::Kind::Local);
  EXPECT_EQ(preflight.verdict.local.status, 204u);
  EXPECT_EQ(preflight.lines,
            "Access-Control-Allow-Origin: https://app.example.com\r\nVary: Origin\r\n"
            "Access-Control-Allow-Headers: authorization\r\n");
  const auto actual = run(stage, "b", bhttp::verb::post, {{"Origin", "https://app.example.com"}});
  EXPECT_TRUE(actual.verdict.proceeds());
  EXPECT_EQ(actual.lines, "Access-Control-Allow-Origin: https://app.example.com\r\nVary: Origin\r\n");
  EXPECT_EQ(actual.response_edits, 1u) << "the upstream's own Access-Control-* headers are dropped";
  const auto plain_options = run(stage, "b", bhttp::verb::options, {{"Origin", "https://app.example.com"}});
  EXPECT_TRUE(plain_options.verdict.proceeds()) << "OPTIONS without Access-Control-Request-Method is no preflight";
  const auto no_origin = run(stage, "b", bhttp::verb::post, {});
  EXPECT_TRUE(no_origin.verdict.proceeds());
  EXPECT_EQ(no_origin.lines, "") << "no Origin: nothing to add, nothing allocated";
}

TEST_F(CorsStageTest, FilterAndBackendPoliciesMergeIntoTheRulesStage) {
  load(std::string(kBackendAndRoute) + R"(    filters:
    - type: CORS
      cors: {allowOrigins: ["https://filter.example.com"], maxAge: 60}
    backendRefs: [{name: b, weight: 1}, {name: other, weight: 1}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: gateway-wide}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  cors: {allowOrigins: ["https://gateway.example.com"], exposeHeaders: [x-gateway]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: backend-b}
spec:
  targetRefs: [{kind: Backend, name: b}]
  cors: {allowOrigins: ["https://backend.example.com"]}
)");
  const auto& stage = rule_stage();
  const auto origin_of = [&](const std::string& backend, const std::string& origin) {
    return run(stage, backend, bhttp::verb::post, {{"Origin", origin}}).lines;
  };
  EXPECT_EQ(origin_of("other", "https://filter.example.com"),
            "Access-Control-Allow-Origin: https://filter.example.com\r\nVary: Origin\r\n"
            "Access-Control-Expose-Headers: x-gateway\r\n")
      << "the rule's filter over the Gateway's policy";
  EXPECT_EQ(origin_of("other", "https://gateway.example.com"), "Vary: Origin\r\n");
  EXPECT_EQ(origin_of("b", "https://backend.example.com"),
            "Access-Control-Allow-Origin: https://backend.example.com\r\nVary: Origin\r\n"
            "Access-Control-Expose-Headers: x-gateway\r\n")
      << "the Backend's policy over the rule's";
  EXPECT_EQ(origin_of("b", "https://filter.example.com"), "Vary: Origin\r\n");
  EXPECT_TRUE(cors_stages(snapshot_->backends.at("b").chain).empty())
      << "a Backend-level policy is carried by the rules' stages, which run before auth";
}

TEST_F(CorsStageTest, NoPolicyNoStage) {
  load(std::string(kBackendAndRoute) + "    backendRefs: [{name: b}]\n");
  EXPECT_TRUE(cors_stages(snapshot_->rule_chains.at(0)).empty());
}

TEST(CorsSection, RunsBeforeAuth) {
  const auto sections = policy_sections();
  ASSERT_GE(sections.size(), 2u);
  EXPECT_EQ(sections[0].key, "cors");
  EXPECT_EQ(sections[1].key, "auth");
}

}  // namespace
}  // namespace sluice::policy
