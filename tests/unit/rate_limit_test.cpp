// Rate limits and budgets, the parts that need no Redis: token buckets (state/token_buckets.hpp),
// limit keys (policy/limit_key.hpp), budget periods (policy/budget.hpp), the
// x-ratelimit-* headers (policy/rate_limit_headers.hpp) and the rateLimit section's decoding,
// merging and diagnostics (policy/rate_limit.hpp). Redis-backed behaviour is tested against a
// real redis-server in tests/integration/rate_limits.test.mjs.
#include "policy/rate_limit.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.hpp"
#include "diagnostic_lines.hpp"
#include "policy/budget.hpp"
#include "policy/limit_key.hpp"
#include "policy/rate_limit_headers.hpp"
#include "state/token_buckets.hpp"

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;
using state::TokenBuckets;

TEST(TokenBuckets, TakesUpToTheCapacityThenRefusesWithTheWait) {
  TokenBuckets buckets;
  const TokenBuckets::Limit limit{3, 1};  // 3 tokens, 1 per second
  const auto t0 = TokenBuckets::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(buckets.take("k", 1, limit, t0).allowed) << i;
  const auto refused = buckets.take("k", 1, limit, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1000ms);
  EXPECT_EQ(refused.reset, 3000ms);
  // Half a second later half a token is back: still refused, the wait halved.
  EXPECT_EQ(buckets.take("k", 1, limit, t0 + 500ms).retry_after, 500ms);
  EXPECT_TRUE(buckets.take("k", 1, limit, t0 + 1000ms).allowed);
  // Another key has its own bucket.
  EXPECT_TRUE(buckets.take("other", 3, limit, t0).allowed);
}

TEST(TokenBuckets, AdjustGivesBackAndMayGoIntoDebt) {
  TokenBuckets buckets;
  const TokenBuckets::Limit limit{10, 0};  // no refill
  const auto t0 = TokenBuckets::Clock::now();
  EXPECT_TRUE(buckets.take("k", 8, limit, t0).allowed);
  buckets.adjust("k", 5, limit, t0);  // 2 + 5
  EXPECT_TRUE(buckets.take("k", 7, limit, t0).allowed);
  buckets.adjust("k", -4, limit, t0);  // debt: -4
  EXPECT_FALSE(buckets.take("k", 1, limit, t0).allowed);
  buckets.adjust("k", 100, limit, t0);  // capped at the capacity
  EXPECT_TRUE(buckets.take("k", 10, limit, t0).allowed);
  EXPECT_FALSE(buckets.take("k", 1, limit, t0).allowed);
}

TEST(TokenBuckets, ALoweredLimitAppliesToTheExistingBucket) {
  TokenBuckets buckets;
  const auto t0 = TokenBuckets::Clock::now();
  EXPECT_TRUE(buckets.take("k", 1, {100, 1}, t0).allowed);  // 99 left
  const auto lowered = buckets.take("k", 1, {5, 1}, t0);
  EXPECT_TRUE(lowered.allowed);
  EXPECT_EQ(lowered.remaining, 4);
}

TEST(TokenBuckets, StaysBoundedUnderManyKeys) {
  TokenBuckets buckets;
  const auto t0 = TokenBuckets::Clock::now();
  const std::size_t keys = TokenBuckets::kShards * TokenBuckets::kMaxBucketsPerShard * 2;
  for (std::size_t i = 0; i < keys; ++i) buckets.take("key" + std::to_string(i), 1, {10, 0}, t0);
  EXPECT_LE(buckets.size(), TokenBuckets::kShards * TokenBuckets::kMaxBucketsPerShard);
}

TEST(TokenBuckets, ExactUnderConcurrentTakes) {
  TokenBuckets buckets;
  const auto t0 = TokenBuckets::Clock::now();
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (buckets.take("shared", 1, {500, 0}, t0).allowed) ++allowed;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 500);
}

TEST(LimitKey, ParsesEveryPartAndRefusesUnknownOnes) {
  std::string error;
  const auto key = LimitKey::parse(
      {"principal", "principal.metadata.team", "model", "route", "backend", "header:X-Team", "clientIP"}, &error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(key->parts().size(), 7u);
  EXPECT_EQ(key->parts()[5].name, "x-team");
  EXPECT_TRUE(key->needs_body());
  EXPECT_FALSE(LimitKey::parse({"principal"}, nullptr)->needs_body());
  EXPECT_FALSE(LimitKey::parse({"team"}, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("unknown key part \"team\""));
  EXPECT_FALSE(LimitKey::parse({"principal", "principal"}, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("named twice"));
  EXPECT_FALSE(LimitKey::parse({"header:authorization"}, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("credential"));
}

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

TEST(Budget, PeriodsAreCalendarAlignedInUtc) {
  // 2026-12-02T13:45:10Z (a Wednesday).
  const auto now = at(1796219110);
  const auto month = period_of(config::BudgetPeriod::Month, now);
  EXPECT_EQ(month.start, 1796083200);  // 2026-12-01
  EXPECT_EQ(month.end, 1798761600);    // 2027-01-01
  EXPECT_EQ(period_label(config::BudgetPeriod::Month, month), "2026-12");
  const auto week = period_of(config::BudgetPeriod::Week, now);
  EXPECT_EQ(period_label(config::BudgetPeriod::Week, week), "2026-11-30");  // Monday
  EXPECT_EQ(week.end - week.start, 7 * 86400);
  const auto day = period_of(config::BudgetPeriod::Day, now);
  EXPECT_EQ(period_label(config::BudgetPeriod::Day, day), "2026-12-02");
  const auto hour = period_of(config::BudgetPeriod::Hour, now);
  EXPECT_EQ(period_label(config::BudgetPeriod::Hour, hour), "2026-12-02T13");
  EXPECT_EQ(hour.end, hour.start + 3600);
  // February of a leap year ends on the 29th; the last second of a month is still in it.
  const auto feb = period_of(config::BudgetPeriod::Month, at(1835395200));  // 2028-02-29T00:00:00Z
  EXPECT_EQ(period_label(config::BudgetPeriod::Month, feb), "2028-02");
  EXPECT_EQ(feb.end, 1835481600);  // 2028-03-01
  EXPECT_EQ(period_label(config::BudgetPeriod::Month, period_of(config::BudgetPeriod::Month, at(1798761599))),
            "2026-12");
  EXPECT_EQ(period_label(config::BudgetPeriod::Month, period_of(config::BudgetPeriod::Month, at(1798761600))),
            "2027-01");
}

TEST(RateLimitHeaders, FormatsResetsLikeOpenAi) {
  EXPECT_EQ(format_reset(20ms), "20ms");
  EXPECT_EQ(format_reset(1000ms), "1s");
  EXPECT_EQ(format_reset(1500ms), "1.5s");
  EXPECT_EQ(format_reset(360'000ms), "6m0s");
  EXPECT_EQ(format_reset(7'200'000ms), "2h0m0s");
}

using testing::problems;

constexpr const char* kGateway = R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080}]
)";

std::string budgets_identity_of(const config::TrafficPolicy& policy, std::size_t i) {
  return policy.ai->budgets->at(i).identity;
}

TEST(RateLimitSection, DecodesTheIssueExample) {
  const auto loaded = config::load_sources({{"p.yaml", std::string(kGateway) + R"(  redis: {address: 127.0.0.1:6379}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: limits}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  rateLimit:
    local:
    - {requests: 20, unit: Second, burst: 40, by: [principal]}
    global:
      failureMode: FailClosed
      limits:
      - {requests: 600, unit: Minute, by: [principal]}
      - {tokens: 200000, unit: Hour, by: ["principal.metadata.team"], count: Total}
      - {tokens: 50000, unit: Hour, by: [principal, model]}
    streams: {onExceed: Finish}
  ai:
    budgets:
    - {by: ["principal.metadata.team"], limit: "500.00", period: Month}
    - {by: [principal], limit: "25.00", period: Day}
)"}});
  EXPECT_THAT(problems(loaded.diagnostics), ::testing::IsEmpty());
  const auto& policy = loaded.config.policies.at("limits");
  ASSERT_TRUE(policy.rateLimit);
  ASSERT_TRUE(policy.rateLimit->local);
  EXPECT_EQ(policy.rateLimit->local->at(0).burst, 40u);
  const auto& limits = *policy.rateLimit->global->limits;
  ASSERT_EQ(limits.size(), 3u);
  EXPECT_EQ(*limits[0].requests, 600u);
  EXPECT_EQ(*limits[1].tokens, 200000u);
  EXPECT_EQ(limits[2].by, (std::vector<std::string>{"principal", "model"}));
  // Identities name the policy, not the numbers: a reload that changes a number keeps its counters.
  EXPECT_EQ(limits[0].identity, "TrafficPolicy/limits|requests|Minute|principal,");
  EXPECT_EQ(limits[1].identity, "TrafficPolicy/limits|tokens|Total|Hour|principal.metadata.team,");
  EXPECT_EQ(budgets_identity_of(policy, 1), "TrafficPolicy/limits|budget|Day|principal,");
  const auto& budgets = *policy.ai->budgets;
  ASSERT_EQ(budgets.size(), 2u);
  EXPECT_EQ(budgets[0].limit, 500'000'000);
  EXPECT_EQ(budgets[1].period, config::BudgetPeriod::Day);
}

TEST(RateLimitSection, DiagnosticsNameFileResourceAndField) {
  const auto loaded = config::load_sources({{"p.yaml", std::string(kGateway) + R"(---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  rateLimit:
    local:
    - {requests: 0, unit: Fortnight, by: [team]}
    global:
      failureMode: Local
      limits:
      - {requests: 5, tokens: 6, unit: Minute}
      - {requests: 5, unit: Minute, count: Input}
  ai:
    budgets:
    - {by: [principal], limit: "12.3456789", period: Year}
)"}});
  EXPECT_THAT(
      problems(loaded.diagnostics),
      ::testing::UnorderedElementsAre(
          "p.yaml: TrafficPolicy/p: spec.rateLimit.local[0].requests: must be between 1 and 1000000000, found 0",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.local[0].unit: unknown value \"Fortnight\"; expected one of "
          "Second, Minute, Hour, Day",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.local[0].by: unknown key part \"team\"; expected one of principal, "
          "principal.metadata.<key>, model, route, backend, header:<name>, clientIP",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.global.limits[0]: a limit counts either requests or tokens: set "
          "exactly one of the two",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.global.limits[1].count: count applies to token limits (tokens: N), "
          "not to requests",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.global.replicas: failureMode Local needs replicas (how many Sluice "
          "replicas share the limits): while Redis is down, each replica enforces limit / replicas",
          "p.yaml: TrafficPolicy/p: spec.ai.budgets[0].limit: has more than 6 decimals (amounts are kept in whole "
          "micro-dollars)",
          "p.yaml: TrafficPolicy/p: spec.ai.budgets[0].period: unknown value \"Year\"; expected one of Hour, Day, "
          "Week, Month",
          "p.yaml: TrafficPolicy/p: spec.rateLimit.global: global limits are counted in Redis, shared by every "
          "replica: the Gateway needs spec.redis ({address: host:port}); for per-replica limits use rateLimit.local",
          "p.yaml: TrafficPolicy/p: spec.ai.budgets: budgets are counted in Redis, shared by every replica: the "
          "Gateway needs spec.redis ({address: host:port})"));
}

TEST(RateLimitSection, IdenticalLimitsInOnePolicyCountApart) {
  const auto loaded = config::load_sources({{"p.yaml", std::string(kGateway) + R"(  redis: {address: 127.0.0.1:6379}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  rateLimit:
    global:
      limits:
      - {tokens: 10, unit: Hour, by: [principal]}
      - {tokens: 20, unit: Hour, by: [principal]}
      - {tokens: 20, unit: Hour, by: [principal], count: Output}
)"}});
  ASSERT_THAT(problems(loaded.diagnostics), ::testing::IsEmpty());
  const auto& limits = *loaded.config.policies.at("p").rateLimit->global->limits;
  EXPECT_EQ(limits[0].identity, "TrafficPolicy/p|tokens|Total|Hour|principal,");
  EXPECT_EQ(limits[1].identity, "TrafficPolicy/p|tokens|Total|Hour|principal,#1");
  EXPECT_EQ(limits[2].identity, "TrafficPolicy/p|tokens|Output|Hour|principal,");
}

TEST(RateLimitSection, TheMostSpecificListWinsWholeAndScalarsMergePerField) {
  config::RateLimitPolicy general;
  general.local = std::vector<config::LocalRateLimit>{{10, config::RateUnit::Second, 0, {}, "g", "g", "g"}};
  general.global =
      config::GlobalRateLimits{config::RedisFailureMode::FailOpen, std::vector<config::GlobalRateLimit>{{}}, 3};
  config::RateLimitPolicy specific;
  specific.global = config::GlobalRateLimits{std::nullopt, std::vector<config::GlobalRateLimit>{{}, {}}, std::nullopt};
  specific.streams = config::StreamLimits{config::StreamExceed::Truncate};
  const auto merged = RateLimitSection::merge(general, specific);
  EXPECT_EQ(merged.local->size(), 1u);
  EXPECT_EQ(merged.global->limits->size(), 2u);
  EXPECT_EQ(merged.global->failureMode, config::RedisFailureMode::FailOpen);
  EXPECT_EQ(merged.global->replicas, 3u);
  EXPECT_EQ(merged.streams->onExceed, config::StreamExceed::Truncate);
}

}  // namespace
}  // namespace sluice::policy
