// Request metrics in Prometheus form. Each worker owns one MetricsShard, storage indexed by the
// slots observe::MetricSeries handed to the snapshot (metric_series.hpp), and is its only
// writer: recording is array indexing and a relaxed load and store, with no lookup and no lock.
// A scrape reads every shard from the admin thread while the workers write: each value is an
// atomic read relaxed (a scrape sees each counter at some recent value), and storage is made in
// chunks that never move, published with release stores, so a shard grows while it is read.
// render_prometheus() merges the shards under the labels the registry knows.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "observe/metric_points.hpp"
#include "observe/metric_series.hpp"
#include "pipeline/request_record.hpp"

namespace sluice::state {
class RedisStatus;
}

namespace sluice::observe {

inline constexpr std::array<double, 15> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                           2.5,   5,    10,    30,   60,  120,  300};

// The bucket `seconds` falls in (bounds are inclusive); kLatencyBuckets.size() above them all.
std::size_t latency_bucket(double seconds);

// Single-writer storage of Cells, indexed by slot, in chunks made on first use. The owner's
// at() makes a chunk when needed; find() (any thread) answers nullptr for a slot whose chunk
// does not exist yet, i.e. one never written.
template <class Cell, std::uint32_t kPerChunk, std::uint32_t kChunks>
class ChunkedSlots {
 public:
  ChunkedSlots() = default;
  ChunkedSlots(const ChunkedSlots&) = delete;
  ChunkedSlots& operator=(const ChunkedSlots&) = delete;
  ~ChunkedSlots() {
    for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
  }

  Cell& at(std::uint32_t slot) {
    auto& chunk = chunks_[slot / kPerChunk];
    Cell* cells = chunk.load(std::memory_order_relaxed);  // only this thread stores it
    if (cells == nullptr) [[unlikely]] {
      cells = new Cell[kPerChunk]();
      chunk.store(cells, std::memory_order_release);
    }
    return cells[slot % kPerChunk];
  }
  const Cell* find(std::uint32_t slot) const {
    const Cell* cells = chunks_[slot / kPerChunk].load(std::memory_order_acquire);
    return cells == nullptr ? nullptr : &cells[slot % kPerChunk];
  }

 private:
  std::array<std::atomic<Cell*>, kChunks> chunks_{};
};

// Single writer: a plain add, no read-modify-write instruction.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The bucket `value` falls in among ascending `bounds` (inclusive upper bounds, as Prometheus and
// OpenTelemetry count them); bounds.size() above them all.
inline std::size_t bucket_index(std::span<const double> bounds, double value) {
  std::size_t i = 0;
  while (i < bounds.size() && value > bounds[i]) ++i;
  return i;
}

// One rule × Backend's requests in one shard: counts by status (one block of 100 per hundred,
// made when its first status is counted), the latency histogram and response bytes.
struct RequestCell {
  using CodeBlock = std::array<std::atomic<std::uint64_t>, 100>;
  static constexpr unsigned kCodeBlocks = 10;  // statuses 0-999

  RequestCell() = default;
  RequestCell(const RequestCell&) = delete;
  RequestCell& operator=(const RequestCell&) = delete;
  ~RequestCell() {
    for (auto& block : codes) delete block.load(std::memory_order_relaxed);
  }

  std::array<std::atomic<CodeBlock*>, kCodeBlocks> codes{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size()> buckets{};  // non-cumulative
  std::atomic<std::uint64_t> count{0};
  std::atomic<double> sum{0};
  std::atomic<std::uint64_t> bytes{0};
};

class MetricsShard {
 public:
  // The process's registry, for the labelled series this shard registers on first use (none:
  // those are not counted). Set once, before the worker starts.
  void attach(MetricSeries* series) { series_ = series; }
  // One finished request, through the series handles its record carries (none: unrouted):
  // requests, latency and bytes; the last attempt's upstream error; the tokens the provider
  // reported, under the record's model if the provider's series name it, else "other"; its
  // auth failure; its principal's labelled series (requests, tokens) when the auth policy names
  // metric labels; the guard rules it matched ("<direction> <action> <rule>,..." notes); the
  // GenAI histograms under the bounded model names and the metricLabels values (each bounded
  // to kMetricLabelValuesMax per process, then "other").
  void record(const pipeline::RequestRecord& record, double seconds);
  // The counters of the `family` series with `labels`: from this shard's cache, else registered
  // in the attached registry (its mutex, once per label set per worker); kCounterSink when no
  // registry is attached. Owner thread only.
  CounterSlot labelled(LabelledFamily family, std::string_view labels);
  // sluice_guard_matches_total: one match of each rule of `rules` (comma-separated) by a guard
  // of `direction` ("request", "response") that took `action` ("mask", "reject").
  void count_guard_matches(std::string_view direction, std::string_view action, std::string_view rules);
  // One finished request of the series `request`.
  void record_request(RequestSlot request, unsigned status, double seconds, std::uint64_t bytes_sent);
  // Adds `n` to counter `slot` (an upstream-error kind, attempt outcome, ejection, tokens).
  void add(CounterSlot slot, std::uint64_t n = 1) { bump(counters_.at(slot), n); }
  // One observation of the histogram kept in the counters from `first` (histogram_width(bounds)
  // of them: buckets, count, sum).
  void observe(CounterSlot first, std::span<const double> bounds, double value);

  // Any thread: the value of one counter (0 if never written).
  std::uint64_t counter(CounterSlot slot) const;
  const RequestCell* request_cell(RequestSlot slot) const { return requests_.find(slot); }

  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> active_requests{0};
  // TLS listeners: handshakes completed and failed (refused protocol, unknown client CA,
  // timeout, plaintext on the TLS port, ...).
  std::atomic<std::uint64_t> tls_handshakes{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};

 private:
  ChunkedSlots<std::atomic<std::uint64_t>, kCountersPerChunk, kCounterChunks> counters_;
  ChunkedSlots<RequestCell, kRequestCellsPerChunk, kRequestChunks> requests_;
  MetricSeries* series_ = nullptr;
  // Labelled series this shard resolved, by family; cleared when it grows past kLabelledCacheMax.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  static constexpr std::size_t kLabelledCacheMax = 4 * kLabelledSeriesMax;
  std::array<std::unordered_map<std::string, CounterSlot, StringHash, std::equal_to<>>, kLabelledFamilies> labelled_;
  std::string scratch_;  // label text being built
  // GenAI series this shard resolved, by what names them (GenAiKey): found with a hash of
  // integers, the label text built only the first time; cleared past kLabelledCacheMax.
  struct GenAiKey {
    std::uint64_t provider_models = 0;  // ProviderSeries::id, request and response model positions
    std::uint64_t operation_error = 0;  // operation, error.type
    std::uint64_t label_values = 0;     // the metricLabels values' ids, 16 bits each
    bool operator==(const GenAiKey&) const = default;
  };
  struct GenAiKeyHash {
    std::size_t operator()(const GenAiKey& key) const {
      std::uint64_t h = key.provider_models * 0x9E3779B97F4A7C15ull;
      h ^= (key.operation_error + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
      h ^= (key.label_values + 0x165667B19E3779F9ull) * 0x85EBCA77C2B2AE63ull;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  std::unordered_map<GenAiKey, CounterSlot, GenAiKeyHash> gen_ai_;
  // metricLabels values this shard resolved, by registry label index: value -> id.
  std::vector<std::unordered_map<std::string, std::uint16_t, StringHash, std::equal_to<>>> label_values_;
  // The id of `value` of metric label `label` (MetricSeries::metric_label_value), cached.
  std::uint16_t label_value_id(std::uint32_t label, std::string_view value);
  // The GenAI histograms of a finished request of an AI provider.
  void record_gen_ai(const pipeline::RequestRecord& record, double seconds);
};

// What a collection reports besides the shards: the process and its configuration, the state of
// every provider of the running configuration (read by the caller from its snapshot).
struct ProviderState {
  std::string backend;
  std::string provider;
  bool healthy = true;             // neither ejected, held by a Retry-After, nor failing its active checks
  bool ejected = false;            // ejected by outlier detection
  std::uint64_t benched_keys = 0;  // keys benched after the provider refused them
};
struct CollectContext {
  std::uint64_t generation = 0;  // the configuration generation served
  bool last_reload_ok = true;    // the last load (the start, or a reload) was applied
  double last_reload_unix_seconds = 0;
  std::vector<ProviderState> providers;
};

// Every series of the families below merged over `shards` into the neutral model
// (metric_points.hpp), with the OpenTelemetry names: the gen_ai.* histograms, the gateway
// overhead, the refusals, sluice.build.info, the process, the configuration and the providers'
// state. Any thread: it reads the shards' atomics and takes the registry's mutex.
MetricCollection collect_metrics(const MetricSeries& series, const std::vector<const MetricsShard*>& shards,
                                 const CollectContext& context);

// The Prometheus name of an OpenTelemetry metric, as OpenTelemetry's Prometheus exporter derives
// it: every character outside [a-zA-Z0-9_:] (dots) becomes '_', then the unit's suffix
// ("s" -> "_seconds", "By" -> "_bytes", "1" -> "_ratio" for gauges; an annotation in braces such
// as "{token}" is dropped, and so is a unit the name already ends with), then "_total" for a
// monotonic sum.
std::string prometheus_name(const MetricFamily& family);
// A Prometheus label name of an attribute key ("gen_ai.token.type" -> "gen_ai_token_type").
std::string prometheus_label(std::string_view key);
// The Prometheus text of `collection` (HELP, TYPE, one line per point; histograms as cumulative
// _bucket lines with le, then _sum and _count).
std::string render_collection(const MetricCollection& collection);

// The Prometheus text of every series `series` knows, each summed over `shards`.
// `redis`: the process's Redis counters when the running configuration names a Redis (null:
// no Redis series).
std::string render_prometheus(const MetricSeries& series, const std::vector<const MetricsShard*>& shards,
                              const state::RedisStatus* redis = nullptr);

}  // namespace sluice::observe
