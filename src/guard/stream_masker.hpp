// StreamMasker: masks one channel of streamed text (one choice's content, one content block,
// one tool call's argument string) as it arrives in deltas; the caller keeps one per channel.
// feed() releases only text that no later delta can make part of a match, masked; the rest is
// held: at most max_match_length() + kLookahead - 1 bytes (the bytes a match starting there
// still needs to be decided), plus up to 3 bytes of a UTF-8 code point cut by that point, which
// is never split between released pieces. A match is released whole, as its placeholder.
// finish() releases what is held, masked.
//
// Invariant: for any split of a text into deltas, the concatenation of everything released
// equals Matcher::mask() of the whole text (see matcher.hpp: a match is decided on a bounded
// window, user patterns are cut at their max length).
//
// REJECT: first_match() names the rule of the first match as soon as that match is certain.
//
// Not thread-safe (one per channel, used by one request). Refers to the Matcher, which must
// outlive it. Allocates only when the held text outgrows its buffer.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "guard/matcher.hpp"

namespace sluice::guard {

class StreamMasker {
 public:
  explicit StreamMasker(const Matcher& matcher) : matcher_(&matcher) {}

  // Takes the next piece of the text; appends to `released` what can be released, masked.
  void feed(std::string_view delta, std::string& released);
  // The text ended: appends the rest, masked. Feeding after finish() starts a new text.
  void finish(std::string& released);

  // The rule name of the first certain match so far.
  std::optional<std::string_view> first_match() const;
  // Matches released so far.
  std::size_t match_count() const { return match_count_; }
  // The rules those matches were of, each once, in the order they first matched.
  const boost::container::small_vector<std::uint32_t, 4>& matched_rules() const { return matched_rules_; }
  // Bytes received and not yet released.
  std::size_t held_bytes() const { return buffer_.size() - scan_from_; }
  // The most held_bytes() can be after feed().
  std::size_t max_held_bytes() const { return matcher_->max_match_length() + kLookahead - 1 + 3; }

 private:
  void release(bool at_end, std::string& released);

  const Matcher* matcher_;
  // [0, scan_from_): released bytes kept as context (at most kLookbehind); [scan_from_, end):
  // held. The original text, never placeholders.
  std::string buffer_;
  std::size_t scan_from_ = 0;
  std::size_t match_count_ = 0;
  std::optional<std::uint32_t> first_rule_;
  boost::container::small_vector<std::uint32_t, 4> matched_rules_;
};

}  // namespace sluice::guard
