#include "guard/stream_masker.hpp"

#include <algorithm>

namespace sluice::guard {
namespace {

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Bytes of the UTF-8 sequence a lead byte starts; 1 for ASCII and for bytes that start none.
std::size_t sequence_length(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0xF0 && byte <= 0xF4) return 4;
  if (byte >= 0xE0 && byte <= 0xEF) return 3;
  if (byte >= 0xC2 && byte <= 0xDF) return 2;
  return 1;
}

// `end`, or the start of the code point that `end` would cut (not before `floor`).
std::size_t code_point_boundary(std::string_view text, std::size_t floor, std::size_t end) {
  std::size_t lead = end;
  while (lead > floor && end - lead < 3 && is_continuation(text[lead - 1])) --lead;
  if (lead == floor) return end;
  --lead;  // text[lead] is not a continuation byte
  return lead + sequence_length(text[lead]) > end ? lead : end;
}

}  // namespace

void StreamMasker::feed(std::string_view delta, std::string& released) {
  buffer_.append(delta);
  release(false, released);
}

void StreamMasker::finish(std::string& released) {
  release(true, released);
  buffer_.clear();
  scan_from_ = 0;
}

std::optional<std::string_view> StreamMasker::first_match() const {
  if (first_rule_) return matcher_->rule_name(*first_rule_);
  return std::nullopt;
}

void StreamMasker::release(bool at_end, std::string& released) {
  const std::string_view text = buffer_;
  // A match starting at or before last_start is decided on what is here.
  const std::size_t decided = matcher_->max_match_length() + kLookahead;
  if (!at_end && text.size() < scan_from_ + decided) return;
  const std::size_t last_start = at_end ? text.size() : text.size() - decided;

  std::size_t pos = scan_from_;
  while (auto match = matcher_->next_match(text, pos, last_start)) {
    released.append(text.substr(pos, match->begin - pos));
    released.append(matcher_->placeholder(match->rule));
    if (!first_rule_) first_rule_ = match->rule;
    if (std::find(matched_rules_.begin(), matched_rules_.end(), match->rule) == matched_rules_.end())
      matched_rules_.push_back(match->rule);
    ++match_count_;
    pos = match->end;
  }
  std::size_t end = text.size();
  if (!at_end) end = code_point_boundary(text, pos, std::max(pos, last_start + 1));
  released.append(text.substr(pos, end - pos));

  const std::size_t context = std::min(end, kLookbehind);
  buffer_.erase(0, end - context);
  scan_from_ = context;
}

}  // namespace sluice::guard
