// The configuration resources as decoded from YAML: plain, immutable-after-load value types that
// mirror the user-facing documents (Gateway, HTTPRoute, Backend, Secret). Defaults live here, in
// one place, and docs/configuration.md repeats them. No behaviour beyond small helpers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::config {

using Duration = std::chrono::milliseconds;

// Where a resource came from, for messages.
struct Origin {
  std::string file;
  int line = 0;
  std::string kind;
  std::string name;
  std::string id() const { return kind + "/" + name; }
};

// ---------------------------------------------------------------- Gateway (sluice.dev/v1alpha1)
struct SecretKeyRef {
  std::string name;
  std::string key;
};

// A listener's client certificates (mutual TLS). Unset: Require when a CA is given (the
// certificate Secret's ca.crt, or caCertificateRef), else None.
enum class ClientValidation { None, Optional, Require };

// Listener TLS: the certificate Secret holds tls.crt (the chain, leaf first) and tls.key, and
// may hold ca.crt, the CA(s) client certificates must chain to.
struct ListenerTls {
  std::string certificateSecret;              // Secret name (certificateRef.name)
  std::optional<SecretKeyRef> caCertificate;  // default: the certificate Secret's ca.crt, if any
  std::optional<ClientValidation> clientValidation;
};

struct Listener {
  std::string name = "http";
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::optional<ListenerTls> tls;
  // HTTP/2 next to HTTP/1.1: ALPN h2 on a TLS listener, the h2c preface on a plaintext one.
  bool http2 = true;
};

struct AdminListener {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9901;
  bool enabled = true;
};

struct Limits {
  std::size_t maxRequestHeaderBytes = 32 * 1024;       // -> 431
  std::size_t maxRequestBodyBytes = 32 * 1024 * 1024;  // -> 413
  Duration requestHeaderTimeout{10'000};               // -> 408
  Duration idleTimeout{60'000};                        // keep-alive idle client connection -> close
  Duration drainTimeout{30'000};                       // SIGTERM: in-flight requests get this long
  std::uint32_t maxConcurrentStreams = 100;            // HTTP/2 streams per connection

  // A provider's non-streaming reply read whole to be translated; larger -> 502.
  std::size_t maxTranslatedResponseBytes = 16 * 1024 * 1024;
};

struct AccessLog {
  bool enabled = true;
  // Read usage, finish reason and the answering model from native OpenAI-format responses too
  // (streams included): off makes AI chat and embeddings a pure relay.
  bool captureUsage = true;
  std::string path = "-";  // "-" is stdout
  // Query parameters whose values are logged as REDACTED (case-insensitive); replaces this list.
  std::vector<std::string> redactQueryParams{"key",
                                             "api-key",
                                             "api_key",
                                             "apikey",
                                             "sig",
                                             "signature",
                                             "token",
                                             "access_token",
                                             "x-amz-signature",
                                             "x-amz-credential",
                                             "x-amz-security-token",
                                             "code",
                                             "password",
                                             "secret"};
  // The fields of a line, in order (observe/access_log.hpp names them); empty: every field.
  std::vector<std::string> fields;
  // Take the client's x-request-id as the request's id (when it is a valid one) instead of
  // generating one: only when every client is trusted, or a proxy in front sets it.
  bool trustRequestId = false;
};

// Gateway spec.clientAddress: how the client's address is found (http/forwarded_for.hpp).
struct ClientAddress {
  // 0: the TCP peer; N: the Nth address from the right of X-Forwarded-For (N trusted proxies).
  unsigned xffTrustedHops = 0;
};

// Gateway spec.redis: the Redis (or Valkey) server global rate limits, budgets and the shared
// response cache keep their counters and entries in (state/redis_client.hpp).
enum class RedisTlsMode { Disabled, Enabled };

struct RedisTls {
  RedisTlsMode mode = RedisTlsMode::Disabled;
  std::string sni;                            // default: the address's host
  std::optional<SecretKeyRef> caCertificate;  // Secret key (default "ca.crt"); default: system CAs
  bool insecureSkipVerify = false;
};

struct RedisSettings {
  std::string address;                      // host:port (port default 6379), as written
  std::string host;                         // of the address (an IPv6 literal without brackets)
  std::uint16_t port = 6379;                // of the address
  std::string username;                     // ACL user; empty: AUTH with the password alone
  std::optional<SecretKeyRef> passwordRef;  // key default "password"
  RedisTls tls;
  std::string keyPrefix = "sluice:";
  Duration timeout{250};  // one command's round trip, connecting included
  unsigned database = 0;  // SELECT
};

// Gateway spec.pricing: USD per 1M tokens, as decimal strings in YAML, kept as integer
// micro-dollars per 1M tokens. Overrides the built-in catalog per model (pricing/catalog.hpp).
struct ModelPrice {
  std::int64_t input = 0;                   // micro-USD per 1M input tokens
  std::int64_t output = 0;                  // micro-USD per 1M output tokens (reasoning tokens included)
  std::optional<std::int64_t> cachedInput;  // per 1M cached input tokens; unset: the input price
};

enum class UnknownModelPricing { Reject, Free };

struct Pricing {
  std::map<std::string, ModelPrice> models;
  // A model with no price where a budget applies: Reject (the default) refuses the request,
  // Free counts it at 0.
  std::optional<UnknownModelPricing> unknownModel;
  // Tell clients what each reply cost (x-sluice-cost-usd; in a stream's usage object).
  bool reportCost = true;
};

// Gateway spec.responseStore: the Responses API's stored responses, for previous_response_id,
// store and item_reference on providers that keep none for Sluice (policy/response_store.hpp).
enum class ResponseStoreKind { Memory, Redis };
struct ResponseStore {
  ResponseStoreKind store = ResponseStoreKind::Memory;
  Duration ttl{3'600'000};                    // how long a stored response can be continued
  std::uint64_t maxBytes = 64 * 1024 * 1024;  // Memory: all stored conversations together (LRU)
  std::uint64_t maxEntryBytes = 1024 * 1024;  // one stored conversation; larger ones are not kept
};

// Gateway spec.telemetry: OpenTelemetry traces and metrics exported over OTLP/HTTP
// (observe/otlp_exporter.hpp). Nothing is exported without otlp.endpoint.
enum class OtlpProtocol { HttpProtobuf, HttpJson };
enum class CaptureContent { None, Metadata, Full };

struct OtlpSettings {
  std::string endpoint;  // "http://collector:4318" or "https://..." as written, without a trailing "/"
  std::string host;      // of the endpoint
  std::uint16_t port = 4318;
  std::string base_path;  // of the endpoint ("" or "/otlp"); /v1/traces and /v1/metrics follow it
  OtlpProtocol protocol = OtlpProtocol::HttpProtobuf;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every export
  Duration timeout{10'000};                                  // one export request, connecting included
  bool tls = false;  // an https:// endpoint: the collector's certificate is verified against the system CAs
  bool insecureSkipVerify = false;  // https: the collector's certificate is not verified
};

struct Telemetry {
  std::optional<OtlpSettings> otlp;
  double sampling = 1.0;            // traces.sampling: the share of new traces recorded, 0..1
  Duration exportInterval{60'000};  // metrics.exportInterval
  CaptureContent captureContent = CaptureContent::None;
  std::vector<std::string> metricLabels;  // principal attributes added to GenAI metrics
};

struct GatewaySpec {
  std::vector<Listener> listeners{Listener{}};
  AdminListener admin;
  Limits limits;
  AccessLog accessLog;
  ClientAddress clientAddress;
  unsigned workers = 0;  // 0: one per core
  std::optional<RedisSettings> redis;
  Pricing pricing;
  std::optional<ResponseStore> responseStore;
  Telemetry telemetry;
};

struct Gateway {
  Origin origin;
  GatewaySpec spec;
};

// ---------------------------------------------------------------- Secret (v1)
struct SecretValue {
  std::string value;
  std::string problem;  // non-empty when the value could not be resolved (e.g. unset ${ENV})
};

struct Secret {
  Origin origin;
  std::map<std::string, SecretValue> data;  // stringData and decoded data, merged
};

// ---------------------------------------------------------------- Backend (sluice.dev/v1alpha1)
enum class TlsMode { Auto, Enabled, Disabled };

struct BackendTls {
  TlsMode mode = TlsMode::Auto;
  std::string sni;                            // default: the backend host
  std::optional<SecretKeyRef> caCertificate;  // Secret key (default "ca.crt") holding PEM CA(s)
  bool insecureSkipVerify = false;
};

enum class AuthKind { Inline, SecretRef, Passthrough, None };

struct AuthToken {
  AuthKind kind = AuthKind::None;
  std::string inlineValue;
  SecretKeyRef secretRef;  // key defaults to "apiKey"
};

struct AuthHeader {
  std::string headerName = "Authorization";
  std::string prefix = "Bearer ";
};

struct UpstreamPath {
  std::optional<std::string> full;    // exact upstream path
  std::optional<std::string> prefix;  // prefix + the API suffix ("/chat/completions")
};

enum class ProviderKind { OpenAI, Ollama, Anthropic, Gemini, VertexAI, AzureOpenAI, Bedrock };

// The config key naming a provider under ai.llm: "openai", "anthropic", ...
constexpr std::string_view provider_key(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::OpenAI:
      return "openai";
    case ProviderKind::Ollama:
      return "ollama";
    case ProviderKind::Anthropic:
      return "anthropic";
    case ProviderKind::Gemini:
      return "gemini";
    case ProviderKind::VertexAI:
      return "vertexai";
    case ProviderKind::AzureOpenAI:
      return "azureopenai";
    case ProviderKind::Bedrock:
      return "bedrock";
  }
  return "openai";
}

// Provider-specific fields, each read only for its own provider (ai.llm.<provider>.*).
struct AnthropicOptions {
  std::string apiVersion = "2023-06-01";  // anthropic-version header
  std::uint32_t defaultMaxTokens = 4096;  // when the client sets neither max_tokens nor max_completion_tokens
};

struct GeminiOptions {
  std::string apiVersion = "v1beta";  // path segment: /v1beta/models/{model}:generateContent
};

enum class VertexPublisher { Google, Anthropic };

struct VertexAIOptions {
  std::string projectId;
  std::string location;
  VertexPublisher publisher = VertexPublisher::Google;
  std::string apiVersion = "v1";
  std::string anthropicVersion = "vertex-2023-10-16";  // body anthropic_version (publisher ANTHROPIC)
  std::uint32_t defaultMaxTokens = 4096;
};

struct AzureOpenAIOptions {
  std::string endpoint;                   // my-resource.openai.azure.com
  std::string deploymentName;             // classic form: /openai/deployments/{deploymentName}/...
  std::string apiVersion = "2024-10-21";  // "v1": the /openai/v1/ form, no api-version query
};

struct BedrockOptions {
  std::string credentialsSecret;  // Secret with accessKeyId, secretAccessKey, sessionToken (optional)
  std::string region;
};

struct LlmProvider {
  ProviderKind kind = ProviderKind::OpenAI;
  AuthToken authToken;
  std::optional<std::string> model;
  // The models this provider serves, as the operator describes them (`models`): listed by
  // /v1/models next to `model` and to what the provider's own list call returns; the only
  // source besides `model` for providers that cannot list (Vertex AI, Bedrock).
  std::vector<std::string> models;
  AnthropicOptions anthropic;
  GeminiOptions gemini;
  VertexAIOptions vertexai;
  AzureOpenAIOptions azureopenai;
  BedrockOptions bedrock;
  std::optional<std::string> host;
  std::optional<std::uint16_t> port;
  UpstreamPath path;
  std::optional<AuthHeader> authHeader;
  BackendTls tls;
};

struct StaticHost {
  std::string host;
  std::uint16_t port = 80;
};

struct BackendTimeouts {
  Duration connect{5'000};
  Duration firstByte{300'000};   // LLMs can think for minutes before the first byte
  Duration streamIdle{300'000};  // longest silence between two body reads
  Duration poolIdle{4'000};      // pooled idle upstream connection lifetime (below the usual 5 s server keep-alive)
};

// API families a Backend accepts beyond chat completions and embeddings (ai.passthrough):
// requests for them are forwarded unchanged, auth applied, bodies streamed both ways.
struct Passthrough {
  std::vector<std::string> apis;   // audio, images, files, batches, responses, models, ...; "*" = all
  std::vector<std::string> paths;  // extra API paths, e.g. "/v1/rerank" (matched on the API suffix)
  bool allows_all() const {
    for (const auto& api : apis)
      if (api == "*") return true;
    return false;
  }
};

// One provider of a priority group (ai.priorityGroups[].providers[]): a name unique within the
// Backend, a weight within its group, and the same fields as ai.llm.
struct GroupProvider {
  std::string name;
  unsigned weight = 1;
  LlmProvider llm;
};

struct PriorityGroup {
  std::vector<GroupProvider> providers;
};

// Passive outlier detection (ai.outlierDetection): a provider that fails this many times in a
// row (connect failure, reset, timeout or 5xx) is ejected for baseEjectionTime x the number of
// its ejections so far; ejected providers are tried only after every other one. At most
// maxEjectionPercent of a Backend's providers are ejected at once.
struct OutlierDetection {
  bool enabled = false;  // on when the section is present
  unsigned consecutiveFailures = 5;
  Duration baseEjectionTime{30'000};
  unsigned maxEjectionPercent = 50;
  // Failure-rate ejection, on when failurePercentage is set: within each `interval`, once a
  // provider has had `minimumRequests` attempts, this share of failures or more ejects it.
  std::optional<unsigned> failurePercentage;
  unsigned minimumRequests = 20;
  Duration interval{10'000};
};

// Active health checks (ai.healthCheck): every `interval`, each provider of the Backend gets
// `GET path` with its credentials; an answer below 500 within `timeout` passes. After
// `unhealthyThreshold` failed checks in a row the provider is unhealthy (tried only after every
// other one) until `healthyThreshold` checks in a row pass.
struct HealthCheck {
  bool enabled = false;  // on when the section is present
  Duration interval{10'000};
  Duration timeout{2'000};
  std::optional<std::string> path;  // default: the provider's model list (e.g. /v1/models)
  unsigned unhealthyThreshold = 3;
  unsigned healthyThreshold = 2;
};

// A circuit breaker on concurrent requests (ai.circuitBreaker): a provider with this many
// requests in flight (all workers together) takes no more; new requests go to the next provider,
// or get a 503 when there is none. 0: no limit.
struct CircuitBreaker {
  unsigned maxRequests = 0;
};

// How /v1/models learns what the providers of an AI Backend serve (ai.modelList): each
// provider that can list (OpenAI-format, Anthropic, Gemini; not pinned by `model`) is asked
// for its model list in the background, every `refreshInterval`, each call bounded by
// `timeout`; `fetch: false` lists only what the configuration says.
struct ModelList {
  bool fetch = true;
  Duration refreshInterval{300'000};
  Duration timeout{10'000};
};

enum class BackendType { AI, Static };

struct Backend {
  Origin origin;
  BackendType type = BackendType::AI;
  LlmProvider llm;                            // type AI, one provider (ai.llm)
  std::vector<PriorityGroup> priorityGroups;  // type AI, or groups of providers (group 0 first)
  OutlierDetection outlierDetection;          // type AI
  CircuitBreaker circuitBreaker;              // type AI
  HealthCheck healthCheck;                    // type AI
  ModelList modelList;                        // type AI
  Passthrough passthrough;                    // type AI
  // type AI: account-choosing client headers (OpenAI-Organization, OpenAI-Project,
  // x-goog-user-project) and Cookie, forwarded even though Sluice injects its own credential.
  std::vector<std::string> forwardClientHeaders;
  std::vector<StaticHost> hosts;  // type Static
  BackendTls staticTls;           // type Static
  BackendTimeouts timeouts;
};

// ---------------------------------------------------------------- HTTPRoute (gateway.networking.k8s.io/v1)
enum class PathMatchType { Exact, PathPrefix, RegularExpression };
enum class ValueMatchType { Exact, RegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::PathPrefix;
  std::string value = "/";
};

struct ValueMatch {
  ValueMatchType type = ValueMatchType::Exact;
  std::string name;
  std::string value;
};

struct RouteMatch {
  PathMatch path;
  std::optional<std::string> method;
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> queryParams;
};

enum class RewritePathType { ReplaceFullPath, ReplacePrefixMatch };

struct UrlRewrite {
  std::optional<std::string> hostname;
  std::optional<RewritePathType> pathType;
  std::string pathValue;
};

struct HeaderModifier {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;
};

// TrafficPolicy spec.cors and the HTTPRoute CORS filter (policy/cors.hpp). Every field is optional
// so policies merge per field; origins, methods and headers as written (checked by the loader).
struct CorsPolicy {
  std::optional<std::vector<std::string>> allowOrigins;  // "*", scheme://host[:port], scheme://*.host[:port]
  std::optional<std::vector<std::string>> allowMethods;  // or ["*"]
  std::optional<std::vector<std::string>> allowHeaders;  // or ["*"]
  std::optional<std::vector<std::string>> exposeHeaders;
  std::optional<unsigned> maxAge;  // seconds
  std::optional<bool> allowCredentials;
};

enum class FilterType { URLRewrite, RequestHeaderModifier, ResponseHeaderModifier, CORS };

struct RouteFilter {
  FilterType type = FilterType::URLRewrite;
  UrlRewrite urlRewrite;
  HeaderModifier headerModifier;
  CorsPolicy cors;
};

struct BackendRef {
  std::string name;
  unsigned weight = 1;
};

struct RouteTimeouts {
  std::optional<Duration> request;         // whole exchange deadline
  std::optional<Duration> backendRequest;  // one upstream attempt, headers included
};

struct RouteRule {
  std::string name;  // defaults to "rule<i>"
  std::vector<RouteMatch> matches;
  std::vector<RouteFilter> filters;
  std::vector<BackendRef> backendRefs;
  RouteTimeouts timeouts;
};

struct HttpRoute {
  Origin origin;
  std::vector<std::string> hostnames;
  std::vector<RouteRule> rules;
};

// A rule's id, "route/rule": the label in logs and metrics and the key policies attach by.
// Unique per rule because the loader accepts only RFC 1123 names (no '/') for both parts.
inline std::string rule_id(std::string_view route, std::string_view rule) {
  std::string id;
  id.reserve(route.size() + 1 + rule.size());
  id.append(route).append("/").append(rule);
  return id;
}

// ---------------------------------------------------------------- TrafficPolicy (sluice.dev/v1alpha1)
enum class PolicyTargetKind { Gateway, HTTPRoute, Backend };

struct PolicyTargetRef {
  PolicyTargetKind kind = PolicyTargetKind::HTTPRoute;
  std::string name;
  std::string sectionName;  // HTTPRoute: a rule name (the policy then applies to that rule only)
};

// What a retry may happen on (retryOn).
struct RetryOn {
  bool connectFailure = true;
  bool reset = true;
  bool timeout = true;
  bool status5xx = true;
  bool status429 = true;
  std::vector<unsigned> statusCodes;  // retried too, whatever the classes above say
};

// TrafficPolicy spec.retry. Every field is optional so policies merge per field (Gateway <
// HTTPRoute < rule < Backend, the more specific winning); unset fields take the defaults in
// docs/reliability.md.
struct RetryPolicy {
  std::optional<unsigned> attempts;  // total attempts, the first included
  std::optional<RetryOn> retryOn;
  std::optional<Duration> perTryTimeout;  // first-byte timeout of each attempt
  std::optional<Duration> backoffBaseInterval;
  std::optional<Duration> backoffMaxInterval;
  std::optional<unsigned> budgetPercent;  // retries in flight, at most this % of requests in flight
};

// TrafficPolicy spec.auth: who may call (policy/auth.hpp).
enum class AuthMode { Strict, Optional };

struct ApiKeyEntry {
  std::string name;                       // the principal id
  std::optional<SecretKeyRef> secretRef;  // the raw key in a Secret, or:
  std::string keyHash;                    // its SHA-256, 64 lowercase hex digits ("sha256:" removed)
  std::map<std::string, std::string> metadata;
  std::vector<std::string> allowedModels;  // exact, prefix*, *suffix, *; empty: every model
};

struct ApiKeyAuth {
  std::optional<AuthMode> mode;                     // Strict when unset
  std::optional<std::vector<ApiKeyEntry>> keys;     // replaces the general policy's list
  std::optional<std::vector<std::string>> headers;  // where the key is read (lowercase)
};

}  // namespace sluice::config

namespace sluice::auth {
class KeySet;        // auth/jwks.hpp
class RemoteKeySet;  // auth/remote_key_set.hpp
}  // namespace sluice::auth

namespace sluice::config {

// Where a JWT provider's signing keys come from: exactly one of file, inline and remote.
struct RemoteJwks {
  std::string url;                                   // http:// or https://host[:port]/path
  Duration cacheDuration = std::chrono::minutes(5);  // how long a fetched key set is used before refetching
  std::optional<SecretKeyRef> caCertificate;  // Secret key (default "ca.crt") holding PEM CA(s); none: system CAs
  // The keys fetched in the background (policy/jwks_fetcher.hpp), made when the configuration is
  // loaded and shared by every copy of it.
  std::shared_ptr<auth::RemoteKeySet> keys;
};

struct JwksSource {
  std::string file;        // as written; a relative path is read from the configuration file's directory
  std::string inlineJwks;  // `inline`: the JWKS document itself
  std::optional<RemoteJwks> remote;
  std::shared_ptr<const auth::KeySet> keySet;  // parsed when the configuration is loaded; null if unusable
};

struct JwtProvider {
  std::string name;
  std::string issuer;                  // the token's iss, exactly
  std::vector<std::string> audiences;  // one must be in the token's aud; empty: aud not checked
  JwksSource jwks;
  std::string principalClaim = "sub";                   // the claim naming the caller (a dotted path)
  std::map<std::string, std::string> claimsToMetadata;  // principal metadata name -> claim path
  std::vector<std::string> allowedModels;               // exact, prefix*, *suffix, *; empty: every model
  // A claim holding the caller's model patterns (a list, or a string separated by spaces or
  // commas); when the token carries it, it replaces allowedModels.
  std::string allowedModelsClaim;
};

struct JwtAuth {
  std::optional<AuthMode> mode;                       // Strict when unset
  std::optional<std::vector<JwtProvider>> providers;  // replaces the general policy's list
};

struct AuthPolicy {
  std::optional<ApiKeyAuth> apiKey;
  std::optional<JwtAuth> jwt;
  // The labels of sluice_principal_*_total: "id" or principal metadata names; none: no series.
  std::optional<std::vector<std::string>> metricsLabels;
};

// TrafficPolicy spec.ai: what an AI request may carry and how it is completed (policy/ai.hpp).
struct PromptMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct PromptEnrichment {
  std::vector<PromptMessage> prepend;
  std::vector<PromptMessage> append;
};

struct RequestDefault {
  std::string field;  // top-level or dot path (reasoning.effort), in the client's schema
  std::string value;  // JSON text of the value, its type kept from the YAML
  bool override = false;
};

enum class GuardAction { Reject, Mask };

struct GuardPattern {
  std::string name;
  std::string pattern;  // RE2
  std::size_t maxLength = 64;
};

// What a guard that calls a service does when the service cannot answer (unreachable, too
// slow, an answer that breaks the contract): refuse the request (503) or let it through.
enum class FailureMode { FailClosed, FailOpen };

// ai.promptGuard.request.webhook: a guard service speaking the kgateway / agentgateway webhook
// contract (policy/webhook_guard.hpp).
struct GuardWebhook {
  std::string backend;                      // backendRef.name: the Backend the service is
  std::vector<std::string> forwardHeaders;  // client request headers copied onto the call
  Duration timeout{10'000};
  FailureMode failureMode = FailureMode::FailClosed;
};

// ai.promptGuard.request.moderation.openAIModeration: OpenAI's moderation endpoint
// (policy/moderation_guard.hpp).
struct ModerationGuard {
  std::string backend;  // backendRef.name: an AI Backend with an OpenAI provider
  std::string model = "omni-moderation-latest";
  Duration timeout{10'000};
  FailureMode failureMode = FailureMode::FailClosed;
};

struct RequestGuard {
  GuardAction action = GuardAction::Reject;
  std::vector<std::string> builtins;  // SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL
  std::vector<GuardPattern> matches;
  unsigned statusCode = 403;                                   // customResponse.statusCode (REJECT)
  std::string message = "The request was rejected by policy";  // customResponse.message
  std::optional<ModerationGuard> moderation;
  std::optional<GuardWebhook> webhook;
};

// promptGuard.response.webhook: the guard service on the model's answer
// (policy/response_webhook.hpp). Streams are passed without it unless `streaming: Buffer`.
enum class WebhookStreaming { Skip, Buffer };

struct ResponseWebhook {
  GuardWebhook call;
  WebhookStreaming streaming = WebhookStreaming::Skip;
};

// promptGuard.response: the same detectors on what the model answers (policy/response_guard.hpp).
struct ResponseGuard {
  GuardAction action = GuardAction::Reject;
  std::vector<std::string> builtins;
  std::vector<GuardPattern> matches;
  unsigned statusCode = 403;                                    // customResponse.statusCode (REJECT)
  std::string message = "The response was rejected by policy";  // customResponse.message
  std::optional<ResponseWebhook> webhook;
};

struct PromptGuard {
  std::optional<RequestGuard> request;
  std::optional<ResponseGuard> response;
};

// TrafficPolicy spec.rateLimit (policy/rate_limit.hpp). `by` names what a limit counts
// separately: principal, principal.metadata.<key>, model, route, backend, header:<name>,
// clientIP; each distinct combination of values has its own counter.
enum class RateUnit { Second, Minute, Hour, Day };

struct LocalRateLimit {
  std::uint64_t requests = 0;  // per unit, refilled continuously
  RateUnit unit = RateUnit::Second;
  std::uint64_t burst = 0;  // bucket size; 0: `requests`
  std::vector<std::string> by;
  // Set by the decoder: the TrafficPolicy that holds the limit ("TrafficPolicy/name") and the
  // limit's identity within the process (policy, kind, unit, by), which names its counters, so
  // a reload that changes the numbers keeps the counters.
  std::string policy;
  std::string identity;
  // Which limit this is in the access log's `limit` field: "TrafficPolicy/name spec.path[i]".
  std::string name;
};

enum class TokenCount { Input, Output, Total };

struct GlobalRateLimit {
  std::optional<std::uint64_t> requests;  // exactly one of requests and tokens
  std::optional<std::uint64_t> tokens;
  RateUnit unit = RateUnit::Minute;
  std::vector<std::string> by;
  TokenCount count = TokenCount::Total;  // tokens: which are counted
  std::string policy;                    // as LocalRateLimit
  std::string identity;                  // as LocalRateLimit
  std::string name;                      // as LocalRateLimit
};

enum class RedisFailureMode { FailClosed, FailOpen, Local };

struct GlobalRateLimits {
  std::optional<RedisFailureMode> failureMode;  // FailClosed when unset
  std::optional<std::vector<GlobalRateLimit>> limits;
  // Local: how many replicas share the limits (each enforces limit/replicas while Redis is down).
  std::optional<unsigned> replicas;
};

enum class StreamExceed { Finish, Truncate };

struct StreamLimits {
  std::optional<StreamExceed> onExceed;  // Finish when unset
};

struct RateLimitPolicy {
  std::optional<std::vector<LocalRateLimit>> local;
  std::optional<GlobalRateLimits> global;
  std::optional<StreamLimits> streams;
  // Output tokens reserved for a request that names no max_tokens (default: the provider's
  // default_max_tokens, 4096).
  std::optional<std::uint64_t> defaultMaxTokens;
};

// TrafficPolicy spec.ai.budgets: spend per period, in micro-USD (policy/budget.hpp).
enum class BudgetPeriod { Hour, Day, Week, Month };

struct Budget {
  std::vector<std::string> by;
  std::int64_t limit = 0;  // micro-USD ("500.00" in YAML)
  BudgetPeriod period = BudgetPeriod::Month;
  std::string policy;    // as LocalRateLimit
  std::string identity;  // as LocalRateLimit
  std::string name;      // as LocalRateLimit
};

// TrafficPolicy spec.ai.cache (policy/response_cache.hpp).
enum class CacheStore { Memory, Redis };
enum class CacheScope { Principal, Shared };

struct ExactCache {
  Duration ttl{3'600'000};
  std::uint64_t maxEntryBytes = 1024 * 1024;
  std::optional<CacheStore> store;  // Memory when unset, Redis when the Gateway names one
  CacheScope scope = CacheScope::Principal;
  std::uint64_t maxBytes = 64 * 1024 * 1024;  // Memory store: all entries together (LRU)
};

struct ResponseCachePolicy {
  std::optional<ExactCache> exact;
};

struct AiPolicy {
  std::optional<std::vector<Budget>> budgets;
  std::optional<ResponseCachePolicy> cache;
  std::optional<PromptGuard> promptGuard;
  std::optional<PromptEnrichment> promptEnrichment;
  std::optional<std::vector<RequestDefault>> defaults;
  std::optional<std::map<std::string, std::string>> modelAliases;
};

struct TrafficPolicy {
  Origin origin;
  std::vector<PolicyTargetRef> targetRefs;
  std::optional<AuthPolicy> auth;
  std::optional<AiPolicy> ai;
  std::optional<RetryPolicy> retry;
  std::optional<CorsPolicy> cors;
  std::optional<RateLimitPolicy> rateLimit;
};

// ---------------------------------------------------------------- everything, as loaded
struct Config {
  std::vector<std::string> sources;  // files read
  std::optional<Gateway> gateway;
  std::map<std::string, Secret> secrets;
  std::map<std::string, Backend> backends;
  std::vector<HttpRoute> routes;  // in load order (file order), which breaks precedence ties
  std::map<std::string, TrafficPolicy> policies;

  const GatewaySpec& gatewaySpec() const {
    static const GatewaySpec kDefault;
    return gateway ? gateway->spec : kDefault;
  }
};

}  // namespace sluice::config
