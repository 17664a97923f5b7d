// Verification of a JWT (RFC 7519) in JWS compact form (RFC 7515) against a KeySet: the bearer
// tokens clients authenticate with. Accepts only RS256, ES256 and EdDSA signatures by a key of
// the set (never `none`, HMAC or a key named by the token itself: jku, x5u and jwk headers are
// ignored), then checks the claims: `exp` required, `nbf` if present, `iss` exact, `aud` against
// the accepted audiences, all with a clock skew. The signature is checked before any claim is
// read; a JSON member repeated in the header or the payload counts once, its last value (RFC
// 7515 section 5.2 allows either rejecting or this).
//
// Pure functions of their arguments (the clock is a parameter): no state, no I/O, thread-safe;
// many threads may verify against one shared KeySet at once. A JwtResult owns its claims.
// Messages are fixed texts, safe to send to the client: they never contain the token or any
// part of it.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwks.hpp"

namespace sluice::auth {

// Bound on a token's length (the three parts and the dots).
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;
// Bound on what claim_as_string returns.
inline constexpr std::size_t kMaxClaimStringBytes = 1024;

struct JwtRequirements {
  // The token's `iss` must be exactly this string (an empty issuer matches no token).
  std::string issuer;
  // The token's `aud` (a string or an array of strings) must contain one of these; empty means
  // the audience is not checked.
  std::vector<std::string> audiences;
  // Tolerance on `exp` and `nbf` for clocks that disagree.
  std::chrono::seconds clock_skew{60};
};

enum class JwtError {
  none,
  malformed,              // not three base64url parts, too long, header or payload not a JSON object
  unsupported_algorithm,  // alg not RS256/ES256/EdDSA, typ not JWT/at+jwt, or a crit header
  unknown_kid,            // the header's kid names no key of the set: worth refreshing the JWKS
  no_matching_key,        // no key of the set is of the alg's type (or the kid's key is of another)
  bad_signature,
  invalid_claims,  // exp missing or not a number, nbf/iat not numbers
  expired,
  not_yet_valid,
  wrong_issuer,
  wrong_audience,
};

// A stable lower-case name for logs and metrics ("bad_signature").
std::string_view jwt_error_name(JwtError error);

struct JwtResult {
  JwtError error = JwtError::none;
  std::string_view message;    // a fixed text for the client; empty on success
  boost::json::object claims;  // the payload, only on success
  std::string key_id;          // the kid of the key that verified it, only on success

  bool ok() const { return error == JwtError::none; }
  // The `sub` claim when it is a string, else empty.
  std::string_view subject() const;
};

// Verifies `token` (the compact form, without "Bearer ") as of `now`.
JwtResult verify(std::string_view token, const KeySet& keys, const JwtRequirements& requirements,
                 std::chrono::system_clock::time_point now);

// The claim at `path` in `claims` as text: a string as is, an array of strings joined with ','.
// `path` names nested members with dots ("realm_access.roles"); at each level a member whose
// own name contains dots ("https://example.com/roles") is found too, the longest name first.
// Nullopt when the claim is missing, of another type (a number, an object, an array holding a
// non-string), or longer than kMaxClaimStringBytes (never cut: it may name a principal).
std::optional<std::string> claim_as_string(const boost::json::object& claims, std::string_view path);

}  // namespace sluice::auth
