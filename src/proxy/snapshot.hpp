// Snapshot: everything one request needs, compiled from a validated Config — the route table,
// each Backend's upstream endpoints, TLS contexts and resolved credentials. Immutable once
// built; workers hold it by shared_ptr, so a reload swaps in a new one while requests in
// flight finish on the snapshot they started with. Runtime state that must survive a reload
// (provider health, benched keys) is not the snapshot's own: build() takes it from the
// process's state::RuntimeRegistry, by Backend and provider name, and records what it took in
// `state_claims`. The metric series its configuration implies are registered in the registry's
// observe::MetricSeries the same way: the snapshot carries their slots (`route_series`,
// BackendRuntime::series) and what it registered (`metric_claims`, published once installed).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/resources.hpp"
#include "http/upstream_endpoint.hpp"
#include "observe/metric_series.hpp"
#include "pipeline/chain.hpp"
#include "pricing/catalog.hpp"
#include "provider/aws_sigv4.hpp"
#include "provider/provider.hpp"
#include "proxy/provider_health.hpp"
#include "route/route_table.hpp"
#include "state/redis_client.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::proxy {

using http::UpstreamEndpoint;

class ProviderModels;  // proxy/model_catalog.hpp

// A compiled Backend, or one provider of an AI Backend. An AI Backend's own entry holds its
// providers in `groups` (group 0 first; a Backend with ai.llm has one group of one provider,
// named after the Backend); each provider entry carries everything an attempt needs. A Static
// Backend's entry carries its endpoints itself.
struct BackendRuntime {
  const config::Backend* spec = nullptr;
  std::string name;  // the Backend's name, or the provider's name within its Backend
  bool ai = false;
  std::vector<std::vector<BackendRuntime>> groups;  // AI Backend entry: its providers by priority
  unsigned weight = 1;                              // provider: weight within its group
  // Provider: its health, shared by every worker, kept across reloads by the RuntimeRegistry.
  std::shared_ptr<ProviderHealth> health;
  const config::LlmProvider* llm = nullptr;            // provider: its configuration
  const provider::ProviderTraits* provider = nullptr;  // AI only
  provider::WireFormat format = provider::WireFormat::OpenAI;
  // Headers every upstream request of this backend carries (anthropic-version).
  std::vector<std::pair<std::string, std::string>> static_headers;
  // Bedrock: requests are SigV4-signed with these instead of carrying auth_value.
  bool sigv4 = false;
  provider::AwsCredentials aws;
  std::string aws_region;
  std::uint32_t default_max_tokens = 4096;
  std::string anthropic_body_version;  // Vertex Anthropic: body "anthropic_version"
  std::vector<UpstreamEndpoint> endpoints;

  config::AuthKind auth_kind = config::AuthKind::None;
  std::string auth_header;  // header that carries the key upstream
  std::string auth_value;   // prefix + key (Inline / SecretRef)
  // SecretRef Secrets holding several keys (apiKey, apiKey2, ...): every prefix + key, in that
  // order, and their rotation state (kept across reloads by the RuntimeRegistry; a reload that
  // changes the keys, their number or a value, starts a new KeyRing). Empty for a single key
  // (auth_value).
  std::vector<std::string> auth_values;
  std::shared_ptr<KeyRing> keys;
  // Non-empty when the backend cannot serve (e.g. its Secret is missing): requests get a 500
  // naming the reason instead of reaching the provider without credentials.
  std::string unavailable_reason;

  std::optional<std::string> model;
  config::UpstreamPath path;
  config::BackendTimeouts timeouts;

  // Provider that can list its models (proxy/model_catalog.hpp): the list the model fetcher
  // last published, kept across reloads by the RuntimeRegistry; null for a provider described
  // by the configuration alone (Vertex AI, Bedrock, pinned by `model`, ...).
  std::shared_ptr<ProviderModels> listed_models;

  // Provider of an AI Backend: its metric series (attempts, ejections, tokens by model).
  observe::ProviderSeries series;

  // Backend entry: the stages of TrafficPolicies attached to this Backend. Provider (or Static
  // Backend): the stages of each attempt at it (model override, credentials, signing).
  pipeline::Chain chain;
  pipeline::Chain attempt_chain;
};

// Names an upstream in messages: "backend B", or "backend B provider P" for a provider of an AI
// Backend with a name of its own.
std::string describe_upstream(const BackendRuntime& backend, const BackendRuntime& provider);

// The model names the configuration makes known: every provider's `model` and `models`, and
// every TrafficPolicy ai.modelAliases name and the model it stands for. Sorted, unique.
std::vector<std::string> configured_model_names(const config::Config& config);

// The values the `model` label of a provider's metric series (sluice_tokens_total, the GenAI
// histograms' gen_ai.request.model and gen_ai.response.model) may take besides "other": a
// provider that names its models (`model`, `models`) takes those and the aliases that stand for
// them; one that names none (it serves what it is asked) takes every name in `configured`
// (configured_model_names). A bounded set read off the configuration once per snapshot, so no
// client value becomes a label.
std::vector<std::string> metric_model_names(const BackendRuntime& provider, const config::Config& config,
                                            const std::vector<std::string>& configured);

// The value of a Gateway spec.telemetry.metricLabels entry ("principal.id",
// "principal.metadata.<key>") for `principal`; empty when there is none or it lacks it.
std::string_view principal_metric_label(const pipeline::Principal* principal, std::string_view path);

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  route::RouteTable routes;
  std::unordered_map<std::string, BackendRuntime> backends;
  // The stages of each route rule (by CompiledRule::index): TrafficPolicies attached to the
  // Gateway, the HTTPRoute and the rule, and the rule's own filters.
  std::vector<pipeline::Chain> rule_chains;
  // The metric series of each route rule (by CompiledRule::index) through each of its
  // backendRefs (by position), resolved here so a request records without a lookup.
  std::vector<std::vector<observe::RouteSeries>> route_series;
  std::uint64_t generation = 0;
  // The runtime state this snapshot took from the registry: once it is installed,
  // registry.retain(state_claims) forgets the state of providers it no longer has.
  state::StateClaims state_claims;
  // The metric series this snapshot registered: once it is installed,
  // registry.metric_series().publish(metric_claims) renders them at 0 until counted.
  observe::SeriesClaims metric_claims;
  // Every endpoint's pool_key: once it is installed, workers keep only pooled upstream
  // connections under these keys (UpstreamPool::retain).
  std::unordered_set<std::string> pool_keys;
  // Gateway spec.redis, resolved (password from its Secret, TLS context made); null when the
  // Gateway names none. Each worker keeps one RedisClient for it (Worker::redis()).
  std::shared_ptr<const state::RedisEndpoint> redis;
  // The process's Redis counters (from the RuntimeRegistry: they outlive snapshots).
  std::shared_ptr<state::RedisStatus> redis_status;
  // Each Gateway listener's TLS context (by position in spec.listeners), null for a plaintext
  // listener. A connection takes the one current when it is accepted and keeps it.
  std::vector<std::shared_ptr<boost::asio::ssl::context>> listener_tls;
  // Model prices: the built-in catalog (compiled once per process) under Gateway spec.pricing.
  std::shared_ptr<const pricing::PriceBook> prices;

  const config::GatewaySpec& gateway() const { return config->gatewaySpec(); }

  // Compiles `config`. Problems that only show when compiling (an unreadable CA certificate)
  // are added to `diags` as errors; secret problems mark the backend unavailable. Each
  // provider's ProviderHealth and KeyRing come from `registry` (called only here, never per
  // request).
  static std::shared_ptr<const Snapshot> build(config::Config config, config::Diagnostics& diags,
                                               std::uint64_t generation, state::RuntimeRegistry& registry);
  // The same with a registry of its own: every provider starts with fresh state (validation,
  // tests).
  static std::shared_ptr<const Snapshot> build(config::Config config, config::Diagnostics& diags,
                                               std::uint64_t generation);
};

}  // namespace sluice::proxy
