// PassthroughUsageReader: what an answer to a request Sluice passes through unread (an API it
// does not translate, such as the Responses API today) says it used, for the per-request record
// (cost, budgets, token limits, the access log). It observes the bytes and changes nothing. It
// reads the last object named "usage" that carries token counts — at the top of a JSON body or
// of an SSE event's data, or inside its "response" member (the Responses API's
// response.completed event) — in any of the providers' namings: prompt_tokens / input_tokens,
// completion_tokens / output_tokens, *_tokens_details.cached_tokens and reasoning_tokens, and
// Anthropic's cache_read_input_tokens / cache_creation_input_tokens (its input_tokens exclude
// them, so they are added), and the "model" beside it; or Gemini's "usageMetadata"
// (promptTokenCount, candidatesTokenCount + thoughtsTokenCount, cachedContentTokenCount) and
// "modelVersion", also in the last element of a JSON-array stream read whole. Only events mentioning "usage" are
// parsed. Bounded: a JSON body or one event past `max_bytes` is not read.
// One reader per response; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "llm/events.hpp"

namespace sluice::translate {

class PassthroughUsageReader {
 public:
  // `stream`: an SSE body (else one JSON document).
  PassthroughUsageReader(bool stream, std::size_t max_bytes) : stream_(stream), max_bytes_(max_bytes) {}

  void feed(std::string_view in);
  // The body ended: a JSON body is read, an unfinished last event too.
  void finish();

  // Reads one document or event already parsed (a reader of the stream's events that parses
  // them anyway shares its parse instead of feeding bytes).
  void observe(const boost::json::object& object) { read_object(object); }

  const llm::Usage& usage() const { return usage_; }
  const std::string& model() const { return model_; }
  // A stream's event carrying content (translate/content_event.hpp) was read: the first token.
  bool content_seen() const { return content_seen_; }

 private:
  void read_event(std::string_view raw);
  void read_document(std::string_view json);
  void read_object(const boost::json::object& object);
  void read_gemini(const boost::json::object& metadata, const boost::json::object& holder);

  bool stream_;
  std::size_t max_bytes_;
  bool content_seen_ = false;
  bool too_large_ = false;  // the JSON body, or the event being held, passed the bound
  std::string held_;        // the JSON body so far, or the incomplete event
  llm::Usage usage_;
  std::string model_;
};

}  // namespace sluice::translate
