// Decoder for Google Gemini replies (AI Studio generativelanguage API and Vertex AI publisher
// google: the same generateContent response and streamGenerateContent?alt=sse events).
//
// Stream: each `data:` event is a GenerateContentResponse. The first gives MessageStart
// (responseId, modelVersion; not opened: Gemini has no start event of its own); usageMetadata
// gives UsageEvent (each one replaces the last); candidate 0's parts give TextDelta (text),
// ReasoningDelta (text with thought: true) and one whole ToolCallDelta per functionCall (calls
// numbered from 0; a call without an id gets a call_ id; args serialized, absent -> {}; the
// part's thoughtSignature -> ToolCallDelta::signature; signatures on other parts are not kept);
// its
// finishReason gives Finish (STOP after a function call -> ToolCalls; MAX_TOKENS -> Length;
// SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE, IMAGE_* -> ContentFilter);
// a response with no candidates and a promptFeedback.blockReason gives Finish ContentFilter;
// an `error` object gives Error. The stream ending after a finish gives End; before one, Error
// (502 upstream_stream_truncated). Empty text parts are dropped.
// Complete reply: MessageStart, usage, then per candidate c (choice c): TextDelta per text part
// (empty ones kept: they make content a string), ReasoningDelta, ToolCallDelta per call, Finish
// (absent finishReason counts as STOP). No candidates: Finish ContentFilter when the prompt was
// blocked, else a 502.
// Per-stream state; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "translate/codec.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

class GeminiStreamDecoder final : public StreamDecoder {
 public:
  bool feed(std::string_view bytes, llm::EventSink& sink) override;
  void end(llm::EventSink& sink) override;

 private:
  void on_response(const boost::json::object& response, llm::EventSink& sink);
  void fail(http::ApiError error, llm::EventSink& sink);

  SseParser parser_;
  bool started_ = false;
  bool saw_function_call_ = false;
  bool finished_ = false;
  bool closed_ = false;
  bool failed_ = false;
  std::uint64_t tool_index_ = 0;
};

std::optional<http::ApiError> decode_gemini_response(std::string_view body, llm::EventSink& sink);

// The Gemini / Vertex error body ({"error":{"code","message","status","details"}}) of a non-2xx
// response as the OpenAI client's error (shared by the chat and embeddings translators).
http::ApiError gemini_error_to_api_error(unsigned status, std::string_view upstream_body);

}  // namespace sluice::translate
