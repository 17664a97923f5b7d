#include "proxy/snapshot.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/loader.hpp"

namespace sluice::proxy {
namespace {

using ::testing::StartsWith;

// A self-signed CA certificate (CN=sluice-test-ca), only used to check that a valid PEM loads.
constexpr const char* kValidCaPem = R"(-----BEGIN CERTIFICATE-----
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

std::string backend(const std::string& name, const std::string& spec) {
  return "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: " + name + "}\nspec:\n" + spec;
}

// An OpenAI backend with a Passthrough key and the given extra `llm` lines (indented six spaces).
std::string ai_backend(const std::string& name, const std::string& llm_extra) {
  return backend(name, "  type: AI\n  ai:\n    llm:\n      openai: {authToken: {kind: Passthrough}}\n" + llm_extra);
}

std::string secret(const std::string& name, const std::string& body) {
  return "---\napiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\n" + body;
}

class SnapshotTest : public ::testing::Test {
 protected:
  // Loads and compiles `yaml`; loader errors fail the test unless `lenient` (serve mode).
  void build(const std::string& yaml, bool lenient = false) {
    auto loaded = config::load_sources({{"test.yaml", yaml}}, config::LoadOptions{.strictSecrets = !lenient});
    if (!lenient) {
      ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    }
    snap_ = Snapshot::build(std::move(loaded.config), diags_, 7);
    ASSERT_NE(snap_, nullptr);
  }

  // A Static Backend's entry, or an AI Backend's (first) provider: where endpoints and
  // credentials live.
  const BackendRuntime& get(const std::string& name) const {
    const auto& b = entry(name);
    if (b.ai && !b.groups.empty() && !b.groups.front().empty()) return b.groups.front().front();
    return b;
  }

  const BackendRuntime& entry(const std::string& name) const {
    static const BackendRuntime kNone;
    if (snap_ == nullptr) {
      ADD_FAILURE() << "no snapshot";
      return kNone;
    }
    const auto it = snap_->backends.find(name);
    if (it == snap_->backends.end()) {
      ADD_FAILURE() << "no backend " << name;
      return kNone;
    }
    return it->second;
  }

  const UpstreamEndpoint& endpoint(const std::string& name, std::size_t i = 0) const {
    const auto& b = get(name);
    if (i >= b.endpoints.size()) {
      ADD_FAILURE() << name << " has " << b.endpoints.size() << " endpoints";
      static const UpstreamEndpoint kEmpty;
      return kEmpty;
    }
    return b.endpoints[i];
  }

  config::Diagnostics diags_;
  std::shared_ptr<const Snapshot> snap_;
};

// ------------------------------------------------------------------ provider defaults

TEST_F(SnapshotTest, OpenAiDefaults) {
  build(ai_backend("b", ""));
  EXPECT_TRUE(diags_.items().empty()) << diags_.format_all();
  const auto& b = get("b");
  EXPECT_EQ(b.name, "b");
  EXPECT_TRUE(b.ai);
  ASSERT_NE(b.provider, nullptr);
  EXPECT_EQ(b.provider->name, "openai");
  EXPECT_EQ(b.format, provider::WireFormat::OpenAI);
  EXPECT_EQ(b.spec, &snap_->config->backends.at("b"));
  ASSERT_EQ(b.endpoints.size(), 1u);
  const auto& e = b.endpoints[0];
  EXPECT_EQ(e.host, "api.openai.com");
  EXPECT_EQ(e.port, 443);
  EXPECT_TRUE(e.tls) << "Auto on 443";
  EXPECT_EQ(e.sni, "api.openai.com");
  EXPECT_EQ(e.verify_name, "api.openai.com");
  EXPECT_EQ(e.host_header, "api.openai.com");
  EXPECT_EQ(e.display, "api.openai.com:443");
  EXPECT_NE(e.tls_context, nullptr);
}

TEST_F(SnapshotTest, OllamaDefaults) {
  build(backend("local", "  type: AI\n  ai: {llm: {ollama: {model: llama3}}}\n"));
  EXPECT_TRUE(diags_.items().empty()) << diags_.format_all();
  const auto& b = get("local");
  ASSERT_NE(b.provider, nullptr);
  EXPECT_EQ(b.provider->name, "ollama");
  EXPECT_EQ(b.model, "llama3");
  EXPECT_EQ(b.auth_kind, config::AuthKind::None);
  EXPECT_EQ(b.auth_value, "");
  EXPECT_EQ(b.unavailable_reason, "");
  const auto& e = endpoint("local");
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, 11434);
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.sni, "");
  EXPECT_EQ(e.verify_name, "");
  EXPECT_EQ(e.host_header, "localhost:11434");
  EXPECT_EQ(e.display, "localhost:11434");
  EXPECT_EQ(e.tls_context, nullptr);
}

TEST_F(SnapshotTest, CopiesModelPathAndTimeouts) {
  build(backend("b", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Passthrough}, model: gpt-4o}
      path: {prefix: /api/v1}
  timeouts: {connect: 1s, firstByte: 2s}
)"));
  const auto& b = get("b");
  EXPECT_EQ(b.model, "gpt-4o");
  EXPECT_EQ(b.path.prefix, "/api/v1");
  EXPECT_EQ(b.path.full, std::nullopt);
  EXPECT_EQ(b.timeouts.connect, std::chrono::seconds(1));
  EXPECT_EQ(b.timeouts.firstByte, std::chrono::seconds(2));
  EXPECT_EQ(b.timeouts.streamIdle, std::chrono::seconds(300));
}

TEST_F(SnapshotTest, KeepsGenerationConfigAndRoutes) {
  build(ai_backend("b", "") + R"(
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules: [{name: all, backendRefs: [{name: b}]}]
---
apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec: {workers: 3}
)");
  EXPECT_EQ(snap_->generation, 7u);
  EXPECT_EQ(snap_->gateway().workers, 3u);
  route::RequestView view{"POST", "h", "/v1/chat/completions", "", nullptr, nullptr};
  const auto m = snap_->routes.match(view);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rule->id, "r/all");
  EXPECT_EQ(m->rule->route, &snap_->config->routes[0]) << "the table points into the snapshot's own config";
}

// ------------------------------------------------------------------ TLS mode resolution

TEST_F(SnapshotTest, TlsModeResolution) {
  build(ai_backend("auto443", "      host: a.example.com\n      port: 443\n") +
        ai_backend("auto8443", "      host: a.example.com\n      port: 8443\n") +
        ai_backend("auto80", "      host: a.example.com\n      port: 80\n") +
        ai_backend("enabled8443", "      host: a.example.com\n      port: 8443\n      tls: {mode: Enabled}\n") +
        ai_backend("disabled443", "      host: a.example.com\n      port: 443\n      tls: {mode: Disabled}\n"));
  EXPECT_TRUE(endpoint("auto443").tls);
  EXPECT_FALSE(endpoint("auto8443").tls);
  EXPECT_FALSE(endpoint("auto80").tls);
  EXPECT_TRUE(endpoint("enabled8443").tls);
  EXPECT_FALSE(endpoint("disabled443").tls);

  EXPECT_NE(endpoint("enabled8443").tls_context, nullptr);
  EXPECT_EQ(endpoint("disabled443").tls_context, nullptr);
  EXPECT_EQ(endpoint("disabled443").sni, "");
  EXPECT_EQ(endpoint("disabled443").verify_name, "");
}

TEST_F(SnapshotTest, HostHeaderOmitsOnlyTheSchemeDefaultPort) {
  build(ai_backend("auto443", "      host: a.example.com\n      port: 443\n") +
        ai_backend("auto80", "      host: a.example.com\n      port: 80\n") +
        ai_backend("auto8080", "      host: a.example.com\n      port: 8080\n") +
        ai_backend("enabled8443", "      host: a.example.com\n      port: 8443\n      tls: {mode: Enabled}\n") +
        ai_backend("enabled80", "      host: a.example.com\n      port: 80\n      tls: {mode: Enabled}\n") +
        ai_backend("disabled443", "      host: a.example.com\n      port: 443\n      tls: {mode: Disabled}\n"));
  EXPECT_EQ(endpoint("auto443").host_header, "a.example.com");
  EXPECT_EQ(endpoint("auto80").host_header, "a.example.com");
  EXPECT_EQ(endpoint("auto8080").host_header, "a.example.com:8080");
  EXPECT_EQ(endpoint("enabled8443").host_header, "a.example.com:8443");
  EXPECT_EQ(endpoint("enabled80").host_header, "a.example.com:80");
  EXPECT_EQ(endpoint("disabled443").host_header, "a.example.com:443");
}

TEST_F(SnapshotTest, SniDefaultsToTheHost) {
  build(ai_backend("b", "      host: openrouter.ai\n"));
  EXPECT_EQ(endpoint("b").port, 443);
  EXPECT_EQ(endpoint("b").sni, "openrouter.ai");
  EXPECT_EQ(endpoint("b").verify_name, "openrouter.ai");
}

TEST_F(SnapshotTest, NoSniForIpLiterals) {
  build(ai_backend("v4", "      host: 10.0.0.1\n      port: 443\n") +
        ai_backend("v6", "      host: \"::1\"\n      port: 8443\n      tls: {mode: Enabled}\n"));
  EXPECT_TRUE(endpoint("v4").tls);
  EXPECT_EQ(endpoint("v4").sni, "");
  EXPECT_EQ(endpoint("v4").verify_name, "10.0.0.1");
  EXPECT_EQ(endpoint("v4").host_header, "10.0.0.1");
  EXPECT_TRUE(endpoint("v6").tls);
  EXPECT_EQ(endpoint("v6").sni, "");
  EXPECT_EQ(endpoint("v6").host_header, "[::1]:8443");
  EXPECT_EQ(endpoint("v6").display, "[::1]:8443");
}

TEST_F(SnapshotTest, SniOverride) {
  build(ai_backend("b", "      host: 10.0.0.1\n      tls: {mode: Enabled, sni: api.example.com}\n"));
  const auto& e = endpoint("b");
  EXPECT_EQ(e.sni, "api.example.com");
  EXPECT_EQ(e.verify_name, "api.example.com");
  EXPECT_EQ(e.host_header, "10.0.0.1") << "the Host header still names the configured host";
}

TEST_F(SnapshotTest, PoolKeysShareOnlyIdenticalConnections) {
  build(ai_backend("a", "      host: h.example.com\n") + ai_backend("same", "      host: h.example.com\n") +
        ai_backend("plain", "      host: h.example.com\n      port: 443\n      tls: {mode: Disabled}\n") +
        ai_backend("other-port", "      host: h.example.com\n      port: 8443\n      tls: {mode: Enabled}\n") +
        ai_backend("other-sni", "      host: h.example.com\n      tls: {sni: x.example.com}\n"));
  const auto& a = endpoint("a").pool_key;
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(endpoint("same").pool_key, a) << "identical endpoints share a pool";
  EXPECT_NE(endpoint("plain").pool_key, a);
  EXPECT_NE(endpoint("other-port").pool_key, a);
  EXPECT_NE(endpoint("other-sni").pool_key, a);
}

TEST_F(SnapshotTest, InsecureSkipVerifyClearsVerifyName) {
  build(ai_backend("b", "      host: self-signed.local\n      port: 443\n      tls: {insecureSkipVerify: true}\n") +
        ai_backend("c", "      host: self-signed.local\n      port: 443\n"));
  const auto& e = endpoint("b");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.sni, "self-signed.local") << "SNI is still sent";
  EXPECT_EQ(e.verify_name, "");
  EXPECT_NE(e.tls_context, nullptr);
  EXPECT_NE(e.pool_key, endpoint("c").pool_key) << "verified and unverified connections are not shared";
}

// ------------------------------------------------------------------ CA certificates

TEST_F(SnapshotTest, ValidCaCertificateFromSecret) {
  std::string pem_lines;
  for (std::string_view rest = kValidCaPem; !rest.empty();) {
    const auto nl = rest.find('\n');
    pem_lines += "    " + std::string(rest.substr(0, nl)) + "\n";
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  build(
      secret("ca", "stringData:\n  ca.crt: |\n" + pem_lines) +
      ai_backend("b", "      host: internal.example.com\n      tls: {mode: Enabled, caCertificateRef: {name: ca}}\n"));
  EXPECT_TRUE(diags_.items().empty()) << diags_.format_all();
  EXPECT_NE(endpoint("b").tls_context, nullptr);
  EXPECT_EQ(get("b").unavailable_reason, "");
}

TEST_F(SnapshotTest, InvalidCaPemIsAnErrorNamingBackendAndField) {
  build(
      secret("ca", "stringData: {ca.crt: not a certificate}\n") +
      ai_backend("b", "      host: internal.example.com\n      tls: {mode: Enabled, caCertificateRef: {name: ca}}\n"));
  ASSERT_EQ(diags_.items().size(), 1u) << diags_.format_all();
  const auto& d = diags_.items()[0];
  EXPECT_EQ(d.severity, config::Severity::Error);
  EXPECT_EQ(d.file, "test.yaml");
  EXPECT_EQ(d.resource, "Backend/b");
  EXPECT_EQ(d.field, "spec.ai.llm.tls.caCertificateRef");
  EXPECT_THAT(d.message, StartsWith("cannot load CA certificate"));
  EXPECT_EQ(endpoint("b").tls_context, nullptr);
}

TEST_F(SnapshotTest, InvalidCaPemOnAStaticBackend) {
  build(secret("ca", "stringData: {ca.crt: garbage}\n") +
        backend("svc",
                "  type: Static\n  static:\n    hosts: [{host: svc.local, port: 443}]\n    tls: "
                "{caCertificateRef: {name: ca}}\n"));
  ASSERT_EQ(diags_.items().size(), 1u) << diags_.format_all();
  EXPECT_EQ(diags_.items()[0].resource, "Backend/svc");
  EXPECT_EQ(diags_.items()[0].field, "spec.static.tls.caCertificateRef");
}

TEST_F(SnapshotTest, CaIsIgnoredWithInsecureSkipVerify) {
  build(secret("ca", "stringData: {ca.crt: garbage}\n") +
        ai_backend("b",
                   "      host: h.example.com\n      tls: {caCertificateRef: {name: ca}, insecureSkipVerify: true}\n"));
  EXPECT_TRUE(diags_.items().empty()) << diags_.format_all();
  EXPECT_NE(endpoint("b").tls_context, nullptr);
}

TEST_F(SnapshotTest, MissingCaSecretMakesTheBackendUnavailable) {
  build(ai_backend("b", "      host: h.example.com\n      tls: {caCertificateRef: {name: ca}}\n"), /*lenient=*/true);
  EXPECT_EQ(get("b").unavailable_reason, "Backend \"b\" has no CA certificate: Secret \"ca\" not found");
  EXPECT_EQ(endpoint("b").tls_context, nullptr);
}

// ------------------------------------------------------------------ credentials

TEST_F(SnapshotTest, InlineKeyWithDefaultHeader) {
  build(backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: Inline, inline: sk-inline}}}}\n"));
  const auto& b = get("b");
  EXPECT_EQ(b.auth_kind, config::AuthKind::Inline);
  EXPECT_EQ(b.auth_header, "Authorization");
  EXPECT_EQ(b.auth_value, "Bearer sk-inline");
  EXPECT_EQ(b.unavailable_reason, "");
}

TEST_F(SnapshotTest, SecretRefKey) {
  build(secret("keys", "stringData: {apiKey: sk-secret, other: sk-other}\n") +
        backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n") +
        backend("c",
                "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys, key: "
                "other}}}}}\n"));
  EXPECT_EQ(get("b").auth_kind, config::AuthKind::SecretRef);
  EXPECT_EQ(get("b").auth_header, "Authorization");
  EXPECT_EQ(get("b").auth_value, "Bearer sk-secret");
  EXPECT_EQ(get("c").auth_value, "Bearer sk-other");
  EXPECT_EQ(get("b").unavailable_reason, "");
}

TEST_F(SnapshotTest, SecretRefFromEnvironment) {
  ::setenv("SLUICE_SNAPSHOT_TEST_KEY", "sk-env", 1);
  build(secret("keys", "stringData: {apiKey: \"${SLUICE_SNAPSHOT_TEST_KEY}\"}\n") +
        backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n"));
  ::unsetenv("SLUICE_SNAPSHOT_TEST_KEY");
  EXPECT_EQ(get("b").auth_value, "Bearer sk-env");
}

TEST_F(SnapshotTest, CustomHeaderCarriesTheBareKey) {
  build(backend("b", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-1}}
      authHeader: {headerName: x-api-key}
)"));
  EXPECT_EQ(get("b").auth_header, "x-api-key");
  EXPECT_EQ(get("b").auth_value, "sk-1");
}

TEST_F(SnapshotTest, CustomHeaderWithPrefix) {
  build(secret("keys", "stringData: {apiKey: sk-2}\n") + backend("b", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}
      authHeader: {headerName: api-key, prefix: "Key "}
)"));
  EXPECT_EQ(get("b").auth_header, "api-key");
  EXPECT_EQ(get("b").auth_value, "Key sk-2");
}

TEST_F(SnapshotTest, PrefixOnlyKeepsAuthorization) {
  build(backend("b", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-3}}
      authHeader: {prefix: "Token "}
)"));
  EXPECT_EQ(get("b").auth_header, "Authorization");
  EXPECT_EQ(get("b").auth_value, "Token sk-3");
}

TEST_F(SnapshotTest, PassthroughHasNoValue) {
  build(ai_backend("b", ""));
  EXPECT_EQ(get("b").auth_kind, config::AuthKind::Passthrough);
  EXPECT_EQ(get("b").auth_header, "Authorization");
  EXPECT_EQ(get("b").auth_value, "");
}

TEST_F(SnapshotTest, MissingSecretMakesTheBackendUnavailable) {
  build(backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n"),
        /*lenient=*/true);
  EXPECT_TRUE(diags_.items().empty()) << "secret problems are not snapshot errors: " << diags_.format_all();
  const auto& b = get("b");
  EXPECT_EQ(b.unavailable_reason, "Backend \"b\" cannot authenticate: Secret \"keys\" not found");
  EXPECT_EQ(b.auth_value, "");
  EXPECT_EQ(b.endpoints.size(), 1u) << "the backend still exists";
}

TEST_F(SnapshotTest, MissingSecretKeyMakesTheBackendUnavailable) {
  build(
      secret("keys", "stringData: {token: t}\n") +
          backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n"),
      /*lenient=*/true);
  EXPECT_EQ(get("b").unavailable_reason, "Backend \"b\" cannot authenticate: Secret \"keys\" has no key \"apiKey\"");
}

TEST_F(SnapshotTest, UnsetEnvInSecretMakesTheBackendUnavailable) {
  ::unsetenv("SLUICE_SNAPSHOT_UNSET");
  build(
      secret("keys", "stringData: {apiKey: \"${SLUICE_SNAPSHOT_UNSET}\"}\n") +
          backend("b", "  type: AI\n  ai: {llm: {openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}}}\n"),
      /*lenient=*/true);
  EXPECT_EQ(get("b").unavailable_reason,
            "Backend \"b\" cannot authenticate: environment variable SLUICE_SNAPSHOT_UNSET is not set "
            "(Secret/keys stringData.apiKey)");
}

// ------------------------------------------------------------------ Static backends

TEST_F(SnapshotTest, StaticBackendEndpoints) {
  build(backend("svc", R"(  type: Static
  static:
    hosts:
    - {host: svc.local, port: 80}
    - {host: svc2.local, port: 8080}
    - {host: secure.local, port: 443}
)"));
  const auto& b = get("svc");
  EXPECT_FALSE(b.ai);
  EXPECT_EQ(b.provider, nullptr);
  EXPECT_EQ(b.auth_kind, config::AuthKind::None);
  ASSERT_EQ(b.endpoints.size(), 3u);
  EXPECT_FALSE(b.endpoints[0].tls);
  EXPECT_EQ(b.endpoints[0].host_header, "svc.local");
  EXPECT_EQ(b.endpoints[0].display, "svc.local:80");
  EXPECT_FALSE(b.endpoints[1].tls);
  EXPECT_EQ(b.endpoints[1].host_header, "svc2.local:8080");
  EXPECT_TRUE(b.endpoints[2].tls) << "Auto on 443";
  EXPECT_EQ(b.endpoints[2].sni, "secure.local");
  EXPECT_EQ(b.endpoints[2].host_header, "secure.local");
  EXPECT_NE(b.endpoints[2].tls_context, nullptr);
}

TEST_F(SnapshotTest, StaticTlsSettingsApplyToEveryHost) {
  build(backend("svc", R"(  type: Static
  static:
    hosts: [{host: a.local, port: 8443}, {host: b.local, port: 9443}]
    tls: {mode: Enabled, sni: svc.example.com}
)"));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(endpoint("svc", i).tls);
    EXPECT_EQ(endpoint("svc", i).sni, "svc.example.com");
    EXPECT_EQ(endpoint("svc", i).verify_name, "svc.example.com");
  }
  EXPECT_EQ(endpoint("svc", 0).host_header, "a.local:8443");
  EXPECT_EQ(endpoint("svc", 1).host_header, "b.local:9443");
}

}  // namespace
}  // namespace sluice::proxy

namespace sluice::proxy {
namespace {

// ------------------------------------------------------------------ translated providers

TEST_F(SnapshotTest, ProviderDefaultsForTranslatedProviders) {
  build(backend("claude", R"(  type: AI
  ai: {llm: {anthropic: {authToken: {kind: Inline, inline: k}, apiVersion: "2023-06-01", defaultMaxTokens: 2048}}}
)") + backend("gemini", R"(  type: AI
  ai: {llm: {gemini: {authToken: {kind: Inline, inline: k}}}}
)") + backend("vertex", R"(  type: AI
  ai: {llm: {vertexai: {authToken: {kind: Inline, inline: t}, projectId: p, location: europe-west4, publisher: ANTHROPIC}}}
)") + backend("vertex-global", R"(  type: AI
  ai: {llm: {vertexai: {authToken: {kind: Inline, inline: t}, projectId: p, location: global}}}
)") + backend("azure", R"(  type: AI
  ai: {llm: {azureopenai: {authToken: {kind: Inline, inline: k}, endpoint: res.openai.azure.com, deploymentName: d}}}
)") + backend("bedrock", R"(  type: AI
  ai: {llm: {bedrock: {credentials: {secretRef: {name: aws}}, region: eu-west-1}}}
)") + secret("aws", "stringData: {accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: TOKEN}\n"));
  EXPECT_TRUE(diags_.items().empty()) << diags_.format_all();

  const auto& claude = get("claude");
  EXPECT_EQ(claude.format, provider::WireFormat::Anthropic);
  EXPECT_EQ(endpoint("claude").host, "api.anthropic.com");
  EXPECT_EQ(claude.auth_header, "x-api-key");
  EXPECT_EQ(claude.auth_value, "k") << "no Bearer prefix for x-api-key";
  ASSERT_EQ(claude.static_headers.size(), 1u);
  EXPECT_EQ(claude.static_headers[0].first, "anthropic-version");
  EXPECT_EQ(claude.static_headers[0].second, "2023-06-01");
  EXPECT_EQ(claude.default_max_tokens, 2048u);

  EXPECT_EQ(get("gemini").format, provider::WireFormat::Gemini);
  EXPECT_EQ(endpoint("gemini").host, "generativelanguage.googleapis.com");
  EXPECT_EQ(get("gemini").auth_header, "x-goog-api-key");

  EXPECT_EQ(get("vertex").format, provider::WireFormat::VertexAnthropic);
  EXPECT_EQ(endpoint("vertex").host, "europe-west4-aiplatform.googleapis.com");
  EXPECT_EQ(get("vertex").auth_value, "Bearer t");
  EXPECT_EQ(get("vertex").anthropic_body_version, "vertex-2023-10-16");
  EXPECT_EQ(get("vertex-global").format, provider::WireFormat::VertexGemini);
  EXPECT_EQ(endpoint("vertex-global").host, "aiplatform.googleapis.com");

  EXPECT_EQ(endpoint("azure").host, "res.openai.azure.com");
  EXPECT_EQ(get("azure").auth_header, "api-key");
  EXPECT_EQ(get("azure").auth_value, "k");

  const auto& bedrock = get("bedrock");
  EXPECT_EQ(bedrock.format, provider::WireFormat::Bedrock);
  EXPECT_EQ(endpoint("bedrock").host, "bedrock-runtime.eu-west-1.amazonaws.com");
  EXPECT_TRUE(bedrock.sigv4);
  EXPECT_EQ(bedrock.aws.access_key_id, "AKID");
  EXPECT_EQ(bedrock.aws.secret_access_key, "SECRET");
  EXPECT_EQ(bedrock.aws.session_token, "TOKEN");
  EXPECT_EQ(bedrock.aws_region, "eu-west-1");
  EXPECT_TRUE(bedrock.unavailable_reason.empty());
}

TEST_F(SnapshotTest, BedrockWithoutItsCredentialsSecretIsUnavailableNotUnsigned) {
  build(backend("bedrock", R"(  type: AI
  ai: {llm: {bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1}}}
)"),
        /*lenient=*/true);
  const auto& b = get("bedrock");
  EXPECT_TRUE(b.sigv4);
  EXPECT_THAT(b.unavailable_reason, StartsWith("Backend \"bedrock\" cannot sign requests: Secret \"aws\" not found"));
}

}  // namespace
}  // namespace sluice::proxy
