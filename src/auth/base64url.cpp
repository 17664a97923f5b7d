#include "auth/base64url.hpp"

#include <array>
#include <cstdint>

namespace sluice::auth {
namespace {

constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < alphabet.size(); ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
  return table;
}

constexpr auto kDecodeTable = make_decode_table();

}  // namespace

bool base64url_decode_into(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1) return false;
  out.reserve(base64url_decoded_size(text.size()));
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    const std::uint8_t sextet = kDecodeTable[static_cast<unsigned char>(c)];
    if (sextet == kInvalid) return false;
    accumulator = (accumulator << 6) | sextet;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
  }
  // Leftover bits (2 or 4) are padding of the last byte and must be zero.
  return (accumulator & ((1u << bits) - 1)) == 0;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  if (!base64url_decode_into(text, out)) return std::nullopt;
  return out;
}

}  // namespace sluice::auth
