// Encoder for Google Gemini clients (@google/genai, google-genai, the REST API:
// POST .../models/{model}:generateContent and :streamGenerateContent): canonical events ->
// GenerateContentResponse chunks of a stream, or one complete GenerateContentResponse body.
// Used when a Gemini client is served by a backend that does not speak Gemini (OpenAI,
// Anthropic, Bedrock ...); Gemini backends serve Gemini clients natively.
//
// Stream (GeminiStreamEncoder): one chunk per content event, choice 0 only (events of other
// choices are ignored), each chunk
//   {"candidates":[{"content":{"parts":[...],"role":"model"},"index":0}],
//    "modelVersion":"<model>","responseId":"<id>"}
// The id is the provider's (MessageStart) or a minted one, the same on every chunk; the model is
// EncoderOptions::model_named(provider model). MessageStart writes nothing (Gemini has no start
// event). TextDelta -> part {"text"}; ReasoningDelta -> part {"text","thought":true} (only when
// include_thoughts, else dropped); empty texts write nothing. A tool call's signature -> the
// thoughtSignature of its functionCall part; reasoning signatures (Anthropic's) have no Gemini
// form and are dropped (a Gemini client cannot send them back to a thinking block). Tool calls: Gemini sends whole
// functionCall parts, so a call's fragments are accumulated and its part
// {"functionCall":{"name","args","id"}} is written when the call is complete: when the next
// call starts (another index, or the same index with another id), when text or reasoning
// arrives (own chunk), or on the final chunk. args is the parsed arguments object; arguments
// that are empty or not a JSON object become {}; id is the provider's call id, omitted when it
// gave none (Gemini clients then answer by name).
// Finish records finishReason; the final chunk (pending functionCall parts, finishReason,
// usageMetadata) is written at the first Usage after the Finish, or at End (a reply that ends
// without a Finish: STOP). Its content is {"role":"model"} when no part is pending (no empty
// text part: @google/genai treats a chunk with one as invalid history). Events after the
// final chunk write nothing. finishReason: the provider's raw value when it is already a
// Gemini FinishReason (all capitals, e.g. RECITATION), else Stop and ToolCalls -> STOP, Length
// -> MAX_TOKENS, ContentFilter -> SAFETY, Other -> OTHER.
// usageMetadata (only when the provider reported usage): promptTokenCount = prompt,
// candidatesTokenCount = completion - reasoning (Gemini counts thoughts apart),
// totalTokenCount = max(total, prompt + completion), cachedContentTokenCount and
// thoughtsTokenCount only when > 0.
// Error -> one Google error object {"error":{"code","message","status"}} (google_error_body)
// as the last element; nothing follows it.
// Framing: Sse writes each chunk as `data: <json>\n\n` (what @google/genai's reader accepts:
// "\n\n", "\r\r" or "\r\n\r\n" after one data line; the reference does not pin Google's own
// delimiter, so the SSE default is used). JsonArray (streamGenerateContent without alt=sse)
// writes one JSON array across the stream: `[` before the first element, `,\r\n` between
// elements, `]` after the final chunk or the error element.
//
// Complete reply (GeminiResponseEncoder): one candidate per choice index seen (at least one,
// index 0), in index order; content.parts = one thought text part (the reasoning, when any),
// one text part (the text, when not empty), one functionCall part per call (as above);
// content is {"role":"model"} without parts when there is none; finishReason as above (STOP
// when no Finish came); usageMetadata as above; modelVersion; responseId (the provider's id or
// a minted one).
//
// Errors: http::google_error_body (the form of every error rendered to a Gemini client).
//
// One encoder object per response; not thread-safe; never throws. The free functions are pure
// and thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/api_error.hpp"
#include "translate/codec.hpp"

namespace sluice::translate {

// How a Gemini stream is delivered to the client: `?alt=sse` (server-sent events) or the
// default JSON array written incrementally.
enum class GeminiStreamFraming { Sse, JsonArray };

// The response content type of a Gemini stream: text/event-stream (Sse) or application/json.
std::string_view gemini_stream_content_type(GeminiStreamFraming framing);

// Google's usageMetadata object for canonical usage (see the header comment).
boost::json::object gemini_usage_json(const llm::Usage& usage);

// Gemini's finishReason word for a canonical reason and the provider's raw value.
std::string_view gemini_finish_reason(llm::FinishReason reason, std::string_view raw);

class GeminiStreamEncoder final : public StreamEncoder {
 public:
  GeminiStreamEncoder(EncoderOptions options, GeminiStreamFraming framing, bool include_thoughts = true)
      : options_(std::move(options)), framing_(framing), include_thoughts_(include_thoughts) {}
  void encode(const llm::Event& event, std::string& out) override;
  bool closed() const override { return done_ || failed_; }
  // The stream ended with an error element.
  bool failed() const { return failed_; }

 private:
  struct Call {
    std::uint64_t index = 0;
    std::string id;
    std::string name;
    std::string arguments;
    std::string signature;  // thoughtSignature of the functionCall part
  };
  void ensure_id();
  void write_element(std::string_view json, std::string& out);
  void emit_text(std::string_view text, bool thought, std::string& out);
  void flush_call(std::string& out);
  void on_tool_call(const llm::ToolCallDelta& call, std::string& out);
  void finish(std::string& out);
  std::string chunk(boost::json::array parts, std::string_view finish_reason, bool with_usage) const;

  EncoderOptions options_;
  GeminiStreamFraming framing_;
  bool include_thoughts_;
  std::string id_;
  std::string model_;
  llm::Usage usage_;
  std::optional<Call> pending_;  // the call being accumulated
  std::uint64_t calls_started_ = 0;
  std::optional<std::string_view> finish_reason_;  // static literals (gemini_finish_reason)
  bool array_open_ = false;
  bool done_ = false;
  bool failed_ = false;
};

class GeminiResponseEncoder final : public ResponseEncoder {
 public:
  explicit GeminiResponseEncoder(EncoderOptions options) : options_(std::move(options)) {}
  void on_event(const llm::Event& event) override;
  std::string body() const override;
  // An Error event was received (the body is then not the reply; the caller renders the error).
  bool failed() const { return failed_; }

 private:
  struct Call {
    std::string id;
    std::string name;
    std::string arguments;
    std::string signature;  // thoughtSignature of the functionCall part
  };
  struct Candidate {
    std::string text;
    std::string reasoning;
    std::vector<Call> calls;
    llm::FinishReason reason = llm::FinishReason::Stop;
    std::string raw_reason;
  };

  EncoderOptions options_;
  std::string id_;
  std::string model_;
  std::map<std::uint64_t, Candidate> candidates_;
  llm::Usage usage_;
  bool failed_ = false;
};

}  // namespace sluice::translate
