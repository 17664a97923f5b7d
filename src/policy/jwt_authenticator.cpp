#include "policy/jwt_authenticator.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace sluice::policy {

namespace {

// How far a provider's verification got: a token is reported with the error of the provider it
// came closest to satisfying (a signature valid but expired beats "unknown key" from another).
int progress(auth::JwtError error) {
  switch (error) {
    case auth::JwtError::unknown_kid:
      return 0;
    case auth::JwtError::no_matching_key:
      return 1;
    case auth::JwtError::bad_signature:
      return 2;
    case auth::JwtError::wrong_issuer:
      return 3;
    default:
      return 4;
  }
}

// Errors of the token itself, the same for every provider.
bool token_error(auth::JwtError error) {
  return error == auth::JwtError::malformed || error == auth::JwtError::unsupported_algorithm;
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

constexpr std::string_view kNoPrincipalClaim = "the bearer token has no claim naming the caller";
constexpr std::string_view kKeysUnavailable =
    "the signing keys of the token's issuer are not available: their JWKS could not be fetched yet";

// The model patterns of an allowedModelsClaim value: split at spaces and commas; what is not a
// pattern is dropped.
std::vector<std::string> model_patterns(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto end = text.find_first_of(" ,");
    const auto item = text.substr(0, end);
    if (pipeline::is_model_pattern(item)) out.emplace_back(item);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace

TokenDigest sha256_digest(std::string_view text) {
  // One digest context per thread, reused: EVP_Digest would allocate and free one per call
  // (about 0.5 us against 0.17 us here, on the request path of every authenticated request).
  struct Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Context context;
  TokenDigest digest{};
  unsigned int size = 0;
  if (context.md == nullptr || context.ctx == nullptr || EVP_DigestInit_ex2(context.ctx, context.md, nullptr) != 1 ||
      EVP_DigestUpdate(context.ctx, text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.ctx, digest.data(), &size) != 1)
    EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

bool looks_like_jwt(std::string_view credential) {
  std::size_t dots = 0;
  std::size_t part = 0;
  for (const char c : credential) {
    if (c == '.') {
      if (part == 0) return false;
      ++dots;
      part = 0;
    } else if (base64url_char(c)) {
      ++part;
    } else {
      return false;
    }
  }
  return dots == 2 && part > 0;
}

JwtAuthenticator::JwtAuthenticator(const config::JwtAuth& spec) {
  if (!spec.providers) return;
  for (const auto& provider : *spec.providers) {
    if (!provider.jwks.keySet && !(provider.jwks.remote && provider.jwks.remote->keys)) continue;
    Provider built;
    built.keys = provider.jwks.keySet;
    if (provider.jwks.remote) built.remote_keys = provider.jwks.remote->keys;
    built.allowed_models = provider.allowedModels;
    built.allowed_models_claim = provider.allowedModelsClaim;
    restricts_models_ = restricts_models_ || !provider.allowedModels.empty() || !provider.allowedModelsClaim.empty();
    built.requirements.issuer = provider.issuer;
    built.requirements.audiences = provider.audiences;
    built.principal_claim = provider.principalClaim;
    for (const auto& [name, claim] : provider.claimsToMetadata) built.claims_to_metadata.emplace_back(name, claim);
    providers_.push_back(std::move(built));
  }
}

JwtOutcome JwtAuthenticator::authenticate(std::string_view token, std::chrono::system_clock::time_point now,
                                          VerifiedTokenCache* cache) const {
  const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  TokenDigest digest{};
  if (cache != nullptr) {
    digest = sha256_digest(token);
    if (auto principal = cache->find(digest, now_seconds)) return JwtOutcome{std::move(principal), {}, {}};
  }
  JwtOutcome failure{nullptr, auth::JwtError::no_matching_key, {}};
  bool failed = false;
  bool unavailable = false;
  for (const auto& provider : providers_) {
    std::shared_ptr<const auth::KeySet> fetched;
    const auth::KeySet* keys = provider.keys.get();
    if (provider.remote_keys) {
      fetched = provider.remote_keys->current();
      keys = fetched.get();
      if (keys == nullptr) {
        unavailable = true;
        provider.remote_keys->request_refresh(auth::RemoteKeySet::Clock::now());
        continue;
      }
    }
    auto result = auth::verify(token, *keys, provider.requirements, now);
    if (result.error == auth::JwtError::unknown_kid && provider.remote_keys)
      provider.remote_keys->request_refresh(auth::RemoteKeySet::Clock::now());
    if (!result.ok()) {
      if (!failed || progress(result.error) > progress(failure.error)) {
        failure.error = result.error;
        failure.message = result.message;
        failed = true;
      }
      if (token_error(result.error)) break;
      continue;
    }
    auto id = auth::claim_as_string(result.claims, provider.principal_claim);
    if (!id || id->empty()) {
      failure = JwtOutcome{nullptr, auth::JwtError::invalid_claims, kNoPrincipalClaim};
      failed = true;
      continue;
    }
    auto principal = std::make_shared<pipeline::Principal>();
    principal->id = std::move(*id);
    for (const auto& [name, claim] : provider.claims_to_metadata)
      if (auto value = auth::claim_as_string(result.claims, claim)) principal->metadata[name] = std::move(*value);
    std::optional<std::string> models_claim;
    if (!provider.allowed_models_claim.empty())
      models_claim = auth::claim_as_string(result.claims, provider.allowed_models_claim);
    if (models_claim) {
      principal->allowed_models = model_patterns(*models_claim);
      principal->models_restricted = true;
    } else {
      principal->allowed_models = provider.allowed_models;
    }
    if (cache != nullptr) {
      // verify() accepted exp as a number; an entry is kept until exp itself (no clock skew).
      const auto& exp = result.claims.at("exp");
      const double expires = exp.is_double() ? exp.get_double() : exp.to_number<double>();
      cache->insert(digest, principal, expires);
    }
    return JwtOutcome{std::move(principal), {}, {}};
  }
  if (!failed && unavailable) return JwtOutcome{nullptr, auth::JwtError::no_matching_key, kKeysUnavailable, true};
  if (!failed) failure.message = "no key can verify the bearer token's signature";
  return failure;
}

}  // namespace sluice::policy
