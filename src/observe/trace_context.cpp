#include "observe/trace_context.hpp"

#include <vector>

namespace sluice::observe {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not valid in traceparent
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
void write_hex(const std::array<std::uint8_t, N>& bytes, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
}

template <std::size_t N>
bool any_set(const std::array<std::uint8_t, N>& bytes) {
  for (const auto b : bytes)
    if (b != 0) return true;
  return false;
}

bool lcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool lcdigit(char c) {
  return lcalpha(c) || (c >= '0' && c <= '9');
}
bool key_char(char c) {
  return lcdigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// simple-key = lcalpha 0*255(lcalpha / DIGIT / "_" / "-"/ "*" / "/")
// multi-tenant-key = tenant-id "@" system-id; tenant-id = (lcalpha / DIGIT) 0*240(...),
// system-id = lcalpha 0*13(...)
bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  const auto at = key.find('@');
  auto chars_ok = [](std::string_view part) {
    for (std::size_t i = 1; i < part.size(); ++i)
      if (!key_char(part[i])) return false;
    return true;
  };
  if (at == std::string_view::npos) return key.size() <= 256 && lcalpha(key[0]) && chars_ok(key);
  const auto tenant = key.substr(0, at);
  const auto system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 && lcdigit(tenant[0]) && chars_ok(tenant) && !system.empty() &&
         system.size() <= 14 && lcalpha(system[0]) && chars_ok(system);
}

// value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256) return false;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == ',' || c == '=') return false;
  }
  return value.back() != ' ';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool TraceId::valid() const {
  return any_set(bytes);
}
bool SpanId::valid() const {
  return any_set(bytes);
}

std::optional<TraceParent> parse_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2
  if (value.size() != kTraceParentBytes) return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  if (value.substr(0, 2) != "00") return std::nullopt;
  TraceParent out;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(value.substr(3, 32), out.trace_id.bytes) || !parse_hex(value.substr(36, 16), out.parent_id.bytes) ||
      !parse_hex(value.substr(53, 2), flags))
    return std::nullopt;
  if (!out.trace_id.valid() || !out.parent_id.valid()) return std::nullopt;
  out.flags = flags[0];
  return out;
}

std::string canonical_tracestate(std::string_view value) {
  if (value.size() > 64 * 1024) return {};  // far beyond any valid list: not looked at
  std::vector<std::string_view> members;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const auto member = trim_ows(value.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) continue;
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) return {};
    const auto key = member.substr(0, eq);
    if (!valid_key(key) || !valid_value(member.substr(eq + 1))) return {};
    for (const auto other : members)
      if (other.substr(0, other.find('=')) == key) return {};  // a key twice: invalid
    members.push_back(member);
    if (members.size() > kMaxTraceStateMembers) return {};
  }
  auto total = [&] {
    std::size_t n = members.empty() ? 0 : members.size() - 1;
    for (const auto m : members) n += m.size();
    return n;
  };
  if (total() > kMaxTraceStateBytes) {
    std::erase_if(members, [](std::string_view m) { return m.size() > kMaxTraceStateMemberBytes; });
    while (!members.empty() && total() > kMaxTraceStateBytes) members.pop_back();
  }
  std::string out;
  out.reserve(total());
  for (const auto m : members) {
    if (!out.empty()) out += ',';
    out.append(m);
  }
  return out;
}

void to_hex(const TraceId& id, char* out) {
  write_hex(id.bytes, out);
}
void to_hex(const SpanId& id, char* out) {
  write_hex(id.bytes, out);
}

std::string to_hex(const TraceId& id) {
  std::string out(32, '0');
  write_hex(id.bytes, out.data());
  return out;
}

std::string to_hex(const SpanId& id) {
  std::string out(16, '0');
  write_hex(id.bytes, out.data());
  return out;
}

void format_traceparent(const TraceId& trace, const SpanId& span, bool sampled, char* out) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  write_hex(trace.bytes, out + 3);
  out[35] = '-';
  write_hex(span.bytes, out + 36);
  out[52] = '-';
  out[53] = '0';
  out[54] = sampled ? '1' : '0';
}

TraceId new_trace_id(std::mt19937_64& rng) {
  TraceId id;
  do {
    for (std::size_t i = 0; i < 16; i += 8) {
      auto v = rng();
      for (std::size_t k = 0; k < 8; ++k, v >>= 8) id.bytes[i + k] = static_cast<std::uint8_t>(v);
    }
  } while (!id.valid());
  return id;
}

SpanId new_span_id(std::mt19937_64& rng) {
  SpanId id;
  do {
    auto v = rng();
    for (std::size_t k = 0; k < 8; ++k, v >>= 8) id.bytes[k] = static_cast<std::uint8_t>(v);
  } while (!id.valid());
  return id;
}

bool sampled_by_ratio(const TraceId& id, double ratio) {
  if (ratio >= 1.0) return true;
  if (ratio <= 0.0) return false;
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = (low << 8) | id.bytes[i];
  // The low 63 bits against ratio * 2^63.
  const auto bound = static_cast<std::uint64_t>(ratio * 9223372036854775808.0);
  return (low & 0x7fffffffffffffffULL) < bound;
}

}  // namespace sluice::observe
