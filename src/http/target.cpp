#include "http/target.hpp"

#include "http/syntax.hpp"

namespace sluice::http {

namespace {

bool visible_ascii(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}

// Appends one decoded-where-safe segment (no "/" inside) to `out`, resolving "." and "..".
// Returns the refusal reason, or "".
std::string append_segment(std::string_view segment, std::string& out, bool& dot_segment) {
  std::string decoded;
  decoded.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const auto c = static_cast<unsigned char>(segment[i]);
    if (c == '%') {
      if (i + 2 >= segment.size()) return "a \"%\" in the path is not followed by two hex digits";
      const int hi = hex_value(segment[i + 1]);
      const int lo = hex_value(segment[i + 2]);
      if (hi < 0 || lo < 0) return "a \"%\" in the path is not followed by two hex digits";
      const auto byte = static_cast<unsigned char>(hi * 16 + lo);
      if (byte == '/' || byte == '\\') return "the path holds an encoded \"/\" or \"\\\" (%2F, %5C)";
      if (byte == 0) return "the path holds an encoded NUL (%00)";
      if (is_unreserved(byte)) {
        decoded.push_back(static_cast<char>(byte));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        decoded.push_back('%');
        decoded.push_back(kHex[byte >> 4]);
        decoded.push_back(kHex[byte & 0xf]);
      }
      i += 2;
      continue;
    }
    if (c == '\\') return "the path holds a \"\\\"";
    if (!visible_ascii(c)) return "the path holds a control, space or non-ASCII byte";
    decoded.push_back(static_cast<char>(c));
  }
  const std::string_view before_params = std::string_view(decoded).substr(0, decoded.find(';'));
  const bool dot = before_params == ".";
  const bool dot_dot = before_params == "..";
  dot_segment = dot || dot_dot;
  if ((dot || dot_dot) && before_params.size() != decoded.size())
    return "the path holds a dot-segment with parameters (\"..;\")";
  if (dot) return {};
  if (dot_dot) {
    // Remove the last segment of `out` (which is "" or ends without a trailing "/").
    if (out.empty()) return "the path climbs above the root with \"..\"";
    const auto slash = out.rfind('/');
    out.resize(slash == std::string::npos ? 0 : slash);
    return {};
  }
  out.push_back('/');
  out.append(decoded);
  return {};
}

}  // namespace

bool is_plainly_canonical(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (!visible_ascii(c) || c == '%' || c == '\\') return false;
    if (c == '/' && i + 1 < path.size() && (path[i + 1] == '/' || path[i + 1] == '.')) return false;
  }
  return true;
}

std::string normalize_path(std::string_view path, std::string& out) {
  out.clear();
  if (path.empty() || path.front() != '/') return "the path does not start with \"/\"";
  // The common case, a path already canonical, is copied as it is.
  if (is_plainly_canonical(path)) {
    out.assign(path);
    return {};
  }
  out.reserve(path.size());
  // Segments between "/"s; empty ones (repeated slashes) are dropped, but a trailing "/" (or a
  // final "." / ".." segment) leaves the path ending in "/", as RFC 3986 §5.2.4 does.
  std::size_t pos = 1;
  bool ends_with_slash = false;
  for (;;) {
    const auto next = path.find('/', pos);
    const auto segment = path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    const bool last = next == std::string_view::npos;
    if (!segment.empty()) {
      bool dot_segment = false;
      if (auto why = append_segment(segment, out, dot_segment); !why.empty()) return why;
      ends_with_slash = last && dot_segment;
    } else {
      ends_with_slash = last;
    }
    if (last) break;
    pos = next + 1;
  }
  if (out.empty() || ends_with_slash) out.push_back('/');
  return {};
}

bool valid_query(std::string_view query) {
  for (const char ch : query) {
    const auto c = static_cast<unsigned char>(ch);
    if (!visible_ascii(c) || c == '#') return false;
  }
  return true;
}

}  // namespace sluice::http
