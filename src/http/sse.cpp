#include "http/sse.hpp"

#include "http/api_error.hpp"

namespace sluice::http {

void SseBoundaryTracker::feed(std::string_view bytes) {
  // Only the last two characters other than CR matter (CRLF and LF framings are equivalent
  // for boundaries), so scan back from the end instead of touching every byte.
  std::size_t found = 0;
  char newest = 0;
  for (std::size_t i = bytes.size(); i > 0 && found < 2; --i) {
    const char c = bytes[i - 1];
    if (c == '\r') continue;
    if (found == 0) {
      newest = c;
    } else {
      before_last_ = c;
      last_ = newest;
    }
    ++found;
  }
  if (found == 1) {
    before_last_ = last_;
    last_ = newest;
  }
  if (found > 0) empty_ = false;
}

bool SseBoundaryTracker::at_event_boundary() const {
  return empty_ || (last_ == '\n' && before_last_ == '\n');
}

std::string_view SseBoundaryTracker::separator_needed() const {
  if (at_event_boundary()) return "";
  return last_ == '\n' ? "\n" : "\n\n";
}

}  // namespace sluice::http
