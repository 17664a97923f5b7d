// Translator: converts one exchange between the client's API schema and the provider's wire
// format, request, response and stream. The request side goes through one pivot form, the
// OpenAI chat request (the form llm::RequestView reads): one conversion per provider format
// from it (openai_anthropic.cpp, openai_gemini.cpp, openai_bedrock.cpp) and one per other client
// schema into it (anthropic_client.cpp). The response side is the provider format's decoder and
// the client schema's encoder (codec.hpp), joined by canonical events (src/llm/events.hpp), the
// stream half of both glued by StreamConversion. A new client schema thus costs one request
// conversion into the pivot and one encoder; a new provider format one conversion out of it
// and one decoder.
// A translator object serves exactly one request: it is created when the request is routed,
// keeps the state of the conversion (tool-call ids, stream position, usage) and is destroyed
// with the exchange. Not thread-safe (it lives on one worker). Never throws: every problem is
// an http::ApiError the exchange renders in the client's schema.
//
// Streaming contract: stream_feed() is given the upstream body bytes in whatever chunking they
// arrive and appends the client bytes (complete SSE events) converted from them to `out` at once;
// nothing waits for more input than an incomplete event needs. After the upstream body ended,
// stream_end() appends the closing events (OpenAI: the usage chunk when asked for, then
// `data: [DONE]`; Anthropic: message_delta/message_stop). When the upstream fails mid-stream,
// stream_fail() appends one error event in the client's schema; no event follows it.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "llm/events.hpp"
#include "translate/codec.hpp"

namespace sluice::translate {

// Token counts in OpenAI's sense (prompt includes cached, completion includes reasoning): the
// canonical usage of src/llm/events.hpp.
using Usage = llm::Usage;

// What the exchange knows about the request when it creates the translator.
struct RequestContext {
  std::string model;  // the model the provider is asked for (Backend override, else the client's)
  // When set, replies name this model instead of the one the provider reports. The exchange
  // leaves it empty: clients see the model that actually answered.
  std::string client_model;
  bool stream = false;
  std::uint32_t default_max_tokens = 4096;  // Anthropic-style providers need max_tokens
  // Provider body conventions (Anthropic on Vertex / Bedrock: no "model" in the body and an
  // "anthropic_version" body field instead of the header).
  bool model_in_body = true;
  std::string anthropic_body_version;  // e.g. "vertex-2023-10-16"; empty: not sent in the body
  // A Gemini client's stream is one JSON array (streamGenerateContent without alt=sse), not SSE.
  bool json_array_stream = false;
  // A Gemini model-action client: the action in its path (embedContent, batchEmbedContents).
  std::string gemini_action;
  // A Responses client's request whose answer Sluice's response store keeps: the response says
  // store: true and names the previous_response_id (empty: none) the conversation continued.
  bool responses_stored = false;
  std::string responses_previous_id;
};

// The encoder options of a translator serving `context`.
inline EncoderOptions encoder_options_for(const RequestContext& context, bool include_usage = false) {
  EncoderOptions options;
  options.client_model = context.client_model;
  options.fallback_model = context.model;
  options.include_usage = include_usage;
  return options;
}

class Translator {
 public:
  virtual ~Translator() = default;

  // The client's request body (already parsed) becomes the upstream body. The body is read,
  // never changed: the same parsed document serves every attempt of a request, and translating
  // it again (a retry on another translator) gives the same upstream body. A request the
  // provider cannot express gets a 400 naming the field.
  virtual std::optional<http::ApiError> translate_request(const boost::json::object& client_body,
                                                          std::string& upstream_body) = 0;

  // A complete non-streaming 2xx upstream body becomes the client body. An upstream body that
  // does not parse gets a 502.
  virtual std::optional<http::ApiError> translate_response(std::string_view upstream_body,
                                                           std::string& client_body) = 0;

  // A request the provider takes only as several calls (Amazon Titan embeds one text per call):
  // after translate_request, the body of every call, in order (translate_request's upstream_body
  // is the first); empty when the request is one call. The exchange sends them as one attempt
  // (proxy/fan_out.hpp) and hands every reply to translate_responses.
  virtual std::span<const std::string> upstream_calls() const { return {}; }

  // The complete 2xx replies of upstream_calls(), in the same order, become the client body,
  // as translate_response does for one reply. A translator without upstream_calls() answers
  // exactly one reply.
  virtual std::optional<http::ApiError> translate_responses(std::span<const std::string> upstream_bodies,
                                                            std::string& client_body) {
    if (upstream_bodies.size() == 1) return translate_response(upstream_bodies.front(), client_body);
    return http::ApiError{502, "server_error", "upstream_bad_response",
                          "the translation expected one upstream reply, got " + std::to_string(upstream_bodies.size()),
                          std::nullopt};
  }

  // A non-2xx upstream response becomes the client's error: status mapped where the provider's
  // differs from what the client expects (Anthropic 529 -> 503 for OpenAI clients, Gemini
  // API_KEY_INVALID -> 401), the provider's message kept. `error_type_header` is the value of
  // a provider error-type header (Bedrock x-amzn-errortype), empty when absent.
  virtual http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                         std::string_view upstream_body) = 0;

  // Streaming 2xx response, see the contract above. Returns false when the upstream stream is
  // malformed or reported an error: an error event was appended and the stream is over.
  virtual bool stream_feed(std::string_view upstream_bytes, std::string& out) = 0;
  virtual void stream_end(std::string& out) = 0;
  virtual void stream_fail(const http::ApiError& error, std::string& out) = 0;

  // The client response's content type for a streaming response.
  virtual std::string_view stream_content_type() const { return "text/event-stream"; }

  // Usage seen so far (complete once the response or the stream ended).
  virtual Usage usage() const = 0;

  // The reply's text goes through `filter` (a response guard, owned by the caller, outliving
  // the translator's use): set before the response is read. Streams and complete replies pass
  // their canonical events through it (llm::TextFilteringEvents); a complete reply it rejects
  // becomes translate_response's error, a stream it rejects ends with the error event.
  void filter_text(llm::TextFilter* filter) { text_filter_ = filter; }

  // The answering model and choice 0's finish reason, as the provider said them (empty when it
  // did not, or the translator does not read them), once the response ended.
  const ReplyFacts& facts() const { return reply_facts_; }

 protected:
  llm::TextFilter* text_filter() const { return text_filter_; }
  ReplyFacts reply_facts_;

 private:
  llm::TextFilter* text_filter_ = nullptr;
};

}  // namespace sluice::translate
