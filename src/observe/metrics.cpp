#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <map>

namespace sluice::observe {

namespace {

template <typename Map, typename T>
T& slot(Map& map, std::string_view key) {
  if (auto it = map.find(key); it != map.end()) return it->second;
  return map.emplace(std::string(key), T{}).first->second;
}

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view key) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto pos = key.find('\0');
    parts.push_back(key.substr(0, pos));
    if (pos == std::string_view::npos) break;
    key.remove_prefix(pos + 1);
  }
  return parts;
}

}  // namespace

void Histogram::observe(double v) {
  ++count;
  sum += v;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (v <= kLatencyBuckets[i]) {
      ++buckets[i];
      return;
    }
  }
}

void MetricsShard::record(const RequestSample& s) {
  std::lock_guard lock(mutex_);
  key_.assign(s.route).push_back('\0');
  key_.append(s.backend);
  slot<decltype(latency_), Histogram>(latency_, key_).observe(s.seconds);
  slot<decltype(bytes_), std::uint64_t>(bytes_, key_) += s.bytes_sent;
  key_.push_back('\0');
  key_.append(std::to_string(s.status));
  ++slot<decltype(requests_), std::uint64_t>(requests_, key_);
  if (!s.upstream_error.empty()) {
    key_.assign(s.backend).push_back('\0');
    key_.append(s.upstream_error);
    ++slot<decltype(upstream_errors_), std::uint64_t>(upstream_errors_, key_);
  }
}

void MetricsShard::record_attempt(std::string_view backend, std::string_view provider, std::string_view outcome) {
  std::lock_guard lock(mutex_);
  key_.assign(backend).push_back('\0');
  key_.append(provider).push_back('\0');
  key_.append(outcome);
  ++slot<decltype(attempts_), std::uint64_t>(attempts_, key_);
}

void MetricsShard::record_ejection(std::string_view backend, std::string_view provider) {
  std::lock_guard lock(mutex_);
  key_.assign(backend).push_back('\0');
  key_.append(provider);
  ++slot<decltype(ejections_), std::uint64_t>(ejections_, key_);
}

std::string render_prometheus(const std::vector<const MetricsShard*>& shards) {
  std::map<std::string, std::uint64_t> requests, bytes, errors, attempts, ejections;
  std::map<std::string, Histogram> latency;
  std::int64_t connections = 0, active = 0;
  for (const auto* shard : shards) {
    std::lock_guard lock(shard->mutex_);
    for (const auto& [k, v] : shard->requests_) requests[k] += v;
    for (const auto& [k, v] : shard->bytes_) bytes[k] += v;
    for (const auto& [k, v] : shard->upstream_errors_) errors[k] += v;
    for (const auto& [k, v] : shard->attempts_) attempts[k] += v;
    for (const auto& [k, v] : shard->ejections_) ejections[k] += v;
    for (const auto& [k, h] : shard->latency_) {
      auto& into = latency[k];
      for (std::size_t i = 0; i < h.buckets.size(); ++i) into.buckets[i] += h.buckets[i];
      into.count += h.count;
      into.sum += h.sum;
    }
    connections += shard->open_connections.load(std::memory_order_relaxed);
    active += shard->active_requests.load(std::memory_order_relaxed);
  }

  std::string out;
  out += "# HELP sluice_requests_total Requests served, by route, backend and HTTP status.\n";
  out += "# TYPE sluice_requests_total counter\n";
  for (const auto& [k, v] : requests) {
    const auto p = split(k);
    out += fmt::format("sluice_requests_total{{route=\"{}\",backend=\"{}\",code=\"{}\"}} {}\n", escape_label(p[0]),
                       escape_label(p[1]), p[2], v);
  }
  out += "# HELP sluice_request_duration_seconds Time from request headers to the last response byte.\n";
  out += "# TYPE sluice_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency) {
    const auto p = split(k);
    const auto labels = fmt::format("route=\"{}\",backend=\"{}\"", escape_label(p[0]), escape_label(p[1]));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += fmt::format("sluice_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kLatencyBuckets[i],
                         cumulative);
    }
    out += fmt::format("sluice_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("sluice_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("sluice_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }
  out += "# HELP sluice_response_bytes_total Response body bytes sent to clients.\n";
  out += "# TYPE sluice_response_bytes_total counter\n";
  for (const auto& [k, v] : bytes) {
    const auto p = split(k);
    out += fmt::format("sluice_response_bytes_total{{route=\"{}\",backend=\"{}\"}} {}\n", escape_label(p[0]),
                       escape_label(p[1]), v);
  }
  out += "# HELP sluice_upstream_errors_total Upstream failures, by backend and kind.\n";
  out += "# TYPE sluice_upstream_errors_total counter\n";
  for (const auto& [k, v] : errors) {
    const auto p = split(k);
    out += fmt::format("sluice_upstream_errors_total{{backend=\"{}\",kind=\"{}\"}} {}\n", escape_label(p[0]), p[1], v);
  }
  out +=
      "# HELP sluice_upstream_attempts_total Attempts at the providers of AI Backends, by outcome: success, "
      "failover (failed, the next provider was tried) or failure (failed, answered the client).\n";
  out += "# TYPE sluice_upstream_attempts_total counter\n";
  for (const auto& [k, v] : attempts) {
    const auto p = split(k);
    out += fmt::format("sluice_upstream_attempts_total{{backend=\"{}\",provider=\"{}\",outcome=\"{}\"}} {}\n",
                       escape_label(p[0]), escape_label(p[1]), p[2], v);
  }
  out += "# HELP sluice_provider_ejections_total Providers ejected by outlier detection.\n";
  out += "# TYPE sluice_provider_ejections_total counter\n";
  for (const auto& [k, v] : ejections) {
    const auto p = split(k);
    out += fmt::format("sluice_provider_ejections_total{{backend=\"{}\",provider=\"{}\"}} {}\n", escape_label(p[0]),
                       escape_label(p[1]), v);
  }
  out += "# HELP sluice_open_connections Client connections currently open.\n";
  out += "# TYPE sluice_open_connections gauge\n";
  out += fmt::format("sluice_open_connections {}\n", connections);
  out += "# HELP sluice_active_requests Requests currently in flight.\n";
  out += "# TYPE sluice_active_requests gauge\n";
  out += fmt::format("sluice_active_requests {}\n", active);
  return out;
}

}  // namespace sluice::observe
