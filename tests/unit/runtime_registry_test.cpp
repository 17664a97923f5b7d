// The runtime-state registry on its own, and through Snapshot::build as a reload uses it:
// provider health and benched keys kept when a reload keeps the provider, dropped when one
// removes it, a KeyRing recreated when its keys change (count or value); and the pool-keeping rule:
// pool keys that survive a reload unchanged, and UpstreamPool::retain dropping only the rest.
#include "state/runtime_registry.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

#include "config/loader.hpp"
#include "http/upstream_pool.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::state {
namespace {

using namespace std::chrono_literals;
using proxy::KeyRing;
using proxy::ProviderHealth;
using proxy::Snapshot;

struct Counter {
  int value = 0;
};

TEST(RuntimeRegistry, SameIdentitySameState) {
  RuntimeRegistry registry;
  StateClaims claims;
  const StateKey a{"backend", "a"};
  auto first = registry.state_for<Counter>(a, claims);
  first->value = 42;
  EXPECT_EQ(registry.state_for<Counter>(a, claims), first);
  EXPECT_NE(registry.state_for<Counter>(StateKey{"backend", "b"}, claims), first) << "another provider";
  EXPECT_NE(registry.state_for<Counter>(StateKey{"other", "a"}, claims), first) << "same provider name, other Backend";
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(claims.size(), 3u);
  EXPECT_TRUE(registry.holds<Counter>(a));
  EXPECT_FALSE(registry.holds<ProviderHealth>(a)) << "each kind of state is its own entry";
}

TEST(RuntimeRegistry, RetainDropsWhatTheLatestBuildDidNotClaim) {
  RuntimeRegistry registry;
  StateClaims first_build;
  const StateKey kept{"b", "kept"};
  const StateKey removed{"b", "removed"};
  auto kept_state = registry.state_for<Counter>(kept, first_build);
  auto removed_state = registry.state_for<Counter>(removed, first_build);
  registry.state_for<ProviderHealth>(kept, first_build);
  StateClaims second_build;
  EXPECT_EQ(registry.state_for<Counter>(kept, second_build), kept_state);
  registry.retain(second_build);
  EXPECT_TRUE(registry.holds<Counter>(kept));
  EXPECT_FALSE(registry.holds<Counter>(removed));
  EXPECT_FALSE(registry.holds<ProviderHealth>(kept)) << "a kind the provider no longer has is dropped too";
  EXPECT_EQ(registry.size(), 1u);
  removed_state->value = 7;  // a snapshot still holding it keeps it alive
  StateClaims third_build;
  EXPECT_NE(registry.state_for<Counter>(removed, third_build), removed_state) << "re-added: fresh state";
}

TEST(RuntimeRegistry, ReplacedWhenNoLongerReusable) {
  RuntimeRegistry registry;
  StateClaims claims;
  const StateKey key{"b", "p"};
  auto make = [](std::size_t n) { return [n] { return std::make_shared<KeyRing>(n); }; };
  auto fits = [](std::size_t n) { return [n](const KeyRing& r) { return r.size() == n; }; };
  auto two = registry.state_for<KeyRing>(key, claims, make(2), fits(2));
  EXPECT_EQ(registry.state_for<KeyRing>(key, claims, make(2), fits(2)), two);
  auto three = registry.state_for<KeyRing>(key, claims, make(3), fits(3));
  EXPECT_NE(three, two);
  EXPECT_EQ(three->size(), 3u);
  EXPECT_EQ(two->size(), 2u) << "the old ring lives on for whoever still holds it";
  EXPECT_EQ(registry.state_for<KeyRing>(key, claims, make(3), fits(3)), three);
}

// ------------------------------------------------------------------ through Snapshot::build

std::string secret(const std::string& keys) {
  return "apiVersion: v1\nkind: Secret\nmetadata: {name: keys}\nstringData: {" + keys + "}\n";
}

// Backend "ai" with priority groups: one group per provider name, each on its own port.
std::string ai_backend(const std::vector<std::string>& providers, const std::string& outlier = "") {
  std::string yaml =
      "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: ai}\nspec:\n  type: "
      "AI\n  ai:\n";
  yaml += outlier;
  yaml += "    priorityGroups:\n";
  int port = 9000;
  for (const auto& name : providers) {
    yaml += "    - providers:\n      - name: " + name +
            "\n        openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}\n        "
            "host: 127.0.0.1\n        port: " +
            std::to_string(port++) + "\n";
  }
  return yaml;
}

class ReloadTest : public ::testing::Test {
 protected:
  // A "reload": builds `yaml` against the same registry and installs it (retain).
  std::shared_ptr<const Snapshot> reload(const std::string& yaml) {
    auto loaded = config::load_sources({{"test.yaml", yaml}}, config::LoadOptions{.strictSecrets = true});
    EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    auto snap = Snapshot::build(std::move(loaded.config), loaded.diagnostics, ++generation_, registry_);
    EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    registry_.retain(snap->state_claims);
    return snap;
  }

  static const proxy::BackendRuntime* provider(const Snapshot& snap, const std::string& name) {
    for (const auto& group : snap.backends.at("ai").groups)
      for (const auto& p : group)
        if (p.name == name) return &p;
    return nullptr;
  }

  RuntimeRegistry registry_;
  std::uint64_t generation_ = 0;
};

TEST_F(ReloadTest, HealthKeptWhenTheProviderIsKept) {
  const auto outlier = "    outlierDetection: {consecutiveFailures: 1, baseEjectionTime: 30s}\n";
  auto first = reload(secret("apiKey: k") + ai_backend({"flaky", "backup"}, outlier));
  auto* flaky = provider(*first, "flaky");
  ASSERT_NE(flaky, nullptr);
  const auto now = ProviderHealth::Clock::now();
  ASSERT_TRUE(flaky->health->record_failure(flaky->spec->outlierDetection, now, 0, 2));
  flaky->health->hold(now + 20s);
  flaky->health->in_flight().fetch_add(3);

  // Another provider added, the Backend's policy changed: "flaky" is still (ai, flaky).
  auto second = reload(secret("apiKey: k") +
                       ai_backend({"flaky", "backup", "extra"}, "    outlierDetection: {consecutiveFailures: 2}\n"));
  auto* again = provider(*second, "flaky");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->health, flaky->health);
  EXPECT_TRUE(again->health->ejected(now + 1s));
  EXPECT_TRUE(again->health->held(now + 1s));
  EXPECT_EQ(again->health->ejections(), 1u);
  EXPECT_EQ(again->health->in_flight().load(), 3u) << "requests started on the old snapshot are still counted";
  EXPECT_FALSE(provider(*second, "backup")->health->resting(now)) << "the healthy one stays healthy";
  EXPECT_NE(provider(*second, "backup")->health, again->health);
}

TEST_F(ReloadTest, HealthDroppedWhenTheProviderIsRemoved) {
  auto first = reload(secret("apiKey: k") + ai_backend({"flaky", "backup"}));
  auto old_health = provider(*first, "flaky")->health;
  old_health->hold(ProviderHealth::Clock::now() + 30s);
  EXPECT_TRUE(registry_.holds<ProviderHealth>({"ai", "flaky"}));

  auto without = reload(secret("apiKey: k") + ai_backend({"backup"}));
  EXPECT_FALSE(registry_.holds<ProviderHealth>({"ai", "flaky"}));
  EXPECT_TRUE(registry_.holds<ProviderHealth>({"ai", "backup"}));
  EXPECT_TRUE(old_health->held(ProviderHealth::Clock::now())) << "the old snapshot still owns its state";

  auto back = reload(secret("apiKey: k") + ai_backend({"flaky", "backup"}));
  EXPECT_NE(provider(*back, "flaky")->health, old_health);
  EXPECT_FALSE(provider(*back, "flaky")->health->resting(ProviderHealth::Clock::now())) << "re-added: healthy";
}

TEST_F(ReloadTest, SingleProviderBackendIsKeyedByItsName) {
  const auto yaml = secret("apiKey: k") +
                    "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: solo}\nspec:\n  type: "
                    "AI\n"
                    "  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n";
  auto first = reload(yaml);
  auto second = reload(yaml);
  const auto& a = first->backends.at("solo").groups.at(0).at(0);
  const auto& b = second->backends.at("solo").groups.at(0).at(0);
  EXPECT_EQ(a.health, b.health);
  EXPECT_TRUE(registry_.holds<ProviderHealth>({"solo", "solo"}));
}

TEST_F(ReloadTest, BenchedKeysKeptWhileTheKeysAreTheSame) {
  const auto now = KeyRing::Clock::now();
  auto first = reload(secret("apiKey: k1, apiKey2: k2") + ai_backend({"p"}));
  auto ring = provider(*first, "p")->keys;
  ASSERT_NE(ring, nullptr);
  ring->bench(0, now + 30s);

  auto same_keys =
      reload(secret("apiKey: k1, apiKey2: k2") + ai_backend({"p"}, "    circuitBreaker: {maxRequests: 5}\n"));
  EXPECT_EQ(provider(*same_keys, "p")->keys, ring);
  EXPECT_TRUE(provider(*same_keys, "p")->keys->benched(0, now)) << "same keys: still benched";

  auto rotated = reload(secret("apiKey: k1-replaced, apiKey2: k2") + ai_backend({"p"}));
  const auto& replaced = provider(*rotated, "p")->keys;
  ASSERT_NE(replaced, nullptr);
  EXPECT_NE(replaced, ring) << "a replaced key value: a new ring";
  EXPECT_FALSE(replaced->benched(0, now)) << "the replacement key is not benched for the old one's 401";
  replaced->bench(1, now + 30s);

  auto three = reload(secret("apiKey: k1, apiKey2: k2, apiKey3: k3") + ai_backend({"p"}));
  const auto& recreated = provider(*three, "p")->keys;
  ASSERT_NE(recreated, nullptr);
  EXPECT_NE(recreated, replaced);
  EXPECT_EQ(recreated->size(), 3u);
  EXPECT_FALSE(recreated->benched(1, now)) << "another key count: a new ring, no key benched";

  auto single = reload(secret("apiKey: k1") + ai_backend({"p"}));
  EXPECT_EQ(provider(*single, "p")->keys, nullptr);
  EXPECT_FALSE(registry_.holds<KeyRing>({"ai", "p"})) << "one key: no ring kept";
  EXPECT_TRUE(registry_.holds<ProviderHealth>({"ai", "p"}));
}

// ------------------------------------------------------------------ the pool-keeping rule

constexpr const char* kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBiDCCAS+gAwIBAgIUUO2aZIbBbVmi5FjlpPqYnEppcSkwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOc2x1aWNlLXRlc3QtY2EwIBcNMjYxMTIxMjEyNzU5WhgPMjEy
NjEwMjgyMTI3NTlaMBkxFzAVBgNVBAMMDnNsdWljZS10ZXN0LWNhMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEasueF7eTiOXHwhfMJXULfO4swnxwxxvDLgme/jJx
6phjwrLbjM5+UsqJXkwGp3WUzDcNJ/2BPapcOLhAFrquTaNTMFEwHQYDVR0OBBYE
FPzsuLpmTjcKxD0BYp1XPq5VKb1TMB8GA1UdIwQYMBaAFPzsuLpmTjcKxD0BYp1X
Pq5VKb1TMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgLZU1rBQ3
PU7FXtKH2YIow9+9CMvl81kACZ/lUBg+rOICIHYNaE29SGX33+sMCmcM1GxpkuR9
aPCiuLr1VH7tBT/e
-----END CERTIFICATE-----
)";

// Backend "tls" on internal.example.com:8443 with `tls` settings; a Secret "ca" holding `pem`.
std::string tls_backend(const std::string& tls, const std::string& pem = kCaPem) {
  std::string lines;
  for (std::string_view rest = pem; !rest.empty();) {
    const auto nl = rest.find('\n');
    lines += "    " + std::string(rest.substr(0, nl)) + "\n";
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return "apiVersion: v1\nkind: Secret\nmetadata: {name: ca}\nstringData:\n  ca.crt: |\n" + lines +
         "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: tls}\nspec:\n  "
         "type: AI\n  ai:\n    llm:\n"
         "      openai: {authToken: {kind: Passthrough}}\n      host: internal.example.com\n      "
         "port: 8443\n      tls: " +
         tls + "\n";
}

const http::UpstreamEndpoint& only_endpoint(const Snapshot& snap) {
  return snap.backends.at("tls").groups.at(0).at(0).endpoints.at(0);
}

TEST_F(ReloadTest, UnchangedTlsEndpointKeepsItsPoolKeyAcrossBuilds) {
  const auto config = tls_backend("{mode: Enabled, caCertificateRef: {name: ca}}");
  auto first = reload(config);
  auto second = reload(config);
  const auto& a = only_endpoint(*first);
  const auto& b = only_endpoint(*second);
  EXPECT_NE(a.tls_context, b.tls_context) << "each build makes its own context";
  EXPECT_EQ(a.pool_key, b.pool_key) << "same settings, same pool";
  EXPECT_TRUE(second->pool_keys.contains(a.pool_key));
}

TEST_F(ReloadTest, AnyConnectionSettingChangesThePoolKey) {
  const auto base = only_endpoint(*reload(tls_backend("{mode: Enabled, caCertificateRef: {name: ca}}"))).pool_key;
  std::string other_ca = kCaPem;
  other_ca.replace(other_ca.find("aPCiuLr1VH7tBT/e"), 16,
                   "aPCiuLr1VH7tBT/f");  // another CA's bytes
  for (const auto& [what, config] : std::vector<std::pair<std::string, std::string>>{
           {"SNI", tls_backend("{mode: Enabled, caCertificateRef: {name: ca}, sni: api.example.com}")},
           {"system CA bundle", tls_backend("{mode: Enabled}")},
           {"verification off", tls_backend("{mode: Enabled, insecureSkipVerify: true}")},
           {"plain TCP", tls_backend("{mode: Disabled}")},
           {"CA contents", tls_backend("{mode: Enabled, caCertificateRef: {name: ca}}", other_ca)},
       }) {
    auto loaded = config::load_sources({{"test.yaml", config}}, config::LoadOptions{});
    auto snap = Snapshot::build(std::move(loaded.config), loaded.diagnostics, 1, registry_);
    const auto& key = only_endpoint(*snap).pool_key;
    EXPECT_NE(key, base) << what;
    EXPECT_FALSE(snap->pool_keys.contains(base)) << what;
  }
}

TEST(UpstreamPoolRetain, KeepsOnlyKeysTheNewSnapshotHas) {
  boost::asio::io_context io;
  http::DeadlineList deadlines;
  http::UpstreamPool pool(io.get_executor(), deadlines);
  http::UpstreamEndpoint kept;
  kept.pool_key = "http://kept:80||";
  http::UpstreamEndpoint gone;
  gone.pool_key = "http://gone:80||";
  for (auto* e : {&kept, &kept, &gone}) {
    auto c = std::make_unique<http::UpstreamConnection>(deadlines);
    c->plain.emplace(io);
    pool.give_back(*e, std::move(c), 60s);
  }
  ASSERT_EQ(pool.idle_count(kept.pool_key), 2u);
  ASSERT_EQ(pool.idle_count(gone.pool_key), 1u);
  pool.retain({kept.pool_key, "http://new:80||"});
  EXPECT_EQ(pool.idle_count(kept.pool_key), 2u) << "still warm";
  EXPECT_EQ(pool.idle_count(gone.pool_key), 0u) << "its endpoint is gone: dropped at once";
}

}  // namespace
}  // namespace sluice::state
