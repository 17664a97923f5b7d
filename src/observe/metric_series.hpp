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
// (proxy::metric_model_names) or "other". Labelled families (principal labels the config
// chose, guard rule names) hold at most kLabelledSeriesMax label sets each.
//
// Thread-safety. Registration, publish() and the reading functions take the registry's mutex;
// they run while a snapshot is built or installed (main thread) and during a scrape (admin
// thread). Workers never call into the registry: they use the handles' slots. Handles are
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
inline constexpr std::uint32_t kCounterGroupMax = 8;  // the largest group of consecutive counters
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
};
inline constexpr std::size_t kLabelledFamilies = 2;
inline constexpr std::uint32_t kLabelledSeriesMax = 1000;
inline constexpr std::string_view kOtherLabelValue = "_other_";
// sluice_principal_*: requests, then kPrincipalTokenTypes, in slot order.
inline constexpr std::array<std::string_view, 2> kPrincipalTokenTypes = {"prompt", "completion"};
// How many consecutive counters a series of `family` takes.
constexpr std::uint32_t labelled_width(LabelledFamily family) {
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

// One provider of an AI Backend (a Backend with ai.llm is its own single provider).
struct ProviderSeries {
  CounterSlot attempts = kCounterSink;   // kAttemptOutcomes consecutive counters
  CounterSlot ejections = kCounterSink;  // one counter
  // Token counters (kTokenTypes consecutive counters) per model label value: the bounded
  // names, then "other" for every other model.
  std::vector<std::pair<std::string, CounterSlot>> models;
  CounterSlot other_tokens = kCounterSink;

  // The token counters of `model` (a short scan of the configured names; "other" if none).
  CounterSlot tokens_for(std::string_view model) const {
    for (const auto& [name, slot] : models)
      if (name == model) return slot;
    return other_tokens;
  }
};

// The series one snapshot build registered, published once it is installed.
class SeriesClaims {
 public:
  void add(std::uint32_t series) { ids_.push_back(series); }
  std::size_t size() const { return ids_.size(); }

 private:
  friend class MetricSeries;
  std::vector<std::uint32_t> ids_;
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
};

}  // namespace sluice::observe
