// Native text filtering: when the provider speaks the client's schema (no translation) and a
// response guard applies, the reply is not re-encoded from canonical events (that would drop
// what the canonical events do not carry: logprobs, system_fingerprint, signed thinking
// blocks, citations). Instead each upstream event — or the complete body — is parsed, only its
// text fields go through the llm::TextFilter, and the event is written back with every other
// member as the provider sent it: the same event types, indexes and order, with text that a
// filter holds back moved to a later event of the same channel.
//
//   OpenAI chat: choices[].delta.content / reasoning_content / tool_calls[].function.arguments
//     (complete: choices[].message...). Channels: per choice its text, reasoning and each tool
//     call; a choice's held text goes out in the chunk that carries its finish_reason (or in a
//     chunk written before `data: [DONE]` when none did). The usage chunk Sluice asked for on
//     the client's behalf is dropped, as OpenAiResponseReader does on the unfiltered path.
//   Anthropic Messages: content_block_delta text_delta.text and input_json_delta.partial_json,
//     one channel per content block; a block's held text goes out as one more delta of the
//     block just before its content_block_stop (complete: content[].text, every string of a
//     tool_use input). Thinking blocks are signed by the provider and left as they are.
//   Gemini generateContent (SSE or the JSON-array stream): candidates[].content.parts[].text, one
//     channel per candidate, and every string of a functionCall's args (a call comes whole: its
//     strings are filtered whole). A candidate's held text goes out as one more text part before
//     a functionCall part and in the chunk with its finishReason (or in one more chunk at the
//     end). Thought parts are left as they are (their thoughtSignature covers them).
//   OpenAI Responses API: response.output_text.delta, response.function_call_arguments.delta
//     and response.reasoning_summary_text.delta, one channel per output item and content part
//     (or summary part); held text goes out as one more delta just before the matching .done
//     event. The events that repeat the text (….done, content_part.done, output_item.done, and
//     the response in response.completed / .incomplete) are given the filtered text, and every
//     event is renumbered (sequence_number) to count the deltas added. Complete replies: each
//     output message's text, function_call arguments and reasoning summary, filtered whole. The
//     response objects also say what the response store asks (StoreEcho), as
//     responses_store_echo does when no guard applies.
//
// A rejection ends a stream with the choice finished as content_filter (OpenAI finish_reason;
// Anthropic stop_reason "refusal"; Gemini finishReason SAFETY) and an error event in the
// client's schema (Responses: response.failed carrying the error); a complete reply
// becomes translate_response's error. The objects implement Translator (the request direction
// is the identity) so the exchange runs them as it runs a translation. One per response; not
// thread-safe; never throws.
#pragma once

#include <cstddef>
#include <memory>

#include "llm/text_filter.hpp"
#include "translate/responses_store_echo.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// `drop_usage_chunk`: Sluice asked for the stream's usage chunk; it is removed (with the
// `"usage":null` members that request adds). `max_event_bytes` bounds one held stream event.
std::unique_ptr<Translator> make_openai_native_filter(llm::TextFilter& filter, bool drop_usage_chunk,
                                                      std::size_t max_event_bytes);
std::unique_ptr<Translator> make_anthropic_native_filter(llm::TextFilter& filter, std::size_t max_event_bytes);
// `json_array`: the stream is streamGenerateContent without alt=sse (one JSON array).
std::unique_ptr<Translator> make_gemini_native_filter(llm::TextFilter& filter, bool json_array,
                                                      std::size_t max_event_bytes);
// `echo`: what the response store asks the response objects to say (responses_store_echo.hpp).
std::unique_ptr<Translator> make_responses_native_filter(llm::TextFilter& filter, StoreEcho echo,
                                                         std::size_t max_event_bytes);

}  // namespace sluice::translate
