#include "observe/otlp_encode.hpp"

#include <bit>
#include <boost/json.hpp>
#include <cmath>

namespace sluice::observe {

namespace json = boost::json;

namespace {

// Field numbers of opentelemetry-proto v1 (common, resource, trace, metrics, collector).
namespace pb {
// ExportTraceServiceRequest / ExportMetricsServiceRequest
constexpr unsigned kResourceSpans = 1;
constexpr unsigned kResourceMetrics = 1;
// ResourceSpans / ResourceMetrics
constexpr unsigned kResource = 1;
constexpr unsigned kScopeSpans = 2;
constexpr unsigned kScopeMetrics = 2;
// Resource
constexpr unsigned kResourceAttributes = 1;
// ScopeSpans / ScopeMetrics
constexpr unsigned kScope = 1;
constexpr unsigned kSpans = 2;
constexpr unsigned kMetrics = 2;
// InstrumentationScope
constexpr unsigned kScopeName = 1;
constexpr unsigned kScopeVersion = 2;
// Span
constexpr unsigned kTraceId = 1;
constexpr unsigned kSpanId = 2;
constexpr unsigned kTraceState = 3;
constexpr unsigned kParentSpanId = 4;
constexpr unsigned kName = 5;
constexpr unsigned kKind = 6;
constexpr unsigned kStart = 7;
constexpr unsigned kEnd = 8;
constexpr unsigned kAttributes = 9;
constexpr unsigned kStatus = 15;
constexpr unsigned kFlags = 16;
// Status
constexpr unsigned kStatusMessage = 2;
constexpr unsigned kStatusCode = 3;
// KeyValue / AnyValue / ArrayValue
constexpr unsigned kKey = 1;
constexpr unsigned kValue = 2;
constexpr unsigned kStringValue = 1;
constexpr unsigned kBoolValue = 2;
constexpr unsigned kIntValue = 3;
constexpr unsigned kDoubleValue = 4;
constexpr unsigned kArrayValue = 5;
constexpr unsigned kArrayValues = 1;
// Metric
constexpr unsigned kMetricName = 1;
constexpr unsigned kMetricDescription = 2;
constexpr unsigned kMetricUnit = 3;
constexpr unsigned kGauge = 5;
constexpr unsigned kSum = 7;
constexpr unsigned kHistogram = 9;
// Gauge / Sum / Histogram
constexpr unsigned kDataPoints = 1;
constexpr unsigned kTemporality = 2;
constexpr unsigned kMonotonic = 3;
// NumberDataPoint
constexpr unsigned kNumberStart = 2;
constexpr unsigned kNumberTime = 3;
constexpr unsigned kAsDouble = 4;
constexpr unsigned kAsInt = 6;
constexpr unsigned kNumberAttributes = 7;
// HistogramDataPoint
constexpr unsigned kHistStart = 2;
constexpr unsigned kHistTime = 3;
constexpr unsigned kHistCount = 4;
constexpr unsigned kHistSum = 5;
constexpr unsigned kBucketCounts = 6;
constexpr unsigned kExplicitBounds = 7;
constexpr unsigned kHistAttributes = 9;
}  // namespace pb

constexpr std::uint64_t kCumulative = 2;  // AggregationTemporality
constexpr std::string_view kScopeNameValue = "sluice";

std::string_view bytes_of(const auto& array) {
  return std::string_view(reinterpret_cast<const char*>(array.data()), array.size());
}

// ------------------------------------------------------------------ protobuf

void write_any_value(ProtoWriter& w, const AttributeValue& value) {
  switch (value.type) {
    case AttributeValue::Type::String:
      w.bytes_field(pb::kStringValue, value.text);
      return;
    case AttributeValue::Type::Int:
      w.varint_field(pb::kIntValue, static_cast<std::uint64_t>(value.integer));
      return;
    case AttributeValue::Type::Double:
      w.double_field(pb::kDoubleValue, value.number);
      return;
    case AttributeValue::Type::Bool:
      w.varint_field(pb::kBoolValue, value.flag ? 1 : 0);
      return;
    case AttributeValue::Type::StringArray: {
      ProtoWriter array;
      for (const auto& item : value.list) {
        ProtoWriter any;
        any.bytes_field(pb::kStringValue, item);
        array.message_field(pb::kArrayValues, any);
      }
      w.message_field(pb::kArrayValue, array);
      return;
    }
  }
}

void write_key_value(ProtoWriter& w, unsigned field, std::string_view key, const AttributeValue& value) {
  ProtoWriter kv;
  kv.bytes_field(pb::kKey, key);
  ProtoWriter any;
  write_any_value(any, value);
  kv.message_field(pb::kValue, any);
  w.message_field(field, kv);
}

void write_string_attributes(ProtoWriter& w, unsigned field,
                             const std::vector<std::pair<std::string, std::string>>& attributes) {
  for (const auto& [key, value] : attributes) write_key_value(w, field, key, AttributeValue(value));
}

ProtoWriter resource_message(const OtlpResource& resource) {
  ProtoWriter r;
  write_string_attributes(r, pb::kResourceAttributes, resource.attributes);
  return r;
}

ProtoWriter scope_message(const OtlpResource& resource) {
  ProtoWriter s;
  s.bytes_field(pb::kScopeName, kScopeNameValue);
  if (!resource.scope_version.empty()) s.bytes_field(pb::kScopeVersion, resource.scope_version);
  return s;
}

ProtoWriter span_message(const Span& span) {
  ProtoWriter w;
  w.bytes_field(pb::kTraceId, bytes_of(span.trace_id.bytes));
  w.bytes_field(pb::kSpanId, bytes_of(span.span_id.bytes));
  if (!span.trace_state.empty()) w.bytes_field(pb::kTraceState, span.trace_state);
  if (span.parent_span_id.valid()) w.bytes_field(pb::kParentSpanId, bytes_of(span.parent_span_id.bytes));
  w.bytes_field(pb::kName, span.name);
  w.varint_field(pb::kKind, static_cast<std::uint64_t>(span.kind));
  w.fixed64_field(pb::kStart, span.start_unix_nanos);
  w.fixed64_field(pb::kEnd, span.end_unix_nanos);
  for (const auto& a : span.attributes) write_key_value(w, pb::kAttributes, a.key, a.value);
  ProtoWriter status;
  if (!span.status_message.empty()) status.bytes_field(pb::kStatusMessage, span.status_message);
  if (span.status != SpanStatus::Unset) status.varint_field(pb::kStatusCode, static_cast<std::uint64_t>(span.status));
  w.message_field(pb::kStatus, status);
  // SpanFlags: bit 8 says whether the parent is known to be remote, bit 9 that it is.
  const bool remote_parent = span.kind == SpanKind::Server && span.parent_span_id.valid();
  w.fixed32_field(pb::kFlags, 0x100u | (remote_parent ? 0x200u : 0u));
  return w;
}

void write_number_point(ProtoWriter& w, const MetricFamily& family, const MetricPoint& point,
                        const MetricCollection& metrics, bool cumulative) {
  ProtoWriter p;
  if (cumulative) p.fixed64_field(pb::kNumberStart, metrics.start_unix_nanos);
  p.fixed64_field(pb::kNumberTime, metrics.time_unix_nanos);
  if (family.integer)
    p.fixed64_field(pb::kAsInt, static_cast<std::uint64_t>(static_cast<std::int64_t>(std::llround(point.value))));
  else
    p.double_field(pb::kAsDouble, point.value);
  for (const auto& [key, value] : point.attributes) write_key_value(p, pb::kNumberAttributes, key, value);
  w.message_field(pb::kDataPoints, p);
}

ProtoWriter metric_message(const MetricFamily& family, const MetricCollection& metrics) {
  ProtoWriter m;
  m.bytes_field(pb::kMetricName, family.name);
  if (!family.description.empty()) m.bytes_field(pb::kMetricDescription, family.description);
  if (!family.unit.empty()) m.bytes_field(pb::kMetricUnit, family.unit);
  ProtoWriter data;
  switch (family.kind) {
    case MetricKind::Sum:
      for (const auto& point : family.points) write_number_point(data, family, point, metrics, true);
      data.varint_field(pb::kTemporality, kCumulative);
      data.varint_field(pb::kMonotonic, 1);
      m.message_field(pb::kSum, data);
      break;
    case MetricKind::Gauge:
      for (const auto& point : family.points) write_number_point(data, family, point, metrics, false);
      m.message_field(pb::kGauge, data);
      break;
    case MetricKind::Histogram:
      for (const auto& point : family.points) {
        ProtoWriter p;
        p.fixed64_field(pb::kHistStart, metrics.start_unix_nanos);
        p.fixed64_field(pb::kHistTime, metrics.time_unix_nanos);
        p.fixed64_field(pb::kHistCount, point.count);
        p.double_field(pb::kHistSum, point.sum);
        p.packed_fixed64(pb::kBucketCounts, point.bucket_counts);
        p.packed_double(pb::kExplicitBounds, family.bounds);
        for (const auto& [key, value] : point.attributes) write_key_value(p, pb::kHistAttributes, key, value);
        data.message_field(pb::kDataPoints, p);
      }
      data.varint_field(pb::kTemporality, kCumulative);
      m.message_field(pb::kHistogram, data);
      break;
  }
  return m;
}

// ------------------------------------------------------------------ JSON

json::value any_value_json(const AttributeValue& value) {
  json::object out;
  switch (value.type) {
    case AttributeValue::Type::String:
      out["stringValue"] = value.text;
      break;
    case AttributeValue::Type::Int:
      out["intValue"] = std::to_string(value.integer);
      break;
    case AttributeValue::Type::Double:
      out["doubleValue"] = std::isfinite(value.number) ? value.number : 0.0;
      break;
    case AttributeValue::Type::Bool:
      out["boolValue"] = value.flag;
      break;
    case AttributeValue::Type::StringArray: {
      json::array values;
      for (const auto& item : value.list) values.push_back(json::object{{"stringValue", item}});
      out["arrayValue"] = json::object{{"values", std::move(values)}};
      break;
    }
  }
  return out;
}

json::object key_value_json(std::string_view key, const AttributeValue& value) {
  return json::object{{"key", key}, {"value", any_value_json(value)}};
}

json::array string_attributes_json(const std::vector<std::pair<std::string, std::string>>& attributes) {
  json::array out;
  for (const auto& [key, value] : attributes) out.push_back(key_value_json(key, AttributeValue(value)));
  return out;
}

json::object resource_json(const OtlpResource& resource) {
  return json::object{{"attributes", string_attributes_json(resource.attributes)}};
}

json::object scope_json(const OtlpResource& resource) {
  json::object scope{{"name", kScopeNameValue}};
  if (!resource.scope_version.empty()) scope["version"] = resource.scope_version;
  return scope;
}

json::object span_json(const Span& span) {
  json::object out;
  out["traceId"] = to_hex(span.trace_id);
  out["spanId"] = to_hex(span.span_id);
  if (!span.trace_state.empty()) out["traceState"] = span.trace_state;
  if (span.parent_span_id.valid()) out["parentSpanId"] = to_hex(span.parent_span_id);
  out["name"] = span.name;
  out["kind"] = static_cast<int>(span.kind);
  out["startTimeUnixNano"] = std::to_string(span.start_unix_nanos);
  out["endTimeUnixNano"] = std::to_string(span.end_unix_nanos);
  json::array attributes;
  for (const auto& a : span.attributes) attributes.push_back(key_value_json(a.key, a.value));
  out["attributes"] = std::move(attributes);
  json::object status;
  if (!span.status_message.empty()) status["message"] = span.status_message;
  if (span.status != SpanStatus::Unset) status["code"] = static_cast<int>(span.status);
  out["status"] = std::move(status);
  const bool remote_parent = span.kind == SpanKind::Server && span.parent_span_id.valid();
  out["flags"] = 0x100 | (remote_parent ? 0x200 : 0);
  return out;
}

json::array point_attributes_json(const MetricPoint& point) {
  json::array out;
  for (const auto& [key, value] : point.attributes) out.push_back(key_value_json(key, AttributeValue(value)));
  return out;
}

json::object number_point_json(const MetricFamily& family, const MetricPoint& point, const MetricCollection& metrics,
                               bool cumulative) {
  json::object p;
  p["attributes"] = point_attributes_json(point);
  if (cumulative) p["startTimeUnixNano"] = std::to_string(metrics.start_unix_nanos);
  p["timeUnixNano"] = std::to_string(metrics.time_unix_nanos);
  if (family.integer)
    p["asInt"] = std::to_string(static_cast<std::int64_t>(std::llround(point.value)));
  else
    p["asDouble"] = std::isfinite(point.value) ? point.value : 0.0;
  return p;
}

json::object metric_json(const MetricFamily& family, const MetricCollection& metrics) {
  json::object m{{"name", family.name}};
  if (!family.description.empty()) m["description"] = family.description;
  if (!family.unit.empty()) m["unit"] = family.unit;
  json::array points;
  switch (family.kind) {
    case MetricKind::Sum:
      for (const auto& point : family.points) points.push_back(number_point_json(family, point, metrics, true));
      m["sum"] = json::object{{"dataPoints", std::move(points)}, {"aggregationTemporality", 2}, {"isMonotonic", true}};
      break;
    case MetricKind::Gauge:
      for (const auto& point : family.points) points.push_back(number_point_json(family, point, metrics, false));
      m["gauge"] = json::object{{"dataPoints", std::move(points)}};
      break;
    case MetricKind::Histogram:
      for (const auto& point : family.points) {
        json::object p;
        p["attributes"] = point_attributes_json(point);
        p["startTimeUnixNano"] = std::to_string(metrics.start_unix_nanos);
        p["timeUnixNano"] = std::to_string(metrics.time_unix_nanos);
        p["count"] = std::to_string(point.count);
        p["sum"] = std::isfinite(point.sum) ? point.sum : 0.0;
        json::array counts;
        for (const auto c : point.bucket_counts) counts.push_back(json::value(std::to_string(c)));
        p["bucketCounts"] = std::move(counts);
        json::array bounds;
        for (const auto b : family.bounds) bounds.push_back(b);
        p["explicitBounds"] = std::move(bounds);
        points.push_back(std::move(p));
      }
      m["histogram"] = json::object{{"dataPoints", std::move(points)}, {"aggregationTemporality", 2}};
      break;
  }
  return m;
}

}  // namespace

// ------------------------------------------------------------------ ProtoWriter

void ProtoWriter::varint(std::uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void ProtoWriter::fixed64(std::uint64_t value) {
  for (int i = 0; i < 8; ++i, value >>= 8) out_.push_back(static_cast<char>(value & 0xff));
}

void ProtoWriter::tag(unsigned field, unsigned wire_type) {
  varint((static_cast<std::uint64_t>(field) << 3) | wire_type);
}

void ProtoWriter::varint_field(unsigned field, std::uint64_t value) {
  tag(field, 0);
  varint(value);
}

void ProtoWriter::fixed64_field(unsigned field, std::uint64_t value) {
  tag(field, 1);
  fixed64(value);
}

void ProtoWriter::fixed32_field(unsigned field, std::uint32_t value) {
  tag(field, 5);
  for (int i = 0; i < 4; ++i, value >>= 8) out_.push_back(static_cast<char>(value & 0xff));
}

void ProtoWriter::double_field(unsigned field, double value) {
  fixed64_field(field, std::bit_cast<std::uint64_t>(value));
}

void ProtoWriter::bytes_field(unsigned field, std::string_view value) {
  tag(field, 2);
  varint(value.size());
  out_.append(value);
}

void ProtoWriter::packed_fixed64(unsigned field, std::span<const std::uint64_t> values) {
  if (values.empty()) return;
  tag(field, 2);
  varint(values.size() * 8);
  for (const auto v : values) fixed64(v);
}

void ProtoWriter::packed_double(unsigned field, std::span<const double> values) {
  if (values.empty()) return;
  tag(field, 2);
  varint(values.size() * 8);
  for (const auto v : values) fixed64(std::bit_cast<std::uint64_t>(v));
}

// ------------------------------------------------------------------ requests

std::string encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans) {
  ProtoWriter scope_spans;
  scope_spans.message_field(pb::kScope, scope_message(resource));
  for (const auto& span : spans) scope_spans.message_field(pb::kSpans, span_message(span));
  ProtoWriter resource_spans;
  resource_spans.message_field(pb::kResource, resource_message(resource));
  resource_spans.message_field(pb::kScopeSpans, scope_spans);
  ProtoWriter request;
  request.message_field(pb::kResourceSpans, resource_spans);
  return request.take();
}

std::string encode_traces_json(const OtlpResource& resource, std::span<const Span> spans) {
  json::array list;
  for (const auto& span : spans) list.push_back(span_json(span));
  json::object scope_spans{{"scope", scope_json(resource)}, {"spans", std::move(list)}};
  json::object resource_spans{{"resource", resource_json(resource)},
                              {"scopeSpans", json::array{std::move(scope_spans)}}};
  return json::serialize(json::object{{"resourceSpans", json::array{std::move(resource_spans)}}});
}

std::string encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics) {
  ProtoWriter scope_metrics;
  scope_metrics.message_field(pb::kScope, scope_message(resource));
  for (const auto& family : metrics.families)
    scope_metrics.message_field(pb::kMetrics, metric_message(family, metrics));
  ProtoWriter resource_metrics;
  resource_metrics.message_field(pb::kResource, resource_message(resource));
  resource_metrics.message_field(pb::kScopeMetrics, scope_metrics);
  ProtoWriter request;
  request.message_field(pb::kResourceMetrics, resource_metrics);
  return request.take();
}

std::string encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics) {
  json::array list;
  for (const auto& family : metrics.families) list.push_back(metric_json(family, metrics));
  json::object scope_metrics{{"scope", scope_json(resource)}, {"metrics", std::move(list)}};
  json::object resource_metrics{{"resource", resource_json(resource)},
                                {"scopeMetrics", json::array{std::move(scope_metrics)}}};
  return json::serialize(json::object{{"resourceMetrics", json::array{std::move(resource_metrics)}}});
}

}  // namespace sluice::observe
