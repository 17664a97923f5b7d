// Client authentication: the TrafficPolicy `auth` section — decoded from YAML, its Secret
// references checked, merged for what it is attached to — and its stage, which establishes who
// is calling before anything else of the request happens.
//
//   auth:
//     apiKey:
//       mode: Strict            # Strict (default): no valid key -> 401 | Optional: anonymous allowed
//       headers: [authorization, x-api-key, api-key, x-goog-api-key]   # the default
//       keys:
//       - name: team-a          # the principal id
//         secretRef: {name: team-a-key}    # key apiKey by default; or keyHash: "sha256:<hex>"
//         metadata: {team: a}
//         allowedModels: ["gpt-4o*"]       # exact, prefix*, *suffix, *; default every model
//     jwt:
//       mode: Strict            # as apiKey's
//       providers:
//       - name: corp
//         issuer: https://idp.example.com  # the token's iss, exactly
//         audiences: [sluice]               # one must be in its aud; default: aud not checked
//         jwks: {file: jwks.json}           # or inline: "<JWKS JSON>"; read and parsed at load
//                                           # or remote: {url, cacheDuration: 5m, caCertificateRef}
//                                           # fetched in the background (policy/jwks_fetcher.hpp)
//         principalClaim: sub               # the principal id; default sub
//         claimsToMetadata: {team: groups}  # principal metadata from claims
//         allowedModels: ["gpt-4o*"]        # as a key's, for every caller of the provider
//         allowedModelsClaim: models        # when the token has it, it replaces allowedModels
//     metricsLabels: [id, team]   # sluice_principal_*_total labels: id or metadata names
//
// The stage (RequestHead) reads the first configured header present (`authorization` only with
// the Bearer scheme), hashes the key with SHA-256 and looks the digest up among the configured
// keys' digests (raw keys from Secrets are hashed when the snapshot is built, so no raw key is
// kept), then compares the whole digest in constant time. A match sets the request's principal;
// the header it was read from is removed from what goes upstream. No credential: 401 (Strict) or
// an anonymous request (Optional); a credential that matches no key: 401 in either mode. With
// any key restricted to some models, a RequestBody step answers 403 `model_not_allowed` for a
// model the principal may not use. Errors are in the client's schema, with WWW-Authenticate.
//
// JWTs are read from the same headers. With both methods configured, a credential shaped like a
// JWT (three base64url parts) is verified as one, anything else looked up as an API key; with
// jwt alone every credential is a token. A token is verified by policy/jwt_authenticator.hpp
// (the providers in order; a per-worker cache of verified tokens); its principal lives in the
// request's stage state. A bad token: 401 `invalid_token` with the reason (a fixed text) in the
// body and in WWW-Authenticate's error_description. No credential at all passes as anonymous
// only when every configured method is Optional.
//
// Every refusal names its reason for sluice_auth_failures_total (RequestRecord::auth_failure:
// missing, invalid, expired, keys_unavailable, model_not_allowed); with metricsLabels, an
// accepted request carries its principal's label text (RequestRecord::principal_labels:
// computed once per key for API keys, per request for JWTs).
//
// Keys change with a reload and take effect at once: the stage is rebuilt with the snapshot (a
// JWKS file is read again then; the token caches start empty). Merging is field by field
// (apiKey: mode, headers, keys; jwt: mode, providers; metricsLabels), the specific policy's
// field winning.
// Pure functions over the immutable config. The stage is shared by every worker; its only
// mutable part is the token caches, one per worker index, each touched by its worker alone.
#pragma once

#include <memory>
#include <string_view>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"

namespace sluice::config {
class Diagnostics;
}

namespace sluice::policy {

struct AuthSection {
  using Value = config::AuthPolicy;
  static constexpr std::string_view key = "auth";
  static constexpr auto field = &config::TrafficPolicy::auth;
  static constexpr std::string_view every_branch =
      "{apiKey: {mode: Strict, headers: [x-api-key], keys: [{name: k, secretRef: {name: keys, key: apiKey}, "
      "metadata: {}, allowedModels: ['*']}, "
      "{name: h, keyHash: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'}]}, "
      "jwt: {mode: Strict, providers: [{name: p, issuer: i, audiences: [a], principalClaim: sub, "
      "claimsToMetadata: {team: groups}, allowedModels: ['*'], allowedModelsClaim: models, "
      "jwks: {inline: '{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", "
      "\"x\": \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}'}}, "
      "{name: r, issuer: i, jwks: {remote: {url: 'https://idp.example.com/jwks', cacheDuration: 5m, "
      "caCertificateRef: {name: keys, key: ca.crt}}}}]}, "
      "metricsLabels: [id]}";
  static Value decode(config::YamlMap& section);
  // Each key has exactly one of secretRef and keyHash; key names are unique. JWT providers have a
  // non-empty issuer and unique names (jwks is checked, read and parsed by decode).
  static void validate(const Value& value, const config::YamlMap& section);
  static Value merge(const Value& general, const Value& specific);
  static std::shared_ptr<const pipeline::Stage> make_stage(Value merged, const SectionContext& context);
  // The Secrets named by secretRef exist and hold a non-empty key.
  static void check_references(const Value& value, const config::TrafficPolicy& policy, const config::Config& config,
                               config::Diagnostics& diags);
};

// The headers a key is read from when `headers` is not set.
inline constexpr std::string_view kDefaultCredentialHeaders[] = {"authorization", "x-api-key", "api-key",
                                                                 "x-goog-api-key"};

}  // namespace sluice::policy
