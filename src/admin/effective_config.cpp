#include "admin/effective_config.hpp"

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11/algorithm.hpp>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "pricing/catalog.hpp"

// Field-by-field descriptions of the resources (config/resources.hpp), in declaration order.
namespace sluice::config {

BOOST_DESCRIBE_ENUM(RedisTlsMode, Disabled, Enabled)
BOOST_DESCRIBE_ENUM(UnknownModelPricing, Reject, Free)
BOOST_DESCRIBE_ENUM(ResponseStoreKind, Memory, Redis)
BOOST_DESCRIBE_ENUM(TlsMode, Auto, Enabled, Disabled)
BOOST_DESCRIBE_ENUM(AuthKind, Inline, SecretRef, Passthrough, None)
BOOST_DESCRIBE_ENUM(ProviderKind, OpenAI, Ollama, Anthropic, Gemini, VertexAI, AzureOpenAI, Bedrock)
BOOST_DESCRIBE_ENUM(VertexPublisher, Google, Anthropic)
BOOST_DESCRIBE_ENUM(BackendType, AI, Static)
BOOST_DESCRIBE_ENUM(PathMatchType, Exact, PathPrefix, RegularExpression)
BOOST_DESCRIBE_ENUM(ValueMatchType, Exact, RegularExpression)
BOOST_DESCRIBE_ENUM(RewritePathType, ReplaceFullPath, ReplacePrefixMatch)
BOOST_DESCRIBE_ENUM(FilterType, URLRewrite, RequestHeaderModifier, ResponseHeaderModifier, CORS)
BOOST_DESCRIBE_ENUM(PolicyTargetKind, Gateway, HTTPRoute, Backend)
BOOST_DESCRIBE_ENUM(AuthMode, Strict, Optional)
BOOST_DESCRIBE_ENUM(GuardAction, Reject, Mask)
BOOST_DESCRIBE_ENUM(FailureMode, FailClosed, FailOpen)
BOOST_DESCRIBE_ENUM(WebhookStreaming, Skip, Buffer)
BOOST_DESCRIBE_ENUM(RateUnit, Second, Minute, Hour, Day)
BOOST_DESCRIBE_ENUM(TokenCount, Input, Output, Total)
BOOST_DESCRIBE_ENUM(RedisFailureMode, FailClosed, FailOpen, Local)
BOOST_DESCRIBE_ENUM(StreamExceed, Finish, Truncate)
BOOST_DESCRIBE_ENUM(BudgetPeriod, Hour, Day, Week, Month)
BOOST_DESCRIBE_ENUM(CacheStore, Memory, Redis)
BOOST_DESCRIBE_ENUM(CacheScope, Principal, Shared)
BOOST_DESCRIBE_ENUM(ClientValidation, None, Optional, Require)
BOOST_DESCRIBE_ENUM(OtlpProtocol, HttpProtobuf, HttpJson)
BOOST_DESCRIBE_ENUM(CaptureContent, None, Metadata, Full)

BOOST_DESCRIBE_STRUCT(Origin, (), (file, line, kind, name))
BOOST_DESCRIBE_STRUCT(ListenerTls, (), (certificateSecret, caCertificate, clientValidation))
BOOST_DESCRIBE_STRUCT(Listener, (), (name, address, port, tls, http2))
BOOST_DESCRIBE_STRUCT(AdminListener, (), (address, port, enabled))
BOOST_DESCRIBE_STRUCT(Limits, (),
                      (maxRequestHeaderBytes, maxRequestBodyBytes, requestHeaderTimeout, idleTimeout, drainTimeout,
                       maxConcurrentStreams, maxTranslatedResponseBytes))
BOOST_DESCRIBE_STRUCT(AccessLog, (), (enabled, captureUsage, path, redactQueryParams, fields, trustRequestId))
BOOST_DESCRIBE_STRUCT(ClientAddress, (), (xffTrustedHops))
BOOST_DESCRIBE_STRUCT(SecretKeyRef, (), (name, key))
BOOST_DESCRIBE_STRUCT(RedisTls, (), (mode, sni, caCertificate, insecureSkipVerify))
BOOST_DESCRIBE_STRUCT(RedisSettings, (),
                      (address, host, port, username, passwordRef, tls, keyPrefix, timeout, database))
BOOST_DESCRIBE_STRUCT(ModelPrice, (), (input, output, cachedInput))
BOOST_DESCRIBE_STRUCT(Pricing, (), (models, unknownModel, reportCost))
BOOST_DESCRIBE_STRUCT(ResponseStore, (), (store, ttl, maxBytes, maxEntryBytes))
BOOST_DESCRIBE_STRUCT(OtlpSettings, (),
                      (endpoint, host, port, base_path, protocol, headers, timeout, tls, insecureSkipVerify))
BOOST_DESCRIBE_STRUCT(Telemetry, (), (otlp, sampling, exportInterval, captureContent, metricLabels))
BOOST_DESCRIBE_STRUCT(GatewaySpec, (),
                      (listeners, admin, limits, accessLog, clientAddress, workers, redis, pricing, responseStore,
                       telemetry))
BOOST_DESCRIBE_STRUCT(Gateway, (), (origin, spec))
BOOST_DESCRIBE_STRUCT(SecretValue, (), (value, problem))
BOOST_DESCRIBE_STRUCT(Secret, (), (origin, data))
BOOST_DESCRIBE_STRUCT(BackendTls, (), (mode, sni, caCertificate, insecureSkipVerify))
BOOST_DESCRIBE_STRUCT(AuthToken, (), (kind, inlineValue, secretRef))
BOOST_DESCRIBE_STRUCT(AuthHeader, (), (headerName, prefix))
BOOST_DESCRIBE_STRUCT(UpstreamPath, (), (full, prefix))
BOOST_DESCRIBE_STRUCT(AnthropicOptions, (), (apiVersion, defaultMaxTokens))
BOOST_DESCRIBE_STRUCT(GeminiOptions, (), (apiVersion))
BOOST_DESCRIBE_STRUCT(VertexAIOptions, (),
                      (projectId, location, publisher, apiVersion, anthropicVersion, defaultMaxTokens))
BOOST_DESCRIBE_STRUCT(AzureOpenAIOptions, (), (endpoint, deploymentName, apiVersion))
BOOST_DESCRIBE_STRUCT(BedrockOptions, (), (credentialsSecret, region))
BOOST_DESCRIBE_STRUCT(LlmProvider, (),
                      (kind, authToken, model, models, anthropic, gemini, vertexai, azureopenai, bedrock, host, port,
                       path, authHeader, tls))
BOOST_DESCRIBE_STRUCT(StaticHost, (), (host, port))
BOOST_DESCRIBE_STRUCT(BackendTimeouts, (), (connect, firstByte, streamIdle, poolIdle))
BOOST_DESCRIBE_STRUCT(Passthrough, (), (apis, paths))
BOOST_DESCRIBE_STRUCT(GroupProvider, (), (name, weight, llm))
BOOST_DESCRIBE_STRUCT(PriorityGroup, (), (providers))
BOOST_DESCRIBE_STRUCT(OutlierDetection, (),
                      (enabled, consecutiveFailures, baseEjectionTime, maxEjectionPercent, failurePercentage,
                       minimumRequests, interval))
BOOST_DESCRIBE_STRUCT(HealthCheck, (), (enabled, interval, timeout, path, unhealthyThreshold, healthyThreshold))
BOOST_DESCRIBE_STRUCT(CircuitBreaker, (), (maxRequests))
BOOST_DESCRIBE_STRUCT(ModelList, (), (fetch, refreshInterval, timeout))
BOOST_DESCRIBE_STRUCT(Backend, (),
                      (origin, type, llm, priorityGroups, outlierDetection, circuitBreaker, healthCheck, modelList,
                       passthrough, forwardClientHeaders, hosts, staticTls, timeouts))
BOOST_DESCRIBE_STRUCT(PathMatch, (), (type, value))
BOOST_DESCRIBE_STRUCT(ValueMatch, (), (type, name, value))
BOOST_DESCRIBE_STRUCT(RouteMatch, (), (path, method, headers, queryParams))
BOOST_DESCRIBE_STRUCT(UrlRewrite, (), (hostname, pathType, pathValue))
BOOST_DESCRIBE_STRUCT(HeaderModifier, (), (set, add, remove))
BOOST_DESCRIBE_STRUCT(CorsPolicy, (),
                      (allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge, allowCredentials))
BOOST_DESCRIBE_STRUCT(RouteFilter, (), (type, urlRewrite, headerModifier, cors))
BOOST_DESCRIBE_STRUCT(BackendRef, (), (name, weight))
BOOST_DESCRIBE_STRUCT(RouteTimeouts, (), (request, backendRequest))
BOOST_DESCRIBE_STRUCT(RouteRule, (), (name, matches, filters, backendRefs, timeouts))
BOOST_DESCRIBE_STRUCT(HttpRoute, (), (origin, hostnames, rules))
BOOST_DESCRIBE_STRUCT(PolicyTargetRef, (), (kind, name, sectionName))
BOOST_DESCRIBE_STRUCT(RetryOn, (), (connectFailure, reset, timeout, status5xx, status429, statusCodes))
BOOST_DESCRIBE_STRUCT(RetryPolicy, (),
                      (attempts, retryOn, perTryTimeout, backoffBaseInterval, backoffMaxInterval, budgetPercent))
BOOST_DESCRIBE_STRUCT(ApiKeyEntry, (), (name, secretRef, keyHash, metadata, allowedModels))
BOOST_DESCRIBE_STRUCT(ApiKeyAuth, (), (mode, keys, headers))
BOOST_DESCRIBE_STRUCT(RemoteJwks, (), (url, cacheDuration, caCertificate, keys))
BOOST_DESCRIBE_STRUCT(JwksSource, (), (file, inlineJwks, remote, keySet))
BOOST_DESCRIBE_STRUCT(JwtProvider, (),
                      (name, issuer, audiences, jwks, principalClaim, claimsToMetadata, allowedModels,
                       allowedModelsClaim))
BOOST_DESCRIBE_STRUCT(JwtAuth, (), (mode, providers))
BOOST_DESCRIBE_STRUCT(AuthPolicy, (), (apiKey, jwt, metricsLabels))
BOOST_DESCRIBE_STRUCT(PromptMessage, (), (role, content))
BOOST_DESCRIBE_STRUCT(PromptEnrichment, (), (prepend, append))
BOOST_DESCRIBE_STRUCT(RequestDefault, (), (field, value, override))
BOOST_DESCRIBE_STRUCT(GuardPattern, (), (name, pattern, maxLength))
BOOST_DESCRIBE_STRUCT(GuardWebhook, (), (backend, forwardHeaders, timeout, failureMode))
BOOST_DESCRIBE_STRUCT(ModerationGuard, (), (backend, model, timeout, failureMode))
BOOST_DESCRIBE_STRUCT(RequestGuard, (), (action, builtins, matches, statusCode, message, moderation, webhook))
BOOST_DESCRIBE_STRUCT(ResponseWebhook, (), (call, streaming))
BOOST_DESCRIBE_STRUCT(ResponseGuard, (), (action, builtins, matches, statusCode, message, webhook))
BOOST_DESCRIBE_STRUCT(PromptGuard, (), (request, response))
BOOST_DESCRIBE_STRUCT(LocalRateLimit, (), (requests, unit, burst, by, policy, identity, name))
BOOST_DESCRIBE_STRUCT(GlobalRateLimit, (), (requests, tokens, unit, by, count, policy, identity, name))
BOOST_DESCRIBE_STRUCT(GlobalRateLimits, (), (failureMode, limits, replicas))
BOOST_DESCRIBE_STRUCT(StreamLimits, (), (onExceed))
BOOST_DESCRIBE_STRUCT(RateLimitPolicy, (), (local, global, streams, defaultMaxTokens))
BOOST_DESCRIBE_STRUCT(Budget, (), (by, limit, period, policy, identity, name))
BOOST_DESCRIBE_STRUCT(ExactCache, (), (ttl, maxEntryBytes, store, scope, maxBytes))
BOOST_DESCRIBE_STRUCT(ResponseCachePolicy, (), (exact))
BOOST_DESCRIBE_STRUCT(AiPolicy, (), (budgets, cache, promptGuard, promptEnrichment, defaults, modelAliases))
BOOST_DESCRIBE_STRUCT(TrafficPolicy, (), (origin, targetRefs, auth, ai, retry, cors, rateLimit))

}  // namespace sluice::config

namespace sluice::admin {

namespace json = boost::json;
namespace describe = boost::describe;

namespace {

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};
template <typename T>
struct is_map : std::false_type {};
template <typename T>
struct is_map<std::map<std::string, T>> : std::true_type {};
template <typename T>
struct is_shared_ptr : std::false_type {};
template <typename T>
struct is_shared_ptr<std::shared_ptr<T>> : std::true_type {};

// How many fields an aggregate has: the most initializers `T{...}` accepts (each converts to
// any member type). Checks that a description names every field.
struct AnyField {
  template <typename U>
  operator U&() const;
};

template <typename T, std::size_t... I>
constexpr bool initializable_with(std::index_sequence<I...>) {
  return requires {
    T{(void(I), AnyField{})...};
  };
}

template <typename T, std::size_t N = 0>
constexpr std::size_t field_count() {
  if constexpr (N > 64) {
    return 0;
  } else if constexpr (initializable_with<T>(std::make_index_sequence<N + 1>{})) {
    return field_count<T, N + 1>();
  } else {
    return N;
  }
}

// Fields whose values are credentials (or hashes of them), by name: shown as REDACTED when set.
// A map field named `headers` has its values redacted (header values often carry tokens).
bool secret_field(std::string_view name) {
  return name == "inlineValue" || name == "keyHash" || name == "inlineJwks";
}

// "30s", "250ms", "5m", "1h": the shortest exact form, as the YAML accepts it.
std::string duration_text(config::Duration d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

template <typename T>
json::value to_json(const T& value);

// Removes `key` keeping the order of the others (json::object::erase moves the last one in).
void drop(json::object& out, std::string_view key) {
  if (!out.contains(key)) return;
  json::object kept;
  for (auto& entry : out)
    if (entry.key() != key) kept.emplace(entry.key(), std::move(entry.value()));
  out = std::move(kept);
}

// Per-type touches after the generic rendering: what the type's own fields do not say.
template <typename T>
void adjust(json::object&, const T&) {}

// Only the options of the provider's own kind mean anything.
void adjust(json::object& out, const config::LlmProvider& llm) {
  for (const auto kind : {config::ProviderKind::OpenAI, config::ProviderKind::Ollama, config::ProviderKind::Anthropic,
                          config::ProviderKind::Gemini, config::ProviderKind::VertexAI,
                          config::ProviderKind::AzureOpenAI, config::ProviderKind::Bedrock}) {
    if (kind != llm.kind) drop(out, config::provider_key(kind));
  }
}

void adjust(json::object& out, const config::Backend& backend) {
  if (backend.type == config::BackendType::AI) {
    drop(out, "hosts");
    drop(out, "staticTls");
    if (!backend.priorityGroups.empty()) drop(out, "llm");
    if (backend.priorityGroups.empty()) drop(out, "priorityGroups");
  } else {
    for (const auto* key : {"llm", "priorityGroups", "outlierDetection", "circuitBreaker", "healthCheck", "modelList",
                            "passthrough", "forwardClientHeaders"})
      drop(out, key);
  }
}

void adjust(json::object& out, const config::RouteFilter& filter) {
  if (filter.type != config::FilterType::URLRewrite) drop(out, "urlRewrite");
  if (filter.type != config::FilterType::RequestHeaderModifier &&
      filter.type != config::FilterType::ResponseHeaderModifier)
    drop(out, "headerModifier");
  if (filter.type != config::FilterType::CORS) drop(out, "cors");
}

void adjust(json::object& out, const config::AuthToken& token) {
  if (token.kind != config::AuthKind::SecretRef) drop(out, "secretRef");
  if (token.kind != config::AuthKind::Inline) drop(out, "inlineValue");
  if (const auto* inline_value = out.if_contains("inlineValue")) {  // as in the YAML: `inline`
    auto value = *inline_value;
    drop(out, "inlineValue");
    out["inline"] = std::move(value);
  }
}

// Money: micro-USD in memory, exact USD decimals in the document (as in the YAML).
void adjust(json::object& out, const config::ModelPrice& price) {
  out["input"] = pricing::format_usd_micros(price.input);
  out["output"] = pricing::format_usd_micros(price.output);
  if (price.cachedInput) out["cachedInput"] = pricing::format_usd_micros(*price.cachedInput);
}

// The endpoint as written; its parts are the loader's.
void adjust(json::object& out, const config::OtlpSettings&) {
  for (const auto* key : {"host", "port", "base_path", "tls"}) drop(out, key);
}

void adjust(json::object& out, const config::Budget& budget) {
  out["limit"] = pricing::format_usd_micros(budget.limit);
}

template <typename T>
json::value member_value(std::string_view name, const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (secret_field(name) && !value.empty()) return json::string(kRedacted);
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    if (name == "headers") {
      json::object out;
      for (const auto& [key, _] : value) out[key] = kRedacted;
      return out;
    }
  }
  return to_json(value);
}

template <typename T>
json::object to_object(const T& value) {
  using Members = describe::describe_members<T, describe::mod_public>;
  static_assert(boost::mp11::mp_size<Members>::value == field_count<T>(),
                "a configuration struct gained a field: name it in its BOOST_DESCRIBE_STRUCT in "
                "admin/effective_config.cpp (and redact it there if it can hold a secret)");
  json::object out;
  boost::mp11::mp_for_each<Members>([&](auto member) {
    const auto& field = value.*member.pointer;
    using Field = std::remove_cvref_t<decltype(field)>;
    if constexpr (is_shared_ptr<Field>::value) {
      return;  // runtime objects made when loading (key sets), not configuration
    } else if constexpr (is_optional<Field>::value) {
      if (field) out[member.name] = member_value(member.name, *field);
    } else {
      out[member.name] = member_value(member.name, field);
    }
  });
  adjust(out, value);
  return out;
}

template <typename T>
json::value to_json(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return static_cast<std::int64_t>(value);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<std::uint64_t>(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return json::string(value);
  } else if constexpr (std::is_same_v<T, config::Duration>) {
    return json::string(duration_text(value));
  } else if constexpr (std::is_same_v<T, config::SecretValue>) {
    return json::string(kRedacted);
  } else if constexpr (std::is_same_v<T, std::pair<std::string, std::string>>) {
    // A header a filter sets or adds: its name, never its value.
    return json::object{{"name", value.first}, {"value", kRedacted}};
  } else if constexpr (std::is_enum_v<T>) {
    const char* name = describe::enum_to_string(value, nullptr);
    return name == nullptr ? json::value(nullptr) : json::value(name);
  } else if constexpr (is_optional<T>::value) {
    return value ? to_json(*value) : json::value(nullptr);
  } else if constexpr (is_vector<T>::value) {
    json::array out;
    for (const auto& item : value) out.push_back(to_json(item));
    return out;
  } else if constexpr (is_map<T>::value) {
    json::object out;
    for (const auto& [key, item] : value) out[key] = to_json(item);
    return out;
  } else {
    return to_object(value);
  }
}

// {"apiVersion", "kind", "metadata": {...}, <body key>: ...}: the resource's origin becomes its
// metadata, the rest its spec (a Secret's, its data).
template <typename T>
json::object resource(std::string_view api_version, std::string_view kind, const T& value,
                      std::string_view body = "spec") {
  auto fields = to_object(value);
  json::object metadata{{"name", value.origin.name}};
  if (!value.origin.file.empty()) {
    metadata["file"] = value.origin.file;
    metadata["line"] = value.origin.line;
  }
  drop(fields, "origin");
  json::object out{{"apiVersion", api_version}, {"kind", kind}, {"metadata", std::move(metadata)}};
  if (fields.size() == 1) {  // Gateway {spec}, Secret {data}
    out[body] = std::move(fields.begin()->value());
  } else {
    out[body] = std::move(fields);
  }
  return out;
}

}  // namespace

std::string render_config(const config::Config& config, std::uint64_t generation) {
  constexpr std::string_view kSluice = "sluice.dev/v1alpha1";
  json::array resources;
  if (config.gateway) {
    resources.push_back(resource(kSluice, "Gateway", *config.gateway));
  } else {
    // No Gateway resource: the defaults it stands for.
    resources.push_back(json::object{{"apiVersion", kSluice},
                                     {"kind", "Gateway"},
                                     {"metadata", json::object{{"name", nullptr}}},
                                     {"spec", to_object(config.gatewaySpec())}});
  }
  for (const auto& [name, secret] : config.secrets) resources.push_back(resource("v1", "Secret", secret, "data"));
  for (const auto& [name, backend] : config.backends) resources.push_back(resource(kSluice, "Backend", backend));
  for (const auto& route : config.routes)
    resources.push_back(resource("gateway.networking.k8s.io/v1", "HTTPRoute", route));
  for (const auto& [name, policy] : config.policies) resources.push_back(resource(kSluice, "TrafficPolicy", policy));
  json::array sources;
  for (const auto& source : config.sources) sources.push_back(json::string(source));
  json::object out{{"generation", generation}, {"sources", std::move(sources)}, {"resources", std::move(resources)}};
  return json::serialize(out) + "\n";
}

}  // namespace sluice::admin
