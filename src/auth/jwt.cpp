#include "auth/jwt.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>

#include "auth/base64url.hpp"

namespace sluice::auth {
namespace {

namespace json = boost::json;

constexpr std::size_t kEs256SignatureBytes = 64;
constexpr std::size_t kEd25519SignatureBytes = 64;
// RSA signatures are as long as the modulus: 8192 bits at most (see jwks.cpp).
constexpr std::size_t kMaxSignatureBytes = 8192 / 8;
// The header's JSON is parsed into this much stack before touching the heap.
constexpr std::size_t kHeaderParseBuffer = 2048;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

JwtResult failure(JwtError error) {
  JwtResult result;
  result.error = error;
  switch (error) {
    case JwtError::none:
      break;
    case JwtError::malformed:
      result.message = "the bearer token is not a well-formed JWT";
      break;
    case JwtError::unsupported_algorithm:
      result.message = "the bearer token's signature algorithm or type is not accepted";
      break;
    case JwtError::unknown_kid:
      result.message = "the bearer token is signed with an unknown key";
      break;
    case JwtError::no_matching_key:
      result.message = "no key can verify the bearer token's signature";
      break;
    case JwtError::bad_signature:
      result.message = "the bearer token's signature is invalid";
      break;
    case JwtError::invalid_claims:
      result.message = "the bearer token's claims are invalid (exp is required)";
      break;
    case JwtError::expired:
      result.message = "the bearer token has expired";
      break;
    case JwtError::not_yet_valid:
      result.message = "the bearer token is not valid yet";
      break;
    case JwtError::wrong_issuer:
      result.message = "the bearer token's issuer is not accepted";
      break;
    case JwtError::wrong_audience:
      result.message = "the bearer token's audience is not accepted";
      break;
  }
  return result;
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "RS256") return Algorithm::rs256;
  if (name == "ES256") return Algorithm::es256;
  if (name == "EdDSA") return Algorithm::eddsa;
  return std::nullopt;
}

// RFC 7515 section 4.1.9: "JWT" or, for access tokens (RFC 9068), "at+jwt"; the
// "application/" prefix may be present, and media types compare case-insensitively.
bool accepted_typ(std::string_view typ) {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() && boost::beast::iequals(typ.substr(0, kPrefix.size()), kPrefix))
    typ.remove_prefix(kPrefix.size());
  return boost::beast::iequals(typ, "jwt") || boost::beast::iequals(typ, "at+jwt");
}

// Appends one DER INTEGER holding the unsigned big-endian `value`.
std::size_t put_der_integer(std::span<const unsigned char> value, unsigned char* out) {
  while (value.size() > 1 && value.front() == 0) value = value.subspan(1);
  const bool needs_sign_byte = (value.front() & 0x80) != 0;
  std::size_t n = 0;
  out[n++] = 0x02;
  out[n++] = static_cast<unsigned char>(value.size() + (needs_sign_byte ? 1 : 0));
  if (needs_sign_byte) out[n++] = 0x00;
  for (unsigned char byte : value) out[n++] = byte;
  return n;
}

// JWS carries an ES256 signature as r || s (32 bytes each); OpenSSL verifies the DER form
// SEQUENCE { INTEGER r, INTEGER s }. At most 2 + 2 * (2 + 33) = 72 bytes, all short lengths.
std::size_t es256_signature_to_der(std::span<const unsigned char, kEs256SignatureBytes> raw,
                                   std::array<unsigned char, 72>& der) {
  std::array<unsigned char, 70> body;
  std::size_t length = put_der_integer(raw.first<32>(), body.data());
  length += put_der_integer(raw.last<32>(), body.data() + length);
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(length);
  std::copy_n(body.begin(), length, der.begin() + 2);
  return length + 2;
}

bool signature_valid(const VerificationKey& key, std::string_view signing_input,
                     std::span<const unsigned char> signature) {
  std::array<unsigned char, 72> der;
  const char* digest = "SHA256";
  switch (key.algorithm) {
    case Algorithm::rs256:
      break;
    case Algorithm::es256:
      if (signature.size() != kEs256SignatureBytes) return false;
      signature = std::span<const unsigned char>(der.data(),
                                                 es256_signature_to_der(signature.first<kEs256SignatureBytes>(), der));
      break;
    case Algorithm::eddsa:
      if (signature.size() != kEd25519SignatureBytes) return false;
      digest = nullptr;  // Ed25519 hashes internally (one-shot EVP_DigestVerify only)
      break;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  bool valid = ctx && EVP_DigestVerifyInit_ex(ctx.get(), &pkey_ctx, digest, nullptr, nullptr, key.public_key.get(),
                                              nullptr) == 1;
  if (valid && key.algorithm == Algorithm::rs256) {
    valid = EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) == 1;
  }
  valid = valid &&
          EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  // A refused signature leaves errors on this thread's OpenSSL queue, which the worker's TLS
  // code would otherwise read as its own.
  if (!valid) ERR_clear_error();
  return valid;
}

std::optional<double> numeric_date(const json::value& value) {
  double seconds;
  if (value.is_int64()) {
    seconds = static_cast<double>(value.get_int64());
  } else if (value.is_uint64()) {
    seconds = static_cast<double>(value.get_uint64());
  } else if (value.is_double()) {
    seconds = value.get_double();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds)) return std::nullopt;
  return seconds;
}

bool audience_accepted(const json::value* aud, const std::vector<std::string>& accepted) {
  if (accepted.empty()) return true;
  if (aud == nullptr) return false;
  auto one = [&](const json::value& value) {
    if (!value.is_string()) return false;
    for (const std::string& audience : accepted) {
      if (value.get_string() == audience) return true;
    }
    return false;
  };
  if (aud->is_string()) return one(*aud);
  if (!aud->is_array()) return false;
  for (const json::value& value : aud->get_array()) {
    if (one(value)) return true;
  }
  return false;
}

// Checks the claims of a verified token; JwtError::none if they pass.
JwtError check_claims(const json::object& claims, const JwtRequirements& requirements,
                      std::chrono::system_clock::time_point now) {
  const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double skew = static_cast<double>(requirements.clock_skew.count());

  const json::value* exp_value = claims.if_contains("exp");
  if (exp_value == nullptr) return JwtError::invalid_claims;
  const std::optional<double> exp = numeric_date(*exp_value);
  if (!exp) return JwtError::invalid_claims;
  std::optional<double> nbf;
  if (const json::value* value = claims.if_contains("nbf")) {
    nbf = numeric_date(*value);
    if (!nbf) return JwtError::invalid_claims;
  }
  if (const json::value* value = claims.if_contains("iat"); value != nullptr && !numeric_date(*value)) {
    return JwtError::invalid_claims;
  }

  if (!(now_seconds < *exp + skew)) return JwtError::expired;
  if (nbf && !(now_seconds >= *nbf - skew)) return JwtError::not_yet_valid;

  const json::value* iss = claims.if_contains("iss");
  if (requirements.issuer.empty() || iss == nullptr || !iss->is_string() || iss->get_string() != requirements.issuer) {
    return JwtError::wrong_issuer;
  }
  if (!audience_accepted(claims.if_contains("aud"), requirements.audiences)) return JwtError::wrong_audience;
  return JwtError::none;
}

// The member at `path` under `object`, trying the longest member name first (see the header).
const json::value* find_claim(const json::object& object, std::string_view path) {
  if (const json::value* whole = object.if_contains(path)) return whole;
  for (std::size_t dot = path.rfind('.'); dot != std::string_view::npos && dot > 0; dot = path.rfind('.', dot - 1)) {
    const json::value* parent = object.if_contains(path.substr(0, dot));
    if (parent == nullptr || !parent->is_object()) continue;
    if (const json::value* found = find_claim(parent->get_object(), path.substr(dot + 1))) return found;
  }
  return nullptr;
}

}  // namespace

std::string_view jwt_error_name(JwtError error) {
  switch (error) {
    case JwtError::none:
      return "none";
    case JwtError::malformed:
      return "malformed";
    case JwtError::unsupported_algorithm:
      return "unsupported_algorithm";
    case JwtError::unknown_kid:
      return "unknown_kid";
    case JwtError::no_matching_key:
      return "no_matching_key";
    case JwtError::bad_signature:
      return "bad_signature";
    case JwtError::invalid_claims:
      return "invalid_claims";
    case JwtError::expired:
      return "expired";
    case JwtError::not_yet_valid:
      return "not_yet_valid";
    case JwtError::wrong_issuer:
      return "wrong_issuer";
    case JwtError::wrong_audience:
      return "wrong_audience";
  }
  return "unknown";
}

std::string_view JwtResult::subject() const {
  const json::value* sub = claims.if_contains("sub");
  if (sub == nullptr || !sub->is_string()) return {};
  return sub->get_string();
}

JwtResult verify(std::string_view token, const KeySet& keys, const JwtRequirements& requirements,
                 std::chrono::system_clock::time_point now) {
  if (token.size() > kMaxTokenBytes) return failure(JwtError::malformed);
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return failure(JwtError::malformed);
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return failure(JwtError::malformed);
  }
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  std::string header_json;
  if (header_part.empty() || !base64url_decode_into(header_part, header_json)) return failure(JwtError::malformed);
  unsigned char parse_buffer[kHeaderParseBuffer];
  json::monotonic_resource header_memory(parse_buffer, sizeof parse_buffer);
  boost::system::error_code ec;
  const json::value header_value = json::parse(header_json, ec, &header_memory);
  if (ec || !header_value.is_object()) return failure(JwtError::malformed);
  const json::object& header = header_value.get_object();

  const json::value* alg_value = header.if_contains("alg");
  if (alg_value == nullptr || !alg_value->is_string()) return failure(JwtError::malformed);
  const std::optional<Algorithm> algorithm = parse_algorithm(alg_value->get_string());
  if (!algorithm) return failure(JwtError::unsupported_algorithm);
  if (const json::value* typ = header.if_contains("typ")) {
    if (!typ->is_string() || !accepted_typ(typ->get_string())) return failure(JwtError::unsupported_algorithm);
  }
  if (header.contains("crit")) return failure(JwtError::unsupported_algorithm);
  const json::value* kid_value = header.if_contains("kid");
  if (kid_value != nullptr && !kid_value->is_string()) return failure(JwtError::malformed);

  if (signature_part.size() > (kMaxSignatureBytes * 4 + 2) / 3) return failure(JwtError::malformed);
  std::string signature_bytes;
  if (!base64url_decode_into(signature_part, signature_bytes)) return failure(JwtError::malformed);
  const std::span<const unsigned char> signature(reinterpret_cast<const unsigned char*>(signature_bytes.data()),
                                                 signature_bytes.size());

  // The payload must decode before any signature work, so a token that cannot be valid costs
  // no public-key operation.
  std::string payload_json;
  if (!base64url_decode_into(payload_part, payload_json)) return failure(JwtError::malformed);

  const VerificationKey* verified_by = nullptr;
  bool kid_known = false;
  bool key_of_type = false;
  for (const VerificationKey& key : keys.keys()) {
    if (kid_value != nullptr) {
      if (key.kid != kid_value->get_string()) continue;
      kid_known = true;
    }
    if (key.algorithm != *algorithm) continue;
    key_of_type = true;
    if (signature_valid(key, signing_input, signature)) {
      verified_by = &key;
      break;
    }
  }
  if (verified_by == nullptr) {
    if (kid_value != nullptr && !kid_known) return failure(JwtError::unknown_kid);
    if (!key_of_type) return failure(JwtError::no_matching_key);
    return failure(JwtError::bad_signature);
  }

  json::value payload = json::parse(payload_json, ec);
  if (ec || !payload.is_object()) return failure(JwtError::malformed);
  if (const JwtError claims_error = check_claims(payload.get_object(), requirements, now);
      claims_error != JwtError::none) {
    return failure(claims_error);
  }
  JwtResult result;
  result.claims = std::move(payload.get_object());
  result.key_id = verified_by->kid;
  return result;
}

std::optional<std::string> claim_as_string(const json::object& claims, std::string_view path) {
  const json::value* claim = find_claim(claims, path);
  if (claim == nullptr) return std::nullopt;
  if (claim->is_string()) {
    if (claim->get_string().size() > kMaxClaimStringBytes) return std::nullopt;
    return std::string(claim->get_string());
  }
  if (!claim->is_array()) return std::nullopt;
  std::string joined;
  bool first = true;
  for (const json::value& element : claim->get_array()) {
    if (!element.is_string()) return std::nullopt;
    if (joined.size() + element.get_string().size() + (first ? 0 : 1) > kMaxClaimStringBytes) return std::nullopt;
    if (!first) joined.push_back(',');
    joined += element.get_string();
    first = false;
  }
  return joined;
}

}  // namespace sluice::auth
