// W3C Trace Context (https://www.w3.org/TR/trace-context/): the ids of a trace and a span, the
// `traceparent` header read strictly (version 00, exactly 55 characters, lowercase hex, non-zero
// ids; anything else is no parent, and the request starts a new trace), `tracestate` checked and
// bounded as the specification lets a vendor bound it (at most 32 list members, 512 characters:
// members longer than 128 characters go first, then members from the end), the sampling decision
// by trace-id ratio, and the header written upstream. Pure functions and plain values;
// thread-safe. A client's headers are input: nothing here trusts their length or alphabet.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sluice::observe {

struct TraceId {
  std::array<std::uint8_t, 16> bytes{};
  bool valid() const;  // not all zeros
};

struct SpanId {
  std::array<std::uint8_t, 8> bytes{};
  bool valid() const;
};

struct TraceParent {
  TraceId trace_id;
  SpanId parent_id;
  std::uint8_t flags = 0;
  bool sampled() const { return (flags & 0x01) != 0; }
};

// Limits of tracestate a vendor may apply (W3C Trace Context §3.3.1.5).
inline constexpr std::size_t kMaxTraceStateMembers = 32;
inline constexpr std::size_t kMaxTraceStateBytes = 512;
inline constexpr std::size_t kMaxTraceStateMemberBytes = 128;  // dropped first when over 512

// The parent a `traceparent` value names; nullopt when it is not a valid version-00 header.
std::optional<TraceParent> parse_traceparent(std::string_view value);

// The canonical `tracestate` to propagate: list members with valid keys and values, empty ones
// removed, joined by ","; bounded by the limits above. Empty when the header is invalid (a bad
// member, a key twice, more than 32 members) or has no member.
std::string canonical_tracestate(std::string_view value);

// Lowercase hex of the ids; `out` receives exactly 32 or 16 characters.
void to_hex(const TraceId& id, char* out);
void to_hex(const SpanId& id, char* out);
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

// "00-{trace}-{span}-{flags}" (55 characters), the span being the one the receiver's work is
// a child of; only the sampled flag is written.
inline constexpr std::size_t kTraceParentBytes = 55;
void format_traceparent(const TraceId& trace, const SpanId& span, bool sampled, char* out);

// New random ids (never all zeros).
TraceId new_trace_id(std::mt19937_64& rng);
SpanId new_span_id(std::mt19937_64& rng);

// Whether a new trace is recorded at `ratio` (0..1): decided by the trace id's last 8 bytes, so
// every replica decides the same for the same trace (OpenTelemetry's TraceIdRatioBased idea).
bool sampled_by_ratio(const TraceId& id, double ratio);

}  // namespace sluice::observe
