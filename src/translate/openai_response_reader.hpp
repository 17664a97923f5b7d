// OpenAiResponseReader: reads what a native (untranslated) OpenAI-format response says about
// itself — usage, finish reason, the model that answered — while the relay forwards it, for
// the per-request record. Streams are handled event by event: complete SSE events are passed
// on as they are, except the usage-only chunk Sluice asked for on the client's behalf
// (stream_options.include_usage added to the request), which is dropped, and the
// "usage":null member that request adds to every other chunk, which is removed, so the client
// sees exactly the stream it asked for. Only the event being completed is held (bounded; an event
// beyond the bound makes the reader step aside and pass bytes through untouched). A complete
// JSON body is copied up to a bound and read at its end (beyond the bound, nothing is read).
// Only a few events are parsed: the first (model), those carrying a finish reason or usage.
// One reader per response; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "translate/translator.hpp"

namespace sluice::translate {

class OpenAiResponseReader {
 public:
  // `stream`: an SSE body (else one JSON document). `drop_usage_chunk`: the client did not ask
  // for the usage chunk; it was asked for by Sluice and is removed from the stream.
  OpenAiResponseReader(bool stream, bool drop_usage_chunk, std::size_t max_bytes);

  // Streams: appends to `out` the bytes to forward for `in` (complete events; a partial one is
  // held until it completes). JSON bodies: `out` gets `in` unchanged.
  void feed(std::string_view in, std::string& out);
  // The body ended: whatever is held goes out, and a JSON body is read.
  void finish(std::string& out);

  const Usage& usage() const { return usage_; }
  const std::string& finish_reason() const { return finish_reason_; }
  const std::string& model() const { return model_; }
  // A stream's event carrying content (translate/content_event.hpp) was read: the first token.
  bool content_seen() const { return content_seen_; }

 private:
  void read_event(std::string_view raw, std::string& out);
  void read_document(std::string_view json, bool from_stream, bool& usage_only);

  bool stream_;
  bool drop_usage_chunk_;
  std::size_t max_bytes_;
  bool stepped_aside_ = false;  // an event or body beyond the bound: pass-through only
  bool first_event_ = true;
  bool content_seen_ = false;
  bool saw_cr_ = false;         // stream: a CR was seen, so lines may end in CR or CRLF
  std::string held_;            // stream: the incomplete event; JSON: the body so far
  std::size_t scanned_ = 0;     // stream: bytes of held_ already searched for an event end
  std::size_t line_start_ = 0;  // stream: where the line being read begins in held_
  Usage usage_;
  std::string finish_reason_;
  std::string model_;
};

}  // namespace sluice::translate
