#include "route/route_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace sluice::route {
namespace {

const std::string kBackends = R"(apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: b}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Passthrough}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: c}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Passthrough}}}}
)";

std::string route(const std::string& name, const std::string& spec) {
  return "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: " + name + "}\nspec:\n" +
         spec;
}

// A request; header names are stored lower-case and looked up case-insensitively.
struct Request {
  std::string method = "POST";
  std::string host = "gateway.local";
  std::string path = "/";
  std::string query;
  std::map<std::string, std::string> headers;

  Request& header(std::string name, std::string value) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    headers[name] = std::move(value);
    return *this;
  }

  static std::optional<std::string_view> lookup(const void* ctx, std::string_view name) {
    const auto& headers = static_cast<const Request*>(ctx)->headers;
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto it = headers.find(lower);
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }

  RequestView view() const { return RequestView{method, host, path, query, &Request::lookup, this}; }
};

Request get(std::string path) {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

Request post(std::string path) {
  Request r;
  r.path = std::move(path);
  return r;
}

Request at_host(std::string host, std::string path = "/") {
  Request r;
  r.host = std::move(host);
  r.path = std::move(path);
  return r;
}

class RouteTableTest : public ::testing::Test {
 protected:
  void build_sources(const std::vector<config::Source>& extra_sources) {
    std::vector<config::Source> sources{{"backends.yaml", kBackends}};
    sources.insert(sources.end(), extra_sources.begin(), extra_sources.end());
    result_ = config::load_sources(sources);
    ASSERT_FALSE(result_.diagnostics.has_errors()) << result_.diagnostics.format_all();
    table_ = RouteTable::build(result_.config);
  }
  void build(const std::string& routes_yaml) { build_sources({{"routes.yaml", routes_yaml}}); }

  std::optional<RouteMatchResult> match(const Request& request) const { return table_.match(request.view()); }

  // "route/rule" of the winning rule, or "<none>".
  std::string winner(const Request& request) const {
    const auto m = match(request);
    return m ? m->rule->id : "<none>";
  }

  config::LoadResult result_;
  RouteTable table_;
};

// ------------------------------------------------------------------ path precedence

TEST_F(RouteTableTest, NoRoutesMatchesNothing) {
  build("");
  EXPECT_FALSE(match(post("/v1/chat/completions")).has_value());
  EXPECT_TRUE(table_.rules().empty());
}

TEST_F(RouteTableTest, ExactBeatsPathPrefix) {
  build(route("r", R"(  rules:
  - name: prefix
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: b}]
  - name: exact
    matches: [{path: {type: Exact, value: /v1/chat/completions}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v1/chat/completions")), "r/exact");
  EXPECT_EQ(winner(post("/v1/chat/completions/x")), "r/prefix");
  EXPECT_EQ(winner(post("/v1/models")), "r/prefix");
}

TEST_F(RouteTableTest, ExactMatchIsExact) {
  build(
      route("r", "  rules:\n  - matches: [{path: {type: Exact, value: /v1/models}}]\n    backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(get("/v1/models")), "r/rule0");
  EXPECT_EQ(winner(get("/v1/models/")), "<none>");
  EXPECT_EQ(winner(get("/v1/model")), "<none>");
  EXPECT_EQ(winner(get("/V1/models")), "<none>");
}

TEST_F(RouteTableTest, LongestPrefixWinsWithinAndAcrossRoutes) {
  build(route("short", R"(  rules:
  - name: v1
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: b}]
  - name: root
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: b}]
)") + route("long", R"(  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1/chat}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v1/chat/completions")), "long/chat");
  EXPECT_EQ(winner(post("/v1/chat")), "long/chat");
  EXPECT_EQ(winner(post("/v1/embeddings")), "short/v1");
  EXPECT_EQ(winner(post("/health")), "short/root");
}

TEST_F(RouteTableTest, PathPrefixIsSegmentWise) {
  build(route("r", "  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(post("/v1")), "r/rule0");
  EXPECT_EQ(winner(post("/v1/")), "r/rule0");
  EXPECT_EQ(winner(post("/v1/x")), "r/rule0");
  EXPECT_EQ(winner(post("/v1x")), "<none>");
  EXPECT_EQ(winner(post("/v10/x")), "<none>");
  EXPECT_EQ(winner(post("/v2/x")), "<none>");
  EXPECT_EQ(winner(post("/")), "<none>");
}

TEST_F(RouteTableTest, PathPrefixWithTrailingSlashMatchesTheBareSegment) {
  build(route("r", "  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1/}}]\n    backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(post("/v1")), "r/rule0");
  EXPECT_EQ(winner(post("/v1/chat")), "r/rule0");
  EXPECT_EQ(winner(post("/v1x")), "<none>");
}

TEST_F(RouteTableTest, RootPrefixMatchesEverything) {
  build(route("r", "  rules:\n  - backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(post("/")), "r/rule0");
  EXPECT_EQ(winner(post("/anything/at/all")), "r/rule0");
}

TEST_F(RouteTableTest, RegularExpressionIsAFullMatch) {
  build(route("r", R"(  rules:
  - matches: [{path: {type: RegularExpression, value: "/v[0-9]+/chat"}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v2/chat")), "r/rule0");
  EXPECT_EQ(winner(post("/v10/chat")), "r/rule0");
  EXPECT_EQ(winner(post("/v2/chat/completions")), "<none>") << "no implicit suffix";
  EXPECT_EQ(winner(post("/x/v2/chat")), "<none>") << "no implicit prefix";
  EXPECT_EQ(winner(post("/vx/chat")), "<none>");
}

TEST_F(RouteTableTest, PathPrefixBeatsRegularExpression) {
  build(route("r", R"(  rules:
  - name: regex
    matches: [{path: {type: RegularExpression, value: "/v1/.*"}}]
    backendRefs: [{name: b}]
  - name: prefix
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: b}]
  - name: exact
    matches: [{path: {type: Exact, value: /v1/models}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v1/chat")), "r/prefix");
  EXPECT_EQ(winner(get("/v1/models")), "r/exact");
}

TEST_F(RouteTableTest, RegularExpressionUsedWhenNothingElseMatches) {
  build(route("r", R"(  rules:
  - name: regex
    matches: [{path: {type: RegularExpression, value: "/(a|b)/.*"}}]
    backendRefs: [{name: b}]
  - name: prefix
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/a/x")), "r/regex");
  EXPECT_EQ(winner(post("/c/x")), "<none>");
}

TEST_F(RouteTableTest, AnyMatchOfARuleSelectsIt) {
  build(route("r", R"(  rules:
  - matches: [{path: {type: Exact, value: /a}}, {path: {type: PathPrefix, value: /b}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/a")), "r/rule0");
  EXPECT_EQ(winner(post("/b/c")), "r/rule0");
  EXPECT_EQ(winner(post("/c")), "<none>");
}

// ------------------------------------------------------------------ method, headers, query

TEST_F(RouteTableTest, MethodMustMatch) {
  build(route("r", "  rules:\n  - matches: [{method: GET, path: {value: /v1}}]\n    backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(get("/v1/models")), "r/rule0");
  EXPECT_EQ(winner(post("/v1/models")), "<none>");
}

TEST_F(RouteTableTest, MethodMatchBeatsNoMethodOnTheSamePath) {
  build(route("r", R"(  rules:
  - name: any
    matches: [{path: {value: /v1}}]
    backendRefs: [{name: b}]
  - name: post
    matches: [{path: {value: /v1}, method: POST}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v1/chat/completions")), "r/post");
  EXPECT_EQ(winner(get("/v1/models")), "r/any");
}

TEST_F(RouteTableTest, LongerPathBeatsMethodMatch) {
  build(route("r", R"(  rules:
  - name: post
    matches: [{path: {value: /v1}, method: POST}]
    backendRefs: [{name: b}]
  - name: chat
    matches: [{path: {value: /v1/chat}}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/v1/chat/completions")), "r/chat");
}

TEST_F(RouteTableTest, HeaderExactMatchWithCaseInsensitiveName) {
  build(route("r", R"(  rules:
  - matches: [{headers: [{name: X-Team, value: ml}]}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/x").header("x-team", "ml")), "r/rule0");
  EXPECT_EQ(winner(post("/x").header("X-TEAM", "ml")), "r/rule0");
  EXPECT_EQ(winner(post("/x").header("x-team", "ML")), "<none>") << "values are case-sensitive";
  EXPECT_EQ(winner(post("/x").header("x-team", "ml2")), "<none>");
  EXPECT_EQ(winner(post("/x")), "<none>");
}

TEST_F(RouteTableTest, HeaderMatchWithoutCallbackNeverMatches) {
  build(route("r", "  rules:\n  - matches: [{headers: [{name: x-team, value: ml}]}]\n    backendRefs: [{name: b}]\n"));
  RequestView view{"POST", "h", "/x", "", nullptr, nullptr};
  EXPECT_FALSE(table_.match(view).has_value());
}

TEST_F(RouteTableTest, HeaderRegularExpressionIsAFullMatch) {
  build(route("r", R"(  rules:
  - matches: [{headers: [{type: RegularExpression, name: x-user, value: "u-[0-9]+"}]}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/x").header("X-User", "u-42")), "r/rule0");
  EXPECT_EQ(winner(post("/x").header("x-user", "u-42x")), "<none>");
  EXPECT_EQ(winner(post("/x").header("x-user", "au-42")), "<none>");
}

TEST_F(RouteTableTest, EveryHeaderOfAMatchMustMatch) {
  build(route("r", R"(  rules:
  - matches: [{headers: [{name: a, value: "1"}, {name: b, value: "2"}]}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/").header("a", "1").header("b", "2")), "r/rule0");
  EXPECT_EQ(winner(post("/").header("a", "1")), "<none>");
  EXPECT_EQ(winner(post("/").header("a", "1").header("b", "3")), "<none>");
}

TEST_F(RouteTableTest, MoreHeaderMatchesWin) {
  build(route("r", R"(  rules:
  - name: one
    matches: [{headers: [{name: a, value: "1"}]}]
    backendRefs: [{name: b}]
  - name: two
    matches: [{headers: [{name: a, value: "1"}, {name: b, value: "2"}]}]
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(winner(post("/").header("a", "1").header("b", "2")), "r/two");
  EXPECT_EQ(winner(post("/").header("a", "1")), "r/one");
}

TEST_F(RouteTableTest, QueryParamExactAndRegularExpression) {
  build(route("r", R"(  rules:
  - name: exact
    matches: [{queryParams: [{name: debug, value: "1"}]}]
    backendRefs: [{name: b}]
  - name: regex
    matches: [{queryParams: [{type: RegularExpression, name: v, value: "[0-9]+"}]}]
    backendRefs: [{name: b}]
)"));
  auto req = [](std::string query) {
    auto r = post("/x");
    r.query = std::move(query);
    return r;
  };
  EXPECT_EQ(winner(req("debug=1")), "r/exact");
  EXPECT_EQ(winner(req("a=b&debug=1&c")), "r/exact");
  EXPECT_EQ(winner(req("debug=10")), "<none>");
  EXPECT_EQ(winner(req("v=123")), "r/regex");
  EXPECT_EQ(winner(req("v=12a")), "<none>");
  EXPECT_EQ(winner(req("")), "<none>");
  EXPECT_EQ(winner(req("xdebug=1")), "<none>");
}

TEST_F(RouteTableTest, MoreQueryMatchesWin) {
  build(route("r", R"(  rules:
  - name: one
    matches: [{queryParams: [{name: a, value: "1"}]}]
    backendRefs: [{name: b}]
  - name: two
    matches: [{queryParams: [{name: a, value: "1"}, {name: b, value: "2"}]}]
    backendRefs: [{name: b}]
)"));
  auto req = post("/");
  req.query = "a=1&b=2";
  EXPECT_EQ(winner(req), "r/two");
  req.query = "a=1";
  EXPECT_EQ(winner(req), "r/one");
}

// ------------------------------------------------------------------ hostnames

TEST_F(RouteTableTest, HostnamePrecedenceExactThenWildcardThenAny) {
  build(route("any", "  rules:\n  - backendRefs: [{name: b}]\n") +
        route("wild", "  hostnames: [\"*.example.com\"]\n  rules:\n  - backendRefs: [{name: b}]\n") +
        route("exact", "  hostnames: [api.example.com]\n  rules:\n  - backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(at_host("api.example.com")), "exact/rule0");
  EXPECT_EQ(winner(at_host("foo.example.com")), "wild/rule0");
  EXPECT_EQ(winner(at_host("a.b.example.com")), "wild/rule0") << "a wildcard covers several labels";
  EXPECT_EQ(winner(at_host("example.com")), "any/rule0") << "a wildcard needs at least one label";
  EXPECT_EQ(winner(at_host("notexample.com")), "any/rule0");
  EXPECT_EQ(winner(at_host("other.org")), "any/rule0");
}

TEST_F(RouteTableTest, HostnameOnlyRoutesDoNotMatchOtherHosts) {
  build(route("exact", "  hostnames: [API.example.com]\n  rules:\n  - backendRefs: [{name: b}]\n") +
        route("wild", "  hostnames: [\"*.example.org\"]\n  rules:\n  - backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(at_host("api.example.com")), "exact/rule0") << "configured hostnames are lower-cased";
  EXPECT_EQ(winner(at_host("www.example.org")), "wild/rule0");
  EXPECT_EQ(winner(at_host("api.example.org.evil.com")), "<none>");
  EXPECT_EQ(winner(at_host("other.com")), "<none>");
}

TEST_F(RouteTableTest, HostnameSpecificityComesBeforePath) {
  build(route("any",
              "  rules:\n  - matches: [{path: {type: Exact, value: /v1/models}}]\n    backendRefs: [{name: b}]\n") +
        route("host", "  hostnames: [api.example.com]\n  rules:\n  - backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(at_host("api.example.com", "/v1/models")), "host/rule0");
  EXPECT_EQ(winner(at_host("other.com", "/v1/models")), "any/rule0");
}

// Precedence follows the hostname that matched: route "mixed" reaching b.example.com through
// its wildcard must lose to route "exact", which names b.example.com.
TEST_F(RouteTableTest, ExactHostnameBeatsWildcardOfARouteWithMixedHostnames) {
  build(route("mixed", "  hostnames: [a.example.com, \"*.example.com\"]\n  rules:\n  - backendRefs: [{name: b}]\n") +
        route("exact", "  hostnames: [b.example.com]\n  rules:\n  - backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(at_host("a.example.com")), "mixed/rule0");
  EXPECT_EQ(winner(at_host("b.example.com")), "exact/rule0");
}

// ------------------------------------------------------------------ ties

TEST_F(RouteTableTest, TiesAreBrokenByFileOrder) {
  build(route("first", "  rules:\n  - matches: [{path: {value: /v1}}]\n    backendRefs: [{name: b}]\n") +
        route("second", "  rules:\n  - matches: [{path: {value: /v1}}]\n    backendRefs: [{name: b}]\n"));
  EXPECT_EQ(winner(post("/v1/x")), "first/rule0");
}

TEST_F(RouteTableTest, TiesAreBrokenByRuleOrderWithinARoute) {
  build(route("r", R"(  rules:
  - name: a
    matches: [{path: {value: /v1}}]
    backendRefs: [{name: b}]
  - name: z
    matches: [{path: {value: /v1}}]
    backendRefs: [{name: c}]
)"));
  EXPECT_EQ(winner(post("/v1/x")), "r/a");
}

TEST_F(RouteTableTest, TiesAcrossFilesFollowSourceOrder) {
  build_sources({{"10.yaml", route("zeta", "  rules:\n  - backendRefs: [{name: b}]\n")},
                 {"20.yaml", route("alpha", "  rules:\n  - backendRefs: [{name: b}]\n")}});
  EXPECT_EQ(winner(post("/")), "zeta/rule0");
}

// ------------------------------------------------------------------ compiled rules

TEST_F(RouteTableTest, CompiledRuleCarriesFiltersAndWeights) {
  build(route("r", R"(  rules:
  - name: chat
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: "1"}]}}
    - {type: RequestHeaderModifier, requestHeaderModifier: {remove: [b]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: c, value: "3"}]}}
    - {type: URLRewrite, urlRewrite: {hostname: up.example.com}}
    backendRefs: [{name: b, weight: 3}, {name: c, weight: 2}]
)"));
  ASSERT_EQ(table_.rules().size(), 1u);
  const auto& rule = *table_.rules()[0];
  EXPECT_EQ(rule.id, "r/chat");
  EXPECT_EQ(rule.route, &result_.config.routes[0]);
  EXPECT_EQ(rule.rule, &result_.config.routes[0].rules[0]);
  EXPECT_EQ(rule.total_weight, 5u);
  ASSERT_EQ(rule.request_header_filters.size(), 2u);
  EXPECT_EQ(rule.request_header_filters[0]->set.at(0).first, "a");
  EXPECT_EQ(rule.request_header_filters[1]->remove.at(0), "b");
  ASSERT_EQ(rule.response_header_filters.size(), 1u);
  EXPECT_EQ(rule.response_header_filters[0]->add.at(0).second, "3");
  ASSERT_NE(rule.rewrite, nullptr);
  EXPECT_EQ(rule.rewrite->hostname, "up.example.com");
}

TEST_F(RouteTableTest, MatchedPrefix) {
  build(route("r", R"(  rules:
  - name: prefix
    matches: [{path: {type: PathPrefix, value: /openrouter/}}]
    backendRefs: [{name: b}]
  - name: exact
    matches: [{path: {type: Exact, value: /exact}}]
    backendRefs: [{name: b}]
  - name: regex
    matches: [{path: {type: RegularExpression, value: "/re/.*"}}]
    backendRefs: [{name: b}]
)"));
  ASSERT_TRUE(match(post("/openrouter/chat/completions")).has_value());
  EXPECT_EQ(match(post("/openrouter/chat/completions"))->matched_prefix, "/openrouter");
  ASSERT_TRUE(match(post("/exact")).has_value());
  EXPECT_EQ(match(post("/exact"))->matched_prefix, "");
  ASSERT_TRUE(match(post("/re/x")).has_value());
  EXPECT_EQ(match(post("/re/x"))->matched_prefix, "");
}

TEST_F(RouteTableTest, MatchedPrefixOfTheRootPrefix) {
  build(route("r", "  rules:\n  - backendRefs: [{name: b}]\n"));
  ASSERT_TRUE(match(post("/other")).has_value());
  EXPECT_EQ(match(post("/other"))->matched_prefix, "/");
}

TEST_F(RouteTableTest, NoRewriteLeavesPathAndHostAlone) {
  build(route("r", "  rules:\n  - backendRefs: [{name: b}]\n"));
  const auto m = match(post("/v1/chat"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rewritten_path, std::nullopt);
  EXPECT_EQ(m->rewritten_host, std::nullopt);
}

// ------------------------------------------------------------------ URLRewrite

struct PrefixRewriteCase {
  const char* prefix;
  const char* replacement;
  const char* request;
  const char* expected;
};

// Readable test names in ctest (which shows the parameter).
void PrintTo(const PrefixRewriteCase& c, std::ostream* os) {
  *os << "prefix " << c.prefix << " replacement " << c.replacement << " request " << c.request;
}

class PrefixRewriteTest : public RouteTableTest, public ::testing::WithParamInterface<PrefixRewriteCase> {};

TEST_P(PrefixRewriteTest, ReplacesTheMatchedPrefix) {
  const auto& c = GetParam();
  build(
      route("r", std::string("  rules:\n  - matches: [{path: {type: PathPrefix, value: \"") + c.prefix +
                     "\"}}]\n    filters:\n    - type: URLRewrite\n      urlRewrite: {path: {type: ReplacePrefixMatch, "
                     "replacePrefixMatch: \"" +
                     c.replacement + "\"}}\n    backendRefs: [{name: b}]\n"));
  const auto m = match(post(c.request));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rewritten_path, c.expected);
  EXPECT_EQ(m->rewritten_host, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(
    GatewayApiCases, PrefixRewriteTest,
    ::testing::Values(PrefixRewriteCase{"/openrouter", "/v1", "/openrouter/chat/completions", "/v1/chat/completions"},
                      PrefixRewriteCase{"/openrouter", "/v1", "/openrouter", "/v1"},
                      PrefixRewriteCase{"/openrouter", "/v1", "/openrouter/", "/v1/"},
                      PrefixRewriteCase{"/openrouter/", "/v1", "/openrouter/chat", "/v1/chat"},
                      PrefixRewriteCase{"/openrouter", "/v1/", "/openrouter/chat", "/v1/chat"},
                      PrefixRewriteCase{"/openrouter/", "/v1/", "/openrouter/chat", "/v1/chat"},
                      PrefixRewriteCase{"/openrouter", "/v1/", "/openrouter", "/v1/"},
                      PrefixRewriteCase{"/openrouter", "/", "/openrouter/chat/completions", "/chat/completions"},
                      PrefixRewriteCase{"/openrouter", "/", "/openrouter", "/"},
                      PrefixRewriteCase{"/openrouter", "/", "/openrouter/", "/"},
                      PrefixRewriteCase{"/", "/v1", "/chat/completions", "/v1/chat/completions"},
                      PrefixRewriteCase{"/", "/v1/", "/chat/completions", "/v1/chat/completions"},
                      PrefixRewriteCase{"/", "/", "/chat/completions", "/chat/completions"},
                      PrefixRewriteCase{"/a/b", "/c", "/a/b/d/e", "/c/d/e"}));

TEST_F(RouteTableTest, PrefixRewriteUsesTheMatchThatWon) {
  build(route("r", R"(  rules:
  - matches: [{path: {value: /short}}, {path: {value: /much/longer}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}}
    backendRefs: [{name: b}]
)"));
  EXPECT_EQ(match(post("/short/x"))->rewritten_path, "/v1/x");
  EXPECT_EQ(match(post("/much/longer/x"))->rewritten_path, "/v1/x");
  EXPECT_EQ(match(post("/much/longer/x"))->matched_prefix, "/much/longer");
}

TEST_F(RouteTableTest, ReplaceFullPathAndHostname) {
  build(route("r", R"(  rules:
  - matches: [{path: {type: PathPrefix, value: /chat}}, {path: {type: Exact, value: /complete}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        hostname: upstream.example.com
        path: {type: ReplaceFullPath, replaceFullPath: /v1/chat/completions}
    backendRefs: [{name: b}]
)"));
  for (const char* path : {"/chat", "/chat/anything/else", "/complete"}) {
    const auto m = match(post(path));
    ASSERT_TRUE(m.has_value()) << path;
    EXPECT_EQ(m->rewritten_path, "/v1/chat/completions") << path;
    EXPECT_EQ(m->rewritten_host, "upstream.example.com") << path;
  }
}

TEST_F(RouteTableTest, HostnameOnlyRewrite) {
  build(route("r", R"(  rules:
  - filters: [{type: URLRewrite, urlRewrite: {hostname: up.example.com}}]
    backendRefs: [{name: b}]
)"));
  const auto m = match(post("/x"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rewritten_host, "up.example.com");
  EXPECT_EQ(m->rewritten_path, std::nullopt);
}

// ------------------------------------------------------------------ query_param

TEST(QueryParamTest, FindsTheFirstValue) {
  EXPECT_EQ(query_param("a=1&b=2", "a"), "1");
  EXPECT_EQ(query_param("a=1&b=2", "b"), "2");
  EXPECT_EQ(query_param("a=1&a=2", "a"), "1");
  EXPECT_EQ(query_param("model=gpt-4o&x=y", "model"), "gpt-4o");
}

TEST(QueryParamTest, ValuelessAndEmptyParameters) {
  EXPECT_EQ(query_param("flag&b=2", "flag"), "");
  EXPECT_EQ(query_param("a=&b=2", "a"), "");
  EXPECT_EQ(query_param("a=x=y", "a"), "x=y");
}

TEST(QueryParamTest, MissingParameters) {
  EXPECT_EQ(query_param("", "a"), std::nullopt);
  EXPECT_EQ(query_param("ab=1&b=2", "a"), std::nullopt);
  EXPECT_EQ(query_param("a1=1", "a"), std::nullopt);
  EXPECT_EQ(query_param("x=a", "a"), std::nullopt);
  EXPECT_EQ(query_param("&&", "a"), std::nullopt);
}

TEST(QueryParamTest, NoPercentDecoding) {
  EXPECT_EQ(query_param("q=a%20b", "q"), "a%20b");
  EXPECT_EQ(query_param("a%62=1", "ab"), std::nullopt);
}

}  // namespace
}  // namespace sluice::route
