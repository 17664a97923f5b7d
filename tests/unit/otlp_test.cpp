// Telemetry: the W3C trace-context parser, tracestate bounds, ratio sampling, the OTLP
// encoders (protobuf read back field by field with a minimal wire-format reader and compared
// byte for byte with a nested reference writer; JSON parsed), the exporter and its kept-alive
// client against a loopback collector counting connections, and Gateway spec.telemetry decoding.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "config/loader.hpp"
#include "observe/otlp_encode.hpp"
#include "observe/otlp_exporter.hpp"
#include "observe/trace_context.hpp"

namespace sluice::observe {
namespace {

namespace json = boost::json;

// ------------------------------------------------------------------ traceparent

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceParentTest, ParsesAValidHeader) {
  const auto p = parse_traceparent(kValid);
  ASSERT_TRUE(p);
  EXPECT_EQ(to_hex(p->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(p->parent_id), "00f067aa0ba902b7");
  EXPECT_TRUE(p->sampled());
  const auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled());
  // Other flag bits are read, only the sampled one matters.
  EXPECT_TRUE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")->sampled());
}

TEST(TraceParentTest, RefusesWhatTheSpecificationRefuses) {
  for (const std::string_view bad : {
           "",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // another version
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // the forbidden version
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // trailing data
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-011",   // fields shifted
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // separator
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   // non-hex flags
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // whitespace
       })
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
}

TEST(TraceParentTest, FormatsCanonically) {
  const auto p = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(p);
  char out[kTraceParentBytes];
  SpanId span;
  span.bytes = {1, 2, 3, 4, 5, 6, 7, 8};
  format_traceparent(p->trace_id, span, p->sampled(), out);
  EXPECT_EQ(std::string_view(out, sizeof out), "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
  EXPECT_TRUE(parse_traceparent(std::string_view(out, sizeof out)));
}

TEST(TraceStateTest, KeepsValidMembersCanonically) {
  EXPECT_EQ(canonical_tracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(canonical_tracestate(" , tenant@vendor=v ,,"), "tenant@vendor=v");
  EXPECT_EQ(canonical_tracestate(""), "");
}

TEST(TraceStateTest, DropsAnInvalidHeaderWhole) {
  EXPECT_EQ(canonical_tracestate("Upper=1"), "");
  EXPECT_EQ(canonical_tracestate("a=1,a=2"), "");                // a key twice
  EXPECT_EQ(canonical_tracestate("a=1,novalue"), "");            // no "="
  EXPECT_EQ(canonical_tracestate("a=x,y"), "");                  // "," inside a value is a new member
  EXPECT_EQ(canonical_tracestate("a=bad\x01value"), "");         // control character
  EXPECT_EQ(canonical_tracestate("a=trailing "), "a=trailing");  // OWS around a member is trimmed
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(canonical_tracestate(many), "");  // more than 32 members
}

TEST(TraceStateTest, BoundsTheLength) {
  // Members over 128 characters go first, then members from the end, until 512 fit.
  std::string state = "big=" + std::string(200, 'x');
  for (int i = 0; i < 20; ++i) state += ",m" + std::to_string(i) + "=" + std::string(30, 'v');
  const auto out = canonical_tracestate(state);
  EXPECT_LE(out.size(), kMaxTraceStateBytes);
  EXPECT_EQ(out.find("big="), std::string::npos);
  EXPECT_TRUE(out.starts_with("m0="));
}

TEST(SamplingTest, RatioByTraceId) {
  std::mt19937_64 rng(7);
  int sampled = 0;
  for (int i = 0; i < 10000; ++i) sampled += sampled_by_ratio(new_trace_id(rng), 0.1) ? 1 : 0;
  EXPECT_GT(sampled, 800);
  EXPECT_LT(sampled, 1200);
  const auto id = new_trace_id(rng);
  EXPECT_FALSE(sampled_by_ratio(id, 0.0));
  EXPECT_TRUE(sampled_by_ratio(id, 1.0));
  EXPECT_EQ(sampled_by_ratio(id, 0.5), sampled_by_ratio(id, 0.5));  // the same trace, the same answer
}

// ------------------------------------------------------------------ a protobuf reader for the tests

struct Field {
  unsigned number = 0;
  unsigned wire = 0;
  std::uint64_t value = 0;  // varint, fixed64, fixed32
  std::string bytes;        // length-delimited
};

std::vector<Field> read_fields(std::string_view data) {
  std::vector<Field> out;
  std::size_t i = 0;
  auto varint = [&] {
    std::uint64_t v = 0;
    for (int shift = 0; i < data.size(); shift += 7) {
      const auto b = static_cast<unsigned char>(data[i++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  };
  while (i < data.size()) {
    const auto key = varint();
    Field f;
    f.number = static_cast<unsigned>(key >> 3);
    f.wire = static_cast<unsigned>(key & 7);
    if (f.wire == 0) {
      f.value = varint();
    } else if (f.wire == 1 || f.wire == 5) {
      const int n = f.wire == 1 ? 8 : 4;
      for (int k = 0; k < n; ++k)
        f.value |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i + k])) << (8 * k);
      i += n;
    } else if (f.wire == 2) {
      const auto len = varint();
      f.bytes = std::string(data.substr(i, len));
      i += len;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire;
      break;
    }
    out.push_back(std::move(f));
  }
  EXPECT_EQ(i, data.size());
  return out;
}

std::vector<Field> all(const std::vector<Field>& fields, unsigned number) {
  std::vector<Field> out;
  for (const auto& f : fields)
    if (f.number == number) out.push_back(f);
  return out;
}

Field one(const std::vector<Field>& fields, unsigned number) {
  const auto found = all(fields, number);
  EXPECT_EQ(found.size(), 1u) << "field " << number;
  return found.empty() ? Field{} : found.front();
}

// KeyValue list → key to AnyValue's fields.
std::map<std::string, std::vector<Field>> attributes(const std::vector<Field>& fields, unsigned number) {
  std::map<std::string, std::vector<Field>> out;
  for (const auto& kv : all(fields, number)) {
    const auto parts = read_fields(kv.bytes);
    out[one(parts, 1).bytes] = read_fields(one(parts, 2).bytes);
  }
  return out;
}

OtlpResource test_resource() {
  return OtlpResource{{{"service.name", "sluice"}, {"service.version", "1.2.3"}}, "1.2.3"};
}

Span test_span(Span span = Span()) {
  span.trace_id.bytes = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                         0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  span.span_id.bytes = {1, 2, 3, 4, 5, 6, 7, 8};
  span.parent_span_id.bytes = {9, 9, 9, 9, 9, 9, 9, 9};
  span.set_trace_state("rojo=1");
  span.kind = SpanKind::Server;
  span.set_name("chat", "gpt-4o");
  span.start_unix_nanos = 1'700'000'000'000'000'000ULL;
  span.end_unix_nanos = 1'700'000'000'500'000'000ULL;
  span.status = SpanStatus::Error;
  span.set_status_message("upstream failed");
  span.set("gen_ai.request.model", "gpt-4o");
  span.set("gen_ai.usage.input_tokens", std::int64_t{12});
  span.set("gen_ai.request.temperature", 0.5);
  span.set("sluice.stream", true);
  span.set_strings("gen_ai.response.finish_reasons", {"stop", "length"});
  span.set("negative", std::int64_t{-3});
  return span;
}

TEST(OtlpEncodeTest, TracesAsProtobuf) {
  const std::vector<Span> spans{test_span()};
  const auto body = encode_traces_protobuf(test_resource(), spans);
  const auto request = read_fields(body);
  const auto resource_spans = read_fields(one(request, 1).bytes);
  const auto resource = read_fields(one(resource_spans, 1).bytes);
  const auto resource_attributes = attributes(resource, 1);
  EXPECT_EQ(one(resource_attributes.at("service.name"), 1).bytes, "sluice");
  const auto scope_spans = read_fields(one(resource_spans, 2).bytes);
  const auto scope = read_fields(one(scope_spans, 1).bytes);
  EXPECT_EQ(one(scope, 1).bytes, "sluice");
  EXPECT_EQ(one(scope, 2).bytes, "1.2.3");
  const auto span = read_fields(one(scope_spans, 2).bytes);
  EXPECT_EQ(one(span, 1).bytes.size(), 16u);
  EXPECT_EQ(one(span, 1).bytes[0], '\x4b');
  EXPECT_EQ(one(span, 2).bytes, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(one(span, 3).bytes, "rojo=1");
  EXPECT_EQ(one(span, 4).bytes, std::string(8, '\x09'));
  EXPECT_EQ(one(span, 5).bytes, "chat gpt-4o");
  EXPECT_EQ(one(span, 6).value, 2u);  // SERVER
  EXPECT_EQ(one(span, 7).wire, 1u);   // fixed64
  EXPECT_EQ(one(span, 7).value, 1'700'000'000'000'000'000ULL);
  EXPECT_EQ(one(span, 8).value, 1'700'000'000'500'000'000ULL);
  EXPECT_EQ(one(span, 16).value, 0x300u);  // parent known to be remote
  const auto status = read_fields(one(span, 15).bytes);
  EXPECT_EQ(one(status, 2).bytes, "upstream failed");
  EXPECT_EQ(one(status, 3).value, 2u);
  const auto attrs = attributes(span, 9);
  EXPECT_EQ(one(attrs.at("gen_ai.request.model"), 1).bytes, "gpt-4o");
  EXPECT_EQ(one(attrs.at("gen_ai.usage.input_tokens"), 3).value, 12u);
  EXPECT_EQ(static_cast<std::int64_t>(one(attrs.at("negative"), 3).value), -3);
  double temperature = 0;
  const auto bits = one(attrs.at("gen_ai.request.temperature"), 4).value;
  std::memcpy(&temperature, &bits, sizeof temperature);
  EXPECT_EQ(temperature, 0.5);
  EXPECT_EQ(one(attrs.at("sluice.stream"), 2).value, 1u);
  const auto array = read_fields(one(attrs.at("gen_ai.response.finish_reasons"), 5).bytes);
  const auto values = all(array, 1);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(one(read_fields(values[0].bytes), 1).bytes, "stop");
  EXPECT_EQ(one(read_fields(values[1].bytes), 1).bytes, "length");
}

TEST(OtlpEncodeTest, RootSpanHasNoParentField) {
  auto root = test_span();
  root.parent_span_id = SpanId{};
  root.set_trace_state("");
  const std::vector<Span> spans{root};
  const auto request = read_fields(encode_traces_protobuf(test_resource(), spans));
  const auto span = read_fields(one(read_fields(one(read_fields(one(request, 1).bytes), 2).bytes), 2).bytes);
  EXPECT_TRUE(all(span, 4).empty());
  EXPECT_TRUE(all(span, 3).empty());
  EXPECT_EQ(one(span, 16).value, 0x100u);
}

// The encoding as a straightforward nested writer makes it (each message into a string of its
// own, then copied into its parent with its length): the one-pass encoder must write the same
// bytes.
namespace reference {

std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string tag(unsigned field, unsigned wire) {
  return varint((static_cast<std::uint64_t>(field) << 3) | wire);
}
std::string bytes(unsigned field, std::string_view v) {
  return tag(field, 2) + varint(v.size()) + std::string(v);
}
std::string fixed(unsigned field, std::uint64_t v, int n) {
  std::string out = tag(field, n == 8 ? 1 : 5);
  for (int i = 0; i < n; ++i, v >>= 8) out.push_back(static_cast<char>(v & 0xff));
  return out;
}
std::string id(const auto& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size());
}
std::string any(const Span& span, const AttributeValue& v) {
  switch (v.type) {
    case AttributeValue::Type::String:
      return bytes(1, span.text(v));
    case AttributeValue::Type::Int:
      return tag(3, 0) + varint(static_cast<std::uint64_t>(v.integer));
    case AttributeValue::Type::Double: {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &v.number, 8);
      return fixed(4, bits, 8);
    }
    case AttributeValue::Type::Bool:
      return tag(2, 0) + varint(v.flag ? 1 : 0);
    case AttributeValue::Type::StringArray: {
      std::string array;
      span.for_each_string(v, [&](std::string_view item) { array += bytes(1, bytes(1, item)); });
      return bytes(5, array);
    }
  }
  return {};
}
std::string key_value(unsigned field, std::string_view key, const std::string& any_value) {
  return bytes(field, bytes(1, key) + bytes(2, any_value));
}
std::string span_message(const Span& span) {
  std::string w = bytes(1, id(span.trace_id.bytes)) + bytes(2, id(span.span_id.bytes));
  if (!span.trace_state().empty()) w += bytes(3, span.trace_state());
  if (span.parent_span_id.valid()) w += bytes(4, id(span.parent_span_id.bytes));
  w += bytes(5, span.name()) + tag(6, 0) + varint(static_cast<std::uint64_t>(span.kind));
  w += fixed(7, span.start_unix_nanos, 8) + fixed(8, span.end_unix_nanos, 8);
  for (const auto& a : span.attributes()) w += key_value(9, a.key, any(span, a.value));
  std::string status;
  if (!span.status_message().empty()) status += bytes(2, span.status_message());
  if (span.status != SpanStatus::Unset) status += tag(3, 0) + varint(static_cast<std::uint64_t>(span.status));
  w += bytes(15, status);
  const bool remote = span.kind == SpanKind::Server && span.parent_span_id.valid();
  return w + fixed(16, 0x100u | (remote ? 0x200u : 0u), 4);
}
std::string traces(const OtlpResource& resource, const std::vector<Span>& spans) {
  std::string attrs;
  for (const auto& [k, v] : resource.attributes) attrs += key_value(1, k, bytes(1, v));
  std::string scope = bytes(1, "sluice");
  if (!resource.scope_version.empty()) scope += bytes(2, resource.scope_version);
  std::string scope_spans = bytes(1, scope);
  for (const auto& span : spans) scope_spans += bytes(2, span_message(span));
  return bytes(1, bytes(1, attrs) + bytes(2, scope_spans));
}

}  // namespace reference

// A span whose nested messages need other length widths than the encoder sets aside: values
// of 127/128 bytes (a KeyValue across one byte of length), a 20 KiB one (a span past 16 KiB),
// and an empty name and status.
Span big_span() {
  Span span;
  span.trace_id.bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  span.span_id.bytes = {7, 7, 7, 7, 7, 7, 7, 7};
  span.kind = SpanKind::Client;
  span.set_name("");
  span.set("short", std::string_view("x"));
  span.set("a", std::string(110, 'a'));
  span.set("b", std::string(128, 'b'));
  span.set("messages", std::string(20 * 1024, 'm'));
  span.set_strings("list", {std::string(200, 'l'), "", "z"});
  span.set_strings("empty", {});
  span.set("max", std::int64_t{INT64_MAX});
  span.set("min", std::int64_t{INT64_MIN});
  return span;
}

TEST(OtlpEncodeTest, OnePassWritesWhatANestedWriterWrites) {
  const auto resource = test_resource();
  std::vector<Span> spans{test_span(), big_span()};
  auto root = test_span();
  root.parent_span_id = SpanId{};
  root.status = SpanStatus::Unset;
  spans.push_back(std::move(root));
  EXPECT_EQ(encode_traces_protobuf(resource, spans), reference::traces(resource, spans));
  // A request past 2 MiB (more than the width set aside for the whole request).
  std::vector<Span> many;
  for (int i = 0; i < 120; ++i) many.push_back(big_span());
  const auto body = encode_traces_protobuf(resource, many);
  EXPECT_GT(body.size(), 2u * 1024 * 1024);
  EXPECT_EQ(body, reference::traces(resource, many));
  EXPECT_EQ(encode_traces_protobuf(resource, {}), reference::traces(resource, {}));
}

TEST(OtlpEncodeTest, ReusesTheCallersBuffer) {
  const std::vector<Span> spans{test_span(), big_span()};
  std::string out = "left over from another request";
  encode_traces_protobuf(test_resource(), spans, out);
  EXPECT_EQ(out, reference::traces(test_resource(), spans));
  const auto capacity = out.capacity();
  encode_traces_protobuf(test_resource(), std::vector<Span>{test_span()}, out);
  EXPECT_EQ(out, reference::traces(test_resource(), std::vector<Span>{test_span()}));
  EXPECT_EQ(out.capacity(), capacity);
  encode_traces_json(test_resource(), spans, out);
  EXPECT_NO_THROW(json::parse(out));
}

TEST(OtlpEncodeTest, SpanTextHoldsEveryString) {
  const auto span = big_span();
  ASSERT_EQ(span.attributes().size(), 8u);
  EXPECT_EQ(span.text(span.attributes()[3].value).size(), 20u * 1024);
  std::vector<std::string> items;
  span.for_each_string(span.attributes()[4].value, [&](std::string_view s) { items.emplace_back(s); });
  EXPECT_EQ(items, (std::vector<std::string>{std::string(200, 'l'), "", "z"}));
  int none = 0;
  span.for_each_string(span.attributes()[5].value, [&](std::string_view) { ++none; });
  EXPECT_EQ(none, 0);
  auto named = test_span();
  EXPECT_EQ(named.name(), "chat gpt-4o");
  EXPECT_EQ(named.trace_state(), "rojo=1");
  EXPECT_EQ(named.status_message(), "upstream failed");
}

TEST(OtlpEncodeTest, TracesAsJson) {
  const std::vector<Span> spans{test_span()};
  const auto doc = json::parse(encode_traces_json(test_resource(), spans));
  const auto& rs = doc.at("resourceSpans").at(0);
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("key"), "service.name");
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "sluice");
  const auto& span = rs.at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("spanId"), "0102030405060708");
  EXPECT_EQ(span.at("parentSpanId"), "0909090909090909");
  EXPECT_EQ(span.at("kind"), 2);
  EXPECT_EQ(span.at("startTimeUnixNano"), "1700000000000000000");
  EXPECT_EQ(span.at("status").at("code"), 2);
  std::map<std::string, json::value> attrs;
  for (const auto& a : span.at("attributes").as_array()) attrs[std::string(a.at("key").as_string())] = a.at("value");
  EXPECT_EQ(attrs["gen_ai.usage.input_tokens"].at("intValue"), "12");
  EXPECT_EQ(attrs["gen_ai.request.temperature"].at("doubleValue"), 0.5);
  EXPECT_EQ(attrs["sluice.stream"].at("boolValue"), true);
  EXPECT_EQ(attrs["gen_ai.response.finish_reasons"].at("arrayValue").at("values").at(1).at("stringValue"), "length");
  EXPECT_EQ(attrs["negative"].at("intValue"), "-3");
  EXPECT_EQ(span.at("flags"), 0x300);
  EXPECT_EQ(span.at("traceState"), "rojo=1");
  EXPECT_EQ(span.at("name"), "chat gpt-4o");
  EXPECT_EQ(span.at("status").at("message"), "upstream failed");
  EXPECT_EQ(rs.at("scopeSpans").at(0).at("scope").at("version"), "1.2.3");
}

TEST(OtlpEncodeTest, TracesAsJsonEscapeAndEdgeValues) {
  auto span = big_span();
  span.set("quoted", std::string_view("say \"hi\"\n\\ \x01"));
  span.set("whole", 2.0);
  span.set("nan", std::nan(""));
  const std::vector<Span> spans{span};
  const auto doc = json::parse(encode_traces_json(test_resource(), spans));
  const auto& s = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_FALSE(s.as_object().contains("parentSpanId"));
  EXPECT_FALSE(s.as_object().contains("traceState"));
  EXPECT_EQ(s.at("status").as_object().size(), 0u);
  std::map<std::string, json::value> attrs;
  for (const auto& a : s.at("attributes").as_array()) attrs[std::string(a.at("key").as_string())] = a.at("value");
  EXPECT_EQ(attrs["quoted"].at("stringValue"), "say \"hi\"\n\\ \x01");
  EXPECT_EQ(attrs["whole"].at("doubleValue").as_double(), 2.0);
  EXPECT_EQ(attrs["nan"].at("doubleValue").as_double(), 0.0);
  EXPECT_EQ(attrs["max"].at("intValue"), "9223372036854775807");
  EXPECT_EQ(attrs["min"].at("intValue"), "-9223372036854775808");
  EXPECT_EQ(attrs["list"].at("arrayValue").at("values").as_array().size(), 3u);
  EXPECT_EQ(attrs["empty"].at("arrayValue").at("values").as_array().size(), 0u);
  EXPECT_EQ(attrs["messages"].at("stringValue").as_string().size(), 20u * 1024);
}

MetricCollection test_metrics() {
  MetricCollection m;
  m.start_unix_nanos = 100;
  m.time_unix_nanos = 200;
  MetricFamily sum{"gen_ai.client.token.usage.total", "{token}", "Tokens.", MetricKind::Sum, true, {}, {}};
  sum.points.push_back(MetricPoint{{{"gen_ai.token.type", "input"}}, 42, {}, 0, 0});
  MetricFamily gauge{"sluice.active_requests", "{request}", "", MetricKind::Gauge, false, {}, {}};
  gauge.points.push_back(MetricPoint{{}, 1.5, {}, 0, 0});
  MetricFamily histogram{
      "gen_ai.server.request.duration", "s", "Duration.", MetricKind::Histogram, false, {0.1, 1.0}, {}};
  histogram.points.push_back(MetricPoint{{{"gen_ai.operation.name", "chat"}}, 0, {3, 2, 1}, 4.5, 6});
  m.families = {sum, gauge, histogram};
  return m;
}

TEST(OtlpEncodeTest, MetricsAsProtobuf) {
  const auto request = read_fields(encode_metrics_protobuf(test_resource(), test_metrics()));
  const auto rm = read_fields(one(request, 1).bytes);
  const auto sm = read_fields(one(rm, 2).bytes);
  const auto metrics = all(sm, 2);
  ASSERT_EQ(metrics.size(), 3u);
  // Sum: monotonic, cumulative, as_int (sfixed64).
  const auto sum_metric = read_fields(metrics[0].bytes);
  EXPECT_EQ(one(sum_metric, 1).bytes, "gen_ai.client.token.usage.total");
  EXPECT_EQ(one(sum_metric, 3).bytes, "{token}");
  const auto sum = read_fields(one(sum_metric, 7).bytes);
  EXPECT_EQ(one(sum, 2).value, 2u);
  EXPECT_EQ(one(sum, 3).value, 1u);
  const auto sum_point = read_fields(one(sum, 1).bytes);
  EXPECT_EQ(one(sum_point, 2).value, 100u);
  EXPECT_EQ(one(sum_point, 3).value, 200u);
  EXPECT_EQ(one(sum_point, 6).wire, 1u);
  EXPECT_EQ(one(sum_point, 6).value, 42u);
  EXPECT_EQ(one(attributes(sum_point, 7).at("gen_ai.token.type"), 1).bytes, "input");
  // Gauge: as_double, no start time.
  const auto gauge = read_fields(one(read_fields(metrics[1].bytes), 5).bytes);
  const auto gauge_point = read_fields(one(gauge, 1).bytes);
  EXPECT_TRUE(all(gauge_point, 2).empty());
  double value = 0;
  const auto bits = one(gauge_point, 4).value;
  std::memcpy(&value, &bits, sizeof value);
  EXPECT_EQ(value, 1.5);
  // Histogram: counts and bounds packed, cumulative.
  const auto histogram = read_fields(one(read_fields(metrics[2].bytes), 9).bytes);
  EXPECT_EQ(one(histogram, 2).value, 2u);
  const auto point = read_fields(one(histogram, 1).bytes);
  EXPECT_EQ(one(point, 4).value, 6u);
  EXPECT_EQ(one(point, 6).bytes.size(), 24u);  // 3 fixed64 counts
  EXPECT_EQ(one(point, 7).bytes.size(), 16u);  // 2 doubles
  std::uint64_t first = 0;
  std::memcpy(&first, one(point, 6).bytes.data(), 8);
  EXPECT_EQ(first, 3u);
  EXPECT_EQ(one(attributes(point, 9).at("gen_ai.operation.name"), 1).bytes, "chat");
}

TEST(OtlpEncodeTest, MetricsAsJson) {
  const auto doc = json::parse(encode_metrics_json(test_resource(), test_metrics()));
  const auto& metrics = doc.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics");
  EXPECT_EQ(metrics.at(0).at("sum").at("isMonotonic"), true);
  EXPECT_EQ(metrics.at(0).at("sum").at("aggregationTemporality"), 2);
  EXPECT_EQ(metrics.at(0).at("sum").at("dataPoints").at(0).at("asInt"), "42");
  EXPECT_EQ(metrics.at(1).at("gauge").at("dataPoints").at(0).at("asDouble"), 1.5);
  const auto& h = metrics.at(2).at("histogram").at("dataPoints").at(0);
  EXPECT_EQ(h.at("count"), "6");
  EXPECT_EQ(h.at("bucketCounts").at(2), "1");
  EXPECT_EQ(h.at("explicitBounds").at(1), 1.0);
}

// ------------------------------------------------------------------ exporter

// What a test collector does with a connection after answering: closes it without saying so
// (Close), reads the next request on it (KeepAlive), or says "Connection: close" and closes it
// (ConnectionClose).
enum class CollectorMode { Close, KeepAlive, ConnectionClose };

// A collector on loopback answering each request with the next status of `statuses` (then 200),
// keeping what it received and counting the connections it accepted.
class Collector {
 public:
  explicit Collector(std::vector<unsigned> statuses, CollectorMode mode = CollectorMode::Close)
      : statuses_(std::move(statuses)), mode_(mode) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~Collector() {
    stop_ = true;
    if (const int fd = current_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ignored);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t connections() const { return connections_.load(); }

 private:
  void serve() {
    std::size_t n = 0;
    for (;;) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      ++connections_;
      current_fd_ = socket.native_handle();
      std::string data;
      for (;;) {
        boost::asio::read_until(socket, boost::asio::dynamic_buffer(data), "\r\n\r\n", ec);
        if (ec) break;
        const auto head_end = data.find("\r\n\r\n") + 4;
        std::size_t length = 0;
        if (const auto at = data.find("Content-Length: "); at != std::string::npos && at < head_end)
          length = std::stoul(data.substr(at + 16));
        while (data.size() < head_end + length && !ec) {
          char buf[4096];
          const auto got = socket.read_some(boost::asio::buffer(buf), ec);
          data.append(buf, got);
        }
        if (ec) break;
        {
          std::lock_guard lock(mutex_);
          requests_.emplace_back(data.substr(0, head_end), data.substr(head_end, length));
        }
        data.erase(0, head_end + length);
        const unsigned status = n < statuses_.size() ? statuses_[n] : 200;
        ++n;
        const std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n" +
                                  (mode_ == CollectorMode::ConnectionClose ? "Connection: close\r\n" : "") + "\r\n";
        boost::asio::write(socket, boost::asio::buffer(reply), ec);
        if (ec || mode_ != CollectorMode::KeepAlive) break;
      }
      current_fd_ = -1;
      if (stop_) return;
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::vector<unsigned> statuses_;
  CollectorMode mode_;
  std::atomic<bool> stop_{false};
  std::atomic<int> current_fd_{-1};
  std::atomic<std::size_t> connections_{0};
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> requests_;
  std::thread thread_;
};

config::Telemetry telemetry_for(std::uint16_t port, config::OtlpProtocol protocol) {
  config::Telemetry t;
  config::OtlpSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  s.endpoint = "http://127.0.0.1:" + std::to_string(port);
  s.protocol = protocol;
  s.headers = {{"x-team", "llm"}};
  s.timeout = std::chrono::milliseconds(2000);
  t.otlp = s;
  t.exportInterval = std::chrono::milliseconds(1000);
  return t;
}

TEST(OtlpExporterTest, PostsBatchesWithHeadersAndRetriesOn503) {
  Collector collector({503});
  OtlpExporter exporter(test_resource());
  exporter.configure(telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf));
  exporter.submit({test_span(), test_span()});
  // Exported within a second, retried once after 0.5 s.
  for (int i = 0; i < 100 && exporter.exported_spans() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  exporter.stop();
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[1].first.find("POST /v1/traces HTTP/1.1"), std::string::npos);
  EXPECT_NE(requests[1].first.find("Content-Type: application/x-protobuf"), std::string::npos);
  EXPECT_NE(requests[1].first.find("x-team: llm"), std::string::npos);
  EXPECT_EQ(requests[1].second, encode_traces_protobuf(test_resource(), std::vector<Span>{test_span(), test_span()}));
  EXPECT_EQ(exporter.exported_spans(), 2u);
  EXPECT_EQ(exporter.dropped_spans(), 0u);
}

TEST(OtlpExporterTest, CountsWhatTheCollectorRefuses) {
  Collector collector({400});
  OtlpExporter exporter(test_resource());
  exporter.configure(telemetry_for(collector.port(), config::OtlpProtocol::HttpJson));
  exporter.submit({test_span()});
  exporter.stop();
  ASSERT_EQ(collector.requests().size(), 1u);  // 400 is not retried
  EXPECT_NE(collector.requests()[0].first.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(exporter.dropped_spans(), 1u);
  EXPECT_NE(exporter.render_prometheus().find("sluice_otlp_dropped_spans_total 1\n"), std::string::npos);
}

TEST(OtlpExporterTest, DropsSpansWhileNotConfigured) {
  OtlpExporter exporter(test_resource());
  // Not configured: nothing is queued.
  exporter.submit({test_span()});
  EXPECT_EQ(exporter.dropped_spans(), 1u);
}

TEST(OtlpExporterTest, ExportsMetricsEveryInterval) {
  Collector collector({});
  OtlpExporter exporter(test_resource(), [] { return test_metrics(); });
  exporter.configure(telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf));
  for (int i = 0; i < 60 && collector.requests().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  exporter.stop();
  const auto requests = collector.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_NE(requests[0].first.find("POST /v1/metrics HTTP/1.1"), std::string::npos);
  EXPECT_EQ(requests[0].second, encode_metrics_protobuf(test_resource(), test_metrics()));
}

TEST(OtlpClientTest, KeepsOneConnectionForManyPosts) {
  Collector collector({}, CollectorMode::KeepAlive);
  OtlpClient client;
  const auto settings = *telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf).otlp;
  for (int i = 0; i < 5; ++i) {
    const auto result = client.post(settings, "/v1/traces", "application/x-protobuf", "body " + std::to_string(i));
    EXPECT_EQ(result.status, 200u) << result.error;
  }
  EXPECT_EQ(client.connections(), 1u);
  EXPECT_EQ(collector.connections(), 1u);
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[4].second, "body 4");
  EXPECT_NE(requests[4].first.find("POST /v1/traces HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(requests[4].first.find("Host: 127.0.0.1:" + std::to_string(collector.port()) + "\r\n"), std::string::npos);
  EXPECT_NE(requests[4].first.find("x-team: llm\r\n"), std::string::npos);
  EXPECT_EQ(requests[4].first.find("Connection:"), std::string::npos);
}

TEST(OtlpClientTest, SendsAgainOnANewConnectionWhenTheCollectorClosedTheKeptOne) {
  // The collector closes each connection after its answer without saying so: the next POST
  // finds the kept connection dead and goes out once on a new one.
  Collector collector({}, CollectorMode::Close);
  OtlpClient client;
  const auto settings = *telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf).otlp;
  for (int i = 0; i < 3; ++i) {
    const auto result = client.post(settings, "/v1/metrics", "application/x-protobuf", "m" + std::to_string(i));
    EXPECT_EQ(result.status, 200u) << result.error;
  }
  EXPECT_EQ(collector.connections(), 3u);
  EXPECT_EQ(client.connections(), 3u);
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 3u);  // each once
  EXPECT_EQ(requests[2].second, "m2");
}

TEST(OtlpClientTest, HonoursConnectionClose) {
  Collector collector({}, CollectorMode::ConnectionClose);
  OtlpClient client;
  const auto settings = *telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf).otlp;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(client.post(settings, "/v1/traces", "application/x-protobuf", "t").status, 200u);
  EXPECT_EQ(collector.connections(), 3u);
  EXPECT_EQ(client.connections(), 3u);
  EXPECT_EQ(collector.requests().size(), 3u);
}

TEST(OtlpClientTest, ANewEndpointGetsANewConnection) {
  Collector a({}, CollectorMode::KeepAlive);
  Collector b({}, CollectorMode::KeepAlive);
  OtlpClient client;
  const auto to_a = *telemetry_for(a.port(), config::OtlpProtocol::HttpProtobuf).otlp;
  const auto to_b = *telemetry_for(b.port(), config::OtlpProtocol::HttpProtobuf).otlp;
  EXPECT_EQ(client.post(to_a, "/v1/traces", "application/x-protobuf", "1").status, 200u);
  EXPECT_EQ(client.post(to_b, "/v1/traces", "application/x-protobuf", "2").status, 200u);
  EXPECT_EQ(client.post(to_a, "/v1/traces", "application/x-protobuf", "3").status, 200u);
  EXPECT_EQ(client.connections(), 3u);
  client.close();
  EXPECT_EQ(a.requests().size(), 2u);
  EXPECT_EQ(b.requests().size(), 1u);
}

TEST(OtlpClientTest, AnUnreachableCollectorIsAnError) {
  std::uint16_t port = 0;
  {
    Collector gone({});
    port = gone.port();
  }
  OtlpClient client;
  const auto result =
      client.post(*telemetry_for(port, config::OtlpProtocol::HttpProtobuf).otlp, "/v1/traces", "x", "body");
  EXPECT_EQ(result.status, 0u);
  EXPECT_NE(result.error.find("cannot connect"), std::string::npos) << result.error;
}

TEST(OtlpExporterTest, ExportsOverOneKeptConnection) {
  Collector collector({}, CollectorMode::KeepAlive);
  OtlpExporter exporter(test_resource());
  exporter.configure(telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf));
  for (int round = 1; round <= 3; ++round) {
    // A full request's worth wakes the exporter at once.
    std::vector<Span> spans(OtlpExporter::kMaxSpansPerRequest, test_span());
    exporter.submit(std::move(spans));
    for (int i = 0; i < 100 && exporter.exported_spans() < round * OtlpExporter::kMaxSpansPerRequest; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  exporter.stop();
  EXPECT_EQ(exporter.exported_spans(), 3 * OtlpExporter::kMaxSpansPerRequest);
  EXPECT_EQ(collector.requests().size(), 3u);
  EXPECT_EQ(collector.connections(), 1u);
}

TEST(OtlpExporterTest, HandsExportedSpansBackForReuse) {
  Collector collector({}, CollectorMode::KeepAlive);
  OtlpExporter exporter(test_resource());
  exporter.configure(telemetry_for(collector.port(), config::OtlpProtocol::HttpProtobuf));
  SpanBuffer buffer;
  buffer.attach(&exporter);
  // Four batches of 128 fill a request: exported at once, then kept for reuse.
  for (std::size_t i = 0; i < OtlpExporter::kMaxSpansPerRequest; ++i) buffer.push(test_span(buffer.make(20, 300)));
  for (int i = 0; i < 100 && exporter.exported_spans() < OtlpExporter::kMaxSpansPerRequest; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(exporter.exported_spans(), OtlpExporter::kMaxSpansPerRequest);
  buffer.push(test_span(buffer.make(20, 300)));
  buffer.flush();  // hands the span over and takes exported ones back
  auto recycled = buffer.make(1, 1);
  EXPECT_GE(recycled.attributes().capacity(), 20u);  // its room kept: no allocation
  EXPECT_TRUE(recycled.attributes().empty());
  EXPECT_TRUE(recycled.name().empty());
  EXPECT_FALSE(recycled.trace_id.valid());
  EXPECT_FALSE(recycled.parent_span_id.valid());
  EXPECT_EQ(recycled.status, SpanStatus::Unset);
  // Filled again, it encodes as a new span does.
  EXPECT_EQ(encode_traces_protobuf(test_resource(), std::vector<Span>{test_span(std::move(recycled))}),
            encode_traces_protobuf(test_resource(), std::vector<Span>{test_span()}));
  exporter.stop();
  EXPECT_EQ(collector.connections(), 1u);
}

// ------------------------------------------------------------------ configuration

config::LoadResult load_gateway(const std::string& telemetry) {
  return config::load_sources(
      {{"test.yaml",
        "apiVersion: sluice.dev/v1alpha1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  telemetry:\n" + telemetry}});
}

TEST(TelemetryConfigTest, DecodesEveryField) {
  const auto r =
      load_gateway(R"(    otlp: {endpoint: "http://otel-collector:4318/", protocol: http/json, headers: {x-team: llm}}
    traces: {sampling: 0.25}
    metrics: {exportInterval: 15s}
    captureContent: Metadata
    metricLabels: [principal.metadata.team]
)");
  ASSERT_FALSE(r.diagnostics.has_errors());
  const auto& t = r.config.gateway->spec.telemetry;
  ASSERT_TRUE(t.otlp);
  EXPECT_EQ(t.otlp->host, "otel-collector");
  EXPECT_EQ(t.otlp->port, 4318);
  EXPECT_EQ(t.otlp->base_path, "");
  EXPECT_EQ(t.otlp->endpoint, "http://otel-collector:4318");
  EXPECT_EQ(t.otlp->protocol, config::OtlpProtocol::HttpJson);
  ASSERT_EQ(t.otlp->headers.size(), 1u);
  EXPECT_EQ(t.otlp->headers[0].second, "llm");
  EXPECT_EQ(t.sampling, 0.25);
  EXPECT_EQ(t.exportInterval, std::chrono::seconds(15));
  EXPECT_EQ(t.captureContent, config::CaptureContent::Metadata);
  EXPECT_EQ(t.metricLabels, std::vector<std::string>{"principal.metadata.team"});
}

TEST(TelemetryConfigTest, HttpsEndpoint) {
  const auto r = load_gateway(R"(    otlp: {endpoint: "https://collector.example/otlp/", insecureSkipVerify: true}
)");
  ASSERT_FALSE(r.diagnostics.has_errors());
  const auto& otlp = *r.config.gateway->spec.telemetry.otlp;
  EXPECT_TRUE(otlp.tls);
  EXPECT_TRUE(otlp.insecureSkipVerify);
  EXPECT_EQ(otlp.host, "collector.example");
  EXPECT_EQ(otlp.port, 4318);
  EXPECT_EQ(otlp.base_path, "/otlp");
  EXPECT_EQ(otlp.endpoint, "https://collector.example/otlp");
}

TEST(TelemetryConfigTest, NamesTheFieldOfEveryMistake) {
  struct Case {
    std::string yaml;
    std::string field;
    std::string message;
  };
  const std::vector<Case> cases{
      {"    otlp: {endpoint: \"ftp://c:4318\"}\n", "spec.telemetry.otlp.endpoint", "expected an http:// or https://"},
      {"    otlp: {endpoint: \"c:4318\"}\n", "spec.telemetry.otlp.endpoint", "expected an http:// or https:// URL"},
      {"    metricLabels: [principal.email]\n", "spec.telemetry.metricLabels[0]", "unknown principal attribute"},
      {"    metricLabels: [principal.metadata.]\n", "spec.telemetry.metricLabels[0]", "unknown principal attribute"},
      {"    metricLabels: [principal.id, principal.metadata.a, principal.metadata.b, principal.metadata.c, "
       "principal.metadata.d]\n",
       "spec.telemetry.metricLabels[4]", "at most 4"},
      {"    otlp: {endpoint: \"http://c:99999\"}\n", "spec.telemetry.otlp.endpoint", "port"},
      {"    otlp: {endpoint: \"http://c\", protocol: grpc}\n", "spec.telemetry.otlp.protocol",
       "http/protobuf, http/json"},
      {"    otlp: {endpoint: \"http://c\", headers: {Content-Type: x}}\n", "spec.telemetry.otlp.headers[Content-Type]",
       "set by the exporter"},
      {"    otlp: {endpoint: \"http://c\", headers: {x-team: \"llm\\r\\nx-injected: 1\"}}\n",
       "spec.telemetry.otlp.headers[x-team]", "line break"},
      {"    otlp: {endpoint: \"http://c\", headers: {x-team: \"llm\\x01\"}}\n", "spec.telemetry.otlp.headers[x-team]",
       "control character"},
      {"    otlp: {}\n", "spec.telemetry.otlp.endpoint", ""},
      {"    traces: {sampling: 1.5}\n", "spec.telemetry.traces.sampling", "from 0 to 1"},
      {"    traces: {sampling: lots}\n", "spec.telemetry.traces.sampling", "from 0 to 1"},
      {"    metrics: {exportInterval: 10ms}\n", "spec.telemetry.metrics.exportInterval", "at least 1s"},
      {"    captureContent: All\n", "spec.telemetry.captureContent", "None, Metadata, Full"},
      {"    tracing: {}\n", "spec.telemetry.tracing", "unknown field"},
  };
  for (const auto& c : cases) {
    const auto r = load_gateway(c.yaml);
    bool found = false;
    for (const auto& d : r.diagnostics.items()) {
      if (d.severity == config::Severity::Error && d.field == c.field && d.resource == "Gateway/gw" &&
          d.file == "test.yaml" && d.message.find(c.message) != std::string::npos)
        found = true;
    }
    EXPECT_TRUE(found) << c.yaml;
  }
}

}  // namespace
}  // namespace sluice::observe
