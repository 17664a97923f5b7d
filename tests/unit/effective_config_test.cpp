#include "admin/effective_config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace sluice::admin {
namespace {

namespace json = boost::json;

// Every place a configuration can hold a credential, each with a value the output must not show.
constexpr const char* kConfig = R"(apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {apiKey: sk-string-data-0001, password: redis-password-0002}
data: {other: b3RoZXItc2VjcmV0LTAwMDM=}
---
apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  redis: {address: "127.0.0.1:6390", passwordRef: {name: keys}}
  pricing: {models: {gpt-x: {input: "1.5", output: "2"}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: inline}
spec:
  type: AI
  ai:
    llm:
      anthropic: {authToken: {kind: Inline, inline: sk-inline-token-0004}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: groups}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - {name: a, openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-upstream-token, value: header-set-0005}]
        add: [{name: x-other, value: header-add-0006}]
    backendRefs: [{name: inline}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: auth}
spec:
  targetRefs: [{kind: HTTPRoute, name: llm}]
  auth:
    apiKey:
      keys:
      - {name: alice, keyHash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
      - {name: bob, secretRef: {name: keys, key: apiKey}}
    jwt:
      providers:
      - name: idp
        issuer: https://idp
        jwks: {inline: '{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}'}
  ai:
    budgets: [{by: [principal], limit: "25.50", period: Day}]
)";

const std::vector<std::string> kSecrets = {"sk-string-data-0001",
                                           "redis-password-0002",
                                           "other-secret-0003",
                                           "b3RoZXItc2VjcmV0LTAwMDM=",
                                           "sk-inline-token-0004",
                                           "header-set-0005",
                                           "header-add-0006",
                                           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                                           "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"};

json::object find(const json::value& doc, std::string_view kind, std::string_view name) {
  for (const auto& r : doc.at("resources").as_array()) {
    const auto& m = r.at("metadata");
    if (r.at("kind").as_string() == kind && m.at("name").is_string() && m.at("name").as_string() == name)
      return r.as_object();
  }
  ADD_FAILURE() << "no " << kind << "/" << name;
  return {};
}

TEST(EffectiveConfig, ShowsNoSecretValue) {
  auto loaded = config::load_sources({{"test.yaml", kConfig}});
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  const auto text = render_config(loaded.config, 7);
  for (const auto& secret : kSecrets) EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
}

TEST(EffectiveConfig, NamesWhatItRedactsAndFillsDefaults) {
  auto loaded = config::load_sources({{"test.yaml", kConfig}});
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  const auto doc = json::parse(render_config(loaded.config, 7));
  EXPECT_EQ(doc.at("generation").as_int64(), 7);
  const auto& kinds = doc.at("resources").as_array();
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds[0].at("kind").as_string(), "Gateway") << "the Gateway first";

  const auto secret = find(doc, "Secret", "keys");
  EXPECT_EQ(secret.at("data").at("apiKey").as_string(), kRedacted);
  EXPECT_EQ(secret.at("data").at("other").as_string(), kRedacted);
  EXPECT_EQ(secret.at("metadata").at("file").as_string(), "test.yaml");

  const auto gateway = find(doc, "Gateway", "gw");
  const auto& spec = gateway.at("spec");
  EXPECT_EQ(spec.at("redis").at("passwordRef").at("name").as_string(), "keys") << "references are shown";
  EXPECT_EQ(spec.at("limits").at("drainTimeout").as_string(), "30s") << "defaults filled in";
  EXPECT_EQ(spec.at("admin").at("port").as_int64(), 9901);
  EXPECT_EQ(spec.at("pricing").at("models").at("gpt-x").at("input").as_string(), "1.500000");

  const auto inline_backend = find(doc, "Backend", "inline");
  const auto& llm = inline_backend.at("spec").at("llm");
  EXPECT_EQ(llm.at("kind").as_string(), "Anthropic");
  EXPECT_EQ(llm.at("authToken").at("inline").as_string(), kRedacted);
  EXPECT_EQ(llm.at("anthropic").at("apiVersion").as_string(), "2023-06-01");
  EXPECT_FALSE(llm.as_object().contains("openai")) << "only the provider's own options";
  EXPECT_FALSE(inline_backend.at("spec").as_object().contains("hosts"));

  const auto groups = find(doc, "Backend", "groups");
  EXPECT_FALSE(groups.at("spec").as_object().contains("llm"));
  const auto& provider = groups.at("spec").at("priorityGroups").at(0).at("providers").at(0);
  EXPECT_EQ(provider.at("llm").at("authToken").at("secretRef").at("key").as_string(), "apiKey");

  const auto route = find(doc, "HTTPRoute", "llm");
  const auto& filter = route.at("spec").at("rules").at(0).at("filters").at(0);
  EXPECT_EQ(filter.at("headerModifier").at("set").at(0).at("name").as_string(), "x-upstream-token");
  EXPECT_EQ(filter.at("headerModifier").at("set").at(0).at("value").as_string(), kRedacted);

  const auto policy = find(doc, "TrafficPolicy", "auth");
  const auto& keys = policy.at("spec").at("auth").at("apiKey").at("keys");
  EXPECT_EQ(keys.at(0).at("keyHash").as_string(), kRedacted);
  EXPECT_EQ(keys.at(1).at("secretRef").at("name").as_string(), "keys");
  EXPECT_EQ(policy.at("spec").at("auth").at("jwt").at("providers").at(0).at("jwks").at("inlineJwks").as_string(),
            kRedacted);
  EXPECT_EQ(policy.at("spec").at("ai").at("budgets").at(0).at("limit").as_string(), "25.500000");
}

TEST(EffectiveConfig, WithoutAGatewayShowsItsDefaults) {
  auto loaded = config::load_sources({{"test.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"}});
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  const auto doc = json::parse(render_config(loaded.config, 1));
  const auto& gateway = doc.at("resources").at(0);
  EXPECT_EQ(gateway.at("kind").as_string(), "Gateway");
  EXPECT_TRUE(gateway.at("metadata").at("name").is_null());
  EXPECT_EQ(gateway.at("spec").at("listeners").at(0).at("port").as_int64(), 8080);
}

}  // namespace
}  // namespace sluice::admin
