// Text helpers for building wire output by hand (JSON strings, numbers, base64, header values).
// Promises: everything appended is valid for its target syntax whatever the input bytes are:
// JSON strings are always valid UTF-8 (invalid sequences become U+FFFD) and header values
// never contain control characters.
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sluice::mock {

// Appends `text` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view text);

// Appends the shortest decimal form of an integer or a float (round-trips exactly).
template <typename Number>
requires std::integral<Number> || std::floating_point<Number>
void append_number(std::string& out, Number value) {
  char digits[32];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Number of Unicode code points in UTF-8 text (bytes that are not continuation bytes).
std::size_t utf8_length(std::string_view text);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Appends standard base64 (with padding).
void append_base64(std::string& out, std::span<const std::byte> bytes);

// Appends `text` for use as an HTTP header value: printable ASCII is kept, '%' and every other
// byte are percent-encoded, so decodeURIComponent() restores the original.
void append_header_value(std::string& out, std::string_view text);

// Lower-case hexadecimal SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// ASCII case-insensitive comparison.
bool iequals(std::string_view a, std::string_view b);

}  // namespace sluice::mock
