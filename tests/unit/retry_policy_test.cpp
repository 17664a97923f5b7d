#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/schema.hpp"
#include "config/yaml_reader.hpp"
#include "diagnostic_lines.hpp"
#include "policy/registry.hpp"
#include "policy/retry.hpp"

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;

config::RetryPolicy policy(std::optional<unsigned> attempts, std::optional<unsigned> budget = std::nullopt) {
  config::RetryPolicy p;
  p.attempts = attempts;
  p.budgetPercent = budget;
  return p;
}

TEST(RetryPolicyMerge, TheSpecificPolicyWinsFieldByField) {
  config::RetryPolicy general = policy(3, 50);
  general.backoffBaseInterval = 25ms;
  config::RetryPolicy specific = policy(2);
  const auto merged = merge(general, specific);
  EXPECT_EQ(*merged.attempts, 2u);
  EXPECT_EQ(*merged.budgetPercent, 50u) << "unset in the specific policy: the general one's value stays";
  EXPECT_EQ(*merged.backoffBaseInterval, 25ms);
}

TEST(RetryPolicyResolve, WithoutAPolicyEveryProviderOnceOnEveryConditionWithoutPause) {
  const auto r = resolve(nullptr, nullptr, 4);
  EXPECT_EQ(r.attempts, 4u);
  EXPECT_TRUE(r.on.connectFailure && r.on.reset && r.on.timeout && r.on.status5xx && r.on.status429);
  EXPECT_EQ(r.backoff(1, 0.9), 0ms);
  EXPECT_FALSE(r.budget_percent) << "no retry budget unless a policy sets one";
  EXPECT_EQ(resolve(nullptr, nullptr, 0).attempts, 1u);
}

TEST(RetryPolicyResolve, AttemptsAreCappedByTheProviders) {
  const auto rule = policy(5);
  EXPECT_EQ(resolve(&rule, nullptr, 2).attempts, 2u) << "a retry never returns to a provider that failed";
  const auto backend = policy(1);
  EXPECT_EQ(resolve(&rule, &backend, 3).attempts, 1u) << "the Backend's policy is the more specific";
}

TEST(RetryPolicyResolve, StatusConditions) {
  config::RetryPolicy p;
  p.retryOn = config::RetryOn{false, false, false, true, false, {408}};
  const auto r = resolve(&p, nullptr, 2);
  EXPECT_TRUE(r.retries_on_status(503));
  EXPECT_FALSE(r.retries_on_status(501)) << "Not Implemented will not be implemented elsewhere either";
  EXPECT_FALSE(r.retries_on_status(429));
  EXPECT_TRUE(r.retries_on_status(408));
  EXPECT_FALSE(r.retries_on_status(400));
}

TEST(RetryPolicyBackoff, ExponentialCappedWithJitterInTheUpperHalf) {
  config::RetryPolicy p;
  p.backoffBaseInterval = 100ms;
  p.backoffMaxInterval = 300ms;
  const auto r = resolve(&p, nullptr, 5);
  EXPECT_EQ(r.backoff(1, 0.0), 50ms);
  EXPECT_EQ(r.backoff(1, 0.999), 99ms);
  EXPECT_EQ(r.backoff(2, 0.0), 100ms);
  EXPECT_EQ(r.backoff(3, 0.0), 150ms) << "400 ms capped at 300, then jittered into [150, 300]";
  EXPECT_EQ(r.backoff(10, 0.999), 299ms);
}

TEST(RetryPolicyAttach, GatewayRouteRuleAndBackendLevels) {
  const auto loaded = config::load_sources({{"t.yaml", R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec: {}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: b}
spec: {type: AI, ai: {llm: {openai: {authToken: {kind: Passthrough}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - {name: chat, backendRefs: [{name: b}]}
  - {name: other, backendRefs: [{name: b}]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: a-gateway}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  retry: {attempts: 4, budgetPercent: 10}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: b-route}
spec:
  targetRefs: [{kind: HTTPRoute, name: llm}]
  retry: {attempts: 3}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: c-rule}
spec:
  targetRefs: [{kind: HTTPRoute, name: llm, sectionName: chat}]
  retry: {attempts: 2}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: d-backend}
spec:
  targetRefs: [{kind: Backend, name: b}]
  retry: {perTryTimeout: 5s}
)"}});
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  const auto routes = route::RouteTable::build(loaded.config);
  const auto attached = attach_policies(loaded.config, routes);
  ASSERT_EQ(routes.rules().size(), 2u);
  const auto& chat_rule = *routes.rules()[0];
  const auto& other_rule = *routes.rules()[1];
  ASSERT_EQ(chat_rule.rule->name, "chat");
  const auto chat = merge_attached(attached.by_rule[chat_rule.index]);
  const auto other = merge_attached(attached.by_rule[other_rule.index]);
  ASSERT_TRUE(chat && other);
  EXPECT_EQ(*chat->attempts, 2u);
  EXPECT_EQ(*other->attempts, 3u);
  EXPECT_EQ(*other->budgetPercent, 10u) << "from the Gateway";
  ASSERT_TRUE(attached.by_backend.contains("b"));
  const auto backend = merge_attached(attached.by_backend.at("b"));
  ASSERT_TRUE(backend);
  const auto r = resolve(&*chat, &*backend, 10);
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_EQ(*r.per_try_timeout, 5s);
  EXPECT_EQ(*r.budget_percent, 10u);
}

// ------------------------------------------------------------------ the section's registry entry

// "file: resource: field: message" of each diagnostic, in order.
using testing::problems;

TEST(RetrySection, IsRegisteredAndDecodesThroughItsEntry) {
  const auto* entry = find_policy_section("retry");
  ASSERT_NE(entry, nullptr);
  const auto sections = policy_sections();
  EXPECT_NE(std::find_if(sections.begin(), sections.end(), [&](const auto& s) { return &s == entry; }), sections.end())
      << "the entry found is the registered one";
  config::Diagnostics diagnostics;
  const config::DecodeContext ctx{diagnostics, "p.yaml", "TrafficPolicy/p"};
  config::TrafficPolicy policy;
  {
    config::YamlMap section(YAML::Load("{attempts: 3, retryOn: [reset, 429], statusCodes: [408], "
                                       "perTryTimeout: 2s, budgetPercent: 25}"),
                            "spec.retry", ctx);
    entry->decode(section, policy);
  }
  EXPECT_TRUE(diagnostics.items().empty()) << diagnostics.format_all();
  ASSERT_TRUE(policy.retry);
  EXPECT_EQ(*policy.retry->attempts, 3u);
  ASSERT_TRUE(policy.retry->retryOn);
  EXPECT_TRUE(policy.retry->retryOn->reset);
  EXPECT_TRUE(policy.retry->retryOn->status429);
  EXPECT_FALSE(policy.retry->retryOn->status5xx) << "retryOn names every condition retried";
  EXPECT_EQ(policy.retry->retryOn->statusCodes, std::vector<unsigned>{408});
  EXPECT_EQ(*policy.retry->perTryTimeout, 2s);
  EXPECT_EQ(*policy.retry->budgetPercent, 25u);
}

TEST(RetrySection, StatusCodesAloneKeepTheDefaultConditions) {
  config::Diagnostics diagnostics;
  const config::DecodeContext ctx{diagnostics, "p.yaml", "TrafficPolicy/p"};
  config::TrafficPolicy policy;
  {
    config::YamlMap section(YAML::Load("{statusCodes: [409]}"), "spec.retry", ctx);
    find_policy_section("retry")->decode(section, policy);
  }
  ASSERT_TRUE(policy.retry && policy.retry->retryOn);
  EXPECT_TRUE(policy.retry->retryOn->status5xx && policy.retry->retryOn->connectFailure);
  EXPECT_EQ(policy.retry->retryOn->statusCodes, std::vector<unsigned>{409});
}

TEST(RetrySection, DiagnosticsNameFileResourceAndField) {
  const auto loaded = config::load_sources({{"p.yaml", R"(apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{kind: Backend, name: b}]
  retry:
    attempts: 11
    retryOn: [reset, gateway-error]
    statusCodes: [302, 503]
    backoffBaseInterval: 2s
    backoffMaxInterval: 1s
    retryBudget: 5
)"}});
  EXPECT_THAT(
      problems(loaded.diagnostics),
      ::testing::ElementsAre(
          "p.yaml: TrafficPolicy/p: spec.retry.attempts: must be between 1 and 10, found 11",
          "p.yaml: TrafficPolicy/p: spec.retry.retryOn[1]: unknown retry condition \"gateway-error\"; expected one "
          "of: connect-failure, reset, timeout, 5xx, 429 (and statusCodes for specific statuses)",
          "p.yaml: TrafficPolicy/p: spec.retry.statusCodes[0]: expected an HTTP status between 400 and 599, found "
          "\"302\"",
          "p.yaml: TrafficPolicy/p: spec.retry.backoffMaxInterval: must not be shorter than backoffBaseInterval",
          "p.yaml: TrafficPolicy/p: spec.retry.retryBudget: unknown field",
          "p.yaml: TrafficPolicy/p: spec.targetRefs[0].name: Backend \"b\" not found; no Backends are defined"));
}

TEST(RetrySection, CompilesToAStageOnlyWhereAPolicySetsIt) {
  config::TrafficPolicy without;
  config::TrafficPolicy with;
  with.retry = policy(2);
  const AttachedPolicies none = {&without};
  const AttachedPolicies some = {&without, &with};
  const auto* entry = find_policy_section("retry");
  ASSERT_NE(entry, nullptr);
  const config::Config config;
  EXPECT_TRUE(entry->compile(none, SectionContext{config, AttachLevel::Rule}).empty());
  const auto stages = entry->compile(some, SectionContext{config, AttachLevel::Backend});
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages.front()->name(), "retry");
}

// A section used only here: its hooks count what the generic entry calls and in which order.
struct CountingSection {
  using Value = config::RetryPolicy;
  static constexpr std::string_view key = "counting";
  static constexpr auto field = &config::TrafficPolicy::retry;
  static constexpr std::string_view every_branch = "{}";
  static inline std::vector<std::string> calls;
  static Value decode(config::YamlMap& section) {
    calls.push_back("decode");
    Value v;
    if (auto a = section.integer("attempts", 1, 10)) v.attempts = static_cast<unsigned>(*a);
    return v;
  }
  static void validate(const Value& value, const config::YamlMap&) {
    calls.push_back("validate " + std::to_string(value.attempts.value_or(0)));
  }
  static Value merge(const Value& general, const Value& specific) {
    calls.push_back("merge");
    return policy::merge(general, specific);
  }
  static std::shared_ptr<const pipeline::Stage> make_stage(Value merged, const SectionContext& context) {
    calls.push_back("stage " + std::to_string(merged.attempts.value_or(0)) +
                    (context.level == AttachLevel::Backend ? " backend" : " rule"));
    return make_retry_stage(std::move(merged), context.level == AttachLevel::Backend);
  }
};

TEST(PolicySectionEntry, DecodesValidatesAndMergesGeneralToSpecific) {
  constexpr auto entry = section_entry<CountingSection>();
  EXPECT_EQ(entry.key, "counting");
  CountingSection::calls.clear();
  config::Diagnostics diagnostics;
  const config::DecodeContext ctx{diagnostics, "p.yaml", "TrafficPolicy/p"};
  config::TrafficPolicy general;
  config::TrafficPolicy unset;
  config::TrafficPolicy specific;
  {
    config::YamlMap section(YAML::Load("{attempts: 4}"), "spec.counting", ctx);
    entry.decode(section, general);
  }
  specific.retry = policy(2, 30);
  const AttachedPolicies attached = {&general, &unset, &specific};
  const config::Config config;
  EXPECT_EQ(entry.compile(attached, SectionContext{config, AttachLevel::Backend}).size(), 1u);
  EXPECT_THAT(CountingSection::calls, ::testing::ElementsAre("decode", "validate 4", "merge", "stage 2 backend"));
  ASSERT_TRUE(general.retry);
  EXPECT_EQ(*general.retry->attempts, 4u);
  const auto merged = merge_section<CountingSection>(attached);
  ASSERT_TRUE(merged);
  EXPECT_EQ(*merged->attempts, 2u) << "the specific policy wins";
  EXPECT_EQ(*merged->budgetPercent, 30u);
}

TEST(PolicySectionEntry, EveryRegisteredSectionIsInTheFieldSchema) {
  const auto schema = config::accepted_fields();
  EXPECT_FALSE(schema.diagnostics.has_errors()) << schema.diagnostics.format_all();
  for (const auto& section : policy_sections()) {
    const auto prefix = "TrafficPolicy.spec." + std::string(section.key) + ".";
    EXPECT_TRUE(std::any_of(schema.fields.begin(), schema.fields.end(), [&](const std::string& f) {
      return f.starts_with(prefix);
    })) << section.key;
  }
  EXPECT_THAT(schema.fields, ::testing::Contains("TrafficPolicy.spec.retry.statusCodes"));
}

}  // namespace
}  // namespace sluice::policy
