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

// What the body is written in: the provider's wire format (chat, Messages, generateContent,
// Converse), the Responses API (an OpenAI-format provider answering it natively: choice 0 is the
// text of its output messages), or a Gemini stream sent as one JSON array (no alt=sse).
enum class ReplyFormat { Provider, Responses, GeminiJsonArray };

ReplyTexts reply_texts(provider::WireFormat format, bool stream, std::string_view body,
                       ReplyFormat reply_format = ReplyFormat::Provider);

}  // namespace sluice::translate
