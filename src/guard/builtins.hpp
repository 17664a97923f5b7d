// The prompt guard's builtin detectors: SSN, CREDIT_CARD, PHONE_NUMBER and EMAIL. Each is an RE2
// pattern (matched leftmost-longest, within max_length bytes of its start) followed by a
// validator that accepts the regex match, a shorter prefix of it, or nothing. What they accept:
//   CREDIT_CARD   13-19 digits, contiguous or in the usual groupings separated by single spaces
//                 or single dashes (4-4-4-1..4, 4-4-4-4-1..3, Amex 4-6-5, Diners 4-6-4), first
//                 digits 3, 4, 5, 6 or 2221-2720 (Mastercard 2-series), passing the Luhn check.
//                 When the longest grouping fails, the same number without its last group is
//                 tried ("4111 1111 1111 1111 12" masks the card, leaves " 12").
//   SSN           AAA-GG-SSSS or AAA GG SSSS (one separator throughout; nine bare digits are
//                 not taken, too many other numbers look like them): area not 000, 666 or
//                 900-999, group not 00, serial not 0000.
//   PHONE_NUMBER  NANP with area code and exchange starting 2-9: (AAA) EEE-SSSS, AAA-EEE-SSSS,
//                 AAA.EEE.SSSS, AAA EEE SSSS, optionally led by "1" or "+1" and a separator;
//                 E.164: "+" then 8-15 digits, no separators.
//   EMAIL         a practical RFC 5322 subset: dot-atom local part of [A-Za-z0-9_%+-] (first
//                 character alphanumeric or "_", at most 64 bytes), "@", dot-separated labels
//                 of letters, digits and inner hyphens (at most 63 bytes each) ending in an
//                 alphabetic top-level label of two or more; at most 128 bytes in all (longer
//                 addresses are not masked whole).
// Surroundings: every detector is bounded by RE2 word boundaries (no letter, digit or "_"
// directly before or after), and a number (card, SSN, phone) is not taken out of a longer
// number: not directly after a digit followed by "-" or ".", nor directly before "-" or "."
// followed by a digit ("3.14159...", "2024-4111...", "123-45-6789-0001" are not matches).
// Deciding a match therefore needs at most kLookbehind bytes before it and kLookahead bytes
// after its longest possible end.
// Stateless functions and constant tables; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace sluice::guard {

// Bytes of context a builtin reads around a match: before its start, after its longest end.
inline constexpr std::size_t kLookbehind = 2;
inline constexpr std::size_t kLookahead = 2;

struct Builtin {
  std::string_view name;     // SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL: also its placeholder <name>
  std::string_view pattern;  // RE2 syntax, compiled with longest_match
  std::size_t max_length;    // no match is longer (the regex is matched within this many bytes)
  // Given the regex's longest match [begin, end) of `text` (the whole text, for context), the
  // length of the match to take from `begin` (at most end - begin), 0 to reject it.
  std::size_t (*accept)(std::string_view text, std::size_t begin, std::size_t end);
};

std::span<const Builtin> builtins();
const Builtin* find_builtin(std::string_view name);

// Luhn (mod 10) check of a string of ASCII digits.
bool luhn_valid(std::string_view digits);
// First digits of a plausible payment card number: 3, 4, 5, 6, or 2221-2720.
bool plausible_card_prefix(std::string_view digits);
// US Social Security number ranges (each part as digits: 3, 2 and 4 of them).
bool ssn_valid(std::string_view area, std::string_view group, std::string_view serial);

}  // namespace sluice::guard
