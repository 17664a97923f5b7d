#include "observe/metrics.hpp"

#include <fmt/format.h>

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
  if (record.provider_series == nullptr || (record.prompt_tokens < 0 && record.completion_tokens < 0)) return;
  const auto tokens = record.provider_series->tokens_for(record.model);
  if (record.prompt_tokens >= 0)
    add(tokens + static_cast<CounterSlot>(TokenType::Input), static_cast<std::uint64_t>(record.prompt_tokens));
  if (record.completion_tokens >= 0)
    add(tokens + static_cast<CounterSlot>(TokenType::Output), static_cast<std::uint64_t>(record.completion_tokens));
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

}  // namespace sluice::observe
