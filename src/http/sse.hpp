// Server-Sent Events framing helpers for relayed streams. SseBoundaryTracker watches the bytes
// relayed to a client, without buffering them, to know whether the stream currently sits
// between two events; sse_error_event() builds the event that ends a failed stream so a client
// never sees a silent truncation. Plain value types; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::http {

class SseBoundaryTracker {
 public:
  // Feed every byte relayed, in order, in any chunking.
  void feed(std::string_view bytes);
  // True when the bytes so far end with a blank line (or nothing was sent yet).
  bool at_event_boundary() const;
  // What to write before a new event so it starts on a boundary: "", "\n" or "\n\n".
  std::string_view separator_needed() const;

 private:
  char last_ = '\n';
  char before_last_ = '\n';
  bool empty_ = true;
};

// "data: {json}\n\n" with an OpenAI-shaped error object, as the OpenAI SDK recognises it.
std::string sse_error_event(std::string_view message, std::string_view type, std::string_view code);

}  // namespace sluice::http
