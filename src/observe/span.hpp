// A finished span as the OTLP exporter takes it: ids, kind, name, times, status and attributes
// (OpenTelemetry's model, trimmed to what Sluice records: no events, no links). Attribute keys are
// string literals (static storage; every key Sluice writes is a constant of the conventions or its
// own sluice.*); values are owned. Plain values: made on one worker, handed whole to the exporter
// thread, never shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observe/trace_context.hpp"

namespace sluice::observe {

// OTLP's SpanKind and Status.code values.
enum class SpanKind : std::uint8_t { Internal = 1, Server = 2, Client = 3 };
enum class SpanStatus : std::uint8_t { Unset = 0, Ok = 1, Error = 2 };

// One attribute value: a string, an integer, a double, a bool or a list of strings.
struct AttributeValue {
  enum class Type : std::uint8_t { String, Int, Double, Bool, StringArray };
  Type type = Type::String;
  std::string text;
  std::int64_t integer = 0;
  double number = 0;
  bool flag = false;
  std::vector<std::string> list;

  AttributeValue() = default;
  AttributeValue(std::string v) : type(Type::String), text(std::move(v)) {}
  AttributeValue(std::int64_t v) : type(Type::Int), integer(v) {}
  AttributeValue(double v) : type(Type::Double), number(v) {}
  AttributeValue(bool v) : type(Type::Bool), flag(v) {}
  AttributeValue(std::vector<std::string> v) : type(Type::StringArray), list(std::move(v)) {}
};

struct SpanAttribute {
  std::string_view key;  // a literal
  AttributeValue value;
};

struct Span {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // all zeros: a root span
  std::string trace_state;
  SpanKind kind = SpanKind::Server;
  std::string name;
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t end_unix_nanos = 0;
  SpanStatus status = SpanStatus::Unset;
  std::string status_message;
  std::vector<SpanAttribute> attributes;

  void set(std::string_view key, std::string value) { attributes.push_back({key, AttributeValue(std::move(value))}); }
  void set(std::string_view key, std::string_view value) { set(key, std::string(value)); }
  void set(std::string_view key, const char* value) { set(key, std::string(value)); }
  void set(std::string_view key, std::int64_t value) { attributes.push_back({key, AttributeValue(value)}); }
  void set(std::string_view key, double value) { attributes.push_back({key, AttributeValue(value)}); }
  void set(std::string_view key, bool value) { attributes.push_back({key, AttributeValue(value)}); }
  void set(std::string_view key, std::vector<std::string> value) {
    attributes.push_back({key, AttributeValue(std::move(value))});
  }
};

}  // namespace sluice::observe
