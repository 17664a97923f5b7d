// The response cache's parts: the memory store (byte bound, TTL, eviction order, threads), the
// key (tenant isolation, fields that do not change the answer, model and provider, scope), the
// stored entry's encoding and the stream completeness check.
#include "policy/response_cache.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>
#include <vector>

#include "provider/provider.hpp"
#include "proxy/snapshot.hpp"
#include "state/memory_cache.hpp"

namespace sluice {
namespace {

using state::MemoryCache;
using Clock = MemoryCache::Clock;
namespace json = boost::json;

// A cache whose shards each hold `per_shard` bytes.
MemoryCache cache_with_shard_bytes(std::uint64_t per_shard, std::shared_ptr<observe::CacheGauges> gauges = nullptr) {
  return MemoryCache(per_shard * MemoryCache::kShards, std::move(gauges));
}

// Keys that land in the same shard as `first` (the shard is the key's hash).
std::vector<std::string> same_shard_keys(std::size_t count) {
  std::vector<std::string> keys;
  const auto shard = [](const std::string& k) { return std::hash<std::string_view>{}(k) % MemoryCache::kShards; };
  const std::string first = "key-0";
  keys.push_back(first);
  for (int i = 1; keys.size() < count; ++i) {
    const auto k = "key-" + std::to_string(i);
    if (shard(k) == shard(first)) keys.push_back(k);
  }
  return keys;
}

TEST(MemoryCache, GetReturnsWhatWasPut) {
  MemoryCache cache(1 << 20);
  const auto now = Clock::now();
  ASSERT_TRUE(cache.put("k", "value", now + std::chrono::seconds(10), now));
  const auto got = cache.get("k", now);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, "value");
  EXPECT_EQ(cache.get("other", now), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), 1 + 5 + MemoryCache::kEntryOverhead);
}

TEST(MemoryCache, EntriesExpireAtTheirTtl) {
  MemoryCache cache(1 << 20);
  const auto now = Clock::now();
  cache.put("k", "value", now + std::chrono::seconds(10), now);
  EXPECT_NE(cache.get("k", now + std::chrono::seconds(9)), nullptr);
  EXPECT_EQ(cache.get("k", now + std::chrono::seconds(10)), nullptr);
  EXPECT_EQ(cache.entries(), 0u) << "an expired entry met by a lookup is dropped";
  EXPECT_EQ(cache.bytes(), 0u);
}

// A value making the entry of `key` exactly `entry` bytes.
std::string value_for(const std::string& key, std::size_t entry) {
  return std::string(entry - key.size() - MemoryCache::kEntryOverhead, 'v');
}

TEST(MemoryCache, ByteBoundEvictsLeastRecentlyUsedFirst) {
  const std::size_t entry = 200;
  auto cache = cache_with_shard_bytes(3 * entry);
  const auto keys = same_shard_keys(4);
  const auto now = Clock::now();
  const auto later = now + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.put(keys[i], value_for(keys[i], entry), later, now));
  EXPECT_EQ(cache.bytes(), 3 * entry);
  ASSERT_NE(cache.get(keys[0], now), nullptr);  // keys[1] is now the least recently used
  ASSERT_TRUE(cache.put(keys[3], value_for(keys[3], entry), later, now));
  EXPECT_EQ(cache.get(keys[1], now), nullptr) << "the least recently used entry went";
  EXPECT_NE(cache.get(keys[0], now), nullptr);
  EXPECT_NE(cache.get(keys[2], now), nullptr);
  EXPECT_NE(cache.get(keys[3], now), nullptr);
  EXPECT_LE(cache.bytes(), cache.max_bytes());
}

TEST(MemoryCache, ExpiredEntriesGoBeforeLiveOnes) {
  const std::size_t entry = 200;
  auto cache = cache_with_shard_bytes(2 * entry);
  const auto keys = same_shard_keys(3);
  const auto now = Clock::now();
  cache.put(keys[0], value_for(keys[0], entry), now + std::chrono::hours(1), now);
  // The most recently used, but it expires first.
  cache.put(keys[1], value_for(keys[1], entry), now + std::chrono::seconds(1), now);
  ASSERT_TRUE(
      cache.put(keys[2], value_for(keys[2], entry), now + std::chrono::hours(1), now + std::chrono::seconds(2)));
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_NE(cache.get(keys[0], now + std::chrono::seconds(2)), nullptr) << "the live LRU entry stays";
  EXPECT_NE(cache.get(keys[2], now + std::chrono::seconds(2)), nullptr);
}

TEST(MemoryCache, AnEntryLargerThanAShardIsNotStored) {
  auto cache = cache_with_shard_bytes(1000);
  const auto now = Clock::now();
  EXPECT_FALSE(cache.put("big", std::string(1000, 'x'), now + std::chrono::hours(1), now));
  EXPECT_EQ(cache.entries(), 0u);
}

TEST(MemoryCache, ReplacingAKeyKeepsOneEntry) {
  MemoryCache cache(1 << 20);
  const auto now = Clock::now();
  cache.put("k", "one", now + std::chrono::hours(1), now);
  cache.put("k", "three", now + std::chrono::hours(1), now);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(*cache.get("k", now), "three");
  EXPECT_EQ(cache.bytes(), 1 + 5 + MemoryCache::kEntryOverhead);
}

TEST(MemoryCache, GaugesFollowWhatIsHeldAndTheStoreGoing) {
  auto gauges = std::make_shared<observe::CacheGauges>();
  {
    MemoryCache cache(1 << 20, gauges);
    EXPECT_EQ(gauges->stores.load(), 1);
    const auto now = Clock::now();
    cache.put("a", "1", now + std::chrono::hours(1), now);
    cache.put("b", "22", now + std::chrono::hours(1), now);
    EXPECT_EQ(gauges->entries.load(), 2);
    EXPECT_EQ(gauges->stored_bytes.load(), static_cast<std::int64_t>(cache.bytes()));
  }
  EXPECT_EQ(gauges->stores.load(), 0);
  EXPECT_EQ(gauges->entries.load(), 0);
  EXPECT_EQ(gauges->stored_bytes.load(), 0);
}

TEST(MemoryCache, ThreadsStayWithinTheBound) {
  auto gauges = std::make_shared<observe::CacheGauges>();
  MemoryCache cache(64 * 1024, gauges);
  std::vector<std::thread> threads;
  std::atomic<int> hits{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, &hits, t] {
      for (int i = 0; i < 5000; ++i) {
        const auto key = "k" + std::to_string((i * 7 + t) % 300);
        const auto now = Clock::now();
        if (auto got = cache.get(key, now)) {
          if (*got == "v-" + key) ++hits;
        } else {
          cache.put(key, "v-" + key, now + std::chrono::hours(1), now);
        }
        EXPECT_LE(cache.bytes(), cache.max_bytes());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.bytes(), cache.max_bytes());
  EXPECT_EQ(gauges->stored_bytes.load(), static_cast<std::int64_t>(cache.bytes()));
  EXPECT_EQ(gauges->entries.load(), static_cast<std::int64_t>(cache.entries()));
}

// ---------------------------------------------------------------- the key

proxy::BackendRuntime backend(std::string name, std::string model) {
  proxy::BackendRuntime provider;
  provider.name = name;
  provider.ai = true;
  provider.provider = &provider::traits(config::ProviderKind::OpenAI);
  provider.model = std::move(model);
  proxy::BackendRuntime out;
  out.name = std::move(name);
  out.ai = true;
  out.groups.push_back({provider});
  return out;
}

json::object body(std::string_view text) {
  return json::parse(text).as_object();
}

std::string key_of(const proxy::BackendRuntime& b, std::string_view text, const pipeline::Principal* principal,
                   config::CacheScope scope = config::CacheScope::Principal,
                   route::ApiKind api = route::ApiKind::ChatCompletions) {
  return policy::response_cache_key(b, api, body(text), principal, scope);
}

constexpr std::string_view kChat = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

TEST(ResponseCacheKey, TwoPrincipalsNeverShareAKey) {
  const auto b = backend("openai", "gpt-4o-mini");
  const pipeline::Principal alice{"alice", {}, {}};
  const pipeline::Principal bob{"bob", {}, {}};
  EXPECT_EQ(key_of(b, kChat, &alice), key_of(b, kChat, &alice));
  EXPECT_NE(key_of(b, kChat, &alice), key_of(b, kChat, &bob));
  EXPECT_NE(key_of(b, kChat, &alice), key_of(b, kChat, nullptr)) << "anonymous callers have a scope of their own";
  EXPECT_EQ(key_of(b, kChat, nullptr).size(), 64u);
}

TEST(ResponseCacheKey, SharedScopeIgnoresThePrincipal) {
  const auto b = backend("openai", "gpt-4o-mini");
  const pipeline::Principal alice{"alice", {}, {}};
  const pipeline::Principal bob{"bob", {}, {}};
  EXPECT_EQ(key_of(b, kChat, &alice, config::CacheScope::Shared), key_of(b, kChat, &bob, config::CacheScope::Shared));
  EXPECT_NE(key_of(b, kChat, &alice, config::CacheScope::Shared), key_of(b, kChat, &alice));
}

TEST(ResponseCacheKey, UserAndMetadataDoNotChangeIt) {
  const auto b = backend("openai", "gpt-4o-mini");
  const auto plain = key_of(b, kChat, nullptr);
  EXPECT_EQ(plain,
            key_of(b, R"({"model":"gpt-4o-mini","user":"u-1","messages":[{"role":"user","content":"hi"}]})", nullptr));
  EXPECT_EQ(plain, key_of(b, R"({"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o-mini"})", nullptr))
      << "member order does not matter";
  const auto anthropic = backend("anthropic", "claude");
  constexpr std::string_view kMessages =
      R"({"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(
      key_of(anthropic, kMessages, nullptr, config::CacheScope::Principal, route::ApiKind::Messages),
      key_of(
          anthropic,
          R"({"model":"claude","max_tokens":10,"metadata":{"user_id":"x"},"messages":[{"role":"user","content":"hi"}]})",
          nullptr, config::CacheScope::Principal, route::ApiKind::Messages));
}

TEST(ResponseCacheKey, WhatChangesTheAnswerChangesIt) {
  const auto b = backend("openai", "gpt-4o-mini");
  const auto plain = key_of(b, kChat, nullptr);
  EXPECT_NE(plain, key_of(b, R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})", nullptr))
      << "another model";
  EXPECT_NE(plain, key_of(b, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"ho"}]})", nullptr))
      << "another message";
  EXPECT_NE(plain, key_of(b, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":0.5})",
                          nullptr))
      << "a sampling parameter";
  EXPECT_NE(plain,
            key_of(b, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true})", nullptr))
      << "a stream is stored apart";
  EXPECT_NE(plain, key_of(backend("other", "gpt-4o-mini"), kChat, nullptr)) << "another Backend";
  EXPECT_NE(
      plain,
      key_of(b,
             R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]})",
             nullptr))
      << "the whole conversation, not the last message";
}

TEST(ResponseCacheKey, TheProviderPickedIsPartOfIt) {
  auto b = backend("openai", "gpt-4o-mini");
  auto pinned = b;
  pinned.groups[0][0].model = "gpt-4o";
  EXPECT_NE(key_of(b, kChat, nullptr), key_of(pinned, kChat, nullptr)) << "a provider pinned to another model";
  auto kind = b;
  kind.groups[0][0].provider = &provider::traits(config::ProviderKind::Anthropic);
  EXPECT_NE(key_of(b, kChat, nullptr), key_of(kind, kChat, nullptr)) << "another provider kind";
}

TEST(ResponseCacheKey, TheClientApiIsPartOfIt) {
  const auto b = backend("openai", "gpt-4o-mini");
  EXPECT_NE(key_of(b, kChat, nullptr),
            key_of(b, kChat, nullptr, config::CacheScope::Principal, route::ApiKind::Messages));
}

// ---------------------------------------------------------------- entries and streams

TEST(ResponseCacheEntry, EncodesAndDecodes) {
  policy::CachedAnswer answer;
  answer.status = 200;
  answer.content_type = "text/event-stream; charset=utf-8";
  answer.prompt_tokens = 12;
  answer.completion_tokens = 7;
  answer.cached_tokens = -1;
  answer.stored_at_ms = 1700000000000;
  answer.body = "data: x\n\ndata: [DONE]\n\n";
  const auto decoded = policy::decode_cached_answer(policy::encode_cached_answer(answer));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->status, 200u);
  EXPECT_EQ(decoded->content_type, answer.content_type);
  EXPECT_EQ(decoded->prompt_tokens, 12);
  EXPECT_EQ(decoded->completion_tokens, 7);
  EXPECT_EQ(decoded->cached_tokens, -1);
  EXPECT_EQ(decoded->stored_at_ms, answer.stored_at_ms);
  EXPECT_EQ(decoded->body, answer.body);
  EXPECT_FALSE(policy::decode_cached_answer("garbage"));
  EXPECT_FALSE(policy::decode_cached_answer("SLC1 200 x\nbody"));
}

TEST(ResponseCacheEntry, StreamsMustEndWithTheirTerminalEvent) {
  using pipeline::ClientSchema;
  EXPECT_TRUE(policy::stream_complete("data: {\"a\":1}\n\ndata: [DONE]\n\n", ClientSchema::OpenAI));
  EXPECT_FALSE(policy::stream_complete("data: {\"a\":1}\n\n", ClientSchema::OpenAI));
  EXPECT_FALSE(policy::stream_complete("data: {\"error\":{}}\n\ndata: [DONE]\n\n", ClientSchema::OpenAI));
  EXPECT_TRUE(policy::stream_complete(
      "event: message_start\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
      ClientSchema::Anthropic));
  EXPECT_FALSE(policy::stream_complete("event: message_start\ndata: {}\n\n", ClientSchema::Anthropic));
  EXPECT_FALSE(
      policy::stream_complete("event: error\ndata: {}\n\nevent: message_stop\ndata: {}\n\n", ClientSchema::Anthropic));
}

}  // namespace
}  // namespace sluice
