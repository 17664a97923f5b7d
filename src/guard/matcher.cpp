#include "guard/matcher.hpp"

#include <algorithm>

namespace sluice::guard {
namespace {

re2::StringPiece piece(std::string_view text) {
  return {text.data(), text.size()};
}

// The range of a match's first byte.
void first_byte_range(const RE2& regex, unsigned char& first_min, unsigned char& first_max) {
  std::string min, max;
  if (!regex.PossibleMatchRange(&min, &max, 2)) return;
  if (!min.empty()) first_min = static_cast<unsigned char>(min[0]);
  if (!max.empty()) first_max = static_cast<unsigned char>(max[0]);
}

RE2::Options regex_options(bool longest_match) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_longest_match(longest_match);
  return options;
}

}  // namespace

Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

std::optional<Matcher> Matcher::compile(const GuardSpec& spec, std::string& error) {
  Matcher matcher;
  const auto name_taken = [&](std::string_view name) {
    return std::any_of(matcher.rules_.begin(), matcher.rules_.end(),
                       [&](const Rule& rule) { return rule.name == name; });
  };
  for (const std::string& name : spec.builtins) {
    const Builtin* builtin = find_builtin(name);
    if (builtin == nullptr) {
      error = "unknown builtin \"" + name + "\" (known: SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL)";
      return std::nullopt;
    }
    if (name_taken(name)) {
      error = "builtin \"" + name + "\" is listed twice";
      return std::nullopt;
    }
    auto regex = std::make_unique<const RE2>(piece(builtin->pattern), regex_options(true));
    if (!regex->ok()) {
      error = "builtin \"" + name + "\": " + regex->error();
      return std::nullopt;
    }
    matcher.rules_.push_back({name, "<" + name + ">", std::move(regex), builtin->max_length, builtin});
  }
  for (const UserPattern& pattern : spec.patterns) {
    const std::string label = "pattern \"" + pattern.name + "\"";
    if (pattern.name.empty()) {
      error = "pattern \"" + pattern.pattern + "\" has an empty name";
      return std::nullopt;
    }
    if (name_taken(pattern.name)) {
      error = label + ": the name is already used by another rule";
      return std::nullopt;
    }
    if (pattern.max_length == 0 || pattern.max_length > kMaxPatternLength) {
      error = label + ": maxLength " + std::to_string(pattern.max_length) + " is out of range (1 to " +
              std::to_string(kMaxPatternLength) + ")";
      return std::nullopt;
    }
    auto regex = std::make_unique<const RE2>(pattern.pattern, regex_options(false));
    if (!regex->ok()) {
      error = label + ": invalid regular expression \"" + pattern.pattern + "\": " + regex->error();
      return std::nullopt;
    }
    if (RE2::FullMatch("", *regex)) {
      error = label + ": \"" + pattern.pattern + "\" matches the empty string";
      return std::nullopt;
    }
    matcher.rules_.push_back({pattern.name, "<" + pattern.name + ">", std::move(regex), pattern.max_length, nullptr});
  }
  if (matcher.rules_.empty()) return matcher;
  for (Rule& rule : matcher.rules_) first_byte_range(*rule.regex, rule.first_min, rule.first_max);

  std::string alternation;
  for (const Rule& rule : matcher.rules_) {
    if (!alternation.empty()) alternation += '|';
    alternation += "(?:" + rule.regex->pattern() + ")";
    matcher.max_match_length_ = std::max(matcher.max_match_length_, rule.max_length);
  }
  matcher.any_rule_ = std::make_unique<const RE2>(alternation, regex_options(false));
  if (!matcher.any_rule_->ok()) {
    error = "the guard's patterns together do not compile: " + matcher.any_rule_->error();
    return std::nullopt;
  }
  matcher.search_window_ = std::max<std::size_t>(4096, 4 * matcher.max_match_length_);
  return matcher;
}

std::optional<GuardMatch> Matcher::match_at(std::string_view text, std::size_t begin) const {
  std::optional<GuardMatch> best;
  const auto first = static_cast<unsigned char>(text[begin]);
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (first < rule.first_min || first > rule.first_max) continue;
    const std::size_t window_end = std::min(text.size(), begin + rule.max_length);
    re2::StringPiece found;
    if (!rule.regex->Match(piece(text), begin, window_end, RE2::ANCHOR_START, &found, 1)) continue;
    std::size_t length = found.size();
    if (rule.builtin != nullptr && length > 0) length = rule.builtin->accept(text, begin, begin + length);
    if (length == 0 || (best && best->end - begin >= length)) continue;
    best = GuardMatch{begin, begin + length, static_cast<std::uint32_t>(i)};
  }
  return best;
}

std::optional<GuardMatch> Matcher::next_match(std::string_view text, std::size_t from, std::size_t last_start) const {
  if (!any_rule_) return std::nullopt;
  last_start = std::min(last_start, text.size());
  std::size_t pos = from;
  while (pos <= last_start && pos < text.size()) {
    // Searching a window keeps a pattern that matches long runs from rescanning the rest of
    // the text at every candidate.
    const std::size_t window_end = std::min(text.size(), pos + search_window_);
    // Every match starting up to window_end - max_match_length_ lies inside the window, so the
    // leftmost one found there is the leftmost of the text; past that point a match running
    // over the window's end could start before the one found.
    const std::size_t certain_end = window_end == text.size() ? text.size() : window_end - max_match_length_ + 1;
    re2::StringPiece found;
    const bool any = any_rule_->Match(piece(text), pos, window_end, RE2::UNANCHORED, &found, 1);
    const auto begin = any ? static_cast<std::size_t>(found.data() - text.data()) : window_end;
    if (begin >= certain_end && window_end < text.size()) {
      pos = certain_end;
      continue;
    }
    if (!any) return std::nullopt;
    if (begin > last_start || begin == text.size()) return std::nullopt;  // (an empty match at the end)
    if (auto match = match_at(text, begin)) return match;
    pos = begin + 1;
  }
  return std::nullopt;
}

GuardMatches Matcher::find_all(std::string_view text) const {
  GuardMatches matches;
  std::size_t pos = 0;
  while (auto match = next_match(text, pos, text.size())) {
    matches.push_back(*match);
    pos = match->end;
  }
  return matches;
}

std::size_t Matcher::mask(std::string_view text, std::string& out) const {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (auto match = next_match(text, pos, text.size())) {
    out.append(text.substr(pos, match->begin - pos));
    out.append(rules_[match->rule].placeholder);
    pos = match->end;
    ++count;
  }
  out.append(text.substr(pos));
  return count;
}

std::optional<std::string_view> Matcher::first_match(std::string_view text) const {
  if (auto match = next_match(text, 0, text.size())) return rules_[match->rule].name;
  return std::nullopt;
}

}  // namespace sluice::guard
