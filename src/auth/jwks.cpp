#include "auth/jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "auth/base64url.hpp"

namespace sluice::auth {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxKidLength = 256;
constexpr std::size_t kMinRsaModulusBytes = 2048 / 8;
constexpr std::size_t kMaxRsaModulusBytes = 8192 / 8;
constexpr std::size_t kMaxRsaExponentBytes = 8;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;
// How much of a kid a warning quotes.
constexpr std::size_t kKidQuoteLength = 64;

struct BnDeleter {
  void operator()(BIGNUM* bn) const noexcept { BN_free(bn); }
};
struct ParamBuildDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const noexcept { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const noexcept { OSSL_PARAM_free(params); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};

// A key skipped, and why: becomes a warning line.
struct Skipped {
  std::string reason;
};

std::string_view string_member(const json::object& jwk, std::string_view name, bool& wrong_type) {
  const json::value* member = jwk.if_contains(name);
  if (member == nullptr) return {};
  if (!member->is_string()) {
    wrong_type = true;
    return {};
  }
  return member->get_string();
}

// The decoded bytes of a required base64url member, or a reason to skip the key.
std::optional<std::string> required_bytes(const json::object& jwk, std::string_view name, std::string& reason) {
  const json::value* member = jwk.if_contains(name);
  if (member == nullptr || !member->is_string()) {
    reason = "missing or non-string \"" + std::string(name) + "\"";
    return std::nullopt;
  }
  auto bytes = base64url_decode(member->get_string());
  if (!bytes) reason = "\"" + std::string(name) + "\" is not base64url";
  return bytes;
}

EvpPkeyPtr public_key_from_params(const char* type_name, OSSL_PARAM_BLD* builder) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(builder));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return EvpPkeyPtr(key);
}

std::string_view strip_leading_zeros(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

EvpPkeyPtr rsa_key(const json::object& jwk, std::string& reason) {
  auto modulus = required_bytes(jwk, "n", reason);
  if (!modulus) return nullptr;
  auto exponent = required_bytes(jwk, "e", reason);
  if (!exponent) return nullptr;
  const std::string_view n = strip_leading_zeros(*modulus);
  const std::string_view e = strip_leading_zeros(*exponent);
  if (n.size() < kMinRsaModulusBytes || n.size() > kMaxRsaModulusBytes) {
    reason = "RSA modulus of " + std::to_string(n.size() * 8) + " bits (2048 to 8192 accepted)";
    return nullptr;
  }
  if (e.empty() || e.size() > kMaxRsaExponentBytes || (static_cast<unsigned char>(e.back()) & 1) == 0 ||
      (e.size() == 1 && e.front() == '\x01')) {
    reason = "RSA exponent out of range";
    return nullptr;
  }
  const auto* n_bytes = reinterpret_cast<const unsigned char*>(n.data());
  const auto* e_bytes = reinterpret_cast<const unsigned char*>(e.data());
  std::unique_ptr<BIGNUM, BnDeleter> n_bn(BN_bin2bn(n_bytes, static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> e_bn(BN_bin2bn(e_bytes, static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildDeleter> builder(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    reason = "RSA key could not be built";
    return nullptr;
  }
  EvpPkeyPtr key = public_key_from_params("RSA", builder.get());
  if (!key) reason = "RSA key rejected by OpenSSL";
  return key;
}

EvpPkeyPtr p256_key(const json::object& jwk, std::string& reason) {
  auto x = required_bytes(jwk, "x", reason);
  if (!x) return nullptr;
  auto y = required_bytes(jwk, "y", reason);
  if (!y) return nullptr;
  if (x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    reason = "P-256 coordinates must be 32 bytes each";
    return nullptr;
  }
  // The uncompressed point (SEC 1): 0x04 || x || y. OpenSSL checks that it is on the curve.
  std::string point;
  point.reserve(1 + 2 * kP256CoordinateBytes);
  point.push_back('\x04');
  point += *x;
  point += *y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildDeleter> builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    reason = "EC key could not be built";
    return nullptr;
  }
  EvpPkeyPtr key = public_key_from_params("EC", builder.get());
  if (!key) reason = "EC point rejected by OpenSSL (not on P-256)";
  return key;
}

EvpPkeyPtr ed25519_key(const json::object& jwk, std::string& reason) {
  auto x = required_bytes(jwk, "x", reason);
  if (!x) return nullptr;
  if (x->size() != kEd25519KeyBytes) {
    reason = "Ed25519 public key must be 32 bytes";
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildDeleter> builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, x->data(), x->size()) != 1) {
    reason = "Ed25519 key could not be built";
    return nullptr;
  }
  EvpPkeyPtr key = public_key_from_params("ED25519", builder.get());
  if (!key) reason = "Ed25519 key rejected by OpenSSL";
  return key;
}

bool key_ops_allow_verify(const json::value& key_ops) {
  if (!key_ops.is_array()) return false;
  for (const json::value& op : key_ops.get_array()) {
    if (op.is_string() && op.get_string() == "verify") return true;
  }
  return false;
}

// The usable key `jwk` describes, or the reason it is skipped.
std::variant<VerificationKey, Skipped> read_key(const json::value& entry) {
  if (!entry.is_object()) return Skipped{"not a JSON object"};
  const json::object& jwk = entry.get_object();
  bool wrong_type = false;
  const std::string_view kty = string_member(jwk, "kty", wrong_type);
  const std::string_view kid = string_member(jwk, "kid", wrong_type);
  const std::string_view use = string_member(jwk, "use", wrong_type);
  const std::string_view alg = string_member(jwk, "alg", wrong_type);
  const std::string_view crv = string_member(jwk, "crv", wrong_type);
  if (wrong_type) return Skipped{"kty, kid, use, alg or crv is not a string"};
  if (kid.size() > kMaxKidLength) return Skipped{"kid longer than 256 bytes"};
  if (jwk.contains("use") && use != "sig") return Skipped{"use \"" + std::string(use) + "\" is not \"sig\""};
  if (const json::value* key_ops = jwk.if_contains("key_ops"); key_ops != nullptr && !key_ops_allow_verify(*key_ops)) {
    return Skipped{"key_ops does not include \"verify\""};
  }

  Algorithm algorithm;
  if (kty == "RSA") {
    algorithm = Algorithm::rs256;
  } else if (kty == "EC") {
    if (crv != "P-256") return Skipped{"EC curve \"" + std::string(crv) + "\" not supported (P-256 only)"};
    algorithm = Algorithm::es256;
  } else if (kty == "OKP") {
    if (crv != "Ed25519") return Skipped{"OKP curve \"" + std::string(crv) + "\" not supported (Ed25519 only)"};
    algorithm = Algorithm::eddsa;
  } else {
    return Skipped{"kty \"" + std::string(kty) + "\" not supported"};
  }
  if (jwk.contains("alg") && alg != algorithm_name(algorithm)) {
    return Skipped{"alg \"" + std::string(alg) + "\" not supported for kty " + std::string(kty)};
  }

  std::string reason;
  EvpPkeyPtr key;
  switch (algorithm) {
    case Algorithm::rs256:
      key = rsa_key(jwk, reason);
      break;
    case Algorithm::es256:
      key = p256_key(jwk, reason);
      break;
    case Algorithm::eddsa:
      key = ed25519_key(jwk, reason);
      break;
  }
  if (!key) return Skipped{std::move(reason)};
  return VerificationKey{std::string(kid), algorithm, std::move(key)};
}

std::string key_label(std::size_t index, const json::value& entry) {
  std::string label = "key " + std::to_string(index);
  if (entry.is_object()) {
    const json::value* kid = entry.get_object().if_contains("kid");
    if (kid != nullptr && kid->is_string()) {
      const std::string_view text = kid->get_string();
      label += " (kid \"" + std::string(text.substr(0, kKidQuoteLength)) +
               (text.size() > kKidQuoteLength ? "...\")" : "\")");
    }
  }
  return label;
}

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::rs256:
      return "RS256";
    case Algorithm::es256:
      return "ES256";
    case Algorithm::eddsa:
      return "EdDSA";
  }
  return "";
}

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const noexcept {
  EVP_PKEY_free(key);
}

bool KeySet::has_kid(std::string_view kid) const {
  for (const VerificationKey& key : keys_) {
    if (key.kid == kid) return true;
  }
  return false;
}

KeySetParseResult parse_jwks(std::string_view document) {
  KeySetParseResult result;
  if (document.size() > kMaxJwksBytes) {
    result.error = "JWKS document larger than 1 MiB";
    return result;
  }
  boost::system::error_code ec;
  const json::value root = json::parse(document, ec);
  if (ec) {
    result.error = "JWKS document is not valid JSON";
    return result;
  }
  const json::value* keys = root.is_object() ? root.get_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    result.error = "JWKS document has no \"keys\" array";
    return result;
  }
  const json::array& entries = keys->get_array();
  if (entries.size() > kMaxJwksKeys) {
    result.error = "JWKS document has " + std::to_string(entries.size()) + " keys (at most 100)";
    return result;
  }
  std::vector<VerificationKey> usable;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto key = read_key(entries[i]);
    if (auto* skipped = std::get_if<Skipped>(&key)) {
      result.warnings.push_back(key_label(i, entries[i]) + " skipped: " + skipped->reason);
    } else {
      usable.push_back(std::move(std::get<VerificationKey>(key)));
    }
  }
  // Keys OpenSSL refused left errors on this thread's queue, which its TLS code would read.
  ERR_clear_error();
  if (usable.empty()) {
    result.error = "JWKS document has no usable signature key (RS256, ES256 or EdDSA)";
    return result;
  }
  result.key_set = std::make_shared<const KeySet>(std::move(usable));
  return result;
}

}  // namespace sluice::auth
