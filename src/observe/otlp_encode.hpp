// OTLP encodings of spans and metrics: ExportTraceServiceRequest and ExportMetricsServiceRequest
// (opentelemetry-proto v1) as protobuf (application/x-protobuf) and as OTLP/JSON
// (application/json: lowerCamelCase field names, trace and span ids as hex, 64-bit integers as
// decimal strings, enums as numbers). One resource, one instrumentation scope ("sluice") per
// request. Metrics: Sum monotonic cumulative, Gauge, Histogram with explicit buckets,
// cumulative. Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "observe/metric_points.hpp"
#include "observe/span.hpp"

namespace sluice::observe {

// The resource every span and metric belongs to (service.name, service.version,
// service.instance.id) and the scope's version.
struct OtlpResource {
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string scope_version;
};

std::string encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans);
std::string encode_traces_json(const OtlpResource& resource, std::span<const Span> spans);
std::string encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics);
std::string encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics);

// The protobuf wire format, as much as OTLP needs: varints, fixed 64/32-bit fields, doubles,
// length-delimited fields (strings, bytes, nested messages). Appends to a string.
class ProtoWriter {
 public:
  void varint_field(unsigned field, std::uint64_t value);
  void fixed64_field(unsigned field, std::uint64_t value);
  void fixed32_field(unsigned field, std::uint32_t value);
  void double_field(unsigned field, double value);
  void bytes_field(unsigned field, std::string_view value);
  // A nested message: written into `child`, then added as one length-delimited field.
  void message_field(unsigned field, const ProtoWriter& child) { bytes_field(field, child.out_); }
  // A packed repeated field of fixed64 / double values.
  void packed_fixed64(unsigned field, std::span<const std::uint64_t> values);
  void packed_double(unsigned field, std::span<const double> values);

  const std::string& data() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void tag(unsigned field, unsigned wire_type);
  void varint(std::uint64_t value);
  void fixed64(std::uint64_t value);
  std::string out_;
};

}  // namespace sluice::observe
