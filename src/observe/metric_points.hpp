// A scrape's worth of metrics in a neutral form, between the metric storage (metrics.hpp, which
// collects it by merging the worker shards) and its encoders: the Prometheus text of /metrics
// and the OTLP export (observe/otlp_*). Names are OpenTelemetry's (dotted, e.g.
// "gen_ai.client.token.usage") with their unit; the Prometheus encoder derives its names from
// them as OpenTelemetry's Prometheus exporter does ("gen_ai_client_token_usage" plus the unit
// suffix and "_total" for monotonic sums). Plain values: made and read on one thread, owned by
// whoever collected them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice::observe {

// One attribute (a Prometheus label) of a point: key and value as text.
using MetricAttribute = std::pair<std::string, std::string>;

struct MetricPoint {
  std::vector<MetricAttribute> attributes;
  double value = 0;  // Sum and Gauge
  // Histogram: counts per bucket, not cumulative, bounds.size() + 1 of them (the last one above
  // every bound); its sum and count.
  std::vector<std::uint64_t> bucket_counts;
  double sum = 0;
  std::uint64_t count = 0;
};

enum class MetricKind {
  Sum,        // monotonic, cumulative (a Prometheus counter)
  Gauge,      // a value now (a Prometheus gauge; also an up-down sum)
  Histogram,  // explicit buckets, cumulative temporality
};

struct MetricFamily {
  std::string name;         // OpenTelemetry name, e.g. "gen_ai.server.request.duration"
  std::string unit;         // UCUM: "s", "By", "{token}", "{request}", "1"
  std::string description;  // the HELP text
  MetricKind kind = MetricKind::Sum;
  bool integer = true;         // Sum/Gauge values are whole numbers (OTLP as_int)
  std::vector<double> bounds;  // Histogram: explicit bucket upper bounds, ascending
  std::vector<MetricPoint> points;
};

// When the points were read: start of the process (every Sum and Histogram is cumulative from
// then) and now, in Unix nanoseconds.
struct MetricCollection {
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t time_unix_nanos = 0;
  std::vector<MetricFamily> families;
};

}  // namespace sluice::observe
