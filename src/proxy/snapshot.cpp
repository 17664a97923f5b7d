#include "proxy/snapshot.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "http/tls_client.hpp"
#include "http/tls_server.hpp"
#include "policy/registry.hpp"
#include "proxy/model_catalog.hpp"
#include "proxy/tracing.hpp"
#include "translate/select.hpp"

namespace sluice::proxy {

namespace {

struct SecretLookup {
  const config::Config& config;

  // Returns the value, or nullopt with `reason` naming the Secret and what is wrong.
  std::optional<std::string> get(const config::SecretKeyRef& ref, std::string* reason) const {
    const auto it = config.secrets.find(ref.name);
    if (it == config.secrets.end()) {
      *reason = "Secret \"" + ref.name + "\" not found";
      return std::nullopt;
    }
    const auto key = it->second.data.find(ref.key);
    if (key == it->second.data.end()) {
      *reason = "Secret \"" + ref.name + "\" has no key \"" + ref.key + "\"";
      return std::nullopt;
    }
    if (!key->second.problem.empty()) {
      *reason = key->second.problem;
      return std::nullopt;
    }
    return key->second.value;
  }
  bool has(const config::SecretKeyRef& ref) const {
    const auto it = config.secrets.find(ref.name);
    return it != config.secrets.end() && it->second.data.contains(ref.key);
  }
};

// One context per distinct (verify, CA) pair, each with a pool-key suffix naming those trust
// settings (the verify flag and the SHA-256 of the CA PEM, or the system bundle): connections
// made with one trust configuration are never pooled with another's. The suffix depends on the
// settings only, not on the context object, so a reload that keeps them keeps the connections
// pooled under the previous snapshot's context. Reusing those is safe: each was handshaken and
// verified under the same settings, and an established connection no longer consults its
// context (OpenSSL's SSL holds its own reference to the SSL_CTX it was made from, so it stays
// valid after that snapshot and its context are gone).
class TlsContextCache {
 public:
  struct Entry {
    std::shared_ptr<boost::asio::ssl::context> context;
    std::string trust;  // pool-key suffix
  };

  Entry get(const http::TlsClientSettings& s, std::string* error) {
    const auto trust = std::string(s.verify ? "|verify:" : "|noverify:") +
                       (s.ca_pem ? "ca-sha256=" + provider::sha256_hex(*s.ca_pem) : std::string("system"));
    if (auto it = cache_.find(trust); it != cache_.end()) return it->second;
    Entry entry{http::make_client_tls_context(s, error), trust};
    if (entry.context) cache_.emplace(trust, entry);
    return entry;
  }

 private:
  std::map<std::string, Entry> cache_;
};

UpstreamEndpoint make_endpoint(const std::string& host, std::uint16_t port, const config::BackendTls& tls) {
  UpstreamEndpoint e;
  e.host = host;
  e.port = port;
  e.tls = tls.mode == config::TlsMode::Enabled || (tls.mode == config::TlsMode::Auto && port == 443);
  const bool default_port = port == (e.tls ? 443 : 80);
  const bool v6 = host.find(':') != std::string::npos;
  const auto bracketed = v6 ? "[" + host + "]" : host;
  e.host_header = default_port ? bracketed : bracketed + ":" + std::to_string(port);
  e.display = bracketed + ":" + std::to_string(port);
  if (e.tls) {
    e.sni = !tls.sni.empty() ? tls.sni : (http::is_ip_literal(host) ? std::string() : host);
    e.verify_name = tls.insecureSkipVerify ? std::string() : (!tls.sni.empty() ? tls.sni : host);
  }
  e.pool_key = std::string(e.tls ? "https://" : "http://") + e.display + "|" + e.sni + "|" + e.verify_name;
  return e;
}

// TLS contexts for a runtime's TLS endpoints: one per distinct (verify, CA) pair.
void attach_tls(BackendRuntime& b, const config::Backend& spec, const config::BackendTls& tls,
                const std::string& tls_field, const SecretLookup& secrets, TlsContextCache& tls_cache,
                config::Diagnostics& diags) {
  const bool needs_tls = std::any_of(b.endpoints.begin(), b.endpoints.end(), [](const auto& e) { return e.tls; });
  if (!needs_tls) return;
  http::TlsClientSettings settings;
  settings.verify = !tls.insecureSkipVerify;
  std::string reason;
  if (tls.caCertificate && settings.verify) {
    if (auto pem = secrets.get(*tls.caCertificate, &reason)) {
      settings.ca_pem = *pem;
    } else {
      b.unavailable_reason = "Backend \"" + spec.origin.name + "\" has no CA certificate: " + reason;
      return;
    }
  }
  std::string error;
  auto [ctx, trust] = tls_cache.get(settings, &error);
  if (!ctx) {
    diags.add(config::Diagnostic{config::Severity::Error, spec.origin.file, spec.origin.line, spec.origin.id(),
                                 tls_field + (tls.caCertificate ? ".caCertificateRef" : ""), error});
  }
  for (auto& e : b.endpoints) {
    e.tls_context = ctx;
    e.pool_key += trust;
  }
}

// Gateway spec.redis, resolved: the password from its Secret, the TLS context made. A Secret
// the loader could only warn about (strictSecrets off) leaves the password empty.
std::shared_ptr<const state::RedisEndpoint> resolve_redis(const config::Gateway& gateway, const SecretLookup& secrets,
                                                          TlsContextCache& tls_cache, config::Diagnostics& diags) {
  const auto& spec = *gateway.spec.redis;
  auto endpoint = std::make_shared<state::RedisEndpoint>();
  endpoint->host = spec.host;
  endpoint->port = spec.port;
  endpoint->username = spec.username;
  endpoint->database = spec.database;
  endpoint->timeout = spec.timeout;
  endpoint->key_prefix = spec.keyPrefix;
  std::string reason;
  if (spec.passwordRef) {
    if (auto password = secrets.get(*spec.passwordRef, &reason)) endpoint->password = *password;
  }
  if (spec.tls.mode == config::RedisTlsMode::Enabled) {
    endpoint->tls = true;
    endpoint->sni = !spec.tls.sni.empty() ? spec.tls.sni : (http::is_ip_literal(spec.host) ? std::string() : spec.host);
    endpoint->verify_peer = !spec.tls.insecureSkipVerify;
    http::TlsClientSettings settings;
    settings.verify = endpoint->verify_peer;
    if (spec.tls.caCertificate && settings.verify) {
      if (auto pem = secrets.get(*spec.tls.caCertificate, &reason)) {
        settings.ca_pem = *pem;
        endpoint->ca_pem = *pem;
      }
    }
    std::string error;
    endpoint->tls_context = tls_cache.get(settings, &error).context;
    if (!endpoint->tls_context)
      diags.add(
          config::Diagnostic{config::Severity::Error, gateway.origin.file, gateway.origin.line, gateway.origin.id(),
                             spec.tls.caCertificate ? "spec.redis.tls.caCertificateRef" : "spec.redis.tls", error});
  }
  return endpoint;
}

// Each listener's TLS context (null for a plaintext listener). A listener that cannot get its
// certificate is an error whatever strictSecrets says: it could not serve at all.
std::vector<std::shared_ptr<boost::asio::ssl::context>> compile_listener_tls(const config::Config& cfg,
                                                                             const SecretLookup& secrets,
                                                                             config::Diagnostics& diags) {
  const auto& listeners = cfg.gatewaySpec().listeners;
  std::vector<std::shared_ptr<boost::asio::ssl::context>> out(listeners.size());
  if (!cfg.gateway) return out;
  const auto& origin = cfg.gateway->origin;
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    if (!listeners[i].tls) continue;
    const auto& tls = *listeners[i].tls;
    const auto field = "spec.listeners[" + std::to_string(i) + "].tls";
    auto problem = [&](const std::string& at, const std::string& message) {
      diags.add(config::Diagnostic{config::Severity::Error, origin.file, origin.line, origin.id(), at,
                                   "listener \"" + listeners[i].name + "\": " + message});
    };
    if (tls.certificateSecret.empty()) continue;  // reported as a missing required field
    std::string reason;
    http::TlsServerSettings settings;
    const config::SecretKeyRef crt{tls.certificateSecret, "tls.crt"};
    const config::SecretKeyRef key{tls.certificateSecret, "tls.key"};
    auto crt_pem = secrets.get(crt, &reason);
    if (!crt_pem) {
      problem(field + ".certificateRef", reason);
      continue;
    }
    auto key_pem = secrets.get(key, &reason);
    if (!key_pem) {
      problem(field + ".certificateRef", reason);
      continue;
    }
    settings.certificate_pem = *crt_pem;
    settings.key_pem = *key_pem;
    settings.http2 = listeners[i].http2;
    const auto ca_ref = tls.caCertificate.value_or(config::SecretKeyRef{tls.certificateSecret, "ca.crt"});
    const auto ca_field = field + (tls.caCertificate ? ".caCertificateRef" : ".certificateRef");
    const auto mode = tls.clientValidation.value_or(
        tls.caCertificate || secrets.has(ca_ref) ? config::ClientValidation::Require : config::ClientValidation::None);
    if (mode != config::ClientValidation::None) {
      auto ca_pem = secrets.get(ca_ref, &reason);
      if (!ca_pem) {
        problem(
            tls.caCertificate ? ca_field : field + ".clientValidation",
            reason + (tls.caCertificate ? "" : " (clientValidation needs the client CA: ca.crt or caCertificateRef)"));
        continue;
      }
      settings.client_ca_pem = *ca_pem;
      settings.client_certificates = mode == config::ClientValidation::Require ? http::ClientCertificates::Require
                                                                               : http::ClientCertificates::Optional;
    }
    http::TlsServerError error;
    out[i] = http::make_server_tls_context(settings, &error);
    if (!out[i]) {
      const auto& ref = error.key == "certificate" ? crt : error.key == "key" ? key : ca_ref;
      problem(error.key == "ca" ? ca_field : field + ".certificateRef",
              "Secret \"" + ref.name + "\" key \"" + ref.key + "\": " + error.message);
    }
  }
  return out;
}

// One provider of an AI Backend: endpoint, credentials, wire format and its conventions.
// Its health and keys come from `registry`, under (Backend name, provider name).
BackendRuntime compile_provider(const config::Backend& spec, const std::string& name, unsigned weight,
                                const config::LlmProvider& llm, const std::string& tls_field,
                                const SecretLookup& secrets, TlsContextCache& tls_cache, config::Diagnostics& diags,
                                state::RuntimeRegistry& registry, state::StateClaims& claims) {
  const state::StateKey identity{spec.origin.name, name};
  BackendRuntime b;
  b.spec = &spec;
  b.name = name;
  b.ai = true;
  b.weight = weight;
  b.llm = &llm;
  b.timeouts = spec.timeouts;
  b.health = registry.state_for<ProviderHealth>(identity, claims);
  b.provider = &provider::traits(llm.kind);
  b.format = b.provider->format(llm);
  b.model = llm.model;
  b.path = llm.path;
  const std::string who = name == spec.origin.name ? "Backend \"" + name + "\""
                                                   : "Backend \"" + spec.origin.name + "\" provider \"" + name + "\"";
  switch (llm.kind) {
    case config::ProviderKind::Anthropic:
      b.static_headers.emplace_back("anthropic-version", llm.anthropic.apiVersion);
      b.default_max_tokens = llm.anthropic.defaultMaxTokens;
      break;
    case config::ProviderKind::VertexAI:
      b.default_max_tokens = llm.vertexai.defaultMaxTokens;
      b.anthropic_body_version = llm.vertexai.anthropicVersion;
      break;
    case config::ProviderKind::Bedrock:
      b.aws_region = llm.bedrock.region;
      if (!llm.bedrock.credentialsSecret.empty()) {
        b.sigv4 = true;
        std::string reason;
        const auto& secret = llm.bedrock.credentialsSecret;
        auto id = secrets.get({secret, "accessKeyId"}, &reason);
        auto key = id ? secrets.get({secret, "secretAccessKey"}, &reason) : std::nullopt;
        if (!id || !key) {
          b.unavailable_reason = who + " cannot sign requests: " + reason;
        } else {
          b.aws.access_key_id = *id;
          b.aws.secret_access_key = *key;
          std::string ignored;
          if (auto token = secrets.get({secret, "sessionToken"}, &ignored)) b.aws.session_token = *token;
        }
      }
      break;
    default:
      break;
  }
  const auto host = llm.host.value_or(b.provider->default_host(llm));
  const auto port = llm.port.value_or(b.provider->default_port);
  b.endpoints.push_back(make_endpoint(host, port, llm.tls));
  b.auth_kind = llm.authToken.kind;
  b.auth_header = llm.authHeader ? llm.authHeader->headerName : std::string(b.provider->auth_header);
  const auto prefix = llm.authHeader ? llm.authHeader->prefix : std::string(b.provider->auth_prefix);
  if (b.auth_kind == config::AuthKind::Inline) {
    b.auth_value = prefix + llm.authToken.inlineValue;
  } else if (b.auth_kind == config::AuthKind::SecretRef) {
    std::string reason;
    if (auto key = secrets.get(llm.authToken.secretRef, &reason)) {
      b.auth_value = prefix + *key;
      // More keys in the same Secret: <key>2, <key>3, ... (apiKey, apiKey2, ...), rotated.
      std::vector<std::string> more;
      for (int n = 2;; ++n) {
        std::string ignored;
        auto extra =
            secrets.get({llm.authToken.secretRef.name, llm.authToken.secretRef.key + std::to_string(n)}, &ignored);
        if (!extra) break;
        more.push_back(prefix + *extra);
      }
      if (!more.empty()) {
        b.auth_values.push_back(b.auth_value);
        for (auto& v : more) b.auth_values.push_back(std::move(v));
        // The ring (benched keys, rotation) is kept only while the keys are the same ones.
        std::string all_keys;
        for (const auto& v : b.auth_values) all_keys += v + '\n';
        const auto count = b.auth_values.size();
        const auto fingerprint = provider::sha256_hex(all_keys);
        b.keys = registry.state_for<KeyRing>(
            identity, claims, [&] { return std::make_shared<KeyRing>(count, fingerprint); },
            [&](const KeyRing& kept) { return kept.size() == count && kept.fingerprint() == fingerprint; });
      }
    } else {
      b.unavailable_reason = who + " cannot authenticate: " + reason;
    }
  }
  const std::string unavailable_before = b.unavailable_reason;
  attach_tls(b, spec, llm.tls, tls_field, secrets, tls_cache, diags);
  if (!unavailable_before.empty()) b.unavailable_reason = unavailable_before;
  b.listed_models = provider_models(b, registry, identity, claims);
  return b;
}

}  // namespace

namespace {

// A priority group none of whose providers can serve an API that another group of the same
// Backend serves (embeddings next to Anthropic models): such requests skip the whole group,
// which is worth knowing when the group was meant as a fallback.
void warn_groups_that_cannot_serve(const Snapshot& snapshot, config::Diagnostics& diags) {
  for (const auto& [name, backend] : snapshot.backends) {
    if (!backend.ai || backend.groups.size() < 2 || backend.spec->priorityGroups.empty()) continue;
    const auto api = translate::ClientApi::OpenAIEmbeddings;
    std::vector<bool> serves;
    for (const auto& group : backend.groups) {
      bool any = false;
      for (const auto& provider : group) any = any || translate::can_serve(api, provider.format);
      serves.push_back(any);
    }
    if (std::find(serves.begin(), serves.end(), true) == serves.end()) continue;
    for (std::size_t g = 0; g < serves.size(); ++g) {
      if (serves[g]) continue;
      const auto& origin = backend.spec->origin;
      diags.add(config::Diagnostic{config::Severity::Warning, origin.file, origin.line, origin.id(),
                                   "spec.ai.priorityGroups[" + std::to_string(g) + "]",
                                   "no provider of this group can serve embeddings (Anthropic models have none): "
                                   "embeddings requests skip it and go to the other groups"});
    }
  }
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(config::Config config, config::Diagnostics& diags,
                                                std::uint64_t generation) {
  state::RuntimeRegistry fresh;
  return build(std::move(config), diags, generation, fresh);
}

std::vector<std::string> configured_model_names(const config::Config& config) {
  std::set<std::string> names;
  const auto add_provider = [&](const config::LlmProvider& llm) {
    if (llm.model && !llm.model->empty()) names.insert(*llm.model);
    for (const auto& m : llm.models)
      if (!m.empty()) names.insert(m);
  };
  for (const auto& [name, backend] : config.backends) {
    if (backend.type != config::BackendType::AI) continue;
    if (backend.priorityGroups.empty()) add_provider(backend.llm);
    for (const auto& group : backend.priorityGroups)
      for (const auto& provider : group.providers) add_provider(provider.llm);
  }
  for (const auto& [name, policy] : config.policies) {
    if (!policy.ai || !policy.ai->modelAliases) continue;
    for (const auto& [alias, target] : *policy.ai->modelAliases) {
      if (!alias.empty()) names.insert(alias);
      if (!target.empty()) names.insert(target);
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> metric_model_names(const BackendRuntime& provider, const config::Config& config,
                                            const std::vector<std::string>& configured) {
  std::vector<std::string> own;
  if (provider.model) own.push_back(*provider.model);
  if (provider.llm != nullptr)
    for (const auto& m : provider.llm->models) own.push_back(m);
  if (own.empty()) return configured;
  const auto served = own;
  for (const auto& [name, policy] : config.policies) {
    if (!policy.ai || !policy.ai->modelAliases) continue;
    for (const auto& [alias, target] : *policy.ai->modelAliases)
      if (std::find(served.begin(), served.end(), target) != served.end()) own.push_back(alias);
  }
  return own;
}

std::string_view principal_metric_label(const pipeline::Principal* principal, std::string_view path) {
  if (principal == nullptr) return {};
  if (path == "principal.id") return principal->id;
  constexpr std::string_view kMetadata = "principal.metadata.";
  if (!path.starts_with(kMetadata)) return {};
  const auto it = principal->metadata.find(std::string(path.substr(kMetadata.size())));
  return it == principal->metadata.end() ? std::string_view{} : std::string_view(it->second);
}

namespace {

// Every metric series the snapshot's configuration implies, registered in `series`.
void register_metric_series(Snapshot& snap, observe::MetricSeries& series) {
  auto& claims = snap.metric_claims;
  const auto& config = *snap.config;
  const auto configured = configured_model_names(config);
  std::vector<observe::MetricLabel> metric_labels;
  for (const auto& key : snap.gateway().telemetry.metricLabels)
    metric_labels.push_back(observe::MetricLabel{key, series.metric_label(key)});
  std::unordered_map<std::string_view, observe::CounterSlot> backend_errors;
  for (auto& [name, backend] : snap.backends) {
    backend_errors[name] = series.backend_series(name, backend.ai, claims);
    for (auto& group : backend.groups)
      for (auto& provider : group) {
        provider.series =
            series.provider_series(name, provider.name, metric_model_names(provider, config, configured), claims);
        if (provider.provider == nullptr) continue;
        provider.series.gen_ai_provider = genai_provider_name(provider.provider->kind);
        provider.series.metric_labels = metric_labels;
        // The GenAI histograms of a chat with each of its models (and "other"), answered by the
        // model asked for, are there from the start; with metricLabels, once counted (the
        // principals' values are known only then).
        if (!metric_labels.empty()) continue;
        std::string labels;
        for (const auto& [model, slot] : provider.series.models) {
          observe::gen_ai_labels(labels, "chat", provider.series.gen_ai_provider, model, model, {});
          claims.add_labelled(observe::LabelledFamily::GenAi, labels);
        }
        observe::gen_ai_labels(labels, "chat", provider.series.gen_ai_provider, observe::kOtherModel,
                               observe::kOtherModel, {});
        claims.add_labelled(observe::LabelledFamily::GenAi, labels);
      }
  }
  const auto& rules = snap.routes.rules();
  snap.route_series.resize(rules.size());
  for (const auto& rule : rules) {
    auto& per_ref = snap.route_series[rule->index];
    for (const auto& ref : rule->rule->backendRefs) {
      const auto it = backend_errors.find(ref.name);
      const bool known = it != backend_errors.end();
      per_ref.push_back(observe::RouteSeries{
          series.request_series(rule->id, known ? std::string_view(ref.name) : std::string_view{}, known, claims),
          known ? it->second : observe::kNoSlot});
    }
  }
}

}  // namespace

std::string describe_upstream(const BackendRuntime& backend, const BackendRuntime& provider) {
  return provider.ai && provider.name != backend.name ? "backend " + backend.name + " provider " + provider.name
                                                      : "backend " + backend.name;
}

std::shared_ptr<const Snapshot> Snapshot::build(config::Config config, config::Diagnostics& diags,
                                                std::uint64_t generation, state::RuntimeRegistry& registry) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = std::make_shared<const config::Config>(std::move(config));
  snap->generation = generation;
  const auto& cfg = *snap->config;
  snap->routes = route::RouteTable::build(cfg);
  snap->prices = std::make_shared<const pricing::PriceBook>(snap->gateway().pricing);
  SecretLookup secrets{cfg};
  TlsContextCache tls_cache;

  for (const auto& [name, spec] : cfg.backends) {
    BackendRuntime backend;
    backend.spec = &spec;
    backend.name = name;
    backend.timeouts = spec.timeouts;
    if (spec.type == config::BackendType::AI) {
      backend.ai = true;
      if (spec.priorityGroups.empty()) {
        backend.groups.push_back({compile_provider(spec, name, 1, spec.llm, "spec.ai.llm.tls", secrets, tls_cache,
                                                   diags, registry, snap->state_claims)});
      } else {
        for (std::size_t g = 0; g < spec.priorityGroups.size(); ++g) {
          std::vector<BackendRuntime> group;
          const auto& providers = spec.priorityGroups[g].providers;
          for (std::size_t i = 0; i < providers.size(); ++i) {
            const auto field =
                "spec.ai.priorityGroups[" + std::to_string(g) + "].providers[" + std::to_string(i) + "].tls";
            group.push_back(compile_provider(spec, providers[i].name, providers[i].weight, providers[i].llm, field,
                                             secrets, tls_cache, diags, registry, snap->state_claims));
          }
          backend.groups.push_back(std::move(group));
        }
      }
    } else {
      for (const auto& h : spec.hosts) backend.endpoints.push_back(make_endpoint(h.host, h.port, spec.staticTls));
      attach_tls(backend, spec, spec.staticTls, "spec.static.tls", secrets, tls_cache, diags);
    }
    for (const auto& e : backend.endpoints) snap->pool_keys.insert(e.pool_key);
    for (const auto& group : backend.groups)
      for (const auto& p : group)
        for (const auto& e : p.endpoints) snap->pool_keys.insert(e.pool_key);
    snap->backends.emplace(name, std::move(backend));
  }
  warn_groups_that_cannot_serve(*snap, diags);
  snap->listener_tls = compile_listener_tls(cfg, secrets, diags);
  if (cfg.gateway && cfg.gateway->spec.redis) snap->redis = resolve_redis(*cfg.gateway, secrets, tls_cache, diags);
  snap->redis_status = registry.redis_status();
  register_metric_series(*snap, registry.metric_series());
  policy::compile_chains(*snap, registry);
  return snap;
}

}  // namespace sluice::proxy
