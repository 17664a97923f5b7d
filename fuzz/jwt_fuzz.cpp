// Fuzzes src/auth: the same bytes are verified as a bearer token against a fixed key set (an EC
// P-256 public key, generated once for this file, and the RFC 8037 Ed25519 key), parsed as a JWKS
// document (then a fixed token signed with the P-256 key is verified against whatever set it
// gives), and, when they are a JSON object, read with claim_as_string. Invariants, on arbitrary
// bytes: no crash or sanitizer report; a result is accepted exactly when it has no message, an
// accepted one has its claims (exp, the issuer) and a refused one none; every error has a name;
// a parsed set has 1 to kMaxJwksKeys keys and no error, a refused one an error; claim strings stay
// within kMaxClaimStringBytes. The seeds (fuzz/corpus/jwt/) hold a token this key set accepts.
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "auth/jwks.hpp"
#include "auth/jwt.hpp"

namespace {

namespace auth = sluice::auth;

constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"EC","crv":"P-256","kid":"fuzz-ec","use":"sig","alg":"ES256",)"
    R"("x":"RF9wBKCgvaqF7tM_8oKYe9f6UnAOOFsFh8aGQpz0S8Q","y":"rwr0flttu94kd9ajX3Eo6rzM5ovbC0SF84RS-OaCm1k"},)"
    R"({"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";

// Signed with the P-256 key above: {"alg":"ES256","kid":"fuzz-ec"}, {"iss":..., "sub":"x", "exp":1900000000}.
constexpr std::string_view kToken =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImZ1enotZWMifQ."
    "eyJpc3MiOiJodHRwczovL2lkcC5mdXp6LmV4YW1wbGUiLCJzdWIiOiJ4IiwiZXhwIjoxOTAwMDAwMDAwfQ."
    "2pLmKT7xgEdU5HVw9gX1pRVjara5GxCl0CiC7zE1WzXZA7jvpeXyOQU1BOIuXoTmzruZXrotlVR49ElJ-7-9Bw";

constexpr std::string_view kIssuer = "https://idp.fuzz.example";

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "jwt_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input as a crash artifact
}

const auth::KeySet& fixed_keys() {
  static const auto keys = [] {
    auto parsed = auth::parse_jwks(kJwks);
    if (!parsed.key_set || parsed.key_set->size() != 2) broken("the fixed JWKS does not parse");
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    if (!auth::verify(kToken, *parsed.key_set, {std::string(kIssuer), {}, std::chrono::seconds(60)}, now).ok()) {
      broken("the fixed token does not verify with the fixed JWKS");
    }
    return parsed.key_set;
  }();
  return *keys;
}

void check_result(const auth::JwtResult& result) {
  if (auth::jwt_error_name(result.error) == "unknown") broken("an error without a name");
  if (result.ok() != result.message.empty()) broken("a message on success, or none on failure");
  if (!result.ok()) {
    if (!result.claims.empty()) broken("claims on a refused token");
    return;
  }
  if (!result.claims.contains("exp")) broken("an accepted token without exp");
  const boost::json::value* iss = result.claims.if_contains("iss");
  if (iss == nullptr || !iss->is_string() || iss->get_string() != kIssuer)
    broken("an accepted token of another issuer");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  const auth::JwtRequirements requirements{std::string(kIssuer), {}, std::chrono::seconds(60)};
  const auth::JwtRequirements with_audience{std::string(kIssuer), {"sluice"}, std::chrono::seconds(60)};

  check_result(auth::verify(input, fixed_keys(), requirements, now));
  check_result(auth::verify(input, fixed_keys(), with_audience, now));

  const auth::KeySetParseResult parsed = auth::parse_jwks(input);
  if (parsed.key_set == nullptr) {
    if (parsed.error.empty()) broken("a refused JWKS without an error");
  } else {
    if (!parsed.error.empty()) broken("a parsed JWKS with an error");
    if (parsed.key_set->size() == 0 || parsed.key_set->size() > auth::kMaxJwksKeys) broken("key count out of bounds");
    check_result(auth::verify(kToken, *parsed.key_set, requirements, now));
  }

  boost::system::error_code ec;
  const boost::json::value document = boost::json::parse(input, ec);
  if (!ec && document.is_object()) {
    for (std::string_view path : {"sub", "aud", "realm_access.roles", "a.b.c", "https://x.example/roles", "."}) {
      const auto text = auth::claim_as_string(document.get_object(), path);
      if (text && text->size() > auth::kMaxClaimStringBytes) broken("a claim string over the bound");
    }
  }
  return 0;
}
