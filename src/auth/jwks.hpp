// A JSON Web Key Set (RFC 7517) reduced to the public keys Sluice verifies JWT signatures with:
// RSA (RS256, modulus 2048 to 8192 bits), EC P-256 (ES256) and OKP Ed25519 (EdDSA). Keys that
// are not for signatures (`use` other than "sig", `key_ops` without "verify"), of another type,
// curve or `alg`, or malformed, are skipped and reported as warnings; the set is an error only
// if the document itself is unusable (too large, not JSON, no "keys" array, more than
// kMaxJwksKeys entries) or no usable key remains. Private members (d, p, q, ...) are ignored:
// only the public half is ever built.
//
// Ownership and threads: parse_jwks builds a KeySet once; it is immutable afterwards and
// shared as shared_ptr<const KeySet> (a refresh builds a new one and swaps the pointer). Each
// key owns its EVP_PKEY (unique_ptr); OpenSSL 3 keys may be used for verification by any number
// of threads at once, so a KeySet is safe to share between workers without a lock.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::auth {

// Bounds on what a JWKS document may cost to parse and to search.
inline constexpr std::size_t kMaxJwksBytes = 1024 * 1024;
inline constexpr std::size_t kMaxJwksKeys = 100;

// The JWS algorithms Sluice verifies, each tied to one key type.
enum class Algorithm { rs256, es256, eddsa };

// "RS256", "ES256", "EdDSA".
std::string_view algorithm_name(Algorithm algorithm);

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// One usable public key. `algorithm` follows from kty/crv (and agrees with the JWK's `alg` when
// it has one); `kid` is empty when the JWK has none.
struct VerificationKey {
  std::string kid;
  Algorithm algorithm;
  EvpPkeyPtr public_key;
};

class KeySet {
 public:
  explicit KeySet(std::vector<VerificationKey> keys) : keys_(std::move(keys)) {}
  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  // Every usable key, in document order.
  std::span<const VerificationKey> keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  // Whether some key has exactly this kid.
  bool has_kid(std::string_view kid) const;

 private:
  std::vector<VerificationKey> keys_;
};

struct KeySetParseResult {
  std::shared_ptr<const KeySet> key_set;  // null when `error` is set
  std::string error;                      // empty on success
  std::vector<std::string> warnings;      // one line per skipped key, also on success
};

// Parses a JWKS document ({"keys": [...]}). Never throws.
KeySetParseResult parse_jwks(std::string_view document);

}  // namespace sluice::auth
