// Whether one event of a provider's stream, read as raw SSE bytes, carries content of the answer:
// a member holding text, reasoning or a tool call's arguments with a non-empty string value
// ("content", "text", "delta", "arguments", "partial_json", "thinking", "reasoning_content",
// "reasoning", "refusal"), or a tool call itself ("tool_calls": [...], "functionCall": {...}).
// That covers OpenAI chat chunks (the first one's empty "content" is not content), the Responses
// API's *.delta events, Anthropic's content_block_delta, Gemini's parts. The usage readings of
// native answers use it to time the first token without parsing every event: they ask until it
// says yes once. A scan of the bytes, no allocation; pure, thread-safe.
#pragma once

#include <string_view>

namespace sluice::translate {

bool sse_event_carries_content(std::string_view raw);

}  // namespace sluice::translate
