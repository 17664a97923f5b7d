#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "auth/base64url.hpp"
#include "auth/jwks.hpp"

// Keys are generated when the suite starts (RSA 2048, EC P-256, Ed25519); their JWKs are built
// from the public parameters OpenSSL reports, and tokens are signed here by a small signer that
// shares nothing with src/auth but OpenSSL. Two published vectors (RFC 7515 A.3 for ES256,
// RFC 8037 A.4 for EdDSA) check the verifier against signatures made elsewhere.

namespace sluice::auth {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::system_clock;

std::string b64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (bytes.size() - i == 1) {
    const auto v = static_cast<unsigned char>(bytes[i]) << 16;
    for (int shift : {18, 12}) out.push_back(kAlphabet[(v >> shift) & 63]);
  } else if (bytes.size() - i == 2) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    for (int shift : {18, 12, 6}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  return out;
}

std::string bn_param(EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
  std::string bytes(pad_to > 0 ? pad_to : BN_num_bytes(bn), '\0');
  if (pad_to > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), pad_to);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  }
  BN_free(bn);
  return bytes;
}

std::string octet_param(EVP_PKEY* key, const char* name) {
  unsigned char buffer[256];
  std::size_t length = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key, name, buffer, sizeof buffer, &length), 1) << name;
  return std::string(reinterpret_cast<char*>(buffer), length);
}

// A private key generated for the suite, with its public JWK.
struct TestKey {
  EvpPkeyPtr key;
  Algorithm algorithm;
  std::string kid;

  json::object jwk() const {
    json::object jwk;
    jwk["kid"] = kid;
    jwk["use"] = "sig";
    switch (algorithm) {
      case Algorithm::rs256:
        jwk["kty"] = "RSA";
        jwk["alg"] = "RS256";
        jwk["n"] = b64url(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N));
        jwk["e"] = b64url(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E));
        break;
      case Algorithm::es256:
        jwk["kty"] = "EC";
        jwk["crv"] = "P-256";
        jwk["x"] = b64url(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
        jwk["y"] = b64url(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
        break;
      case Algorithm::eddsa:
        jwk["kty"] = "OKP";
        jwk["crv"] = "Ed25519";
        jwk["x"] = b64url(octet_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY));
        break;
    }
    return jwk;
  }

  // The raw JWS signature over `input`: PKCS#1 v1.5, r || s, or Ed25519.
  std::string sign(std::string_view input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const char* digest = algorithm == Algorithm::eddsa ? nullptr : "SHA256";
    EXPECT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, digest, nullptr, nullptr, key.get(), nullptr), 1);
    std::size_t length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &length, data, input.size()), 1);
    std::string signature(length, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length, data, input.size()), 1);
    signature.resize(length);
    EVP_MD_CTX_free(ctx);
    if (algorithm != Algorithm::es256) return signature;
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(parsed);
    return raw;
  }
};

TestKey generate(Algorithm algorithm, std::string kid) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case Algorithm::rs256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
      break;
    case Algorithm::es256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::eddsa:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  EXPECT_NE(key, nullptr);
  return TestKey{EvpPkeyPtr(key), algorithm, std::move(kid)};
}

std::string jwks_of(std::initializer_list<const TestKey*> keys) {
  json::array array;
  for (const TestKey* key : keys) array.push_back(key->jwk());
  return json::serialize(json::object{{"keys", std::move(array)}});
}

std::string compact(std::string_view header_json, std::string_view payload_json, std::string_view signature) {
  return b64url(header_json) + "." + b64url(payload_json) + "." + b64url(signature);
}

// A token signed by `key` over exactly these header and payload texts.
std::string signed_token(const TestKey& key, std::string_view header_json, std::string_view payload_json) {
  const std::string input = b64url(header_json) + "." + b64url(payload_json);
  return input + "." + b64url(key.sign(input));
}

constexpr std::int64_t kNow = 1'750'000'000;
const system_clock::time_point kNowTime = system_clock::time_point(std::chrono::seconds(kNow));
constexpr std::string_view kIssuer = "https://idp.example.com";

json::object good_claims() {
  return {{"iss", kIssuer},    {"sub", "alice"},   {"aud", "sluice"},
          {"exp", kNow + 300}, {"iat", kNow - 10}, {"nbf", kNow - 10}};
}

std::string header_for(const TestKey& key) {
  return json::serialize(json::object{{"alg", algorithm_name(key.algorithm)}, {"typ", "JWT"}, {"kid", key.kid}});
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa = new TestKey(generate(Algorithm::rs256, "rsa-1"));
    ec = new TestKey(generate(Algorithm::es256, "ec-1"));
    ed = new TestKey(generate(Algorithm::eddsa, "ed-1"));
    auto parsed = parse_jwks(jwks_of({rsa, ec, ed}));
    ASSERT_TRUE(parsed.error.empty()) << parsed.error;
    key_set = new std::shared_ptr<const KeySet>(parsed.key_set);
  }
  static void TearDownTestSuite() {
    delete key_set;
    delete rsa;
    delete ec;
    delete ed;
  }

  static JwtRequirements requirements() { return JwtRequirements{std::string(kIssuer), {"sluice"}, 60s}; }

  static std::string token(const TestKey& key, const json::object& claims) {
    return signed_token(key, header_for(key), json::serialize(claims));
  }

  static JwtResult check(std::string_view token, const JwtRequirements& req = requirements()) {
    return verify(token, **key_set, req, kNowTime);
  }

  static inline TestKey* rsa = nullptr;
  static inline TestKey* ec = nullptr;
  static inline TestKey* ed = nullptr;
  static inline std::shared_ptr<const KeySet>* key_set = nullptr;
};

TEST_F(JwtTest, EachAlgorithmVerifies) {
  for (const TestKey* key : {rsa, ec, ed}) {
    const JwtResult result = check(token(*key, good_claims()));
    ASSERT_TRUE(result.ok()) << algorithm_name(key->algorithm) << ": " << result.message;
    EXPECT_EQ(result.subject(), "alice");
    EXPECT_EQ(result.key_id, key->kid);
    EXPECT_EQ(result.claims.at("iss").as_string(), kIssuer);
    EXPECT_TRUE(result.message.empty());
  }
}

TEST_F(JwtTest, ModifiedPayloadFailsSignature) {
  for (const TestKey* key : {rsa, ec, ed}) {
    const std::string original = token(*key, good_claims());
    json::object forged = good_claims();
    forged["sub"] = "alicf";  // one byte of the payload changed, the signature kept
    const std::size_t dot1 = original.find('.');
    const std::size_t dot2 = original.rfind('.');
    const std::string tampered = original.substr(0, dot1 + 1) + b64url(json::serialize(forged)) + original.substr(dot2);
    const JwtResult result = check(tampered);
    EXPECT_EQ(result.error, JwtError::bad_signature) << algorithm_name(key->algorithm);
    EXPECT_TRUE(result.claims.empty());
  }
}

TEST_F(JwtTest, AlgNoneIsRejected) {
  const std::string payload = json::serialize(good_claims());
  EXPECT_EQ(check(compact(R"({"alg":"none","typ":"JWT"})", payload, "")).error, JwtError::unsupported_algorithm);
  EXPECT_EQ(check(compact(R"({"alg":"none","kid":"rsa-1"})", payload, "")).error, JwtError::unsupported_algorithm);
  EXPECT_EQ(check(compact(R"({"alg":"None"})", payload, "")).error, JwtError::unsupported_algorithm);
}

// The classic confusion: HS256 with the verifier's RSA public key (as PEM, or as the raw
// modulus) used as the HMAC secret.
TEST_F(JwtTest, Hs256WithThePublicKeyAsSecretIsRejected) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, rsa->key.get()), 1);
  char* pem_data = nullptr;
  const long pem_length = BIO_get_mem_data(bio, &pem_data);
  const std::string pem(pem_data, static_cast<std::size_t>(pem_length));
  BIO_free(bio);
  const std::string modulus = bn_param(rsa->key.get(), OSSL_PKEY_PARAM_RSA_N);

  for (const std::string& secret : {pem, modulus}) {
    for (std::string_view header : {R"({"alg":"HS256","typ":"JWT","kid":"rsa-1"})", R"({"alg":"HS256"})"}) {
      const std::string input = b64url(header) + "." + b64url(json::serialize(good_claims()));
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_length = 0;
      ASSERT_NE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_length),
                nullptr);
      const std::string forged = input + "." + b64url(std::string(reinterpret_cast<char*>(mac), mac_length));
      EXPECT_EQ(check(forged).error, JwtError::unsupported_algorithm);
    }
  }
}

TEST_F(JwtTest, OtherAlgorithmsAreRejected) {
  const std::string payload = json::serialize(good_claims());
  for (std::string_view alg : {"RS384", "PS256", "ES384", "HS512", "rs256", "Ed25519"}) {
    const std::string header = json::serialize(json::object{{"alg", alg}});
    EXPECT_EQ(check(signed_token(*rsa, header, payload)).error, JwtError::unsupported_algorithm) << alg;
  }
}

TEST_F(JwtTest, UnknownKidIsReportedAsSuch) {
  const std::string header = R"({"alg":"RS256","kid":"rsa-2"})";
  const JwtResult result = check(signed_token(*rsa, header, json::serialize(good_claims())));
  EXPECT_EQ(result.error, JwtError::unknown_kid);
  EXPECT_EQ(jwt_error_name(result.error), "unknown_kid");
}

TEST_F(JwtTest, KidOfAKeyOfAnotherTypeFindsNoKey) {
  // alg RS256 naming the EC key: never tried as RSA, never verified.
  const std::string header = R"({"alg":"RS256","kid":"ec-1"})";
  EXPECT_EQ(check(signed_token(*rsa, header, json::serialize(good_claims()))).error, JwtError::no_matching_key);
}

TEST_F(JwtTest, WithoutKidEveryKeyOfTheAlgorithmIsTried) {
  const TestKey second = generate(Algorithm::rs256, "rsa-2");
  auto parsed = parse_jwks(jwks_of({rsa, &second}));
  ASSERT_TRUE(parsed.key_set);
  const std::string token = signed_token(second, R"({"alg":"RS256"})", json::serialize(good_claims()));
  const JwtResult result = verify(token, *parsed.key_set, requirements(), kNowTime);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.key_id, "rsa-2");
  // Without a kid, a set with no RSA key has nothing to try.
  auto only_ec = parse_jwks(jwks_of({ec}));
  EXPECT_EQ(verify(token, *only_ec.key_set, requirements(), kNowTime).error, JwtError::no_matching_key);
}

TEST_F(JwtTest, ExpiredTokenIsRejected) {
  json::object claims = good_claims();
  claims["exp"] = kNow - 61;
  EXPECT_EQ(check(token(*ec, claims)).error, JwtError::expired);
  claims["exp"] = kNow - 60;  // now == exp + skew: expired (now must be before)
  EXPECT_EQ(check(token(*ec, claims)).error, JwtError::expired);
}

TEST_F(JwtTest, ExpWithinSkewIsAccepted) {
  json::object claims = good_claims();
  claims["exp"] = kNow - 59;
  EXPECT_TRUE(check(token(*ec, claims)).ok());
  claims["exp"] = static_cast<double>(kNow) - 59.5;  // NumericDate may have a fraction
  EXPECT_TRUE(check(token(*ec, claims)).ok());
  JwtRequirements strict = requirements();
  strict.clock_skew = 0s;
  EXPECT_EQ(check(token(*ec, claims), strict).error, JwtError::expired);
}

TEST_F(JwtTest, NotBeforeInTheFutureIsRejected) {
  json::object claims = good_claims();
  claims["nbf"] = kNow + 61;
  EXPECT_EQ(check(token(*ed, claims)).error, JwtError::not_yet_valid);
  claims["nbf"] = kNow + 60;  // now >= nbf - skew
  EXPECT_TRUE(check(token(*ed, claims)).ok());
}

TEST_F(JwtTest, WrongOrMissingIssuerIsRejected) {
  json::object claims = good_claims();
  claims["iss"] = "https://idp.example.com/";
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::wrong_issuer);
  claims["iss"] = 1;
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::wrong_issuer);
  claims.erase("iss");
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::wrong_issuer);
  // An empty required issuer matches no token, not even one with an empty iss.
  claims["iss"] = "";
  JwtRequirements no_issuer = requirements();
  no_issuer.issuer.clear();
  EXPECT_EQ(check(token(*rsa, claims), no_issuer).error, JwtError::wrong_issuer);
}

TEST_F(JwtTest, WrongAudienceIsRejected) {
  json::object claims = good_claims();
  claims["aud"] = "other";
  EXPECT_EQ(check(token(*ec, claims)).error, JwtError::wrong_audience);
  claims.erase("aud");
  EXPECT_EQ(check(token(*ec, claims)).error, JwtError::wrong_audience);
  claims["aud"] = json::array{"other", 7};
  EXPECT_EQ(check(token(*ec, claims)).error, JwtError::wrong_audience);
}

TEST_F(JwtTest, AudienceArrayNeedsOneAcceptedMember) {
  json::object claims = good_claims();
  claims["aud"] = json::array{"other", "sluice"};
  EXPECT_TRUE(check(token(*ec, claims)).ok());
  JwtRequirements two = requirements();
  two.audiences = {"a", "b"};
  claims["aud"] = json::array{"x", "b"};
  EXPECT_TRUE(check(token(*ec, claims), two).ok());
  // An empty list of audiences does not look at aud at all.
  JwtRequirements unchecked = requirements();
  unchecked.audiences.clear();
  claims["aud"] = 42;
  EXPECT_TRUE(check(token(*ec, claims), unchecked).ok());
}

TEST_F(JwtTest, ExpIsRequiredAndNumeric) {
  json::object claims = good_claims();
  claims.erase("exp");
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::invalid_claims);
  claims["exp"] = std::to_string(kNow + 300);
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::invalid_claims);
  claims["exp"] = kNow + 300;
  claims["nbf"] = "soon";
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::invalid_claims);
  claims["nbf"] = kNow;
  claims["iat"] = nullptr;
  EXPECT_EQ(check(token(*rsa, claims)).error, JwtError::invalid_claims);
}

TEST_F(JwtTest, OversizedTokenIsRejectedBeforeVerifying) {
  json::object claims = good_claims();
  claims["padding"] = std::string(6000, 'x');  // ~8.1 KiB once base64url-encoded
  const std::string big = token(*ed, claims);
  ASSERT_GT(big.size(), kMaxTokenBytes);
  EXPECT_EQ(check(big).error, JwtError::malformed);
  claims["padding"] = std::string(5000, 'x');
  const std::string fits = token(*ed, claims);
  ASSERT_LE(fits.size(), kMaxTokenBytes);
  EXPECT_TRUE(check(fits).ok());
}

TEST_F(JwtTest, MalformedBase64IsRejected) {
  const std::string good = token(*rsa, good_claims());
  const std::size_t dot2 = good.rfind('.');
  EXPECT_TRUE(check(good).ok());
  EXPECT_EQ(check(good + "=").error, JwtError::malformed);                        // padding
  EXPECT_EQ(check(good.substr(0, dot2) + ".ab+/cd").error, JwtError::malformed);  // standard alphabet
  EXPECT_EQ(check(good.substr(0, dot2 + 1) + "!" + good.substr(dot2 + 2)).error, JwtError::malformed);
  EXPECT_EQ(check("*" + good.substr(1)).error, JwtError::malformed);
  EXPECT_EQ(check(good + ".").error, JwtError::malformed);            // four parts
  EXPECT_EQ(check(good.substr(0, dot2)).error, JwtError::malformed);  // two parts
  EXPECT_EQ(check(" " + good).error, JwtError::malformed);
  EXPECT_EQ(check("").error, JwtError::malformed);
  EXPECT_EQ(check("..").error, JwtError::malformed);
}

TEST_F(JwtTest, HeaderThatIsNotAJsonObjectIsRejected) {
  const std::string payload = json::serialize(good_claims());
  EXPECT_EQ(check(signed_token(*rsa, "{\"alg\":\"RS256\"", payload)).error, JwtError::malformed);
  EXPECT_EQ(check(signed_token(*rsa, "[\"RS256\"]", payload)).error, JwtError::malformed);
  EXPECT_EQ(check(signed_token(*rsa, "RS256", payload)).error, JwtError::malformed);
  EXPECT_EQ(check(signed_token(*rsa, R"({"typ":"JWT"})", payload)).error, JwtError::malformed);
  EXPECT_EQ(check(signed_token(*rsa, R"({"alg":"RS256","kid":7})", payload)).error, JwtError::malformed);
}

TEST_F(JwtTest, PayloadThatIsNotAJsonObjectIsRejected) {
  const std::string header = header_for(*rsa);
  EXPECT_EQ(check(signed_token(*rsa, header, "[1,2]")).error, JwtError::malformed);
  EXPECT_EQ(check(signed_token(*rsa, header, "{\"exp\":")).error, JwtError::malformed);
}

TEST_F(JwtTest, TypAndCritHeaders) {
  const std::string payload = json::serialize(good_claims());
  for (std::string_view typ : {"JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "application/JWT"}) {
    const std::string header = json::serialize(json::object{{"alg", "ES256"}, {"typ", typ}});
    EXPECT_TRUE(check(signed_token(*ec, header, payload)).ok()) << typ;
  }
  for (std::string_view typ : {"JOSE", "dpop+jwt", "application/", ""}) {
    const std::string header = json::serialize(json::object{{"alg", "ES256"}, {"typ", typ}});
    EXPECT_EQ(check(signed_token(*ec, header, payload)).error, JwtError::unsupported_algorithm) << typ;
  }
  EXPECT_EQ(check(signed_token(*ec, R"({"alg":"ES256","crit":["exp"],"exp":1})", payload)).error,
            JwtError::unsupported_algorithm);
}

TEST_F(JwtTest, Es256SignatureOfWrongLengthIsRejected) {
  const std::string header = header_for(*ec);
  const std::string input = b64url(header) + "." + b64url(json::serialize(good_claims()));
  const std::string raw = ec->sign(input);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_TRUE(check(input + "." + b64url(raw)).ok());
  EXPECT_EQ(check(input + "." + b64url(raw.substr(0, 63))).error, JwtError::bad_signature);
  EXPECT_EQ(check(input + "." + b64url(raw + '\0')).error, JwtError::bad_signature);
  EXPECT_EQ(check(input + "." + b64url('\0' + raw)).error, JwtError::bad_signature);
  EXPECT_EQ(check(input + "." + b64url(std::string(64, '\0'))).error, JwtError::bad_signature);
  // The DER form OpenSSL produces is not a JWS signature.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, ec->key.get(), nullptr), 1);
  unsigned char der[80];
  std::size_t der_length = sizeof der;
  ASSERT_EQ(EVP_DigestSign(ctx, der, &der_length, reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EXPECT_EQ(check(input + "." + b64url(std::string(reinterpret_cast<char*>(der), der_length))).error,
            JwtError::bad_signature);
}

TEST_F(JwtTest, SignatureByAnotherKeyOfTheSameKidFails) {
  const TestKey impostor = generate(Algorithm::eddsa, "ed-1");
  EXPECT_EQ(check(token(impostor, good_claims())).error, JwtError::bad_signature);
}

TEST_F(JwtTest, MessagesNeverEchoTheToken) {
  json::object claims = good_claims();
  claims["exp"] = kNow - 3600;
  const std::string expired = token(*rsa, claims);
  const JwtResult result = check(expired);
  ASSERT_EQ(result.error, JwtError::expired);
  EXPECT_FALSE(result.message.empty());
  EXPECT_EQ(result.message.find(expired.substr(0, 10)), std::string_view::npos);
  EXPECT_TRUE(result.claims.empty());
}

// A token signed with a key only the refreshed JWKS has: unknown kid on the old set (the
// caller's cue to refresh), verified on the new one; the retired key's tokens fail on the new.
TEST_F(JwtTest, JwksRotation) {
  const TestKey next = generate(Algorithm::es256, "ec-2");
  auto old_set = parse_jwks(jwks_of({ec}));
  auto new_set = parse_jwks(jwks_of({&next}));
  ASSERT_TRUE(old_set.key_set && new_set.key_set);
  const std::string fresh = token(next, good_claims());
  EXPECT_EQ(verify(fresh, *old_set.key_set, requirements(), kNowTime).error, JwtError::unknown_kid);
  EXPECT_TRUE(verify(fresh, *new_set.key_set, requirements(), kNowTime).ok());
  const std::string retired = token(*ec, good_claims());
  EXPECT_TRUE(verify(retired, *old_set.key_set, requirements(), kNowTime).ok());
  EXPECT_EQ(verify(retired, *new_set.key_set, requirements(), kNowTime).error, JwtError::unknown_kid);
}

// One KeySet shared by several threads verifying at once (the workers' use; run under TSan by
// `make tsan`): every verification succeeds, and a refused one on the same thread leaves the
// others unaffected.
TEST_F(JwtTest, SharedKeySetVerifiesFromManyThreads) {
  const std::string tokens[] = {token(*rsa, good_claims()), token(*ec, good_claims()), token(*ed, good_claims())};
  json::object expired_claims = good_claims();
  expired_claims["exp"] = kNow - 3600;
  const std::string expired = token(*ec, expired_claims);
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        if (check(tokens[(t + i) % 3]).ok()) ++accepted;
        if (check(expired).error == JwtError::expired) ++refused;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 4 * 30);
  EXPECT_EQ(refused.load(), 4 * 30);
}

// RFC 7515 appendix A.3: an ES256 JWS signed elsewhere (r || s as published).
TEST(JwtVectors, Rfc7515AppendixA3Es256) {
  auto parsed = parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                           R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})");
  ASSERT_TRUE(parsed.key_set) << parsed.error;
  const std::string token =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  const JwtRequirements joe{"joe", {}, 60s};
  const auto before_exp = system_clock::time_point(std::chrono::seconds(1300819380 - 100));
  const JwtResult result = verify(token, *parsed.key_set, joe, before_exp);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_TRUE(result.claims.at("http://example.com/is_root").as_bool());
  EXPECT_EQ(verify(token, *parsed.key_set, joe, before_exp + 161s).error, JwtError::expired);
}

// RFC 8037 appendix A.4: an Ed25519 JWS whose payload is text, not claims, so a correct
// signature ends at "malformed" (the payload is read after the signature), a broken one earlier.
TEST(JwtVectors, Rfc8037AppendixA4EdDsa) {
  auto parsed =
      parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})");
  ASSERT_TRUE(parsed.key_set) << parsed.error;
  const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string signature =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  const JwtRequirements any{"x", {}, 60s};
  EXPECT_EQ(verify(input + "." + signature, *parsed.key_set, any, kNowTime).error, JwtError::malformed);
  std::string broken = signature;
  broken[5] = broken[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify(input + "." + broken, *parsed.key_set, any, kNowTime).error, JwtError::bad_signature);
}

TEST(Jwks, UnusableKeysAreSkippedWithWarnings) {
  const TestKey rsa = generate(Algorithm::rs256, "good");
  const json::object good = rsa.jwk();
  json::array keys;
  keys.push_back(json::object{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}});
  json::object encryption = good;
  encryption["use"] = "enc";
  encryption["kid"] = "enc";
  keys.push_back(encryption);
  json::object rs384 = good;
  rs384["alg"] = "RS384";
  keys.push_back(rs384);
  json::object wrap_only = good;
  wrap_only["key_ops"] = json::array{"wrapKey"};
  keys.push_back(wrap_only);
  keys.push_back(json::object{{"kty", "EC"}, {"crv", "P-384"}, {"x", "AAAA"}, {"y", "AAAA"}});
  keys.push_back(json::object{{"kty", "OKP"}, {"crv", "X25519"}, {"x", "AAAA"}});
  // A P-256 "point" that is not on the curve.
  keys.push_back(json::object{
      {"kty", "EC"}, {"crv", "P-256"}, {"x", b64url(std::string(32, '\1'))}, {"y", b64url(std::string(32, '\1'))}});
  json::object bad_base64 = good;
  bad_base64["n"] = "not base64!";
  keys.push_back(bad_base64);
  const TestKey small = [] {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
    return TestKey{EvpPkeyPtr(key), Algorithm::rs256, "weak"};
  }();
  keys.push_back(small.jwk());
  keys.push_back("not an object");
  keys.push_back(good);

  auto parsed = parse_jwks(json::serialize(json::object{{"keys", keys}}));
  ASSERT_TRUE(parsed.key_set) << parsed.error;
  ASSERT_EQ(parsed.key_set->size(), 1u);
  EXPECT_EQ(parsed.key_set->keys()[0].kid, "good");
  EXPECT_TRUE(parsed.key_set->has_kid("good"));
  EXPECT_FALSE(parsed.key_set->has_kid("hmac"));
  ASSERT_EQ(parsed.warnings.size(), keys.size() - 1);
  EXPECT_NE(parsed.warnings[0].find("kid \"hmac\""), std::string::npos) << parsed.warnings[0];
  EXPECT_NE(parsed.warnings[0].find("kty \"oct\""), std::string::npos) << parsed.warnings[0];
  EXPECT_NE(parsed.warnings[1].find("use \"enc\""), std::string::npos) << parsed.warnings[1];
  EXPECT_NE(parsed.warnings[6].find("not on P-256"), std::string::npos) << parsed.warnings[6];
  EXPECT_NE(parsed.warnings[8].find("1024 bits"), std::string::npos) << parsed.warnings[8];

  // The same document without its one usable key is an error, warnings kept.
  keys.pop_back();
  auto none = parse_jwks(json::serialize(json::object{{"keys", keys}}));
  EXPECT_FALSE(none.key_set);
  EXPECT_NE(none.error.find("no usable"), std::string::npos) << none.error;
  EXPECT_EQ(none.warnings.size(), keys.size());
}

TEST(Jwks, PrivateMembersAreIgnored) {
  const TestKey ed = generate(Algorithm::eddsa, "ed");
  json::object jwk = ed.jwk();
  jwk["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
  auto parsed = parse_jwks(json::serialize(json::object{{"keys", json::array{jwk}}}));
  ASSERT_TRUE(parsed.key_set) << parsed.error;
  EXPECT_TRUE(parsed.warnings.empty());
}

TEST(Jwks, DocumentErrors) {
  EXPECT_FALSE(parse_jwks("").error.empty());
  EXPECT_FALSE(parse_jwks("{").error.empty());
  EXPECT_FALSE(parse_jwks("[]").error.empty());
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})").error.empty());
  EXPECT_FALSE(parse_jwks(R"({"keys":[]})").error.empty());

  const TestKey ec = generate(Algorithm::es256, "ec");
  json::array many;
  for (std::size_t i = 0; i <= kMaxJwksKeys; ++i) many.push_back(ec.jwk());
  auto too_many = parse_jwks(json::serialize(json::object{{"keys", many}}));
  EXPECT_FALSE(too_many.key_set);
  EXPECT_NE(too_many.error.find("at most 100"), std::string::npos) << too_many.error;
  many.pop_back();
  EXPECT_TRUE(parse_jwks(json::serialize(json::object{{"keys", many}})).key_set);

  std::string huge = json::serialize(json::object{{"keys", json::array{ec.jwk()}}});
  huge.insert(1, R"("padding":")" + std::string(kMaxJwksBytes, 'x') + R"(",)");
  auto too_big = parse_jwks(huge);
  EXPECT_FALSE(too_big.key_set);
  EXPECT_NE(too_big.error.find("1 MiB"), std::string::npos) << too_big.error;
}

TEST(Base64url, StrictDecoding) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("Zg=="));  // padding
  EXPECT_FALSE(base64url_decode("Zm9"));   // trailing bits not zero ("Zm8" is canonical)
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));  // 4n+1 characters
  EXPECT_FALSE(base64url_decode("+/8"));
  EXPECT_FALSE(base64url_decode("Zm 9v"));
}

TEST(ClaimAsString, StringsArraysAndPaths) {
  const json::object claims = json::parse(R"({
    "sub": "alice",
    "groups": ["eng", "ops"],
    "empty": [],
    "realm_access": {"roles": ["admin", "user"], "level": 3},
    "https://example.com/tenant": "acme",
    "mixed": ["a", 1],
    "number": 7,
    "flag": true,
    "long": ")" + std::string(kMaxClaimStringBytes + 1, 'x') +
                                          R"(",
    "fits": ")" + std::string(kMaxClaimStringBytes, 'x') +
                                          R"("
  })")
                                  .as_object();
  EXPECT_EQ(claim_as_string(claims, "sub"), "alice");
  EXPECT_EQ(claim_as_string(claims, "groups"), "eng,ops");
  EXPECT_EQ(claim_as_string(claims, "empty"), "");
  EXPECT_EQ(claim_as_string(claims, "realm_access.roles"), "admin,user");
  EXPECT_EQ(claim_as_string(claims, "https://example.com/tenant"), "acme");
  EXPECT_FALSE(claim_as_string(claims, "realm_access.level"));
  EXPECT_FALSE(claim_as_string(claims, "realm_access"));
  EXPECT_FALSE(claim_as_string(claims, "realm_access.missing"));
  EXPECT_FALSE(claim_as_string(claims, "missing"));
  EXPECT_FALSE(claim_as_string(claims, "mixed"));
  EXPECT_FALSE(claim_as_string(claims, "number"));
  EXPECT_FALSE(claim_as_string(claims, "flag"));
  EXPECT_FALSE(claim_as_string(claims, "long"));
  EXPECT_EQ(claim_as_string(claims, "fits")->size(), kMaxClaimStringBytes);
  EXPECT_FALSE(claim_as_string(claims, ""));
  EXPECT_FALSE(claim_as_string(claims, "."));
}

TEST(ClaimAsString, JoinedArrayIsBounded) {
  json::object claims;
  json::array items;
  for (int i = 0; i < 400; ++i) items.push_back("abc");  // 400 * 4 - 1 bytes joined
  claims["items"] = items;
  EXPECT_FALSE(claim_as_string(claims, "items"));
  json::array first_empty{"", "b"};
  claims["items"] = first_empty;
  EXPECT_EQ(claim_as_string(claims, "items"), ",b");
}

}  // namespace
}  // namespace sluice::auth
