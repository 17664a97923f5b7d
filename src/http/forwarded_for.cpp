#include "http/forwarded_for.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdint>

namespace sluice::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// 1 to 5 digits, at most 65535.
bool valid_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (const char c : s) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

std::optional<std::string> ipv4(std::string_view s) {
  std::array<std::uint8_t, 4> octets{};
  std::size_t part = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return std::nullopt;
    if (digits > 1 && s[i - digits] == '0') return std::nullopt;  // no leading zeros (octal in some parsers)
    octets[part++] = static_cast<std::uint8_t>(value);
    if (part == 4) break;
    if (i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
  }
  if (i != s.size()) return std::nullopt;
  char text[INET_ADDRSTRLEN];
  if (::inet_ntop(AF_INET, octets.data(), text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return std::nullopt;
  for (const char c : s) {
    const bool ok = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return std::nullopt;
  }
  char input[46];
  s.copy(input, s.size());
  input[s.size()] = '\0';
  unsigned char bytes[16];
  if (::inet_pton(AF_INET6, input, bytes) != 1) return std::nullopt;
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(AF_INET6, bytes, text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text);
}

}  // namespace

std::optional<std::string> parse_forwarded_address(std::string_view entry) {
  entry = trim(entry);
  if (entry.empty() || entry.size() > 64) return std::nullopt;
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = entry.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return std::nullopt;
    return ipv6(entry.substr(1, close - 1));
  }
  const auto colon = entry.find(':');
  if (colon == std::string_view::npos) return ipv4(entry);
  if (entry.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port.
    if (!valid_port(entry.substr(colon + 1))) return std::nullopt;
    return ipv4(entry.substr(0, colon));
  }
  return ipv6(entry);
}

std::optional<std::string> forwarded_client(std::span<const std::string_view> values, unsigned hops) {
  if (hops == 0) return std::nullopt;
  unsigned seen = 0;
  for (auto value = values.rbegin(); value != values.rend(); ++value) {
    std::string_view rest = *value;
    while (true) {
      const auto comma = rest.rfind(',');
      const auto entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
      auto address = parse_forwarded_address(entry);
      if (!address) return std::nullopt;  // a trusted proxy wrote it: malformed means distrust
      if (++seen == hops) return address;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  return std::nullopt;
}

}  // namespace sluice::http
