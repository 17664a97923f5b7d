// Resource, rule and provider names follow Kubernetes' RFC 1123 rules, and the loader's field
// schema (config/schema.hpp) is read off the decoders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/schema.hpp"

namespace sluice::config {

[[maybe_unused]] static void PrintTo(const Diagnostic& d, std::ostream* os) {
  *os << d.format();
}

namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

LoadResult load(const std::string& yaml) {
  return load_sources({{"names.yaml", yaml}});
}

::testing::Matcher<const Diagnostic&> Err(const std::string& resource, const std::string& field,
                                          const std::string& message_part) {
  return AllOf(Field(&Diagnostic::severity, Severity::Error), Field(&Diagnostic::file, "names.yaml"),
               Field(&Diagnostic::resource, resource), Field(&Diagnostic::field, field),
               Field(&Diagnostic::message, HasSubstr(message_part)));
}

std::string backend(const std::string& name) {
  return "apiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: \"" + name +
         "\"}\nspec: {type: AI, ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}}}}\n";
}

std::string route_with_rule(const std::string& rule) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
         "spec: {rules: [{name: \"" +
         rule + "\", backendRefs: [{name: b}]}]}\n";
}

std::string group_backend(const std::string& provider) {
  return "apiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: g}\nspec:\n  type: AI\n  ai:\n"
         "    priorityGroups:\n    - providers:\n      - name: \"" +
         provider + "\"\n        openai: {authToken: {kind: Inline, inline: k}}\n";
}

TEST(ConfigNamesTest, AcceptsRfc1123SubdomainsAsResourceNames) {
  const auto longest =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  for (const auto& name : std::vector<std::string>{"b", "openai", "team-a.chat", "0x", longest}) {
    EXPECT_THAT(load(backend(name)).diagnostics.items(), IsEmpty()) << name;
  }
}

TEST(ConfigNamesTest, RefusesOtherResourceNamesNamingFileResourceAndField) {
  const auto label_too_long = std::string(64, 'a') + ".b";
  const auto too_long =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(62, 'd');
  for (const auto& name :
       std::vector<std::string>{"Team", "a_b", "a/b", "-a", "a-", "a..b", ".a", "a.", "", label_too_long, too_long}) {
    const auto r = load(backend(name));
    EXPECT_THAT(r.diagnostics.items(),
                Contains(Err("Backend/" + (name.empty() ? std::string("<no name>") : name), "metadata.name",
                             "is not a valid name: at most 253 lowercase letters, digits, '-' and '.'")))
        << name;
  }
}

TEST(ConfigNamesTest, ChecksTheNameOfEveryKind) {
  const std::string yaml = R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: GW}
---
apiVersion: v1
kind: Secret
metadata: {name: my_secret}
stringData: {apiKey: k}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: Route}
spec: {rules: [{backendRefs: [{name: b}]}]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: "p/1"}
spec: {targetRefs: [{kind: Gateway, name: GW}], retry: {attempts: 2}}
---
)" + backend("b");
  const auto r = load(yaml);
  EXPECT_THAT(r.diagnostics.items(),
              ElementsAre(Err("Gateway/GW", "metadata.name", "\"GW\" is not a valid name"),
                          Err("Secret/my_secret", "metadata.name", "\"my_secret\" is not a valid name"),
                          Err("HTTPRoute/Route", "metadata.name", "\"Route\" is not a valid name"),
                          Err("TrafficPolicy/p/1", "metadata.name", "\"p/1\" is not a valid name")));
}

TEST(ConfigNamesTest, RuleNamesAreRfc1123Labels) {
  EXPECT_THAT(load(backend("b") + "---\n" + route_with_rule("chat-2")).diagnostics.items(), IsEmpty());
  EXPECT_THAT(load(backend("b") + "---\n" + route_with_rule(std::string(63, 'r'))).diagnostics.items(), IsEmpty());
  for (const auto& name : std::vector<std::string>{"a/b", "a.b", "Chat", "-a", "a_b", "", std::string(64, 'r')}) {
    EXPECT_THAT(load(backend("b") + "---\n" + route_with_rule(name)).diagnostics.items(),
                ElementsAre(Err("HTTPRoute/r", "spec.rules[0].name",
                                "is not a valid name: at most 63 lowercase letters, digits and '-'")))
        << name;
  }
}

TEST(ConfigNamesTest, PriorityGroupProviderNamesAreRfc1123Labels) {
  EXPECT_THAT(load(group_backend("primary-1")).diagnostics.items(), IsEmpty());
  for (const auto& name : std::vector<std::string>{"Primary", "a.b", "a/b", "a b"}) {
    EXPECT_THAT(load(group_backend(name)).diagnostics.items(),
                ElementsAre(Err("Backend/g", "spec.ai.priorityGroups[0].providers[0].name",
                                "is not a valid name: at most 63 lowercase letters, digits and '-'")))
        << name;
  }
}

// With '/' refused in both names, "route/rule" ids cannot collide: route "a" rule "b-c" and
// route "a-b" rule "c" are distinct, and "a/b" + "c" (which would equal "a" + "b/c") is refused.
TEST(ConfigNamesTest, RuleIdsAreUnambiguous) {
  EXPECT_NE(rule_id("a", "b-c"), rule_id("a-b", "c"));
  EXPECT_EQ(rule_id("route", "rule0"), "route/rule0");
  const auto r = load(backend("b") + "---\n" + route_with_rule("b/c"));
  EXPECT_TRUE(r.diagnostics.has_errors());
}

TEST(ConfigSchemaTest, ListsFieldsOfEveryKindFromTheDecoders) {
  const auto schema = accepted_fields();
  EXPECT_FALSE(schema.diagnostics.has_errors()) << schema.diagnostics.format_all();
  const std::set<std::string> fields(schema.fields.begin(), schema.fields.end());
  EXPECT_EQ(fields.size(), schema.fields.size());
  for (const char* f :
       {"Gateway.spec.limits.drainTimeout", "Gateway.spec.listeners[].port", "Secret.stringData", "Secret.type",
        "Backend.metadata.name", "Backend.spec.ai.llm.bedrock.credentials.secretRef.name",
        "Backend.spec.ai.llm.openai.authToken.secretRef.key", "Backend.spec.ai.healthCheck.path",
        "Backend.spec.ai.priorityGroups[].providers[].weight", "Backend.spec.static.hosts[].host",
        "HTTPRoute.spec.rules[].filters[].urlRewrite.path.replacePrefixMatch",
        "HTTPRoute.spec.rules[].backendRefs[].namespace", "TrafficPolicy.spec.retry.budgetPercent",
        "TrafficPolicy.spec.rateLimit.global.limits[].count", "TrafficPolicy.spec.ai.budgets[].period"})
    EXPECT_TRUE(fields.contains(f)) << f;
  // Keys of a Secret's data are data, not fields; rejected sections are not listed.
  EXPECT_THAT(schema.fields, Not(Contains(HasSubstr("stringData."))));
  EXPECT_THAT(schema.fields, Contains("Gateway.spec.listeners[].tls.certificateRef.name"));
  EXPECT_THAT(schema.fields, Not(Contains("TrafficPolicy.spec.timeouts")));
}

}  // namespace
}  // namespace sluice::config
