#include "proxy/provider_health.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = ProviderHealth::Clock;

config::OutlierDetection policy(unsigned failures, config::Duration base, unsigned max_percent = 50) {
  config::OutlierDetection p;
  p.enabled = true;
  p.consecutiveFailures = failures;
  p.baseEjectionTime = base;
  p.maxEjectionPercent = max_percent;
  return p;
}

TEST(ProviderHealth, EjectedAfterConsecutiveFailuresOnly) {
  ProviderHealth h;
  const auto p = policy(3, 1s);
  const auto now = Clock::now();
  EXPECT_FALSE(h.record_failure(p, now, 0, 4));
  EXPECT_FALSE(h.record_failure(p, now, 0, 4));
  h.record_success(p, now);
  EXPECT_FALSE(h.record_failure(p, now, 0, 4)) << "a success resets the count";
  EXPECT_FALSE(h.record_failure(p, now, 0, 4));
  EXPECT_TRUE(h.record_failure(p, now, 0, 4));
  EXPECT_TRUE(h.ejected(now + 999ms));
  EXPECT_FALSE(h.ejected(now + 1s));
  EXPECT_EQ(h.ejections(), 1u);
}

TEST(ProviderHealth, EachEjectionLastsLonger) {
  ProviderHealth h;
  const auto p = policy(1, 100ms);
  auto now = Clock::now();
  EXPECT_TRUE(h.record_failure(p, now, 0, 2));
  EXPECT_FALSE(h.ejected(now + 100ms));
  now += 100ms;
  EXPECT_TRUE(h.record_failure(p, now, 0, 2)) << "the probe failed";
  EXPECT_TRUE(h.ejected(now + 199ms));
  EXPECT_FALSE(h.ejected(now + 200ms));
}

TEST(ProviderHealth, MaxEjectionPercentCapsButOneMayAlwaysGo) {
  ProviderHealth h;
  const auto now = Clock::now();
  EXPECT_FALSE(h.record_failure(policy(1, 1s, 50), now, 2, 4)) << "2 of 4 already ejected: the cap is reached";
  ProviderHealth lone;
  EXPECT_TRUE(lone.record_failure(policy(1, 1s, 10), now, 0, 2)) << "10% of 2 rounds down, yet one may go";
  ProviderHealth never;
  EXPECT_FALSE(never.record_failure(policy(1, 1s, 0), now, 0, 2));
}

}  // namespace
}  // namespace sluice::proxy

namespace sluice::proxy {
namespace {

TEST(ProviderHealth, FailureRateEjectsOnceTheWindowHasEnoughRequests) {
  auto p = policy(1000, 1s);  // consecutive failures out of the way
  p.failurePercentage = 50;
  p.minimumRequests = 10;
  p.interval = 10s;
  ProviderHealth h;
  auto now = Clock::now();
  // Alternating success and failure: 50% failures, but not enough requests before the 10th.
  for (int i = 0; i < 4; ++i) {
    h.record_success(p, now);
    EXPECT_FALSE(h.record_failure(p, now, 0, 4)) << i;
  }
  h.record_success(p, now);
  EXPECT_TRUE(h.record_failure(p, now, 0, 4)) << "10 requests, 5 failures: 50%";
  EXPECT_TRUE(h.ejected(now));
}

TEST(ProviderHealth, FailureRateWindowStartsAgainAfterItsInterval) {
  auto p = policy(1000, 1s);
  p.failurePercentage = 50;
  p.minimumRequests = 4;
  p.interval = 1s;
  ProviderHealth h;
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) h.record_success(p, now);
  EXPECT_FALSE(h.record_failure(p, now, 0, 4)) << "1 of 4: 25%";
  now += 2s;  // a new window: the old successes no longer dilute the rate
  EXPECT_FALSE(h.record_failure(p, now, 0, 4)) << "1 request is below the minimum";
  EXPECT_FALSE(h.record_failure(p, now, 0, 4));
  h.record_success(p, now);
  EXPECT_TRUE(h.record_failure(p, now, 0, 4)) << "3 of 4 failed";
}

}  // namespace
}  // namespace sluice::proxy
