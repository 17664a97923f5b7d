// The text of each choice of a provider's reply, read whole (a complete body or a whole
// buffered stream) in the provider's wire format: what a guard that must see the full answer
// before any of it is sent (a response webhook) is given. Decoded with the format's own decoder
// into canonical events; text deltas of choice i are joined in order (reasoning and tool calls
// are not text). Pure function; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/api_error.hpp"
#include "provider/provider.hpp"

namespace sluice::translate {

struct ReplyTexts {
  std::vector<std::string> choices;     // choice i's text (at least one entry)
  std::optional<http::ApiError> error;  // the reply is not what its format promises
};

ReplyTexts reply_texts(provider::WireFormat format, bool stream, std::string_view body);

}  // namespace sluice::translate
