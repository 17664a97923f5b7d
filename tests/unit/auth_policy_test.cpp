// The auth section: model patterns, decoding (raw and hashed keys, JWT providers and their JWKS,
// their diagnostics), the merge per field, the stage's phases, the JWT authenticator and its
// cache of verified tokens. What requests see is tested through the real binaries in
// tests/integration/auth.test.mjs and auth_jwt.test.mjs.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "auth/jwks.hpp"
#include "config/diagnostics.hpp"
#include "config/yaml_reader.hpp"
#include "pipeline/principal.hpp"
#include "policy/auth.hpp"
#include "policy/jwt_authenticator.hpp"

namespace sluice::policy {
namespace {

TEST(ModelPattern, ExactPrefixSuffixAndAll) {
  using pipeline::model_pattern_matches;
  EXPECT_TRUE(model_pattern_matches("gpt-4o", "gpt-4o"));
  EXPECT_FALSE(model_pattern_matches("gpt-4o", "gpt-4o-mini"));
  EXPECT_TRUE(model_pattern_matches("gpt-4o*", "gpt-4o-mini"));
  EXPECT_TRUE(model_pattern_matches("gpt-4o*", "gpt-4o"));
  EXPECT_FALSE(model_pattern_matches("gpt-4o*", "gpt-4"));
  EXPECT_TRUE(model_pattern_matches("*-mini", "gpt-4o-mini"));
  EXPECT_FALSE(model_pattern_matches("*-mini", "gpt-4o"));
  EXPECT_TRUE(model_pattern_matches("*", "anything"));
  pipeline::Principal open{"p", {}, {}};
  EXPECT_TRUE(open.allows("whatever")) << "no allowedModels: every model";
  pipeline::Principal restricted{"p", {}, {"claude-*", "gpt-4o"}};
  EXPECT_TRUE(restricted.allows("claude-sonnet-4-5"));
  EXPECT_FALSE(restricted.allows("gpt-4o-mini"));
}

struct Decoded {
  config::AuthPolicy value;
  config::Diagnostics diagnostics;
};

Decoded decode(const std::string& yaml, const std::string& file = "p.yaml") {
  Decoded out;
  const config::DecodeContext ctx{out.diagnostics, file, "TrafficPolicy/p"};
  config::YamlMap section(YAML::Load(yaml), "spec.auth", ctx);
  out.value = AuthSection::decode(section);
  AuthSection::validate(out.value, section);
  return out;
}

TEST(AuthSection, DecodesRawAndHashedKeys) {
  const auto d = decode(
      "{apiKey: {mode: Optional, headers: [X-Sluice-Key], keys: ["
      "{name: a, secretRef: {name: s}, metadata: {team: a}, allowedModels: ['gpt-*']},"
      "{name: b, keyHash: 'SHA256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08'}]}}");
  EXPECT_FALSE(d.diagnostics.has_errors()) << d.diagnostics.format_all();
  ASSERT_TRUE(d.value.apiKey);
  EXPECT_EQ(d.value.apiKey->mode, config::AuthMode::Optional);
  ASSERT_TRUE(d.value.apiKey->headers);
  EXPECT_EQ(d.value.apiKey->headers->front(), "x-sluice-key") << "header names are compared lowercase";
  ASSERT_TRUE(d.value.apiKey->keys);
  const auto& keys = *d.value.apiKey->keys;
  ASSERT_EQ(keys.size(), 2u);
  ASSERT_TRUE(keys[0].secretRef);
  EXPECT_EQ(keys[0].secretRef->key, "apiKey") << "the default Secret key";
  EXPECT_EQ(keys[0].metadata.at("team"), "a");
  EXPECT_EQ(keys[1].keyHash, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(AuthSection, ReportsEachMistakeWithItsField) {
  const auto d = decode(
      "{apiKey: {keys: [{name: a}, {name: a, keyHash: 'sha256:12'}, "
      "{name: c, secretRef: {name: s}, keyHash: "
      "'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'},"
      "{name: d, keyHash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', allowedModels: "
      "['*a*']}]}}");
  const auto all = d.diagnostics.format_all();
  EXPECT_NE(all.find("spec.auth.apiKey.keys[0]: needs secretRef"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[1].keyHash: expected \"sha256:\""), std::string::npos) << all;
  EXPECT_EQ(all.find("keys[1]: needs secretRef"), std::string::npos) << "an invalid keyHash is reported once";
  EXPECT_NE(all.find("spec.auth.apiKey.keys[1].name: \"a\" is also the name of keys[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[2]: has both secretRef and keyHash"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[3].allowedModels[0]: \"*a*\" is not a model pattern"), std::string::npos)
      << all;
}

TEST(AuthSection, MergesModeHeadersAndKeysSeparately) {
  config::AuthPolicy general;
  general.apiKey = config::ApiKeyAuth{};
  general.apiKey->keys = std::vector<config::ApiKeyEntry>{{"a", std::nullopt, std::string(64, '0'), {}, {}}};
  general.apiKey->headers = std::vector<std::string>{"x-api-key"};
  config::AuthPolicy specific;
  specific.apiKey = config::ApiKeyAuth{};
  specific.apiKey->mode = config::AuthMode::Optional;
  const auto merged = AuthSection::merge(general, specific);
  ASSERT_TRUE(merged.apiKey);
  EXPECT_EQ(merged.apiKey->mode, config::AuthMode::Optional);
  ASSERT_TRUE(merged.apiKey->keys);
  EXPECT_EQ(merged.apiKey->keys->size(), 1u) << "the general policy's keys stay";
  EXPECT_EQ(merged.apiKey->headers->front(), "x-api-key");
}

TEST(AuthSection, TheStageChecksModelsOnlyWhenAKeyIsRestricted) {
  const config::Config config;
  config::AuthPolicy open;
  open.apiKey = config::ApiKeyAuth{};
  open.apiKey->keys = std::vector<config::ApiKeyEntry>{{"a", std::nullopt, std::string(64, '0'), {}, {}}};
  const auto plain = AuthSection::make_stage(open, SectionContext{config, AttachLevel::Rule});
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->phases(), pipeline::bit(pipeline::Phase::RequestHead)) << "no body phase: the relay stays as is";
  auto restricted = open;
  restricted.apiKey->keys->front().allowedModels = {"gpt-*"};
  const auto checking = AuthSection::make_stage(restricted, SectionContext{config, AttachLevel::Rule});
  EXPECT_NE(checking->phases() & pipeline::bit(pipeline::Phase::RequestBody), 0u);
  EXPECT_EQ(checking->phases() & pipeline::bit(pipeline::Phase::BodyDocument), 0u)
      << "the model check reads the scanned model, not a parsed document";
}

std::string b64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

// An Ed25519 key: its JWKS and tokens it signs.
struct Ed25519Key {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ~Ed25519Key() { EVP_PKEY_free(key); }

  std::string jwks() const {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    EVP_PKEY_get_raw_public_key(key, raw, &size);
    return R"({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": ")" +
           b64url(std::string_view(reinterpret_cast<const char*>(raw), size)) + "\"}]}";
  }

  std::string sign(const std::string& payload_json) const {
    const auto input = b64url(R"({"alg":"EdDSA","kid":"k1","typ":"JWT"})") + "." + b64url(payload_json);
    unsigned char signature[64];
    std::size_t size = sizeof signature;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
    EVP_DigestSign(ctx, signature, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(signature), size));
  }
};

constexpr long long kNow = 1'700'000'000;
const auto kNowTime = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));

// A YAML single-quoted scalar of `text`.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

TEST(AuthSection, DecodesJwtProvidersAndParsesTheirKeys) {
  const Ed25519Key key;
  const auto d = decode(
      "{jwt: {mode: Optional, providers: [{name: corp, issuer: 'https://idp', audiences: [sluice], "
      "jwks: {inline: " +
      quoted(key.jwks()) + "}, claimsToMetadata: {team: groups}}]}}");
  EXPECT_FALSE(d.diagnostics.has_errors()) << d.diagnostics.format_all();
  ASSERT_TRUE(d.value.jwt);
  EXPECT_FALSE(d.value.apiKey);
  EXPECT_EQ(d.value.jwt->mode, config::AuthMode::Optional);
  ASSERT_TRUE(d.value.jwt->providers);
  const auto& provider = d.value.jwt->providers->front();
  EXPECT_EQ(provider.issuer, "https://idp");
  EXPECT_EQ(provider.audiences, std::vector<std::string>{"sluice"});
  EXPECT_EQ(provider.principalClaim, "sub") << "the default";
  EXPECT_EQ(provider.claimsToMetadata.at("team"), "groups");
  ASSERT_NE(provider.jwks.keySet, nullptr) << "parsed when the configuration is loaded";
  EXPECT_EQ(provider.jwks.keySet->size(), 1u);
}

TEST(AuthSection, ReadsAJwksFileRelativeToTheConfigurationFile) {
  const Ed25519Key key;
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/jwks-unit.json") << key.jwks();
  const auto d = decode("{jwt: {providers: [{name: a, issuer: i, jwks: {file: jwks-unit.json}}]}}", dir + "/p.yaml");
  EXPECT_FALSE(d.diagnostics.has_errors()) << d.diagnostics.format_all();
  ASSERT_TRUE(d.value.jwt && d.value.jwt->providers);
  EXPECT_NE(d.value.jwt->providers->front().jwks.keySet, nullptr);
  std::remove((dir + "/jwks-unit.json").c_str());
}

TEST(AuthSection, ReportsJwtMistakesWithTheirFields) {
  const auto d = decode(
      "{jwt: {mode: Sometimes, providers: ["
      "{name: a, jwks: {inline: '{}'}},"
      "{name: a, issuer: '', jwks: {file: /nowhere/jwks.json}},"
      "{name: c, issuer: i, jwks: {file: x.json, inline: '{}'}},"
      "{name: d, issuer: i, jwks: {remote: {url: 'ftp://idp/jwks', cacheDuration: 5m}}},"
      "{name: e, issuer: i, jwks: {}},"
      "{name: f, issuer: i, jwks: {inline: '{\"keys\": [{\"kty\": \"oct\", \"k\": \"AAAA\"}]}'}}]}}");
  const auto all = d.diagnostics.format_all();
  const auto has = [&](const std::string& text) { return all.find(text) != std::string::npos; };
  EXPECT_TRUE(has("spec.auth.jwt.mode: unknown value \"Sometimes\"")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[0].issuer: is required")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[0].jwks.inline: not a usable JWKS")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[1].issuer: is empty")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[1].name: \"a\" is also the name of providers[0]")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[1].jwks.file: cannot read the JWKS file \"/nowhere/jwks.json\"")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[2].jwks: has more than one of file, inline and remote")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[3].jwks.remote.url: \"ftp://idp/jwks\" is not an http:// or https:// URL"))
      << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[4].jwks: needs one of file, inline and remote")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[5].jwks.inline: not a usable JWKS")) << all;
}

TEST(AuthSection, MergesJwtModeAndProvidersSeparately) {
  config::AuthPolicy general;
  general.jwt = config::JwtAuth{};
  general.jwt->providers = std::vector<config::JwtProvider>(1);
  general.jwt->providers->front().name = "corp";
  config::AuthPolicy specific;
  specific.jwt = config::JwtAuth{};
  specific.jwt->mode = config::AuthMode::Optional;
  const auto merged = AuthSection::merge(general, specific);
  ASSERT_TRUE(merged.jwt);
  EXPECT_EQ(merged.jwt->mode, config::AuthMode::Optional);
  ASSERT_TRUE(merged.jwt->providers);
  EXPECT_EQ(merged.jwt->providers->front().name, "corp") << "the general policy's providers stay";
  EXPECT_FALSE(merged.apiKey);
  const auto alone = AuthSection::merge(config::AuthPolicy{}, general);
  EXPECT_TRUE(alone.jwt) << "a jwt section over a policy without one";
}

TEST(JwtShape, ThreeNonEmptyBase64urlParts) {
  EXPECT_TRUE(looks_like_jwt("eyJh.eyJz.c2ln"));
  EXPECT_TRUE(looks_like_jwt("a-b_c.d.e"));
  EXPECT_FALSE(looks_like_jwt("sk-sluice-team-a"));
  EXPECT_FALSE(looks_like_jwt("a.b"));
  EXPECT_FALSE(looks_like_jwt("a.b.c.d"));
  EXPECT_FALSE(looks_like_jwt("a..c"));
  EXPECT_FALSE(looks_like_jwt("a.b."));
  EXPECT_FALSE(looks_like_jwt("a.b+/.c"));
}

TEST(VerifiedTokenCache, KeepsAnEntryUntilExpAndEvictsTheOldest) {
  VerifiedTokenCache cache(2);
  const auto a = sha256_digest("a");
  const auto b = sha256_digest("b");
  const auto c = sha256_digest("c");
  auto principal = std::make_shared<const pipeline::Principal>(pipeline::Principal{"p", {}, {}});
  cache.insert(a, principal, 100);
  EXPECT_EQ(cache.find(a, 99), principal);
  EXPECT_EQ(cache.find(a, 100), nullptr) << "not at or after exp";
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped";
  cache.insert(a, principal, 100);
  cache.insert(b, principal, 100);
  cache.insert(c, principal, 100);
  EXPECT_EQ(cache.size(), 2u) << "bounded";
  EXPECT_EQ(cache.find(a, 0), nullptr) << "the oldest went first";
  EXPECT_NE(cache.find(b, 0), nullptr);
  EXPECT_NE(cache.find(c, 0), nullptr);
}

class JwtAuthenticatorTest : public ::testing::Test {
 protected:
  JwtAuthenticatorTest() {
    config::JwtProvider provider;
    provider.name = "corp";
    provider.issuer = "https://idp";
    provider.audiences = {"sluice"};
    provider.jwks.keySet = auth::parse_jwks(key.jwks()).key_set;
    provider.claimsToMetadata = {{"team", "groups"}};
    spec.providers = std::vector<config::JwtProvider>{provider};
  }
  std::string token(const std::string& claims) const { return key.sign(claims); }

  Ed25519Key key;
  config::JwtAuth spec;
};

TEST_F(JwtAuthenticatorTest, TheSubjectAndMappedClaimsMakeThePrincipal) {
  const JwtAuthenticator authenticator(spec);
  const auto outcome = authenticator.authenticate(
      token(R"({"iss":"https://idp","aud":"sluice","sub":"alice","groups":["a","b"],"exp":)" +
            std::to_string(kNow + 300) + "}"),
      kNowTime, nullptr);
  ASSERT_NE(outcome.principal, nullptr) << outcome.message;
  EXPECT_EQ(outcome.principal->id, "alice");
  EXPECT_EQ(outcome.principal->metadata.at("team"), "a,b");
}

TEST_F(JwtAuthenticatorTest, FailuresCarryTheLibrarysFixedMessage) {
  const JwtAuthenticator authenticator(spec);
  const auto claims = [](const std::string& iss, const std::string& aud, long long exp) {
    return R"({"iss":")" + iss + R"(","aud":")" + aud + R"(","sub":"alice","exp":)" + std::to_string(exp) + "}";
  };
  const auto expired =
      authenticator.authenticate(token(claims("https://idp", "sluice", kNow - 600)), kNowTime, nullptr);
  EXPECT_EQ(expired.error, auth::JwtError::expired);
  EXPECT_EQ(expired.message, "the bearer token has expired");
  EXPECT_EQ(authenticator.authenticate(token(claims("https://other", "sluice", kNow + 60)), kNowTime, nullptr).error,
            auth::JwtError::wrong_issuer);
  EXPECT_EQ(authenticator.authenticate(token(claims("https://idp", "other", kNow + 60)), kNowTime, nullptr).error,
            auth::JwtError::wrong_audience);
  const auto no_subject = authenticator.authenticate(
      token(R"({"iss":"https://idp","aud":"sluice","exp":)" + std::to_string(kNow + 60) + "}"), kNowTime, nullptr);
  EXPECT_EQ(no_subject.principal, nullptr) << "no principalClaim: refused";
  EXPECT_EQ(authenticator.authenticate("not-a-token", kNowTime, nullptr).error, auth::JwtError::malformed);
}

TEST_F(JwtAuthenticatorTest, ACachedTokenIsServedUntilItsExp) {
  const JwtAuthenticator authenticator(spec);
  VerifiedTokenCache cache;
  const auto jwt =
      token(R"({"iss":"https://idp","aud":"sluice","sub":"alice","exp":)" + std::to_string(kNow + 300) + "}");
  const auto first = authenticator.authenticate(jwt, kNowTime, &cache);
  ASSERT_NE(first.principal, nullptr);
  EXPECT_EQ(cache.size(), 1u);
  const auto second = authenticator.authenticate(jwt, kNowTime + std::chrono::seconds(10), &cache);
  EXPECT_EQ(second.principal, first.principal) << "the same principal: served from the cache";
  const auto late = authenticator.authenticate(jwt, kNowTime + std::chrono::seconds(400), &cache);
  EXPECT_EQ(late.principal, nullptr) << "past exp (and the skew) the token is verified again, and refused";
  EXPECT_EQ(late.error, auth::JwtError::expired);
}

TEST_F(JwtAuthenticatorTest, AnotherKeySetRefusesTheSameToken) {
  const auto jwt =
      token(R"({"iss":"https://idp","aud":"sluice","sub":"alice","exp":)" + std::to_string(kNow + 300) + "}");
  const Ed25519Key rotated;
  auto next = spec;
  next.providers->front().jwks.keySet = auth::parse_jwks(rotated.jwks()).key_set;
  const auto outcome = JwtAuthenticator(next).authenticate(jwt, kNowTime, nullptr);
  EXPECT_EQ(outcome.principal, nullptr);
  EXPECT_EQ(outcome.error, auth::JwtError::bad_signature) << "same kid, another key";
}

}  // namespace
}  // namespace sluice::policy

namespace sluice::policy {
namespace {

TEST(AuthSection, DecodesARemoteJwksWithItsDefaults) {
  const auto d = decode(
      "{jwt: {providers: [{name: a, issuer: i, allowedModels: ['gpt-4o*'], allowedModelsClaim: models, "
      "jwks: {remote: {url: 'https://idp.example.com/jwks'}}}]}, metricsLabels: [id, team]}");
  EXPECT_FALSE(d.diagnostics.has_errors()) << d.diagnostics.format_all();
  ASSERT_TRUE(d.value.jwt && d.value.jwt->providers);
  const auto& provider = d.value.jwt->providers->front();
  ASSERT_TRUE(provider.jwks.remote);
  EXPECT_EQ(provider.jwks.remote->cacheDuration, std::chrono::minutes(5));
  ASSERT_NE(provider.jwks.remote->keys, nullptr) << "made when the configuration is loaded";
  EXPECT_EQ(provider.jwks.remote->keys->current(), nullptr) << "fetched later, never while loading";
  EXPECT_EQ(provider.allowedModels, std::vector<std::string>{"gpt-4o*"});
  EXPECT_EQ(provider.allowedModelsClaim, "models");
  EXPECT_EQ(d.value.metricsLabels, (std::vector<std::string>{"id", "team"}));
}

TEST(AuthSection, ReportsBadMetricLabelsAndModelPatterns) {
  const auto d = decode(
      "{jwt: {providers: [{name: a, issuer: i, allowedModels: ['a*b'], "
      "jwks: {remote: {url: 'https://idp/jwks', cacheDuration: 0s}}}]}, metricsLabels: [id, type, 9x, id]}");
  const auto all = d.diagnostics.format_all();
  const auto has = [&](const std::string& text) { return all.find(text) != std::string::npos; };
  EXPECT_TRUE(has("spec.auth.jwt.providers[0].allowedModels[0]: \"a*b\" is not a model pattern")) << all;
  EXPECT_TRUE(has("spec.auth.jwt.providers[0].jwks.remote.cacheDuration: must be at least 1s")) << all;
  EXPECT_TRUE(has("spec.auth.metricsLabels[1]: \"type\" is not a metric label name")) << all;
  EXPECT_TRUE(has("spec.auth.metricsLabels[2]: \"9x\" is not a metric label name")) << all;
  EXPECT_TRUE(has("spec.auth.metricsLabels[3]: \"id\" is named twice")) << all;
}

class RemoteJwtAuthenticatorTest : public ::testing::Test {
 protected:
  RemoteJwtAuthenticatorTest() {
    config::JwtProvider provider;
    provider.name = "corp";
    provider.issuer = "https://idp";
    provider.jwks.remote = config::RemoteJwks{};
    provider.jwks.remote->url = "https://idp/jwks";
    provider.jwks.remote->keys = remote;
    provider.allowedModels = {"gpt-4o-mini"};
    provider.allowedModelsClaim = "models";
    spec.providers = std::vector<config::JwtProvider>{provider};
    remote->set_waker([this] { ++refreshes; });
  }
  std::string token(const std::string& extra = "") const {
    return key.sign(R"({"iss":"https://idp","sub":"alice","exp":)" + std::to_string(kNow + 300) + extra + "}");
  }

  Ed25519Key key;
  std::shared_ptr<auth::RemoteKeySet> remote =
      std::make_shared<auth::RemoteKeySet>("https://idp/jwks", std::chrono::minutes(5));
  config::JwtAuth spec;
  int refreshes = 0;
};

TEST_F(RemoteJwtAuthenticatorTest, WithoutFetchedKeysATokenIsRefusedAsKeysUnavailable) {
  const JwtAuthenticator authenticator(spec);
  const auto outcome = authenticator.authenticate(token(), kNowTime, nullptr);
  EXPECT_EQ(outcome.principal, nullptr);
  EXPECT_TRUE(outcome.keys_unavailable);
  EXPECT_NE(outcome.message.find("not available"), std::string_view::npos) << outcome.message;
  EXPECT_EQ(refreshes, 1) << "asks the fetcher to try again";
}

TEST_F(RemoteJwtAuthenticatorTest, TheKeysLastFetchedVerifyAndAnUnknownKidAsksForARefresh) {
  const JwtAuthenticator authenticator(spec);
  const Ed25519Key other;
  remote->install(auth::parse_jwks(other.jwks()).key_set);
  EXPECT_EQ(authenticator.authenticate(token(), kNowTime, nullptr).principal, nullptr) << "another key: refused";
  remote->install(auth::parse_jwks(key.jwks()).key_set);
  const auto accepted = authenticator.authenticate(token(), kNowTime, nullptr);
  ASSERT_NE(accepted.principal, nullptr) << accepted.message;
  EXPECT_EQ(accepted.principal->id, "alice");

  auto with_other_kid = key.jwks();
  with_other_kid.replace(with_other_kid.find("\"k1\""), 4, "\"k9\"");
  remote->install(auth::parse_jwks(with_other_kid).key_set);
  const auto unknown = authenticator.authenticate(token(), kNowTime, nullptr);
  EXPECT_EQ(unknown.error, auth::JwtError::unknown_kid);
  EXPECT_EQ(refreshes, 1) << "the token's kid is not in the set: one refresh asked";
  authenticator.authenticate(token(), kNowTime, nullptr);
  EXPECT_EQ(refreshes, 1) << "rate-limited";
}

TEST_F(RemoteJwtAuthenticatorTest, AllowedModelsComeFromTheClaimWhenTheTokenHasIt) {
  const JwtAuthenticator authenticator(spec);
  EXPECT_TRUE(authenticator.restricts_models());
  remote->install(auth::parse_jwks(key.jwks()).key_set);
  const auto plain = authenticator.authenticate(token(), kNowTime, nullptr);
  ASSERT_NE(plain.principal, nullptr);
  EXPECT_TRUE(plain.principal->allows("gpt-4o-mini"));
  EXPECT_FALSE(plain.principal->allows("gpt-4o")) << "the provider's allowedModels";
  const auto listed = authenticator.authenticate(token(R"(,"models":["claude-*","gpt-4o"])"), kNowTime, nullptr);
  ASSERT_NE(listed.principal, nullptr);
  EXPECT_TRUE(listed.principal->allows("claude-3-haiku"));
  EXPECT_TRUE(listed.principal->allows("gpt-4o"));
  EXPECT_FALSE(listed.principal->allows("gpt-4o-mini")) << "the claim replaces allowedModels";
  const auto spaced = authenticator.authenticate(token(R"(,"models":"o1 *-mini")"), kNowTime, nullptr);
  ASSERT_NE(spaced.principal, nullptr);
  EXPECT_TRUE(spaced.principal->allows("o1"));
  EXPECT_TRUE(spaced.principal->allows("gpt-4o-mini"));
  EXPECT_FALSE(spaced.principal->allows("gpt-4o"));
  const auto none = authenticator.authenticate(token(R"(,"models":"")"), kNowTime, nullptr);
  ASSERT_NE(none.principal, nullptr);
  EXPECT_FALSE(none.principal->allows("gpt-4o-mini")) << "an empty claim allows nothing";
}

}  // namespace
}  // namespace sluice::policy
