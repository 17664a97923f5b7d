// Canonical response events: what any provider's reply says, independent of its wire format and
// of the client's schema. Decoders (src/translate/decode_*.hpp) turn a provider's stream chunks
// or complete reply into these events; encoders (src/translate/encode_*.hpp) turn them into the
// client's schema. A guard, a usage meter or a cache reads one event type instead of one format
// per provider.
//
// Ownership: events are views. Every string_view in an event points into the decoder's current
// input (or its own state) and is valid only during the EventSink::on_event call that receives
// it; a sink that keeps text copies it. Text is valid UTF-8 (decoders take it from parsed JSON;
// encoders copy it into JSON strings as is). Events are plain values, thread-compatible.
//
// Order a decoder promises for one reply: MessageStart first (at most once), then any number of
// TextDelta / ReasoningDelta / ReasoningSignature / ToolCallDelta, then Finish (at most once per choice), Usage
// whenever the provider reports counts (cumulative: each Usage replaces the previous one), and End when the provider
// said its stream is complete (OpenAI `data: [DONE]`, Anthropic message_stop, the end of a complete reply). Error ends
// the reply: no event follows it.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "http/api_error.hpp"

namespace sluice::llm {

// Token counts in OpenAI's sense (prompt includes cached, completion includes reasoning).
struct Usage {
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  std::uint64_t total_tokens = 0;
  std::uint64_t cached_tokens = 0;
  std::uint64_t cache_creation_tokens = 0;
  std::uint64_t reasoning_tokens = 0;
  bool known = false;  // the upstream reported usage
};

// Why generation stopped, in canonical terms; Finish::raw keeps the provider's own word.
enum class FinishReason {
  Stop,           // natural end or a stop sequence (OpenAI stop, Anthropic end_turn / stop_sequence)
  Length,         // the token limit (OpenAI length, Anthropic max_tokens, Gemini MAX_TOKENS)
  ToolCalls,      // the model asked for tool calls
  ContentFilter,  // refused or filtered (OpenAI content_filter, Anthropic refusal, Gemini SAFETY)
  Other,          // anything else the provider reported
};

struct MessageStart {
  std::string_view id;     // the provider's response id; empty when it gave none
  std::string_view model;  // the model the provider says answered; empty when it gave none
  // The provider opened the message with an event of its own, before any content (Anthropic
  // message_start, Bedrock messageStart). Encoders that announce a message (OpenAI's first
  // chunk, role and empty content) do it now; otherwise with the first content.
  bool opened = false;
};

// Text of choice `index` (single-choice replies and streams: 0).
struct TextDelta {
  std::uint64_t index = 0;
  std::string_view text;
};

// Reasoning ("thinking") text of choice `index`.
struct ReasoningDelta {
  std::uint64_t index = 0;
  std::string_view text;
};

// The provider's signature of choice `index`'s reasoning: it closes the reasoning block made of
// the ReasoningDeltas since the previous signature (possibly none) and signs it, so a client can
// send the block back and the provider can verify it (Anthropic thinking `signature`, Bedrock
// reasoningContent `signature`). `redacted`: instead, a whole block whose reasoning the provider
// encrypted (Anthropic redacted_thinking `data`, Bedrock `redactedContent`), carried in
// `signature`. Opaque bytes as the provider gave them (base64 text).
struct ReasoningSignature {
  std::uint64_t index = 0;
  std::string_view signature = {};
  bool redacted = false;
};

// A fragment of tool call `index` (0, 1, ... in the order the calls started). The first
// fragment of a call carries its id and name (either may be empty when the provider gave
// none); later fragments carry only argument text. Arguments are JSON text in pieces: the
// concatenation of a call's fragments is the arguments object.
struct ToolCallDelta {
  std::uint64_t index = 0;
  std::string_view id;
  std::string_view name;
  std::string_view arguments;
  std::uint64_t choice = 0;  // the choice the call belongs to (complete multi-choice replies)
  // The provider's opaque signature of the reasoning that led to this call, to be replayed with
  // the call (Gemini `thoughtSignature` on a functionCall part); first fragment only, else empty.
  std::string_view signature = {};
};

struct UsageEvent {
  Usage usage;
};

struct Finish {
  FinishReason reason = FinishReason::Stop;
  std::string_view raw;  // the provider's value, e.g. "end_turn", "MAX_TOKENS"
  std::uint64_t choice = 0;
};

// The provider said the reply is complete.
struct End {};

// The provider reported an error, or its bytes were not what its format promises.
struct Error {
  http::ApiError error;
};

using Event = std::variant<MessageStart, TextDelta, ReasoningDelta, ReasoningSignature, ToolCallDelta, UsageEvent,
                           Finish, End, Error>;

// Receives events from a decoder. Implementations: the client encoders, and anything that only
// observes (usage meters, tests).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& event) = 0;
};

// OpenAI's finish_reason word for a canonical reason ("stop", "length", "tool_calls",
// "content_filter"; Other -> "stop").
std::string_view openai_finish_reason(FinishReason reason);
// Anthropic's stop_reason word ("end_turn", "max_tokens", "tool_use", "refusal"; Other ->
// "end_turn").
std::string_view anthropic_stop_reason(FinishReason reason);

}  // namespace sluice::llm
