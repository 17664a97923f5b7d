// MetricSeries: the process's registry of labelled metric series. It gives every label set a
// configuration implies a stable slot in the workers' metric storage (observe::MetricsShard),
// and hands the snapshot being built handles holding those slots, so recording a request is
// array indexing and a counter add: no lookup, no lock.
//
// Identity. A series is its label values: the same labels always get the same slot, so a
// reload that keeps a rule, Backend, provider or model keeps counting where it was. Series of
// configuration a reload removed stay registered, and are still rendered (a Prometheus counter
// never goes backwards); slots are never reused.
//
// Pre-created series. Snapshot::build registers every series its configuration implies and
// records them in a SeriesClaims; once that snapshot is installed, publish(claims) makes them
// rendered at 0 before anything was counted, so `increase()` sees a series' first burst. A
// rejected build's series are never published and stay invisible while they count nothing.
// Series no configuration implies (no route matched, a rule naming no known Backend) render
// only once counted.
//
// Bounded labels. No label takes a client value unbounded: route, backend and provider are
// configured names, codes are HTTP statuses, kinds, outcomes and auth failure reasons fixed
// sets, and a model is one of the names the provider's handle lists
// (proxy::metric_model_names: the configuration's model names and aliases) or "other".
// Labelled families (principal labels the config chose, guard rule names) hold at most
// kLabelledSeriesMax label sets each, and each metricLabels label at most
// kMetricLabelValuesMax values.
//
// Thread-safety. Registration, publish() and the reading functions take the registry's mutex;
// they run while a snapshot is built or installed (main thread) and during a scrape (admin
// thread). Workers record through the handles' slots; they call into the registry only for a
// labelled series or a metric label value they meet for the first time. Handles are
// plain values, owned by the snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice::observe {

// Indexes into every shard's storage: counters, and request cells (codes, latency, bytes).
using CounterSlot = std::uint32_t;
using RequestSlot = std::uint32_t;
inline constexpr std::uint32_t kNoSlot = UINT32_MAX;

// The capacity of a shard. Registrations past it share a sink that is never rendered (and are
// reported once in the operational log); that takes about a million counters or 65 thousand
// rule × Backend pairs of configuration history in one process.
inline constexpr std::uint32_t kCountersPerChunk = 1024;
inline constexpr std::uint32_t kCounterChunks = 1024;
inline constexpr std::uint32_t kRequestCellsPerChunk = 64;
inline constexpr std::uint32_t kRequestChunks = 1024;
inline constexpr std::uint32_t kCounterSlots = kCountersPerChunk * kCounterChunks;
inline constexpr std::uint32_t kRequestSlots = kRequestCellsPerChunk * kRequestChunks;
inline constexpr std::uint32_t kCounterGroupMax = 128;  // the largest group of consecutive counters
inline constexpr CounterSlot kCounterSink = kCounterSlots - kCounterGroupMax;
inline constexpr RequestSlot kRequestSink = kRequestSlots - 1;

// sluice_upstream_errors_total{kind}: the fixed set, in slot order. The first five can happen at
// any Backend and are pre-created for each; "key" (a provider refused its keys in turn) at AI
// Backends, pre-created for those; "status" (an error status set on an attempt that failed
// over, which the next attempt clears) only appears if ever counted.
inline constexpr std::array<std::string_view, 7> kUpstreamErrorKinds = {"connect",  "timeout", "reset", "tls",
                                                                        "protocol", "key",     "status"};
inline constexpr std::size_t kStaticUpstreamErrorKinds = 5;
inline constexpr std::size_t kAiUpstreamErrorKinds = 6;
// The slot offset of an upstream-error label (RequestRecord::upstream_error); nullopt for any
// other string.
std::optional<std::uint32_t> upstream_error_kind(std::string_view label);

// sluice_upstream_attempts_total{outcome}, in slot order.
enum class AttemptOutcome : std::uint32_t { Success, Failover, Failure };
inline constexpr std::array<std::string_view, 3> kAttemptOutcomes = {"success", "failover", "failure"};

// sluice_tokens_total{type}, in slot order.
enum class TokenType : std::uint32_t { Input, Output };
inline constexpr std::array<std::string_view, 2> kTokenTypes = {"input", "output"};
inline constexpr std::string_view kOtherModel = "other";

// sluice_auth_failures_total{reason}: the fixed set, in slot order, counted in the registry's
// first counters (kAuthFailureCounters onwards; RequestRecord::auth_failure names the reason).
inline constexpr std::array<std::string_view, 5> kAuthFailureReasons = {"missing", "invalid", "expired",
                                                                        "keys_unavailable", "model_not_allowed"};
inline constexpr CounterSlot kAuthFailureCounters = 0;
// The offset of an auth failure reason; nullopt for any other string.
std::optional<std::uint32_t> auth_failure_reason(std::string_view reason);

// sluice_cache_lookups_total{result}: the fixed set, in slot order, counted in the counters after
// the auth failures' (RequestRecord::cache names the result).
inline constexpr std::array<std::string_view, 3> kCacheLookupResults = {"hit", "miss", "bypass"};
inline constexpr CounterSlot kCacheLookupCounters = kAuthFailureCounters + kAuthFailureReasons.size();
// The offset of a cache lookup result; nullopt for any other string.
std::optional<std::uint32_t> cache_lookup_result(std::string_view result);

// Histograms kept in consecutive counters: one per bucket (non-cumulative, the last one above
// every bound), then the count, then the sum (a double's bits).
constexpr std::uint32_t histogram_width(std::size_t bounds) {
  return static_cast<std::uint32_t>(bounds) + 3;
}

// sluice_gateway_overhead_seconds: the time a request spent in Sluice, its upstream calls
// excluded, in the counters after the cache lookups'.
inline constexpr std::array<double, 16> kOverheadBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
inline constexpr CounterSlot kOverheadCounters = kCacheLookupCounters + kCacheLookupResults.size();

// The GenAI histograms of the OpenTelemetry semantic conventions, with the bucket boundaries they
// advise: one label set (operation, provider, request and response model, error type) holds
// them all, in this order.
inline constexpr std::array<double, 14> kTokenBuckets = {1,     4,     16,     64,      256,     1024,     4096,
                                                         16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
inline constexpr std::array<double, 14> kGenAiDurationBuckets = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                                 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
inline constexpr std::array<double, 16> kTimeToFirstTokenBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                                    0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
inline constexpr std::array<double, 13> kTimePerOutputTokenBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                                                      0.3,  0.4,   0.5,  0.75,  1.0, 2.5};
struct GenAiLayout {
  static constexpr CounterSlot input_tokens = 0;
  static constexpr CounterSlot output_tokens = input_tokens + histogram_width(kTokenBuckets.size());
  static constexpr CounterSlot operation_duration = output_tokens + histogram_width(kTokenBuckets.size());
  static constexpr CounterSlot request_duration = operation_duration + histogram_width(kGenAiDurationBuckets.size());
  static constexpr CounterSlot time_to_first_token = request_duration + histogram_width(kGenAiDurationBuckets.size());
  static constexpr CounterSlot time_per_output_token =
      time_to_first_token + histogram_width(kTimeToFirstTokenBuckets.size());
  static constexpr std::uint32_t width = time_per_output_token + histogram_width(kTimePerOutputTokenBuckets.size());
};

// sluice_cache_stored_bytes and sluice_cache_entries: what the response caches' memory stores
// hold together, kept by the stores themselves (state/memory_cache.hpp) with relaxed atomics, read
// at a scrape. `stores`: memory stores alive (the gauges are rendered once one existed).
struct CacheGauges {
  std::atomic<std::int64_t> stored_bytes{0};
  std::atomic<std::int64_t> entries{0};
  std::atomic<std::int64_t> stores{0};
};

// Series whose label values are known only when counted (a principal's claims, the guard rules
// a request matched), registered on first use by the worker that counts them
// (MetricsShard::labelled). Each family is bounded: past kLabelledSeriesMax distinct label
// sets, new ones are counted under the same label names with every value kOtherLabelValue.
enum class LabelledFamily : std::uint32_t {
  Principal,   // sluice_principal_requests_total, sluice_principal_tokens_total{type}: 3 counters
  GuardMatch,  // sluice_guard_matches_total{direction,rule,action}: 1 counter
  GenAi,       // the gen_ai.* histograms (GenAiLayout), labels with OpenTelemetry attribute keys
};
inline constexpr std::size_t kLabelledFamilies = 3;
inline constexpr std::uint32_t kLabelledSeriesMax = 1000;
inline constexpr std::string_view kOtherLabelValue = "_other_";
// sluice_principal_*: requests, then kPrincipalTokenTypes, in slot order.
inline constexpr std::array<std::string_view, 2> kPrincipalTokenTypes = {"prompt", "completion"};
// How many consecutive counters a series of `family` takes.
constexpr std::uint32_t labelled_width(LabelledFamily family) {
  if (family == LabelledFamily::GenAi) return GenAiLayout::width;
  return family == LabelledFamily::Principal ? 1 + kPrincipalTokenTypes.size() : 1;
}
// `value` escaped for a Prometheus label value (backslash, double quote, newline).
inline std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

// Appends `value` escaped for a label value (as escape_label_value, without a new string).
void append_label_value(std::string& out, std::string_view value);

// The label text of a GenAI series (LabelledFamily::GenAi), OpenTelemetry attribute keys:
// gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model, then gen_ai.response.model
// and error.type when not empty. Written into `out` (cleared first); the workers and the
// configuration's pre-created series build the same text for the same series.
void gen_ai_labels(std::string& out, std::string_view operation, std::string_view provider,
                   std::string_view request_model, std::string_view response_model, std::string_view error_type);

// Label text (name="value",..., values escaped) back into (name, value) pairs, values unescaped.
std::vector<std::pair<std::string, std::string>> parse_label_text(std::string_view labels);

// `labels` (name="value",... as Prometheus text) with every value replaced by kOtherLabelValue.
std::string collapse_label_values(std::string_view labels);

// The series of requests served by one rule through one Backend, and that Backend's upstream
// errors (kUpstreamErrorKinds consecutive counters from `upstream_errors`; kNoSlot when there is
// no Backend).
struct RouteSeries {
  RequestSlot request = kRequestSink;
  CounterSlot upstream_errors = kNoSlot;
};

// Requests no rule matched (route="", backend=""): the registry's first request slot.
inline constexpr RouteSeries kUnroutedSeries{0, kNoSlot};

// Why an attempt at a provider was refused before it was sent, in slot order:
// sluice_circuit_open_refusals_total and sluice_retry_budget_refusals_total.
enum class Refusal : std::uint32_t { CircuitOpen, RetryBudget };

// Hashes text for maps looked up by string_view (no std::string made for the lookup).
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// A principal attribute Gateway spec.telemetry.metricLabels adds to the GenAI series: its
// OpenTelemetry attribute key (the path as written, "principal.metadata.team"; Prometheus label
// principal_metadata_team) and its index in the registry, which bounds its values
// (MetricSeries::metric_label_value).
struct MetricLabel {
  std::string key;
  std::uint32_t index = 0;
};
// The most metricLabels entries, and distinct values one of them takes per process (then
// kOtherModel, "other").
inline constexpr std::size_t kMetricLabelsMax = 4;
inline constexpr std::uint32_t kMetricLabelValuesMax = 100;
// A metric label value's id: 0 is "other"; admitted values from 1.
inline constexpr std::uint16_t kOtherValueId = 0;

// One provider of an AI Backend (a Backend with ai.llm is its own single provider).
struct ProviderSeries {
  CounterSlot attempts = kCounterSink;   // kAttemptOutcomes consecutive counters
  CounterSlot ejections = kCounterSink;  // one counter
  CounterSlot refusals = kCounterSink;   // two counters, by Refusal
  // gen_ai.provider.name (the OpenTelemetry name of the provider's kind: "openai", "aws.bedrock").
  std::string_view gen_ai_provider;
  // Token counters (kTokenTypes consecutive counters) per model label value: the bounded
  // names, then "other" for every other model.
  std::vector<std::pair<std::string, CounterSlot>> models;
  CounterSlot other_tokens = kCounterSink;
  // models[i].first -> i, computed once per snapshot (a hash lookup per request).
  std::unordered_map<std::string, std::uint32_t, TextHash, std::equal_to<>> model_index;
  // Unique per registration (process-wide, never reused): with a model's index it names the
  // GenAI label set in the workers' caches (MetricsShard), so a request finds its series
  // without building label text.
  std::uint32_t id = 0;
  // Gateway spec.telemetry.metricLabels of the snapshot: RequestRecord::metric_label_values
  // holds their values, in this order.
  std::vector<MetricLabel> metric_labels;

  // The index of `model` among `models`; models.size() for "other".
  std::uint32_t model_position(std::string_view model) const {
    const auto it = model_index.find(model);
    return it == model_index.end() ? static_cast<std::uint32_t>(models.size()) : it->second;
  }
  // The model label value at `position` (model_position's answer).
  std::string_view model_name(std::uint32_t position) const {
    return position < models.size() ? std::string_view(models[position].first) : kOtherModel;
  }
  // The token counters of `model` (one of the configured names; "other" if none).
  CounterSlot tokens_for(std::string_view model) const {
    const auto position = model_position(model);
    return position < models.size() ? models[position].second : other_tokens;
  }
  // `model` as a bounded label value: one of the configured names, else "other".
  std::string_view bounded_model(std::string_view model) const { return model_name(model_position(model)); }
};

// The series one snapshot build registered, published once it is installed.
class SeriesClaims {
 public:
  void add(std::uint32_t series) { ids_.push_back(series); }
  // A labelled series the configuration implies (a GenAI label set), registered when published.
  void add_labelled(LabelledFamily family, std::string labels) { labelled_.emplace_back(family, std::move(labels)); }
  std::size_t size() const { return ids_.size(); }

 private:
  friend class MetricSeries;
  std::vector<std::uint32_t> ids_;
  std::vector<std::pair<LabelledFamily, std::string>> labelled_;
};

class MetricSeries {
 public:
  MetricSeries();
  // The response caches' memory-store gauges (any thread: atomics), shared with the stores,
  // which may outlive this registry (a snapshot built with a registry of its own).
  const std::shared_ptr<CacheGauges>& cache_gauges() const { return cache_gauges_; }
  MetricSeries(const MetricSeries&) = delete;
  MetricSeries& operator=(const MetricSeries&) = delete;

  // Requests of rule `route` ("route/rule") through Backend `backend`. `implied`: the
  // configuration implies it (a rule naming an unknown Backend registers backend "" instead,
  // rendered only once counted).
  RequestSlot request_series(std::string_view route, std::string_view backend, bool implied, SeriesClaims& claims);
  // Upstream errors of `backend`: kStaticUpstreamErrorKinds kinds are pre-created for every
  // Backend, kAiUpstreamErrorKinds for an AI Backend (`ai`).
  CounterSlot backend_series(std::string_view backend, bool ai, SeriesClaims& claims);
  // Attempts, ejections and tokens of `provider` of AI Backend `backend`; tokens for each of
  // `models` (its bounded model names) and for "other".
  ProviderSeries provider_series(std::string_view backend, std::string_view provider,
                                 std::span<const std::string> models, SeriesClaims& claims);

  // The registry index of metric label `key` (Gateway spec.telemetry.metricLabels), the same
  // for the same key across reloads.
  std::uint32_t metric_label(std::string_view key);
  // The id of `value` of metric label `label` (metric_label's index): the same id for the same
  // value; kOtherValueId once the label admitted kMetricLabelValuesMax values. Any thread (the
  // workers ask once per value, then cache the answer).
  std::uint16_t metric_label_value(std::uint32_t label, std::string_view value);

  // The series of an installed snapshot: rendered from now on, at 0 until counted.
  void publish(const SeriesClaims& claims);

  // The counters of the `family` series with `labels` (name="value",... as Prometheus text,
  // values escaped), registered now if new; the family's kOtherLabelValue series once it holds
  // kLabelledSeriesMax. Rendered from registration on.
  CounterSlot labelled_series(LabelledFamily family, std::string_view labels);

  // Reading, for the renderer (observe/metrics.cpp). Each visits in label order, under the
  // registry's mutex; `published` says whether the series is rendered at 0.
  void for_each_route(const std::function<void(const std::string& route, const std::string& backend, RequestSlot,
                                               bool published)>& visit) const;
  void for_each_backend(
      const std::function<void(const std::string& backend, CounterSlot errors, bool ai, bool published)>& visit) const;
  void for_each_provider(
      const std::function<void(const std::string& backend, const std::string& provider, CounterSlot attempts,
                               CounterSlot ejections, bool published)>& visit) const;
  // Every provider's refusal counters (two, by Refusal).
  void for_each_refusal(const std::function<void(const std::string& backend, const std::string& provider,
                                                 CounterSlot refusals, bool published)>& visit) const;
  void for_each_model(
      const std::function<void(const std::string& backend, const std::string& provider, const std::string& model,
                               CounterSlot tokens, bool published)>& visit) const;
  void for_each_labelled(LabelledFamily family,
                         const std::function<void(const std::string& labels, CounterSlot counters)>& visit) const;

 private:
  std::shared_ptr<CacheGauges> cache_gauges_ = std::make_shared<CacheGauges>();
  struct Entry {
    std::uint32_t id = 0;  // index into published_
    std::uint32_t slot = 0;
  };
  struct BackendEntry {
    std::uint32_t id = 0;
    CounterSlot errors = 0;
    bool ai = false;
  };
  struct ProviderEntry {
    std::uint32_t id = 0;
    CounterSlot attempts = 0;
    CounterSlot ejections = 0;
    CounterSlot refusals = kCounterSink;
  };

  std::uint32_t new_series();
  RequestSlot new_request_slot();
  CounterSlot new_counters(std::uint32_t count);
  CounterSlot model_series(const std::string& backend, const std::string& provider, std::string_view model,
                           SeriesClaims& claims);
  void report_full(std::string_view what);

  mutable std::mutex mutex_;
  std::vector<bool> published_;  // by series id
  RequestSlot next_request_ = 0;
  CounterSlot next_counter_ = 0;
  bool reported_full_ = false;
  std::map<std::pair<std::string, std::string>, Entry> routes_;  // (route, backend)
  std::map<std::string, BackendEntry> backends_;
  std::map<std::pair<std::string, std::string>, ProviderEntry> providers_;     // (backend, provider)
  std::map<std::tuple<std::string, std::string, std::string>, Entry> models_;  // (backend, provider, model)
  std::array<std::map<std::string, CounterSlot, std::less<>>, kLabelledFamilies> labelled_;  // labels -> counters
  std::uint32_t next_provider_id_ = 1;
  // Metric labels by registry index: the key, and the values admitted with their ids.
  std::vector<std::pair<std::string, std::map<std::string, std::uint16_t, std::less<>>>> metric_labels_;
};

}  // namespace sluice::observe
