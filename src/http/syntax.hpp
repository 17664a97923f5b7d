// Character classes of HTTP and URIs (RFC 9110 §5.1, §5.5; RFC 3986 §2), shared by the request
// edge, path canonicalisation, config validation, access-log redaction and SigV4 encoding, so
// each rule is written once. Header-only; pure functions.
#pragma once

#include <string_view>

namespace sluice::http {

// The value of one hex digit, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 unreserved: ALPHA DIGIT - . _ ~
constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// RFC 9110 tchar: a character of a token (field names, transfer codings).
constexpr bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Whether `name` is an RFC 9110 token (a valid header field name).
constexpr bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

// Whether `value` may stand in an HTTP head: no CR, LF, NUL or other control character than HTAB.
constexpr bool valid_field_value(std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace sluice::http
