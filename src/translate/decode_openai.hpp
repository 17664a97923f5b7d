// Decoder for OpenAI Chat Completions replies: what OpenAI-compatible providers (OpenAI, Azure,
// Ollama, vLLM ...) send, and what the OpenAI-form translators produce. Used by the Anthropic
// client translator, and usable on native (untranslated) OpenAI responses to read model, usage
// and finish reason.
//
// Stream: `data: {chat.completion.chunk}` events. The first chunk gives MessageStart (its id
// and model); choice 0's delta gives TextDelta (content), ReasoningDelta (reasoning_content) and
// ToolCallDelta (tool_calls[], index from the fragment, else its position; Google's
// extra_content.google.thought_signature -> ToolCallDelta::signature), thinking_blocks
// (LiteLLM's form: signed blocks -> ReasoningSignature, redacted ones -> redacted
// ReasoningSignature; complete replies: each signed block's text and signature, then the rest
// of reasoning_content); finish_reason gives
// Finish; a usage object gives UsageEvent (after the chunk's choice events); `data: [DONE]`
// gives End, and nothing is decoded after it. An `error` member (or an `event: error`) gives
// Error with a status guessed from the error type and code. The stream ending without [DONE]
// gives End when a finish_reason was seen, else Error "stream ended early".
// Complete reply: MessageStart, one TextDelta (content, or refusal when content is empty), one
// ToolCallDelta per call, Finish, UsageEvent, End.
// Per-stream state; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "translate/codec.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

class OpenAiStreamDecoder final : public StreamDecoder {
 public:
  bool feed(std::string_view bytes, llm::EventSink& sink) override;
  void end(llm::EventSink& sink) override;

 private:
  void on_event(const SseEvent& event, llm::EventSink& sink);
  void fail(http::ApiError error, llm::EventSink& sink);

  SseParser parser_;
  bool started_ = false;
  bool finished_ = false;  // a finish_reason was seen
  bool closed_ = false;    // End or Error emitted
  bool failed_ = false;
};

// Decodes a complete chat.completion body into events; a body that is not one gives a 502
// ApiError and no event.
std::optional<http::ApiError> decode_openai_response(std::string_view body, llm::EventSink& sink);

// OpenAI's usage object as canonical usage (total at least prompt + completion).
llm::Usage openai_usage_from(const boost::json::object& usage);

// An OpenAI error object from a stream ({"message","type","code"}, or a string) as an ApiError;
// the status comes from the type, and from provider error kinds kept in `code` by the
// OpenAI-form translators (overloaded_error, RESOURCE_EXHAUSTED, ThrottlingException ...).
http::ApiError openai_stream_error(const boost::json::value& error);

// OpenAI finish_reason -> canonical reason ("function_call" counts as tool calls).
llm::FinishReason openai_finish_from(std::string_view reason);

}  // namespace sluice::translate
