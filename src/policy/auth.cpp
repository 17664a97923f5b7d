#include "policy/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <vector>

#include "auth/jwks.hpp"
#include "auth/remote_key_set.hpp"
#include "config/diagnostics.hpp"
#include "config/yaml_reader.hpp"
#include "http/syntax.hpp"
#include "observe/metric_series.hpp"
#include "policy/jwt_authenticator.hpp"
#include "policy/targets.hpp"
#include "proxy/worker.hpp"
#include "route/api_path.hpp"

namespace sluice::policy {

namespace {

using pipeline::Phase;
using pipeline::Verdict;

bool is_hex_digest(std::string_view hex) {
  return hex.size() == 64 &&
         std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TokenDigest digest_from_hex(std::string_view hex) {
  TokenDigest digest{};
  for (std::size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<unsigned char>(http::hex_value(hex[2 * i]) << 4 | http::hex_value(hex[2 * i + 1]));
  }
  return digest;
}

void check_model_patterns(const std::vector<std::string>& models, const YAML::Node& node, const std::string& field,
                          const config::DecodeContext& ctx) {
  for (std::size_t i = 0; i < models.size(); ++i)
    if (!pipeline::is_model_pattern(models[i]))
      ctx.error(node[i], field + "[" + std::to_string(i) + "]",
                "\"" + models[i] + "\" is not a model pattern: an exact name, \"prefix*\", \"*suffix\" or \"*\"");
}

config::ApiKeyEntry decode_key(const YAML::Node& node, const std::string& path, const config::DecodeContext& ctx) {
  config::YamlMap m(node, path, ctx, config::Need::Required);
  config::ApiKeyEntry key;
  if (auto name = m.str("name", config::Need::Required)) key.name = *name;
  if (m.has("secretRef")) {
    config::YamlMap ref(m.take("secretRef"), m.field("secretRef"), ctx, config::Need::Required);
    config::SecretKeyRef secret;
    if (auto name = ref.str("name", config::Need::Required)) secret.name = *name;
    secret.key = ref.str("key").value_or("apiKey");
    key.secretRef = std::move(secret);
  }
  if (auto hash = m.str("keyHash")) {
    std::string hex = *hash;
    std::transform(hex.begin(), hex.end(), hex.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
    if (hex.starts_with("sha256:")) hex.erase(0, 7);
    if (is_hex_digest(hex)) {
      key.keyHash = hex;
    } else {
      ctx.error(node["keyHash"], m.field("keyHash"),
                "expected \"sha256:\" and the 64 hex digits of the key's SHA-256 (e.g. the output of "
                "`printf %s \"$KEY\" | sha256sum`)");
    }
  }
  auto metadata = m.take("metadata");
  if (metadata.IsDefined() && !metadata.IsNull()) {
    if (!metadata.IsMap()) {
      ctx.error(metadata, m.field("metadata"), "expected a mapping of names to strings");
    } else {
      for (const auto& item : metadata) {
        const auto name = item.first.IsScalar() ? item.first.Scalar() : std::string();
        if (auto value = config::scalar_string(item.second, m.field("metadata") + "." + name, ctx))
          key.metadata[name] = *value;
      }
    }
  }
  if (auto models = m.strings("allowedModels")) {
    check_model_patterns(*models, node["allowedModels"], m.field("allowedModels"), ctx);
    key.allowedModels = std::move(*models);
  }
  return key;
}

std::map<std::string, std::string> string_map(config::YamlMap& m, std::string_view key, std::string_view expected) {
  std::map<std::string, std::string> out;
  auto node = m.take(key);
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) {
    m.ctx().error(node, m.field(key), "expected " + std::string(expected));
    return out;
  }
  for (const auto& item : node) {
    const auto name = item.first.IsScalar() ? item.first.Scalar() : std::string();
    if (auto value = config::scalar_string(item.second, m.field(key) + "." + name, m.ctx())) out[name] = *value;
  }
  return out;
}

// Reads a JWKS file of at most kMaxJwksBytes; nullopt (and why in `error`) otherwise.
std::optional<std::string> read_jwks_file(const std::filesystem::path& path, std::string* error) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    *error = ec ? ec.message() : std::string("not a regular file");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text(auth::kMaxJwksBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// Decodes `jwks` and, for a file or an inline document, parses the key set: an unusable source
// is an error at the field, each skipped key a warning.
config::JwksSource decode_jwks(config::YamlMap& provider) {
  const auto& ctx = provider.ctx();
  config::JwksSource source;
  auto node = provider.take("jwks");
  config::YamlMap m(node, provider.field("jwks"), ctx, config::Need::Required);
  source.file = m.str("file").value_or("");
  source.inlineJwks = m.str("inline").value_or("");
  auto remote_node = m.take("remote");
  config::YamlMap remote(remote_node, m.field("remote"), ctx);
  if (remote.present()) {
    config::RemoteJwks fetched;
    fetched.url = remote.str("url", config::Need::Required).value_or("");
    if (auto cache_duration = remote.duration("cacheDuration")) fetched.cacheDuration = *cache_duration;
    config::YamlMap ca(remote.take("caCertificateRef"), remote.field("caCertificateRef"), ctx);
    if (ca.present()) {
      config::SecretKeyRef ref;
      if (auto name = ca.str("name", config::Need::Required)) ref.name = *name;
      ref.key = ca.str("key").value_or("ca.crt");
      fetched.caCertificate = std::move(ref);
    }
    source.remote = std::move(fetched);
  }
  if (!m.present()) return source;
  const int given = (m.has("file") ? 1 : 0) + (m.has("inline") ? 1 : 0) + (m.has("remote") ? 1 : 0);
  if (given != 1) {
    ctx.error(
        node, provider.field("jwks"),
        given == 0 ? "needs one of file, inline and remote" : "has more than one of file, inline and remote; give one");
    return source;
  }
  if (source.remote) {
    auto& remote_jwks = *source.remote;
    std::string error;
    if (node["remote"]["url"].IsDefined() && !auth::parse_jwks_url(remote_jwks.url, &error))
      ctx.error(node["remote"]["url"], remote.field("url"), error);
    if (remote_jwks.cacheDuration < std::chrono::seconds(1))
      ctx.error(node["remote"]["cacheDuration"], remote.field("cacheDuration"), "must be at least 1s");
    remote_jwks.keys = std::make_shared<auth::RemoteKeySet>(remote_jwks.url, remote_jwks.cacheDuration);
    return source;
  }
  std::string document;
  std::string where;
  YAML::Node at;
  if (m.has("file")) {
    at = node["file"];
    where = m.field("file");
    if (source.file.empty()) {
      ctx.error(at, where, "is empty; give the path of a JWKS file");
      return source;
    }
    std::filesystem::path path(source.file);
    if (path.is_relative()) path = std::filesystem::path(ctx.file).parent_path() / path;
    std::string error;
    auto text = read_jwks_file(path, &error);
    if (!text) {
      ctx.error(at, where, "cannot read the JWKS file \"" + path.string() + "\": " + error);
      return source;
    }
    document = std::move(*text);
    where += " (" + path.string() + ")";
  } else {
    at = node["inline"];
    where = m.field("inline");
    document = source.inlineJwks;
  }
  auto parsed = auth::parse_jwks(document);
  for (const auto& warning : parsed.warnings) ctx.warning(at, where, warning);
  if (!parsed.key_set) {
    ctx.error(at, where, "not a usable JWKS: " + parsed.error);
    return source;
  }
  source.keySet = std::move(parsed.key_set);
  return source;
}

config::JwtProvider decode_provider(const YAML::Node& node, const std::string& path, const config::DecodeContext& ctx) {
  config::YamlMap m(node, path, ctx, config::Need::Required);
  config::JwtProvider provider;
  if (auto name = m.str("name", config::Need::Required)) provider.name = *name;
  if (auto issuer = m.str("issuer", config::Need::Required)) provider.issuer = *issuer;
  if (auto audiences = m.strings("audiences")) provider.audiences = std::move(*audiences);
  provider.jwks = decode_jwks(m);
  if (auto claim = m.str("principalClaim")) provider.principalClaim = *claim;
  provider.claimsToMetadata = string_map(m, "claimsToMetadata", "a mapping of metadata names to claim names");
  if (auto models = m.strings("allowedModels")) {
    check_model_patterns(*models, node["allowedModels"], m.field("allowedModels"), ctx);
    provider.allowedModels = std::move(*models);
  }
  if (auto claim = m.str("allowedModelsClaim")) {
    if (claim->empty()) ctx.error(node["allowedModelsClaim"], m.field("allowedModelsClaim"), "is empty; give a claim");
    provider.allowedModelsClaim = *claim;
  }
  return provider;
}

// The caller a JWT named, kept for the request (the principal it points at is shared with the
// worker's cache of verified tokens); or, for a refused token, the WWW-Authenticate line the
// verdict points at (answered while the request's context lives).
struct JwtCaller final : pipeline::StageState {
  std::shared_ptr<const pipeline::Principal> principal;
  std::string challenge;
};

// Worker indexes past this one verify every token (no cache).
constexpr std::size_t kCachedWorkers = 256;

class AuthStage final : public pipeline::Stage {
 public:
  AuthStage(const config::AuthPolicy& spec, const config::Config& config) {
    if (spec.metricsLabels) metrics_labels_ = *spec.metricsLabels;
    if (spec.jwt) {
      jwt_.emplace(*spec.jwt);
      restricts_models_ = jwt_->restricts_models();
      jwt_optional_ = spec.jwt->mode.value_or(config::AuthMode::Strict) == config::AuthMode::Optional;
      token_caches_.resize(kCachedWorkers);
    }
    if (spec.apiKey) {
      api_keys_ = true;
      api_key_optional_ = spec.apiKey->mode.value_or(config::AuthMode::Strict) == config::AuthMode::Optional;
    }
    if (spec.apiKey && spec.apiKey->headers) {
      for (const auto& h : *spec.apiKey->headers) headers_.push_back(h);
    } else {
      for (const auto h : kDefaultCredentialHeaders) headers_.emplace_back(h);
    }
    for (const auto& name : headers_) {
      auto& removal = removals_.emplace_back();
      removal.remove.push_back(name);
    }
    const auto keys = spec.apiKey && spec.apiKey->keys ? *spec.apiKey->keys : std::vector<config::ApiKeyEntry>{};
    principals_.reserve(keys.size());
    for (const auto& key : keys) {
      TokenDigest digest{};
      if (!key.keyHash.empty()) {
        digest = digest_from_hex(key.keyHash);
      } else if (key.secretRef) {
        const auto secret = config.secrets.find(key.secretRef->name);
        if (secret == config.secrets.end()) continue;  // reported by check_references
        const auto value = secret->second.data.find(key.secretRef->key);
        if (value == secret->second.data.end() || value->second.value.empty() || !value->second.problem.empty())
          continue;
        digest = sha256_digest(value->second.value);
      } else {
        continue;
      }
      principals_.push_back(pipeline::Principal{key.name, key.metadata, key.allowedModels});
      principal_labels_.push_back(metric_labels(principals_.back()));
      restricts_models_ = restricts_models_ || !key.allowedModels.empty();
      digests_.push_back(digest);
    }
    for (std::size_t i = 0; i < digests_.size(); ++i) by_digest_.emplace(digests_[i], i);
  }

  std::string_view name() const override { return "auth"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::RequestHead) | (restricts_models_ ? pipeline::bit(Phase::RequestBody) : 0u);
  }

  Verdict on_request_head(pipeline::RequestContext& request) const override { return authenticate(request); }

  Verdict on_request_body(pipeline::RequestContext& request) const override { return check_model(request); }

 private:
  Verdict authenticate(pipeline::RequestContext& request) const {
    const auto& head = *request.head;
    std::string_view credential;
    std::size_t from = headers_.size();
    for (std::size_t i = 0; i < headers_.size() && from == headers_.size(); ++i) {
      const auto it = head.find(headers_[i]);
      if (it == head.end()) continue;
      std::string_view value = it->value();
      if (headers_[i] == "authorization") {
        // Only the Bearer scheme carries a key; another scheme is not a credential for Sluice.
        if (value.size() <= 7 || !boost::beast::iequals(value.substr(0, 7), "bearer ")) continue;
        value.remove_prefix(7);
      }
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      credential = value;
      from = i;
    }
    // Google's convention: the key in the `key` query parameter (`?key=`), read last. It never
    // travels upstream (the attempt drops it from a forwarded query).
    bool from_query = false;
    if (from == headers_.size()) {
      if (const auto key = route::query_value(request.query, "key"); key && !key->empty()) {
        credential = *key;
        from_query = true;
        request.query_credential = true;
      }
    }
    if (from == headers_.size() && !from_query) {
      // Anonymous only when every configured method allows it.
      if ((!api_keys_ || api_key_optional_) && (!jwt_ || jwt_optional_)) return Verdict::proceed();
      request.record.auth_failure = "missing";
      if (api_keys_)
        return refuse("missing_api_key",
                      "No API key provided: send it as \"Authorization: Bearer <key>\", in one of the headers " +
                          header_list() + " or as ?key=",
                      kChallenge);
      return refuse("missing_token",
                    "No bearer token provided: send it as \"Authorization: Bearer <token>\" or in one of the headers " +
                        header_list(),
                    kChallenge);
    }
    if (!from_query) request.request_header_edits.push_back(&removals_[from]);
    if (jwt_ && (!api_keys_ || looks_like_jwt(credential))) return authenticate_jwt(request, credential);
    const auto digest = sha256_digest(credential);
    const auto it = by_digest_.find(digest);
    if (it == by_digest_.end() || CRYPTO_memcmp(digests_[it->second].data(), digest.data(), digest.size()) != 0) {
      request.record.auth_failure = "invalid";
      return refuse("invalid_api_key", "Invalid API key", kInvalidChallenge);
    }
    const auto& principal = principals_[it->second];
    request.principal = &principal;
    request.record.principal = principal.id;
    request.record.principal_labels = principal_labels_[it->second];
    return Verdict::proceed();
  }

  Verdict authenticate_jwt(pipeline::RequestContext& request, std::string_view token) const {
    // Slot i is touched only by worker i's thread: no lock.
    const auto worker = request.worker.index();
    VerifiedTokenCache* cache = nullptr;
    if (worker < token_caches_.size()) {
      auto& slot = token_caches_[worker];
      if (!slot) slot = std::make_unique<VerifiedTokenCache>();
      cache = slot.get();
    }
    auto outcome = jwt_->authenticate(token, std::chrono::system_clock::now(), cache);
    auto& caller = request.state<JwtCaller>(this);
    if (!outcome.principal) {
      request.record.auth_failure = outcome.keys_unavailable                   ? "keys_unavailable"
                                    : outcome.error == auth::JwtError::expired ? "expired"
                                                                               : "invalid";
      auto verdict = Verdict::fail(http::ApiError{
          401, "invalid_request_error", "invalid_token", "Invalid bearer token: " + std::string(outcome.message), {}});
      caller.challenge = "WWW-Authenticate: Bearer realm=\"sluice\", error=\"invalid_token\", error_description=\"" +
                         std::string(outcome.message) + "\"\r\n";
      verdict.headers = caller.challenge;
      return verdict;
    }
    caller.principal = std::move(outcome.principal);
    request.principal = caller.principal.get();
    request.record.principal = caller.principal->id;
    if (!metrics_labels_.empty()) request.record.principal_labels = metric_labels(*caller.principal);
    return Verdict::proceed();
  }

  Verdict check_model(pipeline::RequestContext& request) const {
    const auto* principal = request.principal;
    if (principal == nullptr || principal->allows(request.info.model)) return Verdict::proceed();
    request.record.auth_failure = "model_not_allowed";
    return Verdict::fail(
        http::ApiError{403, "invalid_request_error", "model_not_allowed",
                       "The caller \"" + principal->id + "\" may not use the model \"" + request.info.model + "\"",
                       std::string("model")});
  }

  static Verdict refuse(std::string_view code, std::string message, std::string_view challenge) {
    auto verdict = Verdict::fail(http::ApiError{401, "invalid_request_error", code, std::move(message), {}});
    verdict.headers = challenge;
    return verdict;
  }

  // The principal's metric labels as Prometheus text; empty when the policy names none.
  std::string metric_labels(const pipeline::Principal& principal) const {
    std::string out;
    for (const auto& name : metrics_labels_) {
      std::string_view value;
      if (name == "id") {
        value = principal.id;
      } else if (const auto it = principal.metadata.find(name); it != principal.metadata.end()) {
        value = it->second;
      }
      out.append(out.empty() ? "" : ",").append(name).append("=\"").append(observe::escape_label_value(value));
      out += '"';
    }
    return out;
  }

  std::string header_list() const {
    std::string out;
    for (const auto& h : headers_) out += (out.empty() ? "" : ", ") + h;
    return out;
  }

  static constexpr std::string_view kChallenge = "WWW-Authenticate: Bearer realm=\"sluice\"\r\n";
  static constexpr std::string_view kInvalidChallenge =
      "WWW-Authenticate: Bearer realm=\"sluice\", error=\"invalid_token\"\r\n";

  bool api_keys_ = false;
  bool api_key_optional_ = false;
  std::optional<JwtAuthenticator> jwt_;
  bool jwt_optional_ = false;
  // One cache of verified tokens per worker, indexed by Worker::index(), created on the worker's
  // first JWT (a worker index past the end verifies every token).
  mutable std::vector<std::unique_ptr<VerifiedTokenCache>> token_caches_;
  bool restricts_models_ = false;
  std::vector<std::string> headers_;
  std::vector<config::HeaderModifier> removals_;  // removals_[i] removes headers_[i] upstream
  std::vector<pipeline::Principal> principals_;
  std::vector<std::string> principal_labels_;  // principal_labels_[i]: principals_[i]'s metric labels
  std::vector<std::string> metrics_labels_;
  std::vector<TokenDigest> digests_;  // digests_[i] is principals_[i]'s key
  std::unordered_map<TokenDigest, std::size_t, TokenDigestHash> by_digest_;
};

}  // namespace

namespace {

config::JwtAuth decode_jwt(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  auto node = section.take("jwt");
  config::YamlMap m(node, section.field("jwt"), ctx);
  config::JwtAuth jwt;
  jwt.mode = m.enumeration<config::AuthMode>(
      "mode", {{"Strict", config::AuthMode::Strict}, {"Optional", config::AuthMode::Optional}});
  auto providers = m.take("providers");
  if (providers.IsDefined() && !providers.IsNull() && config::is_sequence(providers, m.field("providers"), ctx)) {
    std::vector<config::JwtProvider> entries;
    for (std::size_t i = 0; i < providers.size(); ++i)
      entries.push_back(decode_provider(providers[i], m.field("providers") + "[" + std::to_string(i) + "]", ctx));
    jwt.providers = std::move(entries);
  }
  return jwt;
}

}  // namespace

config::AuthPolicy AuthSection::decode(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  config::AuthPolicy auth;
  if (section.has("jwt")) auth.jwt = decode_jwt(section);
  auth.metricsLabels = section.strings("metricsLabels");
  if (!section.has("apiKey")) return auth;
  auto node = section.take("apiKey");
  config::YamlMap m(node, section.field("apiKey"), ctx);
  config::ApiKeyAuth api_key;
  api_key.mode = m.enumeration<config::AuthMode>(
      "mode", {{"Strict", config::AuthMode::Strict}, {"Optional", config::AuthMode::Optional}});
  if (auto headers = m.strings("headers")) {
    for (auto& h : *headers)
      std::transform(h.begin(), h.end(), h.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
    api_key.headers = std::move(*headers);
  }
  auto keys = m.take("keys");
  if (keys.IsDefined() && !keys.IsNull() && config::is_sequence(keys, m.field("keys"), ctx)) {
    std::vector<config::ApiKeyEntry> entries;
    for (std::size_t i = 0; i < keys.size(); ++i)
      entries.push_back(decode_key(keys[i], m.field("keys") + "[" + std::to_string(i) + "]", ctx));
    api_key.keys = std::move(entries);
  }
  auth.apiKey = std::move(api_key);
  return auth;
}

namespace {

// A Prometheus label name Sluice can use for a principal: not reserved (__), not "type" (the
// token counters' own label).
bool prometheus_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__") || name == "type" || (name.front() >= '0' && name.front() <= '9'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Issuers are non-empty, provider names unique, the principal claim named.
void validate_jwt(const config::JwtAuth& jwt, const config::YamlMap& section) {
  if (!jwt.providers) return;
  const auto& ctx = section.ctx();
  const auto node = section.node()["jwt"]["providers"];
  const auto base = section.field("jwt") + ".providers";
  const auto& providers = *jwt.providers;
  if (providers.empty()) ctx.error(node, base, "needs at least one provider");
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const auto field = base + "[" + std::to_string(i) + "]";
    const auto& provider = providers[i];
    if (node[i]["issuer"].IsDefined() && provider.issuer.empty())
      ctx.error(node[i]["issuer"], field + ".issuer", "is empty; give the iss the provider's tokens carry");
    if (node[i]["principalClaim"].IsDefined() && provider.principalClaim.empty())
      ctx.error(node[i]["principalClaim"], field + ".principalClaim", "is empty; give the claim naming the caller");
    for (std::size_t j = 0; j < i; ++j)
      if (!provider.name.empty() && providers[j].name == provider.name)
        ctx.error(node[i]["name"], field + ".name",
                  "\"" + provider.name + "\" is also the name of providers[" + std::to_string(j) + "]");
  }
}

}  // namespace

void AuthSection::validate(const config::AuthPolicy& value, const config::YamlMap& section) {
  if (value.jwt) validate_jwt(*value.jwt, section);
  if (value.metricsLabels) {
    const auto& labels = *value.metricsLabels;
    const auto node = section.node()["metricsLabels"];
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto field = section.field("metricsLabels") + "[" + std::to_string(i) + "]";
      if (!prometheus_label_name(labels[i]))
        section.ctx().error(node[i], field,
                            "\"" + labels[i] +
                                "\" is not a metric label name: \"id\" or a principal metadata name of "
                                "letters, digits and _, not starting with a digit or __, and not \"type\"");
      for (std::size_t j = 0; j < i; ++j)
        if (labels[j] == labels[i]) section.ctx().error(node[i], field, "\"" + labels[i] + "\" is named twice");
    }
  }
  if (!value.apiKey) return;
  const auto& ctx = section.ctx();
  const auto node = section.node()["apiKey"];
  const auto base = section.field("apiKey");
  if (value.apiKey->headers) {
    if (value.apiKey->headers->empty()) ctx.error(node["headers"], base + ".headers", "needs at least one header name");
    for (std::size_t i = 0; i < value.apiKey->headers->size(); ++i)
      if (!http::valid_field_name((*value.apiKey->headers)[i]))
        ctx.error(node["headers"][i], base + ".headers[" + std::to_string(i) + "]",
                  "\"" + (*value.apiKey->headers)[i] + "\" is not an HTTP header name");
  }
  if (!value.apiKey->keys) return;
  const auto& keys = *value.apiKey->keys;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto field = base + ".keys[" + std::to_string(i) + "]";
    const auto& key = keys[i];
    if (key.secretRef && !key.keyHash.empty())
      ctx.error(node["keys"][i], field, "has both secretRef and keyHash; give one");
    if (!key.secretRef && key.keyHash.empty() && !node["keys"][i]["keyHash"].IsDefined())
      ctx.error(node["keys"][i], field, "needs secretRef (the key in a Secret) or keyHash (its SHA-256)");
    for (std::size_t j = 0; j < i; ++j)
      if (!key.name.empty() && keys[j].name == key.name)
        ctx.error(node["keys"][i]["name"], field + ".name",
                  "\"" + key.name + "\" is also the name of keys[" + std::to_string(j) + "]; names identify callers");
  }
}

config::AuthPolicy AuthSection::merge(const config::AuthPolicy& general, const config::AuthPolicy& specific) {
  config::AuthPolicy out = general;
  if (specific.metricsLabels) out.metricsLabels = specific.metricsLabels;
  if (specific.jwt) {
    if (!out.jwt) {
      out.jwt = specific.jwt;
    } else {
      if (specific.jwt->mode) out.jwt->mode = specific.jwt->mode;
      if (specific.jwt->providers) out.jwt->providers = specific.jwt->providers;
    }
  }
  if (!specific.apiKey) return out;
  if (!out.apiKey) {
    out.apiKey = specific.apiKey;
    return out;
  }
  if (specific.apiKey->mode) out.apiKey->mode = specific.apiKey->mode;
  if (specific.apiKey->headers) out.apiKey->headers = specific.apiKey->headers;
  if (specific.apiKey->keys) out.apiKey->keys = specific.apiKey->keys;
  return out;
}

std::shared_ptr<const pipeline::Stage> AuthSection::make_stage(config::AuthPolicy merged,
                                                               const SectionContext& context) {
  if (!merged.apiKey && !merged.jwt) return nullptr;
  return std::make_shared<const AuthStage>(merged, context.config);
}

namespace {

// The header of `headers` that a Passthrough provider of `backend` would also read the client's
// credential from (its auth header, then the four the SDKs use), or empty.
std::string passthrough_conflict(const config::Backend& backend, const std::vector<std::string>& headers) {
  std::vector<const config::LlmProvider*> providers;
  if (backend.type != config::BackendType::AI) return {};
  if (backend.priorityGroups.empty()) providers.push_back(&backend.llm);
  for (const auto& group : backend.priorityGroups)
    for (const auto& p : group.providers) providers.push_back(&p.llm);
  for (const auto* provider : providers) {
    if (provider->authToken.kind != config::AuthKind::Passthrough) continue;
    std::vector<std::string> read(std::begin(kDefaultCredentialHeaders), std::end(kDefaultCredentialHeaders));
    if (provider->authHeader) read.push_back(provider->authHeader->headerName);
    for (const auto& h : headers)
      for (const auto& r : read)
        if (boost::beast::iequals(h, r)) return h;
  }
  return {};
}

// A Passthrough provider behind this policy reading a header the policy reads the Sluice key
// from would forward the Sluice key to the provider.
void check_passthrough(const config::AuthPolicy& value, const config::TrafficPolicy& policy,
                       const config::Config& config, config::Diagnostics& diags) {
  std::vector<std::string> headers;
  if (value.apiKey && value.apiKey->headers) {
    headers = *value.apiKey->headers;
  } else {
    for (const auto h : kDefaultCredentialHeaders) headers.emplace_back(h);
  }
  std::vector<std::string> reported;
  auto check = [&](const std::string& target, const std::string& backend_name, const std::string& field) {
    const auto backend = config.backends.find(backend_name);
    if (backend == config.backends.end()) return;
    const auto header = passthrough_conflict(backend->second, headers);
    if (header.empty() || std::find(reported.begin(), reported.end(), backend_name) != reported.end()) return;
    reported.push_back(backend_name);
    diags.add(config::Diagnostic{
        config::Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(), field,
        target + "Backend \"" + backend_name +
            "\", whose provider passes the client's credential through (authToken.kind: Passthrough) and would "
            "read it from \"" +
            header +
            "\", the header this policy reads the caller's Sluice credential from: that credential would reach the "
            "provider. "
            "Read the Sluice key from another header (spec.auth.apiKey.headers, e.g. [x-sluice-key])"});
  };
  for_each_targeted_backend(
      policy, config, true,
      [&](std::size_t i, const config::RouteRule* rule, const config::HttpRoute* route, const std::string& backend) {
        const auto target = rule == nullptr
                                ? std::string()
                                : "rule \"" + rule->name + "\" of HTTPRoute \"" + route->origin.name + "\" sends to ";
        check(target, backend, "spec.targetRefs[" + std::to_string(i) + "]");
      });
}

}  // namespace

void AuthSection::check_references(const config::AuthPolicy& value, const config::TrafficPolicy& policy,
                                   const config::Config& config, config::Diagnostics& diags) {
  if (!value.apiKey && !value.jwt) return;
  check_passthrough(value, policy, config, diags);
  if (value.jwt && value.jwt->providers) {
    const auto& providers = *value.jwt->providers;
    for (std::size_t i = 0; i < providers.size(); ++i) {
      const auto& remote = providers[i].jwks.remote;
      if (!remote || !remote->caCertificate) continue;
      const auto& ref = *remote->caCertificate;
      const auto secret = config.secrets.find(ref.name);
      const bool found = secret != config.secrets.end() && secret->second.data.contains(ref.key);
      if (!found)
        diags.add(config::Diagnostic{
            config::Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(),
            "spec.auth.jwt.providers[" + std::to_string(i) + "].jwks.remote.caCertificateRef",
            secret == config.secrets.end() ? "Secret \"" + ref.name + "\" not found"
                                           : "Secret \"" + ref.name + "\" has no key \"" + ref.key + "\""});
    }
  }
  if (!value.apiKey || !value.apiKey->keys) return;
  const auto& keys = *value.apiKey->keys;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i].secretRef || keys[i].secretRef->name.empty()) continue;
    const auto& ref = *keys[i].secretRef;
    const auto field = "spec.auth.apiKey.keys[" + std::to_string(i) + "].secretRef";
    auto problem = [&](const std::string& f, std::string message) {
      diags.add(config::Diagnostic{config::Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(),
                                   f, std::move(message)});
    };
    const auto secret = config.secrets.find(ref.name);
    if (secret == config.secrets.end()) {
      problem(field + ".name", "Secret \"" + ref.name + "\" not found");
      continue;
    }
    const auto entry = secret->second.data.find(ref.key);
    if (entry == secret->second.data.end()) {
      problem(field + ".key", "Secret \"" + ref.name + "\" has no key \"" + ref.key + "\"");
    } else if (!entry->second.problem.empty()) {
      problem(field, entry->second.problem);
    } else if (entry->second.value.empty()) {
      problem(field, "Secret \"" + ref.name + "\" key \"" + ref.key + "\" is empty: an empty API key is not accepted");
    }
  }
}

}  // namespace sluice::policy
