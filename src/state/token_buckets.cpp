#include "state/token_buckets.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace sluice::state {

namespace {

std::chrono::milliseconds millis_for(double tokens, double per_second) {
  if (tokens <= 0) return std::chrono::milliseconds(0);
  if (per_second <= 0) return std::chrono::milliseconds(std::int64_t{1} << 40);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(tokens * 1000.0 / per_second)));
}

}  // namespace

void TokenBuckets::refill(Bucket& bucket, const Limit& limit, Clock::time_point now) {
  if (now <= bucket.updated) return;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(limit.capacity, bucket.tokens + elapsed * limit.per_second);
  bucket.updated = now;
}

void TokenBuckets::make_room(Shard& shard, const Limit& limit, Clock::time_point now) {
  if (shard.buckets.size() < kMaxBucketsPerShard) return;
  // Full buckets are the same as fresh ones: dropping them loses nothing. Each bucket is judged
  // by the limit being taken (buckets of other limits with a slower refill are kept longer).
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    refill(it->second, limit, now);
    it = it->second.tokens >= limit.capacity ? shard.buckets.erase(it) : std::next(it);
  }
  if (shard.buckets.size() < kMaxBucketsPerShard * 3 / 4) return;
  std::vector<Clock::time_point> times;
  times.reserve(shard.buckets.size());
  for (const auto& [key, bucket] : shard.buckets) times.push_back(bucket.updated);
  const auto quarter = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 4);
  std::nth_element(times.begin(), quarter, times.end());
  const auto cutoff = *quarter;
  std::erase_if(shard.buckets, [&](const auto& entry) { return entry.second.updated <= cutoff; });
}

TokenBuckets::Bucket& TokenBuckets::bucket(Shard& shard, std::string_view key, const Limit& limit,
                                           Clock::time_point now) {
  if (auto found = shard.buckets.find(key); found != shard.buckets.end()) {
    auto& bucket = found->second;
    refill(bucket, limit, now);
    bucket.tokens = std::min(bucket.tokens, limit.capacity);  // a lowered limit applies at once
    return bucket;
  }
  make_room(shard, limit, now);
  return shard.buckets.emplace(std::string(key), Bucket{limit.capacity, now}).first->second;
}

TokenBuckets::Outcome TokenBuckets::take(std::string_view key, double amount, const Limit& limit,
                                         Clock::time_point now) {
  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& b = bucket(shard, key, limit, now);
  Outcome out;
  if (b.tokens >= amount) {
    b.tokens -= amount;
    out.allowed = true;
  } else {
    out.retry_after = millis_for(amount - b.tokens, limit.per_second);
  }
  out.remaining = std::max(0.0, b.tokens);
  out.reset = millis_for(limit.capacity - b.tokens, limit.per_second);
  return out;
}

void TokenBuckets::adjust(std::string_view key, double amount, const Limit& limit, Clock::time_point now) {
  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& b = bucket(shard, key, limit, now);
  b.tokens = std::min(limit.capacity, b.tokens + amount);
}

std::size_t TokenBuckets::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace sluice::state
