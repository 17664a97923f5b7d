// JWT client authentication for the auth stage (policy/auth.hpp): a bearer token verified against
// the configured providers (issuer, audiences, JWKS: auth/jwt.hpp) and turned into a Principal,
// with a cache of tokens already verified so a client repeating its token costs a SHA-256 and a
// lookup instead of a signature check.
//
//   JwtAuthenticator   built once per snapshot from the merged `auth.jwt` section; immutable,
//                      shared by every worker. authenticate() tries the providers in order, the
//                      first that accepts the token wins; the principal id is its principalClaim
//                      (claim_as_string), its metadata the claims named by claimsToMetadata, its
//                      allowed models the patterns of allowedModelsClaim when the token has it,
//                      else allowedModels. A provider with a remote JWKS verifies with the key
//                      set last fetched (none yet: it cannot verify); a token naming a kid the
//                      set lacks asks the fetcher for an early refresh (rate-limited).
//   VerifiedTokenCache one per worker (no lock: only its worker's thread touches it). Keyed by
//                      the SHA-256 of the token (never the token itself), bounded (oldest entry
//                      evicted first), an entry valid until the token's exp. It belongs to the
//                      authenticator's stage, so a reload (new keys, issuers) starts empty.
//
// Failures carry the library's fixed messages: never the token or a part of it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/remote_key_set.hpp"
#include "config/resources.hpp"
#include "pipeline/principal.hpp"

namespace sluice::policy {

using TokenDigest = std::array<unsigned char, 32>;

// The SHA-256 of `text`.
TokenDigest sha256_digest(std::string_view text);

// A SHA-256 is uniformly distributed: its first bytes are a hash already.
struct TokenDigestHash {
  std::size_t operator()(const TokenDigest& digest) const {
    std::size_t hash;
    std::memcpy(&hash, digest.data(), sizeof hash);
    return hash;
  }
};

// Entries kept per worker by default.
inline constexpr std::size_t kVerifiedTokenCacheEntries = 1024;

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(std::size_t capacity = kVerifiedTokenCacheEntries) : capacity_(capacity) {
    entries_.reserve(capacity_);
    index_.reserve(capacity_);
  }

  // The principal of a token verified before whose exp is still ahead of `now` (Unix seconds);
  // null otherwise (an expired entry is dropped).
  std::shared_ptr<const pipeline::Principal> find(const TokenDigest& digest, double now) {
    const auto it = index_.find(digest);
    if (it == index_.end()) return nullptr;
    auto& entry = entries_[it->second];
    if (!(now < entry.expires)) {
      entry.principal.reset();
      index_.erase(it);
      return nullptr;
    }
    return entry.principal;
  }

  // Remembers a verified token until `expires` (its exp, Unix seconds), evicting the oldest entry
  // when full.
  void insert(const TokenDigest& digest, std::shared_ptr<const pipeline::Principal> principal, double expires) {
    if (capacity_ == 0) return;
    if (const auto it = index_.find(digest); it != index_.end()) {
      entries_[it->second] = Entry{digest, std::move(principal), expires};
      return;
    }
    if (entries_.size() < capacity_) {
      index_.emplace(digest, entries_.size());
      entries_.push_back(Entry{digest, std::move(principal), expires});
      return;
    }
    auto& oldest = entries_[next_];
    if (const auto it = index_.find(oldest.digest); it != index_.end() && it->second == next_) index_.erase(it);
    oldest = Entry{digest, std::move(principal), expires};
    index_.emplace(digest, next_);
    next_ = (next_ + 1) % capacity_;
  }

  std::size_t size() const { return index_.size(); }

 private:
  struct Entry {
    TokenDigest digest;
    std::shared_ptr<const pipeline::Principal> principal;
    double expires;
  };
  std::size_t capacity_;
  std::vector<Entry> entries_;  // in insertion order until full, then a ring (next_ is the oldest)
  std::size_t next_ = 0;
  std::unordered_map<TokenDigest, std::size_t, TokenDigestHash> index_;
};

struct JwtOutcome {
  std::shared_ptr<const pipeline::Principal> principal;  // null on failure
  auth::JwtError error = auth::JwtError::none;
  std::string_view message;  // a fixed text for the client on failure
  // No provider could try the token: the remote JWKS of those that might have were never fetched.
  bool keys_unavailable = false;
};

class JwtAuthenticator {
 public:
  // Providers without a usable KeySet (reported when the configuration was loaded) are left out;
  // a provider with a remote JWKS reads the key set its RemoteKeySet holds at each verification.
  explicit JwtAuthenticator(const config::JwtAuth& spec);

  // Whether some provider restricts the models its callers may use.
  bool restricts_models() const { return restricts_models_; }

  // Verifies `token` (without "Bearer ") as of `now`, through `cache` when given.
  JwtOutcome authenticate(std::string_view token, std::chrono::system_clock::time_point now,
                          VerifiedTokenCache* cache) const;

 private:
  struct Provider {
    std::shared_ptr<const auth::KeySet> keys;         // a file or inline JWKS
    std::shared_ptr<auth::RemoteKeySet> remote_keys;  // or a remote one
    auth::JwtRequirements requirements;
    std::string principal_claim;
    std::vector<std::pair<std::string, std::string>> claims_to_metadata;
    std::vector<std::string> allowed_models;
    std::string allowed_models_claim;
  };
  std::vector<Provider> providers_;
  bool restricts_models_ = false;
};

// Whether `credential` has the shape of a JWS compact token: three non-empty base64url parts.
bool looks_like_jwt(std::string_view credential);

}  // namespace sluice::policy
