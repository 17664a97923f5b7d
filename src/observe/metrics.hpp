// Request metrics in Prometheus form. Each worker owns one MetricsShard and is its only writer;
// the shard's mutex is only ever contended by a scrape (no global lock on the hot path).
// render_prometheus() merges the shards at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::observe {

struct RequestSample {
  std::string_view route;    // "route/rule", or "" when no route matched
  std::string_view backend;  // "" when none was chosen
  unsigned status = 0;
  double seconds = 0;
  std::uint64_t bytes_sent = 0;
  std::string_view upstream_error;  // "", "connect", "timeout", "reset", "tls", "protocol"
};

inline constexpr std::array<double, 15> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                           2.5,   5,    10,    30,   60,  120,  300};

struct Histogram {
  std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double v);
};

class MetricsShard {
 public:
  void record(const RequestSample& sample);
  // One attempt at a provider of an AI Backend; `outcome` is "success", "failover" (it failed
  // and the next provider was tried) or "failure" (it failed and answered the client).
  void record_attempt(std::string_view backend, std::string_view provider, std::string_view outcome);
  void record_ejection(std::string_view backend, std::string_view provider);

  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> active_requests{0};

 private:
  friend std::string render_prometheus(const std::vector<const MetricsShard*>& shards);
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mutex_;
  std::string key_;                                                                        // reused lookup buffer
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> requests_;         // route\0backend\0code
  std::unordered_map<std::string, Histogram, Hash, std::equal_to<>> latency_;              // route\0backend
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> bytes_;            // route\0backend
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> upstream_errors_;  // backend\0kind
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> attempts_;         // backend\0provider\0outcome
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> ejections_;        // backend\0provider
};

std::string render_prometheus(const std::vector<const MetricsShard*>& shards);

}  // namespace sluice::observe
