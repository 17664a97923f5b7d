// JsonArrayStream: splits a JSON array that arrives in pieces (Gemini's streamGenerateContent
// without alt=sse: `[{...},\r\n{...}]`) into its elements, each handed over as soon as its
// closing bracket arrives, whatever the chunking. Elements must be objects or arrays (Gemini
// sends objects); whitespace and commas between them are skipped. It holds at most one element
// (bounded by `max_element_bytes`; past it the reader fails). It does not validate an element's
// JSON beyond its brackets and strings: the caller parses it.
// A plain value type: one per stream, not thread-safe, never throws.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sluice::translate {

class JsonArrayStream {
 public:
  explicit JsonArrayStream(std::size_t max_element_bytes) : max_element_bytes_(max_element_bytes) {}

  // Reads `bytes`, calling `element` for each element they complete. Returns false once the
  // input is not a JSON array of objects (or an element passed the bound); sticky.
  bool feed(std::string_view bytes, const std::function<void(std::string_view)>& element);

  // Whether the array's closing bracket was read.
  bool closed() const { return state_ == State::Closed; }
  bool failed() const { return state_ == State::Failed; }

 private:
  enum class State { Before, Between, InElement, Closed, Failed };
  State state_ = State::Before;
  std::size_t max_element_bytes_;
  std::string element_;
  std::size_t depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace sluice::translate
