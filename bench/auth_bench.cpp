// auth_bench: the CPU cost of verifying one client JWT against a cached JWKS (Google Benchmark),
// the figure issue 10 sets a target for (15 us per request).
//
// At start it generates one key per algorithm (RSA 2048, EC P-256, Ed25519), parses a JWKS of
// the three public keys plus two more RSA keys (an identity provider's usual rotation overlap),
// and signs one token per algorithm with a kid and typical access-token claims (~350 bytes of
// payload). Each iteration is one auth::verify: split, decode, header parse, key lookup,
// signature, claims parse and checks.
//
//   Verify/RS256, Verify/ES256, Verify/EdDSA   the whole verification
//   SignatureOnly/RS256, ...                   EVP_DigestVerify alone on the same key and input
//                                              (one-shot, fresh EVP_MD_CTX): the floor OpenSSL sets
//   Authenticate/RS256/uncached, .../cached    what the auth stage does per request
//                                              (policy::JwtAuthenticator): verify and build the
//                                              principal; or, cached, SHA-256 of the token and a
//                                              lookup in a worker's cache holding 1024 tokens
//
// cmake --build build -j2 --target auth_bench && build/bin/auth_bench
#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "auth/jwks.hpp"
#include "auth/jwt.hpp"
#include "policy/jwt_authenticator.hpp"

namespace {

namespace json = boost::json;
using sluice::auth::Algorithm;

std::string b64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned int buffer = 0;
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

std::string bn_param(EVP_PKEY* key, const char* name, int pad_to) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) std::abort();
  std::string bytes(pad_to > 0 ? pad_to : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  BN_free(bn);
  return bytes;
}

struct SigningKey {
  EVP_PKEY* key;
  Algorithm algorithm;
  std::string kid;
};

SigningKey generate(Algorithm algorithm, std::string kid) {
  EVP_PKEY* key = algorithm == Algorithm::rs256   ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                  : algorithm == Algorithm::es256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) std::abort();
  return {key, algorithm, std::move(kid)};
}

json::object public_jwk(const SigningKey& key) {
  json::object jwk{{"kid", key.kid}, {"use", "sig"}};
  switch (key.algorithm) {
    case Algorithm::rs256:
      jwk["kty"] = "RSA";
      jwk["n"] = b64url(bn_param(key.key, OSSL_PKEY_PARAM_RSA_N, 0));
      jwk["e"] = b64url(bn_param(key.key, OSSL_PKEY_PARAM_RSA_E, 0));
      break;
    case Algorithm::es256:
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = b64url(bn_param(key.key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
      jwk["y"] = b64url(bn_param(key.key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
      break;
    case Algorithm::eddsa: {
      unsigned char pub[32];
      std::size_t length = 0;
      EVP_PKEY_get_octet_string_param(key.key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &length);
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = b64url(std::string_view(reinterpret_cast<char*>(pub), length));
      break;
    }
  }
  return jwk;
}

std::string raw_signature(const SigningKey& key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const char* digest = key.algorithm == Algorithm::eddsa ? nullptr : "SHA256";
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit_ex(ctx, nullptr, digest, nullptr, nullptr, key.key, nullptr) != 1 ||
      EVP_DigestSign(ctx, nullptr, &length, data, input.size()) != 1)
    std::abort();
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length, data, input.size()) != 1)
    std::abort();
  signature.resize(length);
  EVP_MD_CTX_free(ctx);
  if (key.algorithm != Algorithm::es256) return signature;
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(parsed);
  return raw;
}

constexpr std::int64_t kNow = 1'750'000'000;

struct Fixture {
  SigningKey keys[3] = {generate(Algorithm::rs256, "rsa-current"), generate(Algorithm::es256, "ec-current"),
                        generate(Algorithm::eddsa, "ed-current")};
  std::shared_ptr<const sluice::auth::KeySet> key_set;
  std::string tokens[3];
  sluice::auth::JwtRequirements requirements{"https://login.example.com/tenant-1", {"api://sluice"}};

  Fixture() {
    json::array jwks;
    for (const char* kid : {"rsa-previous", "rsa-next"}) {
      const SigningKey other = generate(Algorithm::rs256, kid);
      jwks.push_back(public_jwk(other));
      EVP_PKEY_free(other.key);
    }
    for (const SigningKey& key : keys) jwks.push_back(public_jwk(key));
    key_set = sluice::auth::parse_jwks(json::serialize(json::object{{"keys", jwks}})).key_set;
    if (!key_set) std::abort();
    const json::object claims{{"iss", "https://login.example.com/tenant-1"},
                              {"sub", "8f14e45f-ceea-467a-9575-1c2a3b4d5e6f"},
                              {"aud", json::array{"api://sluice", "https://graph.example.com"}},
                              {"exp", kNow + 3600},
                              {"iat", kNow - 60},
                              {"nbf", kNow - 60},
                              {"jti", "b5f0c6c2-8d3e-4a51-9c7e-0f4b2a1d3e5c"},
                              {"scope", "chat.completions embeddings models.read"},
                              {"client_id", "team-search-backend"},
                              {"groups", json::array{"ml-platform", "search"}},
                              {"tenant", "acme"}};
    for (int i = 0; i < 3; ++i) {
      const json::object header{
          {"alg", sluice::auth::algorithm_name(keys[i].algorithm)}, {"typ", "at+jwt"}, {"kid", keys[i].kid}};
      const std::string input = b64url(json::serialize(header)) + "." + b64url(json::serialize(claims));
      tokens[i] = input + "." + b64url(raw_signature(keys[i], input));
    }
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

void Verify(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string& token = f.tokens[state.range(0)];
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  for (auto _ : state) {
    sluice::auth::JwtResult result = sluice::auth::verify(token, *f.key_set, f.requirements, now);
    if (!result.ok()) {
      state.SkipWithError("token refused");
      break;
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetLabel(std::string(sluice::auth::algorithm_name(f.keys[state.range(0)].algorithm)) + ", " +
                 std::to_string(token.size()) + " byte token");
}

void SignatureOnly(benchmark::State& state) {
  Fixture& f = fixture();
  const SigningKey& key = f.keys[state.range(0)];
  const std::string input = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UifQ";
  std::string signature = raw_signature(key, input);
  if (key.algorithm == Algorithm::es256) {
    // DER, as OpenSSL wants it (verify() converts r || s on each call).
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t length = 80;
    signature.assign(80, '\0');
    EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, key.key, nullptr);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(length);
    EVP_MD_CTX_free(ctx);
  }
  const char* digest = key.algorithm == Algorithm::eddsa ? nullptr : "SHA256";
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool valid = EVP_DigestVerifyInit_ex(ctx, nullptr, digest, nullptr, nullptr, key.key, nullptr) == 1 &&
                       EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!valid) {
      state.SkipWithError("signature refused");
      break;
    }
  }
  state.SetLabel(std::string(sluice::auth::algorithm_name(key.algorithm)));
}

// range(0): the algorithm; range(1): 1 through a full cache of verified tokens, 0 without.
void Authenticate(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string& token = f.tokens[state.range(0)];
  sluice::config::JwtAuth spec;
  sluice::config::JwtProvider provider;
  provider.name = "idp";
  provider.issuer = f.requirements.issuer;
  provider.audiences = f.requirements.audiences;
  provider.jwks.keySet = f.key_set;
  provider.claimsToMetadata = {{"team", "groups"}, {"tenant", "tenant"}};
  spec.providers = std::vector<sluice::config::JwtProvider>{provider};
  const sluice::policy::JwtAuthenticator authenticator(spec);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  sluice::policy::VerifiedTokenCache cache;
  const bool cached = state.range(1) != 0;
  if (cached) {
    // A full cache: other callers' tokens, then this one.
    auto other = std::make_shared<const sluice::pipeline::Principal>();
    for (std::size_t i = 0; i + 1 < sluice::policy::kVerifiedTokenCacheEntries; ++i)
      cache.insert(sluice::policy::sha256_digest("token-" + std::to_string(i)), other, kNow + 3600);
    if (!authenticator.authenticate(token, now, &cache).principal) std::abort();
  }
  for (auto _ : state) {
    auto outcome = authenticator.authenticate(token, now, cached ? &cache : nullptr);
    if (!outcome.principal) {
      state.SkipWithError("token refused");
      break;
    }
    benchmark::DoNotOptimize(outcome);
  }
  state.SetLabel(std::string(sluice::auth::algorithm_name(f.keys[state.range(0)].algorithm)) +
                 (cached ? ", cached" : ", uncached"));
}

BENCHMARK(Verify)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(Authenticate)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(SignatureOnly)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
