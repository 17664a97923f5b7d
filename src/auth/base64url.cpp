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
  out.resize(base64url_decoded_size(text.size()));
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto* dest = reinterpret_cast<unsigned char*>(out.data());
  // Whole groups of four characters: three bytes each; an invalid character sets the high bit
  // of `invalid`, checked once at the end.
  std::uint8_t invalid = 0;
  const std::size_t whole = text.size() / 4;
  for (std::size_t group = 0; group < whole; ++group, in += 4, dest += 3) {
    const std::uint8_t a = kDecodeTable[in[0]], b = kDecodeTable[in[1]], c = kDecodeTable[in[2]],
                       d = kDecodeTable[in[3]];
    invalid |= a | b | c | d;
    const std::uint32_t bits = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    dest[0] = static_cast<unsigned char>(bits >> 16);
    dest[1] = static_cast<unsigned char>(bits >> 8);
    dest[2] = static_cast<unsigned char>(bits);
  }
  // The last two or three characters: one or two bytes, the unused low bits must be zero.
  const std::size_t rest = text.size() % 4;
  if (rest != 0) {
    const std::uint8_t a = kDecodeTable[in[0]], b = kDecodeTable[in[1]], c = rest == 3 ? kDecodeTable[in[2]] : 0;
    invalid |= a | b | c;
    const std::uint32_t bits = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6);
    dest[0] = static_cast<unsigned char>(bits >> 16);
    if (rest == 3) dest[1] = static_cast<unsigned char>(bits >> 8);
    const std::uint32_t unused = rest == 2 ? bits & 0xffff : bits & 0xff;
    if (unused != 0) return false;
  }
  return (invalid & 0x80) == 0;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  if (!base64url_decode_into(text, out)) return std::nullopt;
  return out;
}

}  // namespace sluice::auth
