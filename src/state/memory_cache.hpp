// MemoryCache: the response cache's memory store (policy/response_cache.hpp) — byte strings by
// key, each with an expiry, least recently used dropped first, all entries together bounded in
// bytes. Kept in the process's RuntimeRegistry under the cache's identity, so a reload that keeps
// the cache keeps its entries.
//
// Sharded: kShards independent LRUs (each a mutex, a list in use order and a hash map into it),
// the shard chosen by the key's hash, so workers hitting different keys take different locks and
// no lock is global. Each shard holds at most max_bytes / kShards; an entry larger than that is
// not stored. An entry's size counts its key, its value and kEntryOverhead. Expired entries are
// dropped when met (a lookup) or when room is needed; nothing runs in the background.
//
// Values are shared_ptr<const std::string>: a lookup copies a pointer under the shard's lock,
// never the body. The CacheGauges (a private set when none is given) (observe/metric_series.hpp) follow the bytes and
// entries held (relaxed atomics, touched on insert and removal only).
//
// Thread-safe: every member may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "observe/metric_series.hpp"

namespace sluice::state {

class MemoryCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Value = std::shared_ptr<const std::string>;
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kEntryOverhead = 96;  // list node, map node, bookkeeping

  explicit MemoryCache(std::uint64_t max_bytes, std::shared_ptr<observe::CacheGauges> gauges = nullptr);
  ~MemoryCache();
  MemoryCache(const MemoryCache&) = delete;
  MemoryCache& operator=(const MemoryCache&) = delete;

  // The value under `key` when there is one that has not expired at `now` (it becomes the most
  // recently used); null otherwise (an expired entry is dropped).
  Value get(std::string_view key, Clock::time_point now = Clock::now());
  // Stores `value` under `key` until `expires` (replacing an entry of that key), then drops the
  // least recently used entries of the shard, expired ones first, until it fits its bound.
  // Returns false, storing nothing, when the entry alone is larger than a shard's bound.
  bool put(std::string_view key, std::string value, Clock::time_point expires, Clock::time_point now = Clock::now());

  // A new bound (a reload changed maxBytes); takes effect at each shard's next insertion.
  void set_max_bytes(std::uint64_t max_bytes);
  std::uint64_t max_bytes() const { return max_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t shard_bound() const { return max_bytes() / kShards; }

  // What is held now (every shard summed; each shard read under its lock in turn).
  std::uint64_t bytes() const;
  std::size_t entries() const;

 private:
  struct Entry {
    std::string key;
    Value value;
    Clock::time_point expires;
    std::size_t size = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> order;                                                  // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into Entry::key
    std::uint64_t bytes = 0;
  };

  Shard& shard_of(std::string_view key);
  void erase(Shard& shard, std::list<Entry>::iterator entry);  // shard's lock held
  void account(std::int64_t bytes, std::int64_t entries);

  std::atomic<std::uint64_t> max_bytes_;
  std::shared_ptr<observe::CacheGauges> gauges_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::state
