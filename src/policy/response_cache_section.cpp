// The `ai.cache` field: its decoding (called by the ai section) and its registry entry's
// compile (policy/response_cache.hpp), apart from the stage so the configuration loader links
// without the serving code.
#include "config/yaml_reader.hpp"
#include "policy/response_cache.hpp"
#include "state/memory_cache.hpp"

namespace sluice::policy {

config::ResponseCachePolicy decode_response_cache(config::YamlMap& cache) {
  config::ResponseCachePolicy out;
  if (!cache.has("exact")) return out;
  config::YamlMap map(cache.take("exact"), cache.field("exact"), cache.ctx());
  const auto& ctx = map.ctx();
  config::ExactCache exact;
  if (auto ttl = map.duration("ttl")) {
    if (ttl->count() <= 0)
      ctx.error(map.node()["ttl"], map.field("ttl"), "must be longer than 0 (e.g. \"1h\")");
    else
      exact.ttl = *ttl;
  }
  if (auto bytes = map.bytes("maxEntryBytes")) {
    if (*bytes == 0)
      ctx.error(map.node()["maxEntryBytes"], map.field("maxEntryBytes"), "must be more than 0 (e.g. \"1Mi\")");
    else
      exact.maxEntryBytes = *bytes;
  }
  if (auto store = map.enumeration<config::CacheStore>(
          "store", {{"Memory", config::CacheStore::Memory}, {"Redis", config::CacheStore::Redis}}))
    exact.store = *store;
  if (auto scope = map.enumeration<config::CacheScope>(
          "scope", {{"Principal", config::CacheScope::Principal}, {"Shared", config::CacheScope::Shared}}))
    exact.scope = *scope;
  if (auto bytes = map.bytes("maxBytes")) {
    if (*bytes < state::MemoryCache::kShards * state::MemoryCache::kEntryOverhead)
      ctx.error(map.node()["maxBytes"], map.field("maxBytes"), "is too small to hold any entry (e.g. \"64Mi\")");
    else
      exact.maxBytes = *bytes;
  }
  if (exact.store != config::CacheStore::Redis && exact.maxEntryBytes > exact.maxBytes / state::MemoryCache::kShards)
    ctx.warning(map.node(), map.path(),
                "maxEntryBytes is larger than maxBytes/" + std::to_string(state::MemoryCache::kShards) +
                    " (one shard of the memory store): larger answers are not stored in memory");
  out.exact = exact;
  return out;
}

Stages compile_response_cache(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context) {
  // The most specific policy that sets the cache wins it whole; its memory store is named after it.
  const config::ExactCache* exact = nullptr;
  std::string identity;
  for (const auto* policy : attached) {
    if (policy->ai && policy->ai->cache) {
      exact = policy->ai->cache->exact ? &*policy->ai->cache->exact : nullptr;
      identity = policy->origin.id();
    }
  }
  if (exact == nullptr) return {};
  return {make_response_cache_stage(*exact, identity, context)};
}

}  // namespace sluice::policy
