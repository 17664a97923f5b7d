#include "state/memory_cache.hpp"

#include <functional>

namespace sluice::state {

MemoryCache::MemoryCache(std::uint64_t max_bytes, std::shared_ptr<observe::CacheGauges> gauges)
    : max_bytes_(max_bytes), gauges_(gauges != nullptr ? std::move(gauges) : std::make_shared<observe::CacheGauges>()) {
  gauges_->stores.fetch_add(1, std::memory_order_relaxed);
}

MemoryCache::~MemoryCache() {
  account(-static_cast<std::int64_t>(bytes()), -static_cast<std::int64_t>(entries()));
  gauges_->stores.fetch_sub(1, std::memory_order_relaxed);
}

MemoryCache::Shard& MemoryCache::shard_of(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void MemoryCache::account(std::int64_t bytes, std::int64_t entries) {
  gauges_->stored_bytes.fetch_add(bytes, std::memory_order_relaxed);
  gauges_->entries.fetch_add(entries, std::memory_order_relaxed);
}

void MemoryCache::erase(Shard& shard, std::list<Entry>::iterator entry) {
  shard.bytes -= entry->size;
  account(-static_cast<std::int64_t>(entry->size), -1);
  shard.index.erase(std::string_view(entry->key));
  shard.order.erase(entry);
}

MemoryCache::Value MemoryCache::get(std::string_view key, Clock::time_point now) {
  auto& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(key);
  if (found == shard.index.end()) return nullptr;
  const auto entry = found->second;
  if (entry->expires <= now) {
    erase(shard, entry);
    return nullptr;
  }
  shard.order.splice(shard.order.begin(), shard.order, entry);
  return entry->value;
}

bool MemoryCache::put(std::string_view key, std::string value, Clock::time_point expires, Clock::time_point now) {
  const std::size_t size = key.size() + value.size() + kEntryOverhead;
  const auto bound = shard_bound();
  if (size > bound) return false;
  auto stored = std::make_shared<const std::string>(std::move(value));
  auto& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(key); found != shard.index.end()) erase(shard, found->second);
  // Room: expired entries first, then the least recently used.
  if (shard.bytes + size > bound) {
    for (auto it = shard.order.begin(); it != shard.order.end();) {
      const auto next = std::next(it);
      if (it->expires <= now) erase(shard, it);
      it = next;
    }
  }
  while (shard.bytes + size > bound && !shard.order.empty()) erase(shard, std::prev(shard.order.end()));
  shard.order.push_front(Entry{std::string(key), std::move(stored), expires, size});
  shard.index.emplace(std::string_view(shard.order.front().key), shard.order.begin());
  shard.bytes += size;
  account(static_cast<std::int64_t>(size), 1);
  return true;
}

void MemoryCache::set_max_bytes(std::uint64_t max_bytes) {
  max_bytes_.store(max_bytes, std::memory_order_relaxed);
}

std::uint64_t MemoryCache::bytes() const {
  std::uint64_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.bytes;
  }
  return total;
}

std::size_t MemoryCache::entries() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.order.size();
  }
  return total;
}

}  // namespace sluice::state
