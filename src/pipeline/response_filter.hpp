// ResponseFilter: what the relay runs a native response body through when the request's chain
// asked for response events (Phase::ResponseEvents). The relay stays a byte mover: it hands
// each upstream read to the filter and sends what the filter gives back; the filter decodes
// events as they complete (holding at most the one being completed), may drop or rewrite whole
// events, and reports what it read when the body ends. One filter per response, owned by the
// attempt; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::pipeline {

class ResponseFilter {
 public:
  virtual ~ResponseFilter() = default;
  // Appends to `out` the bytes to send for `in`.
  virtual void feed(std::string_view in, std::string& out) = 0;
  // The upstream body ended: appends whatever is still held.
  virtual void finish(std::string& out) = 0;
  // Whether the filter may change the body's length (the relay then frames it itself).
  virtual bool may_change_length() const = 0;
};

}  // namespace sluice::pipeline
