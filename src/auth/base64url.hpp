// Strict base64url decoding (RFC 4648 section 5) for JWS compact tokens and JWK members: the
// alphabet A-Z a-z 0-9 '-' '_' only, no padding, no whitespace, and the unused bits of the last
// character must be zero (so every byte string has exactly one accepted encoding). Pure
// functions, no state, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::auth {

// The bytes `text` encodes, or nullopt if `text` is not canonical unpadded base64url (any other
// character, '=' included, a length of 4n+1, or non-zero trailing bits).
std::optional<std::string> base64url_decode(std::string_view text);

// Decodes into `out` (cleared first), reusing its capacity; false on the same inputs as above.
bool base64url_decode_into(std::string_view text, std::string& out);

// The length of the decoded form of a well-formed `text` (its length alone decides it).
constexpr std::size_t base64url_decoded_size(std::size_t encoded_length) {
  return encoded_length / 4 * 3 + (encoded_length % 4 == 0 ? 0 : encoded_length % 4 - 1);
}

}  // namespace sluice::auth
