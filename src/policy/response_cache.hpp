// The exact response cache (TrafficPolicy `ai.cache.exact`): a chat completions, embeddings or
// Messages request asked again, byte for byte in what decides the answer, is answered from the
// answer stored the first time, without a provider.
//
// Key: SHA-256 over (a) the Backend chosen and its providers' identities (name, provider kind,
// pinned model), (b)+(c) the request's canonical form after every other RequestBody stage of the
// `ai` section ran (aliases, defaults, enrichment, guards: the body a provider would be sent),
// the model included and `user`, `metadata` (`metadata.user_id`) left out, plus the stream flag
// and stream_options, (d) the client's API (OpenAI chat, OpenAI embeddings, Anthropic Messages:
// a hit is replayed in the schema it was stored in), (e) the scope: the principal's id by default
// (tenant isolation), "shared" with `scope: Shared`; callers without a principal (no auth policy,
// or an optional one they presented no credential to) share one anonymous scope, never a
// principal's.
//
// Lookup, a RequestBody stage: `Cache-Control: no-store` bypasses the cache (no lookup, nothing
// stored); `no-cache` skips the lookup but stores the answer. A hit answers locally with the
// stored status, content type and body (a stream's stored SSE bytes: the same events, at once).
// Every answer of a rule with a cache says `x-sluice-cache: hit|miss|bypass` (a request the cache
// never saw, e.g. a model list, says bypass).
//
// Filling: a miss keeps a tap on the answer (pipeline/response_tap.hpp): the bytes the client
// received, after translation and response filters. At Complete it is stored when it was a 2xx
// answer, ended complete, at most maxEntryBytes, and for a stream when its last event is the
// terminal one (OpenAI `data: [DONE]`, Anthropic `message_stop`) with no error event before it.
// The entry: a small header (status, content type, prompt / completion / cached tokens, stored-at)
// and the body.
//
// Stores: Memory (state/memory_cache.hpp: sharded LRU bounded by maxBytes, TTL per entry, kept in
// the runtime registry under the identity of the TrafficPolicy that defines the cache, so a
// reload keeps it), or Redis (`GET` / `SET <keyPrefix>cache:<hex> <entry> PX <ttl>` through the
// worker's RedisClient, shared by every replica; a Redis failure is a miss, logged at most once
// per kRedisLogInterval, never an error to the client).
//
// A hit fills the request record with the stored usage (prompt, completion tokens; cached tokens =
// the prompt tokens) and cache_hit, so cost accounting prices it at 0 and counts the saving.
//
// The stage is immutable and shared by every worker; a request's lookup state lives in its
// RequestContext. Decoding is pure.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/resources.hpp"
#include "pipeline/principal.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"
#include "route/api_path.hpp"

namespace sluice::config {
class YamlMap;
}
namespace sluice::proxy {
struct BackendRuntime;
}

namespace sluice::policy {

inline constexpr std::chrono::seconds kRedisLogInterval{10};

// `spec.ai.cache` (decode reports problems through the map's context).
config::ResponseCachePolicy decode_response_cache(config::YamlMap& cache);

// The cache key of a request (64 lowercase hex digits): see above. `body` is the request's
// parsed body in the client's schema of `api`.
std::string response_cache_key(const proxy::BackendRuntime& backend, route::ApiKind api,
                               const boost::json::object& body, const pipeline::Principal* principal,
                               config::CacheScope scope);

// A stored answer.
struct CachedAnswer {
  unsigned status = 200;
  std::string content_type;
  std::int64_t prompt_tokens = -1;  // -1: not known
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
  std::int64_t stored_at_ms = 0;  // Unix time
  std::string body;
};
std::string encode_cached_answer(const CachedAnswer& answer);
std::optional<CachedAnswer> decode_cached_answer(std::string_view entry);

// Whether a stream's bytes (SSE, in the client's schema) end with the terminal event and carry
// no error event.
bool stream_complete(std::string_view sse, pipeline::ClientSchema schema);

// The stage of `cache` (its `exact` part). `identity`: the TrafficPolicy that set it, naming its
// memory store in the runtime registry (context.registry; without one the stage keeps its own).
std::shared_ptr<const pipeline::Stage> make_response_cache_stage(const config::ExactCache& cache,
                                                                 const std::string& identity,
                                                                 const SectionContext& context);

// The cache's stage from the `ai.cache` of the attached policies (the most specific wins),
// none when no policy sets it.
Stages compile_response_cache(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context);

// ai.cache's registry entry: decoded by the ai section, compiled here at its own place in
// kPolicySections — after the rate limits, so a cached answer still counts as a request, and
// after the ai section's stages, so the key is the body they leave.
constexpr PolicySection response_cache_entry() {
  return PolicySection{.key = "ai.cache",
                       .every_branch = "",
                       .decode = nullptr,
                       .compile = &compile_response_cache,
                       .check_references = nullptr};
}

}  // namespace sluice::policy
