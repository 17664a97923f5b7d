#include "observe/otlp_encode.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstring>

#include "observe/access_log.hpp"

namespace sluice::observe {

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

// The widths set aside for the lengths of nested messages of unknown size: a span or a metric
// under 16 KiB, a whole request under 2 MiB (kMaxSpansPerRequest spans), anything else under
// 128 bytes. A wrong guess costs a move, never a wrong encoding.
constexpr unsigned kSmall = 1;
constexpr unsigned kMedium = 2;
constexpr unsigned kLarge = 3;

std::string_view bytes_of(const auto& array) {
  return std::string_view(reinterpret_cast<const char*>(array.data()), array.size());
}

// SpanFlags: bit 8 says whether the parent is known to be remote, bit 9 that it is.
std::uint32_t span_flags(const Span& span) {
  const bool remote_parent = span.kind == SpanKind::Server && span.parent_span_id.valid();
  return 0x100u | (remote_parent ? 0x200u : 0u);
}

// ------------------------------------------------------------------ protobuf

// Sizes of length-delimited fields and of the attribute messages (all fields below 16: one-byte
// tags), so that KeyValue and AnyValue are written with their lengths known.
std::size_t delimited_size(std::size_t content) {
  return 1 + ProtoWriter::varint_size(content) + content;
}

std::size_t string_any_size(std::string_view s) {
  return delimited_size(s.size());
}

std::size_t any_value_size(const Span& span, const AttributeValue& value) {
  switch (value.type) {
    case AttributeValue::Type::String:
      return string_any_size(span.text(value));
    case AttributeValue::Type::Int:
      return 1 + ProtoWriter::varint_size(static_cast<std::uint64_t>(value.integer));
    case AttributeValue::Type::Double:
      return 1 + 8;
    case AttributeValue::Type::Bool:
      return 1 + 1;
    case AttributeValue::Type::StringArray: {
      std::size_t array = 0;
      span.for_each_string(value, [&](std::string_view item) { array += delimited_size(string_any_size(item)); });
      return delimited_size(array);
    }
  }
  return 0;
}

void write_string_any(ProtoWriter& w, std::string_view s) {
  w.bytes_field(pb::kStringValue, s);
}

void write_any_value(ProtoWriter& w, const Span& span, const AttributeValue& value) {
  switch (value.type) {
    case AttributeValue::Type::String:
      write_string_any(w, span.text(value));
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
      std::size_t array = 0;
      span.for_each_string(value, [&](std::string_view item) { array += delimited_size(string_any_size(item)); });
      w.header(pb::kArrayValue, array);
      span.for_each_string(value, [&](std::string_view item) {
        w.header(pb::kArrayValues, string_any_size(item));
        write_string_any(w, item);
      });
      return;
    }
  }
}

void write_attribute(ProtoWriter& w, unsigned field, const Span& span, const SpanAttribute& a) {
  const auto any = any_value_size(span, a.value);
  w.header(field, delimited_size(a.key.size()) + delimited_size(any));
  w.bytes_field(pb::kKey, a.key);
  w.header(pb::kValue, any);
  write_any_value(w, span, a.value);
}

void write_string_attribute(ProtoWriter& w, unsigned field, std::string_view key, std::string_view value) {
  const auto any = string_any_size(value);
  w.header(field, delimited_size(key.size()) + delimited_size(any));
  w.bytes_field(pb::kKey, key);
  w.header(pb::kValue, any);
  write_string_any(w, value);
}

void write_resource(ProtoWriter& w, unsigned field, const OtlpResource& resource) {
  const auto r = w.open(field, kMedium);
  for (const auto& [key, value] : resource.attributes) write_string_attribute(w, pb::kResourceAttributes, key, value);
  w.close(r);
}

void write_scope(ProtoWriter& w, unsigned field, const OtlpResource& resource) {
  const auto s = w.open(field, kSmall);
  w.bytes_field(pb::kScopeName, kScopeNameValue);
  if (!resource.scope_version.empty()) w.bytes_field(pb::kScopeVersion, resource.scope_version);
  w.close(s);
}

void write_span(ProtoWriter& w, const Span& span) {
  const auto m = w.open(pb::kSpans, kMedium);
  w.bytes_field(pb::kTraceId, bytes_of(span.trace_id.bytes));
  w.bytes_field(pb::kSpanId, bytes_of(span.span_id.bytes));
  if (!span.trace_state().empty()) w.bytes_field(pb::kTraceState, span.trace_state());
  if (span.parent_span_id.valid()) w.bytes_field(pb::kParentSpanId, bytes_of(span.parent_span_id.bytes));
  w.bytes_field(pb::kName, span.name());
  w.varint_field(pb::kKind, static_cast<std::uint64_t>(span.kind));
  w.fixed64_field(pb::kStart, span.start_unix_nanos);
  w.fixed64_field(pb::kEnd, span.end_unix_nanos);
  for (const auto& a : span.attributes()) write_attribute(w, pb::kAttributes, span, a);
  const auto message = span.status_message();
  const std::size_t status = (message.empty() ? 0 : delimited_size(message.size())) +
                             (span.status != SpanStatus::Unset ? 2 : 0);  // code: tag + one-byte varint
  w.header(pb::kStatus, status);
  if (!message.empty()) w.bytes_field(pb::kStatusMessage, message);
  if (span.status != SpanStatus::Unset) w.varint_field(pb::kStatusCode, static_cast<std::uint64_t>(span.status));
  w.fixed32_field(pb::kFlags, span_flags(span));
  w.close(m);
}

void write_point_attributes(ProtoWriter& w, unsigned field, const MetricPoint& point) {
  for (const auto& [key, value] : point.attributes) write_string_attribute(w, field, key, value);
}

void write_number_point(ProtoWriter& w, const MetricFamily& family, const MetricPoint& point,
                        const MetricCollection& metrics, bool cumulative) {
  const auto p = w.open(pb::kDataPoints, kMedium);
  if (cumulative) w.fixed64_field(pb::kNumberStart, metrics.start_unix_nanos);
  w.fixed64_field(pb::kNumberTime, metrics.time_unix_nanos);
  if (family.integer)
    w.fixed64_field(pb::kAsInt, static_cast<std::uint64_t>(static_cast<std::int64_t>(std::llround(point.value))));
  else
    w.double_field(pb::kAsDouble, point.value);
  write_point_attributes(w, pb::kNumberAttributes, point);
  w.close(p);
}

void write_metric(ProtoWriter& w, const MetricFamily& family, const MetricCollection& metrics) {
  const auto m = w.open(pb::kMetrics, kMedium);
  w.bytes_field(pb::kMetricName, family.name);
  if (!family.description.empty()) w.bytes_field(pb::kMetricDescription, family.description);
  if (!family.unit.empty()) w.bytes_field(pb::kMetricUnit, family.unit);
  switch (family.kind) {
    case MetricKind::Sum: {
      const auto data = w.open(pb::kSum, kMedium);
      for (const auto& point : family.points) write_number_point(w, family, point, metrics, true);
      w.varint_field(pb::kTemporality, kCumulative);
      w.varint_field(pb::kMonotonic, 1);
      w.close(data);
      break;
    }
    case MetricKind::Gauge: {
      const auto data = w.open(pb::kGauge, kMedium);
      for (const auto& point : family.points) write_number_point(w, family, point, metrics, false);
      w.close(data);
      break;
    }
    case MetricKind::Histogram: {
      const auto data = w.open(pb::kHistogram, kMedium);
      for (const auto& point : family.points) {
        const auto p = w.open(pb::kDataPoints, kMedium);
        w.fixed64_field(pb::kHistStart, metrics.start_unix_nanos);
        w.fixed64_field(pb::kHistTime, metrics.time_unix_nanos);
        w.fixed64_field(pb::kHistCount, point.count);
        w.double_field(pb::kHistSum, point.sum);
        w.packed_fixed64(pb::kBucketCounts, point.bucket_counts);
        w.packed_double(pb::kExplicitBounds, family.bounds);
        write_point_attributes(w, pb::kHistAttributes, point);
        w.close(p);
      }
      w.varint_field(pb::kTemporality, kCumulative);
      w.close(data);
      break;
    }
  }
  w.close(m);
}

// ------------------------------------------------------------------ JSON

// OTLP/JSON written straight into the output: names are constants, strings escaped.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  // `"name":` (with the comma before it unless it is the first member).
  JsonWriter& key(std::string_view name, bool first = false) {
    if (!first) out_.push_back(',');
    out_.push_back('"');
    out_.append(name);
    out_.append("\":");
    return *this;
  }
  void raw(std::string_view text) { out_.append(text); }
  void string(std::string_view s) {
    out_.push_back('"');
    append_json_escaped(s, out_);
    out_.push_back('"');
  }
  // 64-bit integers as decimal strings (OTLP/JSON's rule for int64 and fixed64).
  template <std::integral Integer>
  void quoted_integer(Integer v) {
    out_.push_back('"');
    integer(v);
    out_.push_back('"');
  }
  template <std::integral Integer>
  void integer(Integer v) {
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  // A double in its shortest round-trip form, with a fraction or exponent (1.0, not 1: still a
  // double to a typed reader); not finite: 0.0 (JSON has no Infinity or NaN).
  void number(double v) {
    if (!std::isfinite(v)) v = 0;
    char buf[32];
    const std::string_view text(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    out_.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out_.append(".0");
  }
  void boolean(bool v) { out_.append(v ? "true" : "false"); }
  void hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out_.push_back('"');
    for (const char c : bytes) {
      const auto b = static_cast<unsigned char>(c);
      out_.push_back(kDigits[b >> 4]);
      out_.push_back(kDigits[b & 0xf]);
    }
    out_.push_back('"');
  }
  void comma() { out_.push_back(','); }

 private:
  std::string& out_;
};

void string_value_json(JsonWriter& j, std::string_view s) {
  j.raw("{\"stringValue\":");
  j.string(s);
  j.raw("}");
}

void any_value_json(JsonWriter& j, const Span& span, const AttributeValue& value) {
  switch (value.type) {
    case AttributeValue::Type::String:
      string_value_json(j, span.text(value));
      return;
    case AttributeValue::Type::Int:
      j.raw("{\"intValue\":");
      j.quoted_integer(value.integer);
      j.raw("}");
      return;
    case AttributeValue::Type::Double:
      j.raw("{\"doubleValue\":");
      j.number(value.number);
      j.raw("}");
      return;
    case AttributeValue::Type::Bool:
      j.raw("{\"boolValue\":");
      j.boolean(value.flag);
      j.raw("}");
      return;
    case AttributeValue::Type::StringArray: {
      j.raw("{\"arrayValue\":{\"values\":[");
      bool first = true;
      span.for_each_string(value, [&](std::string_view item) {
        if (!first) j.comma();
        first = false;
        string_value_json(j, item);
      });
      j.raw("]}}");
      return;
    }
  }
}

void string_attributes_json(JsonWriter& j, const std::vector<std::pair<std::string, std::string>>& attributes) {
  j.raw("[");
  bool first = true;
  for (const auto& [key, value] : attributes) {
    if (!first) j.comma();
    first = false;
    j.raw("{\"key\":");
    j.string(key);
    j.raw(",\"value\":");
    string_value_json(j, value);
    j.raw("}");
  }
  j.raw("]");
}

void resource_json(JsonWriter& j, const OtlpResource& resource) {
  j.raw("{\"attributes\":");
  string_attributes_json(j, resource.attributes);
  j.raw("}");
}

void scope_json(JsonWriter& j, const OtlpResource& resource) {
  j.raw("{\"name\":");
  j.string(kScopeNameValue);
  if (!resource.scope_version.empty()) {
    j.key("version");
    j.string(resource.scope_version);
  }
  j.raw("}");
}

void span_json(JsonWriter& j, const Span& span) {
  j.raw("{");
  j.key("traceId", true).hex(bytes_of(span.trace_id.bytes));
  j.key("spanId").hex(bytes_of(span.span_id.bytes));
  if (!span.trace_state().empty()) j.key("traceState").string(span.trace_state());
  if (span.parent_span_id.valid()) j.key("parentSpanId").hex(bytes_of(span.parent_span_id.bytes));
  j.key("name").string(span.name());
  j.key("kind").integer(static_cast<int>(span.kind));
  j.key("startTimeUnixNano").quoted_integer(span.start_unix_nanos);
  j.key("endTimeUnixNano").quoted_integer(span.end_unix_nanos);
  j.key("attributes").raw("[");
  bool first = true;
  for (const auto& a : span.attributes()) {
    if (!first) j.comma();
    first = false;
    j.raw("{\"key\":");
    j.string(a.key);
    j.raw(",\"value\":");
    any_value_json(j, span, a.value);
    j.raw("}");
  }
  j.raw("]");
  j.key("status").raw("{");
  bool first_status = true;
  if (!span.status_message().empty()) {
    j.key("message", true).string(span.status_message());
    first_status = false;
  }
  if (span.status != SpanStatus::Unset) j.key("code", first_status).integer(static_cast<int>(span.status));
  j.raw("}");
  j.key("flags").integer(span_flags(span));
  j.raw("}");
}

void point_attributes_json(JsonWriter& j, const MetricPoint& point) {
  j.key("attributes", true);
  string_attributes_json(j, point.attributes);
}

void number_point_json(JsonWriter& j, const MetricFamily& family, const MetricPoint& point,
                       const MetricCollection& metrics, bool cumulative) {
  j.raw("{");
  point_attributes_json(j, point);
  if (cumulative) j.key("startTimeUnixNano").quoted_integer(metrics.start_unix_nanos);
  j.key("timeUnixNano").quoted_integer(metrics.time_unix_nanos);
  if (family.integer)
    j.key("asInt").quoted_integer(static_cast<std::int64_t>(std::llround(point.value)));
  else
    j.key("asDouble").number(point.value);
  j.raw("}");
}

void metric_json(JsonWriter& j, const MetricFamily& family, const MetricCollection& metrics) {
  j.raw("{");
  j.key("name", true).string(family.name);
  if (!family.description.empty()) j.key("description").string(family.description);
  if (!family.unit.empty()) j.key("unit").string(family.unit);
  auto points = [&](auto&& each) {
    j.key("dataPoints", true).raw("[");
    bool first = true;
    for (const auto& point : family.points) {
      if (!first) j.comma();
      first = false;
      each(point);
    }
    j.raw("]");
  };
  switch (family.kind) {
    case MetricKind::Sum:
      j.key("sum").raw("{");
      points([&](const MetricPoint& point) { number_point_json(j, family, point, metrics, true); });
      j.raw(",\"aggregationTemporality\":2,\"isMonotonic\":true}");
      break;
    case MetricKind::Gauge:
      j.key("gauge").raw("{");
      points([&](const MetricPoint& point) { number_point_json(j, family, point, metrics, false); });
      j.raw("}");
      break;
    case MetricKind::Histogram:
      j.key("histogram").raw("{");
      points([&](const MetricPoint& point) {
        j.raw("{");
        point_attributes_json(j, point);
        j.key("startTimeUnixNano").quoted_integer(metrics.start_unix_nanos);
        j.key("timeUnixNano").quoted_integer(metrics.time_unix_nanos);
        j.key("count").quoted_integer(point.count);
        j.key("sum").number(point.sum);
        j.key("bucketCounts").raw("[");
        for (std::size_t i = 0; i < point.bucket_counts.size(); ++i) {
          if (i > 0) j.comma();
          j.quoted_integer(point.bucket_counts[i]);
        }
        j.raw("]");
        j.key("explicitBounds").raw("[");
        for (std::size_t i = 0; i < family.bounds.size(); ++i) {
          if (i > 0) j.comma();
          j.number(family.bounds[i]);
        }
        j.raw("]}");
      });
      j.raw(",\"aggregationTemporality\":2}");
      break;
  }
  j.raw("}");
}

}  // namespace

// ------------------------------------------------------------------ ProtoWriter

void ProtoWriter::varint(std::uint64_t value) {
  char buf[10];
  std::size_t n = 0;
  while (value >= 0x80) {
    buf[n++] = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  buf[n++] = static_cast<char>(value);
  out_.append(buf, n);
}

void ProtoWriter::fixed64(std::uint64_t value) {
  char buf[8];
  for (int i = 0; i < 8; ++i, value >>= 8) buf[i] = static_cast<char>(value & 0xff);
  out_.append(buf, sizeof buf);
}

void ProtoWriter::tag(unsigned field, unsigned wire_type) {
  const auto key = (static_cast<std::uint64_t>(field) << 3) | wire_type;
  if (key < 0x80)
    out_.push_back(static_cast<char>(key));
  else
    varint(key);
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
  char buf[4];
  for (int i = 0; i < 4; ++i, value >>= 8) buf[i] = static_cast<char>(value & 0xff);
  out_.append(buf, sizeof buf);
}

void ProtoWriter::double_field(unsigned field, double value) {
  fixed64_field(field, std::bit_cast<std::uint64_t>(value));
}

void ProtoWriter::bytes_field(unsigned field, std::string_view value) {
  tag(field, 2);
  varint(value.size());
  out_.append(value);
}

void ProtoWriter::header(unsigned field, std::size_t size) {
  tag(field, 2);
  varint(size);
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

ProtoWriter::Mark ProtoWriter::open(unsigned field, unsigned width) {
  tag(field, 2);
  const Mark mark{out_.size(), width};
  out_.append(width, '\0');
  return mark;
}

void ProtoWriter::close(Mark mark) {
  const auto body = mark.at + mark.width;
  const auto size = out_.size() - body;
  const auto need = varint_size(size);
  if (need > mark.width)
    out_.insert(body, need - mark.width, '\0');
  else if (need < mark.width)
    out_.erase(mark.at + need, mark.width - need);
  auto value = static_cast<std::uint64_t>(size);
  char* at = out_.data() + mark.at;
  while (value >= 0x80) {
    *at++ = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  *at = static_cast<char>(value);
}

// ------------------------------------------------------------------ requests

void encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans, std::string& out) {
  out.clear();
  ProtoWriter w(out);
  const auto resource_spans = w.open(pb::kResourceSpans, kLarge);
  write_resource(w, pb::kResource, resource);
  const auto scope_spans = w.open(pb::kScopeSpans, kLarge);
  write_scope(w, pb::kScope, resource);
  for (const auto& span : spans) write_span(w, span);
  w.close(scope_spans);
  w.close(resource_spans);
}

void encode_traces_json(const OtlpResource& resource, std::span<const Span> spans, std::string& out) {
  out.clear();
  JsonWriter j(out);
  j.raw("{\"resourceSpans\":[{\"resource\":");
  resource_json(j, resource);
  j.raw(",\"scopeSpans\":[{\"scope\":");
  scope_json(j, resource);
  j.raw(",\"spans\":[");
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) j.comma();
    span_json(j, spans[i]);
  }
  j.raw("]}]}]}");
}

void encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics, std::string& out) {
  out.clear();
  ProtoWriter w(out);
  const auto resource_metrics = w.open(pb::kResourceMetrics, kLarge);
  write_resource(w, pb::kResource, resource);
  const auto scope_metrics = w.open(pb::kScopeMetrics, kLarge);
  write_scope(w, pb::kScope, resource);
  for (const auto& family : metrics.families) write_metric(w, family, metrics);
  w.close(scope_metrics);
  w.close(resource_metrics);
}

void encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics, std::string& out) {
  out.clear();
  JsonWriter j(out);
  j.raw("{\"resourceMetrics\":[{\"resource\":");
  resource_json(j, resource);
  j.raw(",\"scopeMetrics\":[{\"scope\":");
  scope_json(j, resource);
  j.raw(",\"metrics\":[");
  for (std::size_t i = 0; i < metrics.families.size(); ++i) {
    if (i > 0) j.comma();
    metric_json(j, metrics.families[i], metrics);
  }
  j.raw("]}]}]}");
}

std::string encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans) {
  std::string out;
  encode_traces_protobuf(resource, spans, out);
  return out;
}

std::string encode_traces_json(const OtlpResource& resource, std::span<const Span> spans) {
  std::string out;
  encode_traces_json(resource, spans, out);
  return out;
}

std::string encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics) {
  std::string out;
  encode_metrics_protobuf(resource, metrics, out);
  return out;
}

std::string encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics) {
  std::string out;
  encode_metrics_json(resource, metrics, out);
  return out;
}

}  // namespace sluice::observe
