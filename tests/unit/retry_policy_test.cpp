#include <gtest/gtest.h>

#include "config/loader.hpp"
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

}  // namespace
}  // namespace sluice::policy
