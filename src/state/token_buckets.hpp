// TokenBuckets: the process's local rate-limit counters (TrafficPolicy rateLimit.local, and the
// stand-in for global limits while Redis is down under failureMode Local). One token bucket per
// counter key, refilled continuously at `rate` up to `capacity`; the capacity and rate are given
// with every take, so a reload that changes a limit applies it to the existing buckets.
//
// Sharded: a key's shard is picked by its hash and each shard has its own mutex, held for one
// map lookup and a few arithmetic steps — no lock shared by every request, well under a
// microsecond uncontended. Bounded: a shard keeps at most kMaxBucketsPerShard buckets; past it,
// buckets that have refilled to full (equal to a fresh one, so nothing is lost) are dropped, and
// if too few have, the quarter least recently refilled is dropped.
//
// Lives in the RuntimeRegistry (one per process), shared by every worker; thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::state {

class TokenBuckets {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kShards = 32;
  static constexpr std::size_t kMaxBucketsPerShard = 8192;

  struct Limit {
    double capacity = 0;     // tokens
    double per_second = 0;   // refill rate
  };

  struct Outcome {
    bool allowed = false;
    double remaining = 0;                  // after this take (allowed) or now (refused)
    std::chrono::milliseconds retry_after{0};  // refused: until `amount` is available
    std::chrono::milliseconds reset{0};        // until the bucket is full again
  };

  // Takes `amount` from `key`'s bucket when it holds that much; otherwise takes nothing.
  Outcome take(std::string_view key, double amount, const Limit& limit, Clock::time_point now);
  // Returns `amount` to `key`'s bucket (a refused request's other takes, unused reservations),
  // or takes more when negative (the bucket may go below zero: a debt paid by refill).
  void adjust(std::string_view key, double amount, const Limit& limit, Clock::time_point now);

  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets;
  };
  Bucket& bucket(Shard& shard, std::string_view key, const Limit& limit, Clock::time_point now);
  static void refill(Bucket& bucket, const Limit& limit, Clock::time_point now);
  void make_room(Shard& shard, const Limit& limit, Clock::time_point now);

  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::state
