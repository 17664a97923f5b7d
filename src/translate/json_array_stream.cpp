#include "translate/json_array_stream.hpp"

namespace sluice::translate {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

bool JsonArrayStream::feed(std::string_view bytes, const std::function<void(std::string_view)>& element) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    switch (state_) {
      case State::Failed:
        return false;
      case State::Closed:
        if (!is_space(c)) state_ = State::Failed;
        break;
      case State::Before:
        if (c == '[') {
          state_ = State::Between;
        } else if (!is_space(c)) {
          state_ = State::Failed;
        }
        break;
      case State::Between:
        if (c == ']') {
          state_ = State::Closed;
        } else if (c == '{' || c == '[') {
          state_ = State::InElement;
          element_.assign(1, c);
          depth_ = 1;
          in_string_ = escaped_ = false;
        } else if (!is_space(c) && c != ',') {
          state_ = State::Failed;
        }
        break;
      case State::InElement: {
        // Copy the run up to the next character that matters in one append.
        std::size_t end = i;
        while (end < bytes.size()) {
          const char d = bytes[end];
          if (in_string_) {
            if (escaped_) {
              escaped_ = false;
            } else if (d == '\\') {
              escaped_ = true;
            } else if (d == '"') {
              in_string_ = false;
            }
          } else if (d == '"') {
            in_string_ = true;
          } else if (d == '{' || d == '[') {
            ++depth_;
          } else if (d == '}' || d == ']') {
            if (--depth_ == 0) break;
          }
          ++end;
        }
        const bool complete = end < bytes.size();
        element_.append(bytes.substr(i, (complete ? end + 1 : end) - i));
        if (element_.size() > max_element_bytes_) {
          state_ = State::Failed;
          element_.clear();
          return false;
        }
        if (complete) {
          state_ = State::Between;
          element(element_);
          element_.clear();
        }
        i = complete ? end : bytes.size() - 1;
        break;
      }
    }
  }
  return state_ != State::Failed;
}

}  // namespace sluice::translate
