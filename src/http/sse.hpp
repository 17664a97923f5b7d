// Server-Sent Events framing helpers for relayed streams. SseBoundaryTracker watches the bytes
// relayed to a client, without buffering them, to know whether the stream currently sits
// between two events, so the error event that ends a failed stream (translate/common.hpp) starts
// on a boundary and a client never sees a silent truncation. Plain value type; not thread-safe.
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

}  // namespace sluice::http
