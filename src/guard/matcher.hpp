// Matcher: the prompt guard's text matching, compiled once from a GuardSpec (builtin detectors
// by name, user RE2 patterns), then immutable and safe to share between threads (RE2's own
// lazily built DFA cache is internally synchronised).
//
// What a match is. A rule matches at position b when its regex matches starting at b within its
// max length (RE2 leftmost-longest for builtins, then their validator; leftmost-first for user
// patterns, which get no implicit boundaries; an empty match is never one). find_all scans left
// to right: the leftmost position where some rule matches, there the longest match (ties: the
// earlier rule), then on from its end; so matches never overlap. Whether a rule matches at b
// depends only on the bytes [b - kLookbehind, b + max_length + kLookahead) of the text, which is
// what lets StreamMasker give the same answer on a text that arrives in pieces. A user pattern
// that could match more than its max length is cut at it: "TCK-[0-9]+" with max length 10 takes
// "TCK-123456" of "TCK-1234567".
//
// Cost: one RE2 DFA pass over the text to find where a match could start (all rules in one
// alternation), then each rule's anchored regex only at those places. Linear in the text.
#pragma once

#include <re2/re2.h>

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/builtins.hpp"

namespace sluice::guard {

struct UserPattern {
  std::string name;             // the rule's name; MASK writes <name>
  std::string pattern;          // RE2 syntax
  std::size_t max_length = 64;  // the longest match a stream must be able to catch (1..4096)
};

struct GuardSpec {
  std::vector<std::string> builtins;  // SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL
  std::vector<UserPattern> patterns;
};

struct GuardMatch {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::uint32_t rule = 0;  // index into the rules: the spec's builtins, then its patterns
};

using GuardMatches = boost::container::small_vector<GuardMatch, 4>;

class Matcher {
 public:
  static constexpr std::size_t kMaxPatternLength = 4096;

  // The compiled spec, or nullopt with `error` naming the offending builtin or pattern (unknown
  // builtin, invalid regex, empty or duplicate name, max length out of range, pattern matching
  // the empty string).
  static std::optional<Matcher> compile(const GuardSpec& spec, std::string& error);

  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  ~Matcher();

  GuardMatches find_all(std::string_view text) const;
  // Appends `text` to `out` with every match replaced by its rule's placeholder; the number of
  // matches.
  std::size_t mask(std::string_view text, std::string& out) const;
  // The name of the rule of the first match, or nullopt (REJECT).
  std::optional<std::string_view> first_match(std::string_view text) const;

  // The first match of `text` starting in [from, last_start] (offsets into `text`), found and
  // decided on `text` alone. Exact for a prefix of a longer text when last_start +
  // max_match_length() + kLookahead <= text.size(); `text` must include the kLookbehind bytes
  // before `from` unless it starts where the whole text does. StreamMasker's primitive.
  std::optional<GuardMatch> next_match(std::string_view text, std::size_t from, std::size_t last_start) const;

  // The longest match of any rule.
  std::size_t max_match_length() const { return max_match_length_; }
  std::size_t rule_count() const { return rules_.size(); }
  std::string_view rule_name(std::size_t rule) const { return rules_[rule].name; }
  std::string_view placeholder(std::size_t rule) const { return rules_[rule].placeholder; }

 private:
  struct Rule {
    std::string name;
    std::string placeholder;  // <name>
    std::unique_ptr<const RE2> regex;
    std::size_t max_length = 0;
    const Builtin* builtin = nullptr;  // null for a user pattern
    // Every match's first byte is in [first_min, first_max] (RE2::PossibleMatchRange): rules that
    // cannot start at a candidate are not run there.
    unsigned char first_min = 0x00;
    unsigned char first_max = 0xFF;
  };

  Matcher() = default;
  // The match taken at `begin`, if any rule matches there.
  std::optional<GuardMatch> match_at(std::string_view text, std::size_t begin) const;

  std::vector<Rule> rules_;
  std::unique_ptr<const RE2> any_rule_;  // every rule's regex in one alternation
  std::size_t max_match_length_ = 0;
  std::size_t search_window_ = 0;
};

}  // namespace sluice::guard
