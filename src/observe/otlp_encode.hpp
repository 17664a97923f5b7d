// OTLP encodings of spans and metrics: ExportTraceServiceRequest and ExportMetricsServiceRequest
// (opentelemetry-proto v1) as protobuf (application/x-protobuf) and as OTLP/JSON
// (application/json: lowerCamelCase field names, trace and span ids as hex, 64-bit integers as
// decimal strings, enums as numbers). One resource, one instrumentation scope ("sluice") per
// request. Metrics: Sum monotonic cumulative, Gauge, Histogram with explicit buckets,
// cumulative.
//
// Each request is written in one pass into one buffer the caller owns and may reuse (`out` is
// cleared first; its capacity is kept): nested messages are written in place, their length in
// front of them (computed beforehand for attributes, patched afterwards for the messages that
// hold them). The protobuf output is canonical (minimal varints, fields in number order).
// Pure functions; thread-safe.
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

void encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans, std::string& out);
void encode_traces_json(const OtlpResource& resource, std::span<const Span> spans, std::string& out);
void encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics, std::string& out);
void encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics, std::string& out);

// The same, into a new string.
std::string encode_traces_protobuf(const OtlpResource& resource, std::span<const Span> spans);
std::string encode_traces_json(const OtlpResource& resource, std::span<const Span> spans);
std::string encode_metrics_protobuf(const OtlpResource& resource, const MetricCollection& metrics);
std::string encode_metrics_json(const OtlpResource& resource, const MetricCollection& metrics);

// The protobuf wire format, as much as OTLP needs: varints, fixed 64/32-bit fields, doubles,
// length-delimited fields (strings, bytes, nested messages). Appends to a string it does not own.
class ProtoWriter {
 public:
  // Where an open nested message's length goes, and how many bytes were set aside for it.
  struct Mark {
    std::size_t at;
    unsigned width;
  };

  explicit ProtoWriter(std::string& out) : out_(out) {}

  void varint_field(unsigned field, std::uint64_t value);
  void fixed64_field(unsigned field, std::uint64_t value);
  void fixed32_field(unsigned field, std::uint32_t value);
  void double_field(unsigned field, double value);
  void bytes_field(unsigned field, std::string_view value);
  // A packed repeated field of fixed64 / double values.
  void packed_fixed64(unsigned field, std::span<const std::uint64_t> values);
  void packed_double(unsigned field, std::span<const double> values);

  // A nested message of unknown size, written in place: open() writes its tag and sets `width`
  // bytes aside for its length (the width its length is expected to need); the message's
  // fields follow; close() writes the length there, moving the message when it needs another
  // width (rare: a wrong guess costs one move of the message).
  Mark open(unsigned field, unsigned width);
  void close(Mark mark);
  // A nested message whose size is known: its tag and length; `size` bytes of fields follow.
  void header(unsigned field, std::size_t size);

  void tag(unsigned field, unsigned wire_type);
  void varint(std::uint64_t value);
  static unsigned varint_size(std::uint64_t value) {
    unsigned n = 1;
    while (value >= 0x80) {
      value >>= 7;
      ++n;
    }
    return n;
  }

 private:
  void fixed64(std::uint64_t value);
  std::string& out_;
};

}  // namespace sluice::observe
