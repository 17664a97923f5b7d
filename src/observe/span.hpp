// A finished span as the OTLP exporter takes it: ids, kind, name, times, status and attributes
// (OpenTelemetry's model, trimmed to what Sluice records: no events, no links). Attribute keys are
// string literals (static storage; every key Sluice writes is a constant of the conventions or its
// own sluice.*). Every string a span owns (its name, tracestate, status message and string
// values) is copied into one buffer of its own, `text`, that attributes and fields refer into by
// offset: a span costs two allocations (that buffer and the attribute list), and none once it is
// recycled (the exporter hands exported spans back to the workers, their room kept). Plain values: made on one
// worker, handed whole to the exporter thread, never shared.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "observe/trace_context.hpp"

namespace sluice::observe {

// OTLP's SpanKind and Status.code values.
enum class SpanKind : std::uint8_t { Internal = 1, Server = 2, Client = 3 };
enum class SpanStatus : std::uint8_t { Unset = 0, Ok = 1, Error = 2 };

// Where a string is in its span's text.
struct TextRef {
  std::uint32_t offset;
  std::uint32_t size;
};

// One attribute value: a string, an integer, a double, a bool or a list of strings. Strings are
// in the span's text: a String is `text`; a StringArray is `count` strings stored one after the
// other in `text`, each after its size (4 bytes, host order). Read them through Span.
struct AttributeValue {
  enum class Type : std::uint8_t { String, Int, Double, Bool, StringArray };
  Type type = Type::String;
  std::uint32_t count = 0;
  union {
    std::int64_t integer;
    double number;
    bool flag;
    TextRef text;
  };
  AttributeValue() : integer(0) {}
};

struct SpanAttribute {
  std::string_view key;  // a literal
  AttributeValue value;
};

class Span {
 public:
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // all zeros: a root span
  SpanKind kind = SpanKind::Server;
  SpanStatus status = SpanStatus::Unset;
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t end_unix_nanos = 0;

  Span() = default;
  // Room for `attributes` attributes and `text_bytes` bytes of strings, allocated once.
  Span(std::size_t attributes, std::size_t text_bytes) { reserve(attributes, text_bytes); }
  void reserve(std::size_t attributes, std::size_t text_bytes) {
    attributes_.reserve(attributes);
    text_.reserve(text_bytes);
  }
  // Empty again, as a new span, keeping the room it had up to kMaxKeptText bytes of strings
  // (spans are recycled: SpanBuffer; a span that held captured content gives that back).
  static constexpr std::size_t kMaxKeptText = 4096;
  void clear() {
    trace_id = {};
    span_id = {};
    parent_span_id = {};
    kind = SpanKind::Server;
    status = SpanStatus::Unset;
    start_unix_nanos = 0;
    end_unix_nanos = 0;
    name_ = trace_state_ = status_message_ = TextRef{0, 0};
    attributes_.clear();
    if (text_.capacity() > kMaxKeptText)
      text_ = std::string();
    else
      text_.clear();
  }

  // The name: `first`, or `first second` when `second` is not empty (the conventions'
  // "{operation} {model}").
  void set_name(std::string_view first, std::string_view second = {}) {
    name_ = add_text(first);
    if (!second.empty()) {
      text_.push_back(' ');
      text_.append(second);
      name_.size = static_cast<std::uint32_t>(text_.size() - name_.offset);
    }
  }
  void set_trace_state(std::string_view state) { trace_state_ = add_text(state); }
  void set_status_message(std::string_view message) { status_message_ = add_text(message); }
  std::string_view name() const { return view(name_); }
  std::string_view trace_state() const { return view(trace_state_); }
  std::string_view status_message() const { return view(status_message_); }

  void set(std::string_view key, std::string_view value) {
    AttributeValue v;
    v.type = AttributeValue::Type::String;
    v.text = add_text(value);
    attributes_.push_back({key, v});
  }
  void set(std::string_view key, const char* value) { set(key, std::string_view(value)); }
  void set(std::string_view key, const std::string& value) { set(key, std::string_view(value)); }
  void set(std::string_view key, std::int64_t value) {
    AttributeValue v;
    v.type = AttributeValue::Type::Int;
    v.integer = value;
    attributes_.push_back({key, v});
  }
  void set(std::string_view key, double value) {
    AttributeValue v;
    v.type = AttributeValue::Type::Double;
    v.number = value;
    attributes_.push_back({key, v});
  }
  void set(std::string_view key, bool value) {
    AttributeValue v;
    v.type = AttributeValue::Type::Bool;
    v.flag = value;
    attributes_.push_back({key, v});
  }
  void set_strings(std::string_view key, std::initializer_list<std::string_view> values) {
    AttributeValue v;
    v.type = AttributeValue::Type::StringArray;
    v.count = static_cast<std::uint32_t>(values.size());
    const auto start = text_.size();
    for (const auto item : values) {
      const auto size = static_cast<std::uint32_t>(item.size());
      char prefix[sizeof size];
      std::memcpy(prefix, &size, sizeof size);
      text_.append(prefix, sizeof prefix);
      text_.append(item);
    }
    v.text = TextRef{static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(text_.size() - start)};
    attributes_.push_back({key, v});
  }

  const std::vector<SpanAttribute>& attributes() const { return attributes_; }
  // A String value's text.
  std::string_view text(const AttributeValue& value) const { return view(value.text); }
  // Calls f(std::string_view) for each string of a StringArray value, in order.
  template <class F>
  void for_each_string(const AttributeValue& value, F&& f) const {
    const char* at = text_.data() + value.text.offset;
    for (std::uint32_t i = 0; i < value.count; ++i) {
      std::uint32_t size = 0;
      std::memcpy(&size, at, sizeof size);
      at += sizeof size;
      f(std::string_view(at, size));
      at += size;
    }
  }

 private:
  TextRef add_text(std::string_view s) {
    const TextRef ref{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(s.size())};
    text_.append(s);
    return ref;
  }
  std::string_view view(TextRef ref) const { return std::string_view(text_.data() + ref.offset, ref.size); }

  TextRef name_{0, 0};
  TextRef trace_state_{0, 0};
  TextRef status_message_{0, 0};
  std::vector<SpanAttribute> attributes_;
  std::string text_;
};

}  // namespace sluice::observe
