// The pieces of remote JWKS that need no network: the refresh rate limit and the retry
// schedule of auth::RemoteKeySet, and the JWKS URLs auth::parse_jwks_url accepts.
#include <gtest/gtest.h>

#include <string>

#include "auth/remote_key_set.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using auth::RemoteKeySet;

TEST(RemoteKeySet, ARefreshIsAskedAtMostOncePerInterval) {
  RemoteKeySet keys("https://idp/jwks", 5min);
  int woken = 0;
  keys.set_waker([&woken] { ++woken; });
  const auto t0 = RemoteKeySet::Clock::time_point(100h);
  EXPECT_TRUE(keys.request_refresh(t0));
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(keys.request_refresh(t0 + std::chrono::milliseconds(i * 100)));
  EXPECT_FALSE(keys.request_refresh(t0 + RemoteKeySet::kUnknownKidInterval - 1ms));
  EXPECT_EQ(woken, 1) << "a flood of unknown kids wakes the fetcher once";
  EXPECT_TRUE(keys.request_refresh(t0 + RemoteKeySet::kUnknownKidInterval));
  EXPECT_EQ(woken, 2);
}

TEST(RemoteKeySet, ARefreshAskedWithNoFetcherAttachedWakesNobody) {
  RemoteKeySet keys("https://idp/jwks", 5min);
  int woken = 0;
  keys.set_waker([&woken] { ++woken; });
  keys.set_waker({});
  EXPECT_TRUE(keys.request_refresh(RemoteKeySet::Clock::time_point(1h)));
  EXPECT_EQ(woken, 0);
}

TEST(RemoteKeySet, RetriesBackOffExponentiallyUpToACap) {
  const RemoteKeySet keys("https://idp/jwks", 5min);
  EXPECT_EQ(keys.retry_delay(1), 1s);
  EXPECT_EQ(keys.retry_delay(2), 2s);
  EXPECT_EQ(keys.retry_delay(3), 4s);
  EXPECT_EQ(keys.retry_delay(7), 60s) << "capped at kMaxRetryDelay";
  EXPECT_EQ(keys.retry_delay(1000), 60s);
  const RemoteKeySet short_cache("https://idp/jwks", 3s);
  EXPECT_EQ(short_cache.retry_delay(3), 3s) << "never later than the next scheduled fetch";
}

TEST(RemoteKeySet, AnInstalledKeySetReplacesTheCurrentOne) {
  RemoteKeySet keys("https://idp/jwks", 5min);
  EXPECT_EQ(keys.current(), nullptr) << "nothing fetched yet";
  auto first = std::make_shared<const auth::KeySet>(std::vector<auth::VerificationKey>{});
  keys.install(first);
  const auto held = keys.current();
  EXPECT_EQ(held, first);
  auto second = std::make_shared<const auth::KeySet>(std::vector<auth::VerificationKey>{});
  keys.install(second);
  EXPECT_EQ(keys.current(), second);
  EXPECT_EQ(held, first) << "a reader keeps the set it loaded";
}

TEST(JwksUrl, HttpAndHttpsWithHostPortAndTarget) {
  std::string error;
  auto url = auth::parse_jwks_url("https://idp.example.com/.well-known/jwks.json", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "idp.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/.well-known/jwks.json");
  url = auth::parse_jwks_url("http://127.0.0.1:8080", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  url = auth::parse_jwks_url("https://[::1]:9443/keys?tenant=a", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9443);
  EXPECT_EQ(url->target, "/keys?tenant=a");
}

TEST(JwksUrl, RefusesWhatIsNotAPlainHttpUrl) {
  for (const auto* bad :
       {"ftp://idp/jwks", "idp/jwks", "https:///jwks", "https://user:pw@idp/jwks", "https://idp/jwks#frag",
        "https://idp:0/jwks", "https://idp:99999/jwks", "https://idp:x/jwks", "https://idp/a b", "https://[::1/jwks"}) {
    std::string error;
    EXPECT_FALSE(auth::parse_jwks_url(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace sluice
