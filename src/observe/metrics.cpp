#include "observe/metrics.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "observe/build_info.hpp"
#include "state/redis_client.hpp"

namespace sluice::observe {

namespace {

std::string escape_label(std::string_view v) {
  return escape_label_value(v);
}

std::uint64_t read(const std::atomic<std::uint64_t>& v) {
  return v.load(std::memory_order_relaxed);
}

// One rule × Backend's requests summed over the shards.
struct MergedRequests {
  std::string labels;  // route="…",backend="…"
  bool published = false;
  std::vector<std::pair<unsigned, std::uint64_t>> codes;  // ascending, counted ones only
  std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
  std::uint64_t count = 0;
  double sum = 0;
  std::uint64_t bytes = 0;
};

// Sums one series' cells; `by_code` is scratch space for the status counts.
MergedRequests merge_requests(const std::vector<const MetricsShard*>& shards, RequestSlot slot,
                              std::array<std::uint64_t, RequestCell::kCodeBlocks * 100>& by_code) {
  MergedRequests merged;
  std::array<bool, RequestCell::kCodeBlocks> seen{};
  by_code.fill(0);
  for (const auto* shard : shards) {
    const auto* cell = shard->request_cell(slot);
    if (cell == nullptr) continue;
    for (unsigned b = 0; b < RequestCell::kCodeBlocks; ++b) {
      const auto* block = cell->codes[b].load(std::memory_order_acquire);
      if (block == nullptr) continue;
      seen[b] = true;
      for (unsigned i = 0; i < block->size(); ++i) by_code[b * 100 + i] += read((*block)[i]);
    }
    for (std::size_t i = 0; i < merged.buckets.size(); ++i) merged.buckets[i] += read(cell->buckets[i]);
    merged.count += read(cell->count);
    merged.sum += cell->sum.load(std::memory_order_relaxed);
    merged.bytes += read(cell->bytes);
  }
  for (unsigned b = 0; b < RequestCell::kCodeBlocks; ++b) {
    if (!seen[b]) continue;
    for (unsigned code = b * 100; code < (b + 1) * 100; ++code)
      if (by_code[code] != 0) merged.codes.emplace_back(code, by_code[code]);
  }
  return merged;
}

std::uint64_t sum_counter(const std::vector<const MetricsShard*>& shards, CounterSlot slot) {
  std::uint64_t total = 0;
  for (const auto* shard : shards) total += shard->counter(slot);
  return total;
}

}  // namespace

CounterSlot MetricsShard::labelled(LabelledFamily family, std::string_view labels) {
  if (series_ == nullptr) return kCounterSink;
  auto& cache = labelled_[static_cast<std::size_t>(family)];
  if (const auto it = cache.find(labels); it != cache.end()) return it->second;
  const auto slot = series_->labelled_series(family, labels);
  if (cache.size() >= kLabelledCacheMax) cache.clear();
  cache.emplace(std::string(labels), slot);
  return slot;
}

void MetricsShard::count_guard_matches(std::string_view direction, std::string_view action, std::string_view rules) {
  while (!rules.empty()) {
    const auto comma = rules.find(',');
    const auto rule = rules.substr(0, comma);
    scratch_.assign("direction=\"").append(escape_label(direction)).append("\",rule=\"");
    scratch_.append(escape_label(rule)).append("\",action=\"").append(escape_label(action)).append("\"");
    add(labelled(LabelledFamily::GuardMatch, scratch_));
    if (comma == std::string_view::npos) break;
    rules.remove_prefix(comma + 1);
  }
}

std::size_t latency_bucket(double seconds) {
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  return i;
}

void MetricsShard::record_request(RequestSlot request, unsigned status, double seconds, std::uint64_t bytes_sent) {
  auto& cell = requests_.at(request);
  if (status >= RequestCell::kCodeBlocks * 100) status = RequestCell::kCodeBlocks * 100 - 1;
  auto& block_slot = cell.codes[status / 100];
  auto* block = block_slot.load(std::memory_order_relaxed);  // only this thread stores it
  if (block == nullptr) [[unlikely]] {
    block = new RequestCell::CodeBlock();
    block_slot.store(block, std::memory_order_release);
  }
  bump((*block)[status % 100]);
  if (const auto bucket = latency_bucket(seconds); bucket < kLatencyBuckets.size()) bump(cell.buckets[bucket]);
  bump(cell.count);
  cell.sum.store(cell.sum.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
  bump(cell.bytes, bytes_sent);
}

void MetricsShard::record(const pipeline::RequestRecord& record, double seconds) {
  const auto& series = record.series != nullptr ? *record.series : kUnroutedSeries;
  record_request(series.request, record.status, seconds, record.bytes_sent);
  if (!record.upstream_error.empty() && series.upstream_errors != kNoSlot) {
    if (const auto kind = upstream_error_kind(record.upstream_error)) add(series.upstream_errors + *kind);
  }
  if (!record.cache.empty()) {
    if (const auto result = cache_lookup_result(record.cache)) add(kCacheLookupCounters + *result);
  }
  if (!record.auth_failure.empty()) {
    if (const auto reason = auth_failure_reason(record.auth_failure)) add(kAuthFailureCounters + *reason);
  }
  if (!record.principal_labels.empty()) {
    const auto principal = labelled(LabelledFamily::Principal, record.principal_labels);
    add(principal);
    if (record.prompt_tokens > 0) add(principal + 1, static_cast<std::uint64_t>(record.prompt_tokens));
    if (record.completion_tokens > 0) add(principal + 2, static_cast<std::uint64_t>(record.completion_tokens));
  }
  // "<direction> <action> <rule>,<rule>" per regex guard, "; " between guards (a service's
  // note, "webhook:mask", has no rules and is not a match).
  for (std::string_view notes = record.guard; !notes.empty();) {
    const auto end = notes.find("; ");
    const auto note = notes.substr(0, end);
    notes = end == std::string_view::npos ? std::string_view{} : notes.substr(end + 2);
    const auto first = note.find(' ');
    const auto second = first == std::string_view::npos ? first : note.find(' ', first + 1);
    if (second != std::string_view::npos)
      count_guard_matches(note.substr(0, first), note.substr(first + 1, second - first - 1), note.substr(second + 1));
  }
  // The time spent in Sluice: all of it but the upstream calls.
  observe(kOverheadCounters, kOverheadBuckets, std::max(0.0, seconds - record.upstream_ms / 1000.0));
  if (record.provider_series != nullptr && !record.gen_ai_operation.empty()) record_gen_ai(record, seconds);
  if (record.provider_series == nullptr || (record.prompt_tokens < 0 && record.completion_tokens < 0)) return;
  const auto tokens = record.provider_series->tokens_for(record.model);
  if (record.prompt_tokens >= 0)
    add(tokens + static_cast<CounterSlot>(TokenType::Input), static_cast<std::uint64_t>(record.prompt_tokens));
  if (record.completion_tokens >= 0)
    add(tokens + static_cast<CounterSlot>(TokenType::Output), static_cast<std::uint64_t>(record.completion_tokens));
}

void MetricsShard::observe(CounterSlot first, std::span<const double> bounds, double value) {
  add(first + static_cast<CounterSlot>(bucket_index(bounds, value)));
  add(first + static_cast<CounterSlot>(bounds.size() + 1));
  auto& sum = counters_.at(first + static_cast<CounterSlot>(bounds.size() + 2));
  const double total = std::bit_cast<double>(sum.load(std::memory_order_relaxed)) + value;
  sum.store(std::bit_cast<std::uint64_t>(total), std::memory_order_relaxed);
}

namespace {

// gen_ai.operation.name as a small number for the GenAI cache key; 0: not one of these.
std::uint64_t operation_id(std::string_view operation) {
  static constexpr std::string_view kOperations[] = {"chat", "embeddings", "generate_content"};
  for (std::size_t i = 0; i < std::size(kOperations); ++i)
    if (kOperations[i] == operation) return i + 1;
  return 0;
}

}  // namespace

std::uint16_t MetricsShard::label_value_id(std::uint32_t label, std::string_view value) {
  if (series_ == nullptr) return kOtherValueId;
  if (label >= label_values_.size()) label_values_.resize(label + 1);
  auto& cache = label_values_[label];
  if (const auto it = cache.find(value); it != cache.end()) return it->second;
  const auto id = series_->metric_label_value(label, value);
  if (cache.size() >= 4 * kMetricLabelValuesMax) cache.clear();  // values past the bound, all "other"
  cache.emplace(std::string(value), id);
  return id;
}

void MetricsShard::record_gen_ai(const pipeline::RequestRecord& record, double seconds) {
  const auto& provider = *record.provider_series;
  // error.type: the upstream failure's kind, else the status of an error answer.
  std::string_view error = record.upstream_error;
  std::uint64_t error_code = 0;
  bool cacheable = true;
  char status[8];
  if (!error.empty()) {
    const auto kind = upstream_error_kind(error);
    cacheable = kind.has_value();
    error_code = 2000 + kind.value_or(0);
  } else if (record.status >= 400 || record.status == 0) {
    const auto [end, ec] = std::to_chars(status, status + sizeof status, record.status);
    error = std::string_view(status, static_cast<std::size_t>(end - status));
    error_code = 1 + std::min(record.status, 1999u);
  }
  const auto operation = operation_id(record.gen_ai_operation);
  cacheable = cacheable && operation != 0 && provider.metric_labels.size() <= kMetricLabelsMax;
  const auto request_model = provider.model_position(record.model);
  const auto response_model =
      record.response_model.empty() ? std::uint32_t{UINT16_MAX} : provider.model_position(record.response_model);
  std::array<std::uint16_t, kMetricLabelsMax> values{};
  std::array<std::string_view, kMetricLabelsMax> texts{};
  GenAiKey key;
  key.provider_models = static_cast<std::uint64_t>(provider.id) << 32 | std::uint64_t{request_model} << 16 |
                        std::uint64_t{response_model};
  key.operation_error = operation << 32 | error_code;
  for (std::size_t i = 0; i < provider.metric_labels.size() && i < kMetricLabelsMax; ++i) {
    if (i < record.metric_label_values.size()) texts[i] = record.metric_label_values[i];
    values[i] = label_value_id(provider.metric_labels[i].index, texts[i]);
    key.label_values |= std::uint64_t{values[i]} << (16 * i);
  }
  CounterSlot slot = kCounterSink;
  const auto cached = cacheable ? gen_ai_.find(key) : gen_ai_.end();
  if (cached != gen_ai_.end()) {
    slot = cached->second;
  } else {
    if (series_ == nullptr) return;
    gen_ai_labels(scratch_, record.gen_ai_operation, provider.gen_ai_provider, provider.model_name(request_model),
                  response_model == UINT16_MAX ? std::string_view{} : provider.model_name(response_model), error);
    for (std::size_t i = 0; i < provider.metric_labels.size() && i < kMetricLabelsMax; ++i) {
      scratch_.append(",").append(provider.metric_labels[i].key).append("=\"");
      append_label_value(scratch_, values[i] == kOtherValueId ? kOtherModel : texts[i]);
      scratch_ += '"';
    }
    slot = series_->labelled_series(LabelledFamily::GenAi, scratch_);
    if (cacheable) {
      if (gen_ai_.size() >= kLabelledCacheMax) gen_ai_.clear();
      gen_ai_.emplace(key, slot);
    }
  }
  if (slot == kCounterSink) return;
  using L = GenAiLayout;
  const bool ok = error.empty();
  if (ok && record.prompt_tokens >= 0)
    observe(slot + L::input_tokens, kTokenBuckets, static_cast<double>(record.prompt_tokens));
  if (ok && record.completion_tokens >= 0)
    observe(slot + L::output_tokens, kTokenBuckets, static_cast<double>(record.completion_tokens));
  if (record.upstream_ms > 0) observe(slot + L::operation_duration, kGenAiDurationBuckets, record.upstream_ms / 1000.0);
  observe(slot + L::request_duration, kGenAiDurationBuckets, seconds);
  if (!ok || record.first_token_ms < 0) return;
  observe(slot + L::time_to_first_token, kTimeToFirstTokenBuckets, record.first_token_ms / 1000.0);
  if (record.stream && record.completion_tokens > 1) {
    // Time per output token after the first: the rest of the answer over the tokens it carried.
    const double end_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - record.exchange_start).count();
    const double per_token =
        std::max(0.0, end_ms - record.first_token_ms) / 1000.0 / static_cast<double>(record.completion_tokens - 1);
    observe(slot + L::time_per_output_token, kTimePerOutputTokenBuckets, per_token);
  }
}

std::uint64_t MetricsShard::counter(CounterSlot slot) const {
  const auto* cell = counters_.find(slot);
  return cell == nullptr ? 0 : read(*cell);
}

namespace {

void render_redis(const state::RedisStatus& redis, std::string& out) {
  using Failure = state::RedisResult::Failure;
  out += "# HELP sluice_redis_commands_total Redis commands, by outcome (ok: answered, error replies included).\n";
  out += "# TYPE sluice_redis_commands_total counter\n";
  out += fmt::format("sluice_redis_commands_total{{outcome=\"ok\"}} {}\n", redis.replies());
  for (const auto failure : {Failure::Unavailable, Failure::Timeout, Failure::Protocol, Failure::Auth})
    out += fmt::format("sluice_redis_commands_total{{outcome=\"{}\"}} {}\n", state::failure_label(failure),
                       redis.failures(failure));
  out += "# HELP sluice_redis_latency_seconds Round trip of answered Redis commands.\n";
  out += "# TYPE sluice_redis_latency_seconds histogram\n";
  const auto& bounds = state::RedisStatus::kLatencyBucketsMicros;
  for (std::size_t i = 0; i < std::size(bounds); ++i)
    out += fmt::format("sluice_redis_latency_seconds_bucket{{le=\"{}\"}} {}\n", static_cast<double>(bounds[i]) / 1e6,
                       redis.latency_bucket(i));
  out += fmt::format("sluice_redis_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", redis.replies());
  out += fmt::format("sluice_redis_latency_seconds_sum {}\n", static_cast<double>(redis.latency_ns_total()) / 1e9);
  out += fmt::format("sluice_redis_latency_seconds_count {}\n", redis.replies());
  out += "# HELP sluice_redis_connected Redis connections currently up (one per worker that used Redis).\n";
  out += "# TYPE sluice_redis_connected gauge\n";
  out += fmt::format("sluice_redis_connected {}\n", redis.connections());
}

}  // namespace

std::string render_prometheus(const MetricSeries& series, const std::vector<const MetricsShard*>& shards,
                              const state::RedisStatus* redis) {
  std::vector<MergedRequests> requests;
  std::array<std::uint64_t, RequestCell::kCodeBlocks * 100> by_code;
  series.for_each_route([&](const std::string& route, const std::string& backend, RequestSlot slot, bool published) {
    auto merged = merge_requests(shards, slot, by_code);
    merged.published = published;
    if (!published && merged.count == 0) return;
    merged.labels = fmt::format("route=\"{}\",backend=\"{}\"", escape_label(route), escape_label(backend));
    requests.push_back(std::move(merged));
  });

  std::string out;
  out += "# HELP sluice_requests_total Requests served, by route, backend and HTTP status.\n";
  out += "# TYPE sluice_requests_total counter\n";
  for (const auto& r : requests) {
    // Code 200 is pre-created for every rule × Backend the configuration names.
    bool ok_written = !r.published;
    for (const auto& [code, v] : r.codes) {
      if (!ok_written && code > 200) out += fmt::format("sluice_requests_total{{{},code=\"200\"}} 0\n", r.labels);
      ok_written = ok_written || code >= 200;
      out += fmt::format("sluice_requests_total{{{},code=\"{}\"}} {}\n", r.labels, code, v);
    }
    if (!ok_written) out += fmt::format("sluice_requests_total{{{},code=\"200\"}} 0\n", r.labels);
  }
  out += "# HELP sluice_request_duration_seconds Time from request headers to the last response byte.\n";
  out += "# TYPE sluice_request_duration_seconds histogram\n";
  for (const auto& r : requests) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += r.buckets[i];
      out += fmt::format("sluice_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", r.labels, kLatencyBuckets[i],
                         cumulative);
    }
    out += fmt::format("sluice_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", r.labels, r.count);
    out += fmt::format("sluice_request_duration_seconds_sum{{{}}} {}\n", r.labels, r.sum);
    out += fmt::format("sluice_request_duration_seconds_count{{{}}} {}\n", r.labels, r.count);
  }
  out += "# HELP sluice_response_bytes_total Response body bytes sent to clients.\n";
  out += "# TYPE sluice_response_bytes_total counter\n";
  for (const auto& r : requests) out += fmt::format("sluice_response_bytes_total{{{}}} {}\n", r.labels, r.bytes);

  out += "# HELP sluice_upstream_errors_total Upstream failures, by backend and kind.\n";
  out += "# TYPE sluice_upstream_errors_total counter\n";
  series.for_each_backend([&](const std::string& backend, CounterSlot errors, bool ai, bool published) {
    for (std::size_t kind = 0; kind < kUpstreamErrorKinds.size(); ++kind) {
      const auto v = sum_counter(shards, errors + static_cast<CounterSlot>(kind));
      const bool precreated = published && kind < (ai ? kAiUpstreamErrorKinds : kStaticUpstreamErrorKinds);
      if (v == 0 && !precreated) continue;
      out += fmt::format("sluice_upstream_errors_total{{backend=\"{}\",kind=\"{}\"}} {}\n", escape_label(backend),
                         kUpstreamErrorKinds[kind], v);
    }
  });
  out +=
      "# HELP sluice_upstream_attempts_total Attempts at the providers of AI Backends, by outcome: success, "
      "failover (failed, the next provider was tried) or failure (failed, answered the client).\n";
  out += "# TYPE sluice_upstream_attempts_total counter\n";
  std::string ejections;
  series.for_each_provider([&](const std::string& backend, const std::string& provider, CounterSlot attempts,
                               CounterSlot ejected, bool published) {
    const auto labels = fmt::format("backend=\"{}\",provider=\"{}\"", escape_label(backend), escape_label(provider));
    for (std::size_t outcome = 0; outcome < kAttemptOutcomes.size(); ++outcome) {
      const auto v = sum_counter(shards, attempts + static_cast<CounterSlot>(outcome));
      if (v == 0 && !published) continue;
      out +=
          fmt::format("sluice_upstream_attempts_total{{{},outcome=\"{}\"}} {}\n", labels, kAttemptOutcomes[outcome], v);
    }
    const auto v = sum_counter(shards, ejected);
    if (v != 0 || published) ejections += fmt::format("sluice_provider_ejections_total{{{}}} {}\n", labels, v);
  });
  out += "# HELP sluice_provider_ejections_total Providers ejected by outlier detection.\n";
  out += "# TYPE sluice_provider_ejections_total counter\n";
  out += ejections;
  out +=
      "# HELP sluice_tokens_total Tokens providers reported, by backend, provider, model (a configured name, or "
      "other) and type (input, output).\n";
  out += "# TYPE sluice_tokens_total counter\n";
  series.for_each_model([&](const std::string& backend, const std::string& provider, const std::string& model,
                            CounterSlot tokens, bool published) {
    for (std::size_t type = 0; type < kTokenTypes.size(); ++type) {
      const auto v = sum_counter(shards, tokens + static_cast<CounterSlot>(type));
      if (v == 0 && !published) continue;
      out += fmt::format("sluice_tokens_total{{backend=\"{}\",provider=\"{}\",model=\"{}\",type=\"{}\"}} {}\n",
                         escape_label(backend), escape_label(provider), escape_label(model), kTokenTypes[type], v);
    }
  });

  std::string auth_failures;
  for (std::size_t reason = 0; reason < kAuthFailureReasons.size(); ++reason) {
    const auto v = sum_counter(shards, kAuthFailureCounters + static_cast<CounterSlot>(reason));
    if (v != 0)
      auth_failures += fmt::format("sluice_auth_failures_total{{reason=\"{}\"}} {}\n", kAuthFailureReasons[reason], v);
  }
  if (!auth_failures.empty()) {
    out += "# HELP sluice_auth_failures_total Requests the auth policy refused, by reason.\n";
    out += "# TYPE sluice_auth_failures_total counter\n";
    out += auth_failures;
  }
  std::string cache_lookups;
  for (std::size_t result = 0; result < kCacheLookupResults.size(); ++result) {
    const auto v = sum_counter(shards, kCacheLookupCounters + static_cast<CounterSlot>(result));
    if (v != 0)
      cache_lookups += fmt::format("sluice_cache_lookups_total{{result=\"{}\"}} {}\n", kCacheLookupResults[result], v);
  }
  if (!cache_lookups.empty()) {
    out += "# HELP sluice_cache_lookups_total Requests of rules with a response cache, by result.\n";
    out += "# TYPE sluice_cache_lookups_total counter\n";
    out += cache_lookups;
  }
  const auto& cache = *series.cache_gauges();
  if (cache.stores.load(std::memory_order_relaxed) > 0 || cache.entries.load(std::memory_order_relaxed) > 0) {
    out += "# HELP sluice_cache_stored_bytes Bytes the response caches' memory stores hold.\n";
    out += "# TYPE sluice_cache_stored_bytes gauge\n";
    out += fmt::format("sluice_cache_stored_bytes {}\n", cache.stored_bytes.load(std::memory_order_relaxed));
    out += "# HELP sluice_cache_entries Entries the response caches' memory stores hold.\n";
    out += "# TYPE sluice_cache_entries gauge\n";
    out += fmt::format("sluice_cache_entries {}\n", cache.entries.load(std::memory_order_relaxed));
  }
  std::string principal_requests;
  std::string principal_tokens;
  series.for_each_labelled(LabelledFamily::Principal, [&](const std::string& labels, CounterSlot counters) {
    principal_requests +=
        fmt::format("sluice_principal_requests_total{{{}}} {}\n", labels, sum_counter(shards, counters));
    for (std::size_t type = 0; type < kPrincipalTokenTypes.size(); ++type)
      principal_tokens +=
          fmt::format("sluice_principal_tokens_total{{{},type=\"{}\"}} {}\n", labels, kPrincipalTokenTypes[type],
                      sum_counter(shards, counters + 1 + static_cast<CounterSlot>(type)));
  });
  if (!principal_requests.empty()) {
    out +=
        "# HELP sluice_principal_requests_total Requests by authenticated caller, under the labels auth.metricsLabels "
        "names.\n";
    out += "# TYPE sluice_principal_requests_total counter\n";
    out += principal_requests;
    out +=
        "# HELP sluice_principal_tokens_total Tokens providers reported, by authenticated caller and type (prompt, "
        "completion).\n";
    out += "# TYPE sluice_principal_tokens_total counter\n";
    out += principal_tokens;
  }
  std::string guard_matches;
  series.for_each_labelled(LabelledFamily::GuardMatch, [&](const std::string& labels, CounterSlot counter) {
    guard_matches += fmt::format("sluice_guard_matches_total{{{}}} {}\n", labels, sum_counter(shards, counter));
  });
  if (!guard_matches.empty()) {
    out += "# HELP sluice_guard_matches_total Prompt guard rule matches, by direction, rule and action.\n";
    out += "# TYPE sluice_guard_matches_total counter\n";
    out += guard_matches;
  }

  std::int64_t connections = 0, active = 0;
  for (const auto* shard : shards) {
    connections += shard->open_connections.load(std::memory_order_relaxed);
    active += shard->active_requests.load(std::memory_order_relaxed);
  }
  out += "# HELP sluice_open_connections Client connections currently open.\n";
  out += "# TYPE sluice_open_connections gauge\n";
  out += fmt::format("sluice_open_connections {}\n", connections);
  out += "# HELP sluice_active_requests Requests currently in flight.\n";
  out += "# TYPE sluice_active_requests gauge\n";
  out += fmt::format("sluice_active_requests {}\n", active);
  std::uint64_t handshakes = 0, handshake_failures = 0;
  for (const auto* shard : shards) {
    handshakes += shard->tls_handshakes.load(std::memory_order_relaxed);
    handshake_failures += shard->tls_handshake_failures.load(std::memory_order_relaxed);
  }
  out += "# HELP sluice_tls_handshakes_total TLS handshakes completed on the listeners.\n";
  out += "# TYPE sluice_tls_handshakes_total counter\n";
  out += fmt::format("sluice_tls_handshakes_total {}\n", handshakes);
  out += "# HELP sluice_tls_handshake_failures_total TLS handshakes that failed on the listeners.\n";
  out += "# TYPE sluice_tls_handshake_failures_total counter\n";
  out += fmt::format("sluice_tls_handshake_failures_total {}\n", handshake_failures);
  if (redis != nullptr) render_redis(*redis, out);
  return out;
}

namespace {

// When the process started (the library is loaded with it), in Unix nanoseconds.
const std::uint64_t kProcessStartUnixNanos = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());

std::uint64_t unix_nanos_now() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

MetricFamily family(std::string name, std::string unit, std::string description, MetricKind kind, bool integer = true) {
  MetricFamily f;
  f.name = std::move(name);
  f.unit = std::move(unit);
  f.description = std::move(description);
  f.kind = kind;
  f.integer = integer;
  return f;
}

MetricFamily histogram_family(std::string name, std::string unit, std::string description,
                              std::span<const double> bounds) {
  auto f = family(std::move(name), std::move(unit), std::move(description), MetricKind::Histogram);
  f.bounds.assign(bounds.begin(), bounds.end());
  return f;
}

MetricPoint value_point(std::vector<MetricAttribute> attributes, double value) {
  MetricPoint p;
  p.attributes = std::move(attributes);
  p.value = value;
  return p;
}

// The histogram kept in the counters from `first`, summed over the shards.
MetricPoint histogram_point(const std::vector<const MetricsShard*>& shards, CounterSlot first, std::size_t bounds,
                            std::vector<MetricAttribute> attributes) {
  MetricPoint p;
  p.attributes = std::move(attributes);
  p.bucket_counts.assign(bounds + 1, 0);
  for (const auto* shard : shards) {
    for (std::size_t i = 0; i <= bounds; ++i) p.bucket_counts[i] += shard->counter(first + static_cast<CounterSlot>(i));
    p.count += shard->counter(first + static_cast<CounterSlot>(bounds + 1));
    p.sum += std::bit_cast<double>(shard->counter(first + static_cast<CounterSlot>(bounds + 2)));
  }
  return p;
}

// The process's own figures, as the Prometheus client libraries name them.
void collect_process(MetricCollection& out) {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    auto f = family("process.cpu", "s", "Total user and system CPU time spent in seconds.", MetricKind::Sum, false);
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    f.points.push_back(value_point({}, cpu));
    out.families.push_back(std::move(f));
  }
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(statm, "%lu %lu", &size, &resident) == 2) {
      auto f = family("process.resident_memory", "By", "Resident memory size in bytes.", MetricKind::Gauge);
      f.points.push_back(value_point({}, static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE))));
      out.families.push_back(std::move(f));
    }
    std::fclose(statm);
  }
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    std::uint64_t open = 0;
    while (const dirent* entry = ::readdir(fds))
      if (entry->d_name[0] != '.') ++open;
    ::closedir(fds);
    auto f = family("process.open_fds", "", "Number of open file descriptors.", MetricKind::Gauge);
    f.points.push_back(value_point({}, static_cast<double>(open > 0 ? open - 1 : 0)));  // minus the listing's own
    out.families.push_back(std::move(f));
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    auto f = family("process.max_fds", "", "Maximum number of open file descriptors.", MetricKind::Gauge);
    f.points.push_back(value_point({}, static_cast<double>(limit.rlim_cur)));
    out.families.push_back(std::move(f));
  }
  auto start = family("process.start_time", "s", "Start time of the process since unix epoch in seconds.",
                      MetricKind::Gauge, false);
  start.points.push_back(value_point({}, static_cast<double>(kProcessStartUnixNanos) / 1e9));
  out.families.push_back(std::move(start));
}

}  // namespace

MetricCollection collect_metrics(const MetricSeries& series, const std::vector<const MetricsShard*>& shards,
                                 const CollectContext& context) {
  MetricCollection out;
  out.start_unix_nanos = kProcessStartUnixNanos;
  out.time_unix_nanos = unix_nanos_now();
  using L = GenAiLayout;
  auto tokens = histogram_family("gen_ai.client.token.usage", "{token}",
                                 "Measures number of input and output tokens used.", kTokenBuckets);
  auto operation = histogram_family("gen_ai.client.operation.duration", "s",
                                    "GenAI operation duration: Sluice's calls to the provider.", kGenAiDurationBuckets);
  auto request = histogram_family(
      "gen_ai.server.request.duration", "s",
      "Generative AI server request duration such as time-to-last byte or last output token.", kGenAiDurationBuckets);
  auto first_token =
      histogram_family("gen_ai.server.time_to_first_token", "s",
                       "Time to generate first token for successful responses.", kTimeToFirstTokenBuckets);
  auto per_token = histogram_family("gen_ai.server.time_per_output_token", "s",
                                    "Time per output token generated after the first token for successful responses.",
                                    kTimePerOutputTokenBuckets);
  series.for_each_labelled(LabelledFamily::GenAi, [&](const std::string& labels, CounterSlot first) {
    const auto attributes = parse_label_text(labels);
    auto input = attributes;
    input.emplace_back("gen_ai.token.type", "input");
    tokens.points.push_back(histogram_point(shards, first + L::input_tokens, kTokenBuckets.size(), std::move(input)));
    auto output = attributes;
    output.emplace_back("gen_ai.token.type", "output");
    tokens.points.push_back(histogram_point(shards, first + L::output_tokens, kTokenBuckets.size(), std::move(output)));
    operation.points.push_back(
        histogram_point(shards, first + L::operation_duration, kGenAiDurationBuckets.size(), attributes));
    request.points.push_back(
        histogram_point(shards, first + L::request_duration, kGenAiDurationBuckets.size(), attributes));
    first_token.points.push_back(
        histogram_point(shards, first + L::time_to_first_token, kTimeToFirstTokenBuckets.size(), attributes));
    per_token.points.push_back(
        histogram_point(shards, first + L::time_per_output_token, kTimePerOutputTokenBuckets.size(), attributes));
  });
  out.families.push_back(std::move(tokens));
  out.families.push_back(std::move(operation));
  out.families.push_back(std::move(request));
  out.families.push_back(std::move(first_token));
  out.families.push_back(std::move(per_token));

  auto overhead = histogram_family("sluice.gateway.overhead", "s",
                                   "Time a request spent in Sluice, its upstream calls excluded.", kOverheadBuckets);
  overhead.points.push_back(histogram_point(shards, kOverheadCounters, kOverheadBuckets.size(), {}));
  out.families.push_back(std::move(overhead));

  auto circuit = family("sluice.circuit_open.refusals", "{attempt}",
                        "Attempts the circuit breaker refused: the provider had its maximum of requests in flight.",
                        MetricKind::Sum);
  auto budget =
      family("sluice.retry_budget.refusals", "{attempt}",
             "Failovers the retry budget refused: the failed attempt's answer went to the client.", MetricKind::Sum);
  series.for_each_refusal(
      [&](const std::string& backend, const std::string& provider, CounterSlot refusals, bool published) {
        const auto open = sum_counter(shards, refusals + static_cast<CounterSlot>(Refusal::CircuitOpen));
        const auto refused = sum_counter(shards, refusals + static_cast<CounterSlot>(Refusal::RetryBudget));
        const std::vector<MetricAttribute> attributes{{"backend", backend}, {"provider", provider}};
        if (published || open != 0) circuit.points.push_back(value_point(attributes, static_cast<double>(open)));
        if (published || refused != 0) budget.points.push_back(value_point(attributes, static_cast<double>(refused)));
      });
  out.families.push_back(std::move(circuit));
  out.families.push_back(std::move(budget));

  auto healthy = family("sluice.provider.healthy", "",
                        "1 while the provider takes requests in its turn: not ejected, held by a Retry-After or "
                        "failing its active checks.",
                        MetricKind::Gauge);
  auto ejected =
      family("sluice.provider.ejected", "", "1 while outlier detection has the provider ejected.", MetricKind::Gauge);
  auto benched = family("sluice.provider.benched_keys", "{key}", "The provider's keys benched after it refused them.",
                        MetricKind::Gauge);
  for (const auto& state : context.providers) {
    const std::vector<MetricAttribute> attributes{{"backend", state.backend}, {"provider", state.provider}};
    healthy.points.push_back(value_point(attributes, state.healthy ? 1 : 0));
    ejected.points.push_back(value_point(attributes, state.ejected ? 1 : 0));
    benched.points.push_back(value_point(attributes, static_cast<double>(state.benched_keys)));
  }
  out.families.push_back(std::move(healthy));
  out.families.push_back(std::move(ejected));
  out.families.push_back(std::move(benched));

  const auto& build = build_info();
  auto info = family("sluice.build.info", "", "Sluice's version, the git commit it was built from and the compiler.",
                     MetricKind::Gauge);
  info.points.push_back(value_point({{"version", std::string(build.version)},
                                     {"git_commit", std::string(build.git_commit)},
                                     {"compiler", std::string(build.compiler)}},
                                    1));
  out.families.push_back(std::move(info));
  auto generation = family("sluice.config.generation", "",
                           "The configuration generation served (1 at the start, "
                           "one more per reload applied).",
                           MetricKind::Gauge);
  generation.points.push_back(value_point({}, static_cast<double>(context.generation)));
  out.families.push_back(std::move(generation));
  auto reload = family("sluice.config.last_reload.success", "",
                       "1 when the last configuration load (the start or a reload) was applied, 0 when it was "
                       "rejected.",
                       MetricKind::Gauge);
  reload.points.push_back(value_point({}, context.last_reload_ok ? 1 : 0));
  out.families.push_back(std::move(reload));
  auto reload_time = family("sluice.config.last_reload.timestamp", "s",
                            "When the last configuration load was tried, in Unix seconds.", MetricKind::Gauge, false);
  reload_time.points.push_back(value_point({}, context.last_reload_unix_seconds));
  out.families.push_back(std::move(reload_time));
  collect_process(out);
  return out;
}

namespace {

// The suffix a UCUM unit gives a Prometheus name (OpenTelemetry's Prometheus compatibility
// rules); empty for annotations ("{token}") and units without one.
std::string unit_suffix(std::string_view unit, MetricKind kind) {
  if (unit.empty() || unit.front() == '{') return {};
  if (unit == "1") return kind == MetricKind::Gauge ? "ratio" : "";
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"s", "seconds"}, {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"min", "minutes"},
      {"h", "hours"},   {"d", "days"},          {"By", "bytes"},        {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},
      {"%", "percent"}, {"Hz", "hertz"},        {"V", "volts"},         {"A", "amperes"},      {"Cel", "celsius"}};
  for (const auto& [ucum, name] : kUnits)
    if (unit == ucum) return std::string(name);
  std::string out;
  for (const char c : unit)
    if (c != '{' && c != '}') out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string format_number(double value, bool integer) {
  if (integer && value >= 0 && value < 1e19) return fmt::format("{}", static_cast<std::uint64_t>(value));
  return fmt::format("{}", value);
}

void append_labels(std::string& out, const std::vector<MetricAttribute>& attributes, std::string_view extra_key = {},
                   std::string_view extra_value = {}) {
  if (attributes.empty() && extra_key.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : attributes) {
    if (!first) out += ',';
    first = false;
    out += prometheus_label(key);
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out.append(extra_key).append("=\"").append(extra_value).append("\"");
  }
  out += '}';
}

}  // namespace

std::string prometheus_label(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (const char c : key) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "_");
  return out;
}

std::string prometheus_name(const MetricFamily& family) {
  std::string name;
  name.reserve(family.name.size() + 16);
  for (const char c : family.name)
    name += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' ? c : '_';
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name.front()))) name.insert(0, "_");
  if (const auto suffix = unit_suffix(family.unit, family.kind); !suffix.empty() && !ends_with(name, "_" + suffix))
    name += "_" + suffix;
  if (family.kind == MetricKind::Sum && !ends_with(name, "_total")) name += "_total";
  return name;
}

std::string render_collection(const MetricCollection& collection) {
  std::string out;
  for (const auto& f : collection.families) {
    const auto name = prometheus_name(f);
    out += fmt::format("# HELP {} {}\n", name, f.description);
    const char* type = f.kind == MetricKind::Histogram ? "histogram" : f.kind == MetricKind::Sum ? "counter" : "gauge";
    out += fmt::format("# TYPE {} {}\n", name, type);
    for (const auto& p : f.points) {
      if (f.kind != MetricKind::Histogram) {
        out += name;
        append_labels(out, p.attributes);
        out += ' ';
        out += format_number(p.value, f.integer);
        out += '\n';
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += i < p.bucket_counts.size() ? p.bucket_counts[i] : 0;
        out += name + "_bucket";
        append_labels(out, p.attributes, "le", fmt::format("{}", f.bounds[i]));
        out += fmt::format(" {}\n", cumulative);
      }
      out += name + "_bucket";
      append_labels(out, p.attributes, "le", "+Inf");
      out += fmt::format(" {}\n", p.count);
      out += name + "_sum";
      append_labels(out, p.attributes);
      out += fmt::format(" {}\n", p.sum);
      out += name + "_count";
      append_labels(out, p.attributes);
      out += fmt::format(" {}\n", p.count);
    }
  }
  return out;
}

}  // namespace sluice::observe
