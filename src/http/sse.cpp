#include "http/sse.hpp"

#include "http/api_error.hpp"

namespace sluice::http {

void SseBoundaryTracker::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\r') continue;  // CRLF and LF framings are equivalent for boundaries
    before_last_ = last_;
    last_ = c;
    empty_ = false;
  }
}

bool SseBoundaryTracker::at_event_boundary() const { return empty_ || (last_ == '\n' && before_last_ == '\n'); }

std::string_view SseBoundaryTracker::separator_needed() const {
  if (at_event_boundary()) return "";
  return last_ == '\n' ? "\n" : "\n\n";
}

std::string sse_error_event(std::string_view message, std::string_view type, std::string_view code) {
  ApiError error;
  error.type = type;
  error.code = code;
  error.message = std::string(message);
  return "data: " + openai_error_body(error) + "\n\n";
}

}  // namespace sluice::http
