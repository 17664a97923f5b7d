// Server-Sent Events framing helpers for relayed streams. sse_event_end and sse_event_data frame
// and read one event of bytes a reader holds (header-only: the translation libraries use them
// too). SseBoundaryTracker watches the bytes
// relayed to a client, without buffering them, to know whether the stream currently sits
// between two events, so the error event that ends a failed stream (translate/common.hpp) starts
// on a boundary and a client never sees a silent truncation. Plain value type; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::http {

// The end of the first complete event in `bytes` (just past its blank line: LF LF, CRLF CRLF or
// CR CR) searched from `from`, or npos.
inline std::size_t sse_event_end(std::string_view bytes, std::size_t from = 0) {
  std::size_t best = std::string_view::npos;
  for (const std::string_view blank :
       {std::string_view("\n\n"), std::string_view("\r\n\r\n"), std::string_view("\r\r")}) {
    const auto at = bytes.find(blank, from);
    if (at != std::string_view::npos && (best == std::string_view::npos || at + blank.size() < best))
      best = at + blank.size();
  }
  return best;
}

// The data of an event: its "data:" lines (one optional space after the colon removed) joined
// with LF.
inline std::string sse_event_data(std::string_view raw) {
  std::string data;
  bool first = true;
  while (!raw.empty()) {
    auto end = raw.find_first_of("\r\n");
    const auto line = raw.substr(0, end);
    if (line.starts_with("data:")) {
      auto value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (!first) data.push_back('\n');
      data.append(value);
      first = false;
    }
    if (end == std::string_view::npos) break;
    if (raw[end] == '\r' && end + 1 < raw.size() && raw[end + 1] == '\n') ++end;
    raw.remove_prefix(end + 1);
  }
  return data;
}

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
