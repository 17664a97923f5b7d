#include "guard/builtins.hpp"

#include <array>

namespace sluice::guard {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A number continued by a separator and more digits: "7-" or "7." just before `begin`.
bool continues_number_before(std::string_view text, std::size_t begin) {
  return begin >= 2 && (text[begin - 1] == '-' || text[begin - 1] == '.') && is_digit(text[begin - 2]);
}

// "-7" or ".7" just after `end`.
bool continues_number_after(std::string_view text, std::size_t end) {
  return end + 1 < text.size() && (text[end] == '-' || text[end] == '.') && is_digit(text[end + 1]);
}

// The grouping of a separated card number, its first `count` groups: 4-4-4-1..4, 4-4-4-4-1..3
// or 4-6-4..5.
bool usual_card_grouping(const std::array<std::size_t, 5>& groups, std::size_t count) {
  if (count == 3) return groups[0] == 4 && groups[1] == 6 && (groups[2] == 4 || groups[2] == 5);
  if (count < 4 || groups[0] != 4 || groups[1] != 4 || groups[2] != 4) return false;
  if (count == 4) return groups[3] >= 1 && groups[3] <= 4;
  return groups[3] == 4 && groups[4] >= 1 && groups[4] <= 3;
}

std::size_t accept_card(std::string_view text, std::size_t begin, std::size_t end) {
  if (continues_number_before(text, begin)) return 0;
  std::array<char, 19> digits{};
  std::size_t digit_count = 0;
  std::array<std::size_t, 5> groups{};      // digits per group
  std::array<std::size_t, 5> group_ends{};  // end of each group in text
  std::size_t group_count = 0;
  bool separated = false;
  for (std::size_t i = begin; i < end; ++i) {
    if (is_digit(text[i])) {
      if (digit_count == digits.size()) return 0;
      digits[digit_count++] = text[i];
      ++groups[group_count];
      group_ends[group_count] = i + 1;
    } else {
      separated = true;
      if (++group_count == groups.size()) return 0;
    }
  }
  ++group_count;
  // The longest grouping first, then without its last group.
  for (std::size_t count = group_count; count >= (separated ? 3 : 1); --count) {
    if (separated && !usual_card_grouping(groups, count)) continue;
    std::size_t length = 0;
    for (std::size_t g = 0; g < count; ++g) length += groups[g];
    const std::string_view number(digits.data(), length);
    if (length < 13 || length > 19) continue;
    if (continues_number_after(text, group_ends[count - 1])) continue;
    if (plausible_card_prefix(number) && luhn_valid(number)) return group_ends[count - 1] - begin;
  }
  return 0;
}

// AAA-GG-SSSS or AAA GG SSSS (the regex checked the shape).
std::size_t accept_ssn(std::string_view text, std::size_t begin, std::size_t end) {
  if (end - begin != 11 || continues_number_before(text, begin) || continues_number_after(text, end)) return 0;
  const std::string_view ssn = text.substr(begin, 11);
  return ssn_valid(ssn.substr(0, 3), ssn.substr(4, 2), ssn.substr(7, 4)) ? 11 : 0;
}

std::size_t accept_phone(std::string_view text, std::size_t begin, std::size_t end) {
  if (continues_number_before(text, begin) || continues_number_after(text, end)) return 0;
  return end - begin;
}

std::size_t accept_email(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string_view address = text.substr(begin, end - begin);
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at > 64) return 0;
  std::size_t label = 0;
  for (std::size_t i = at + 1; i < address.size(); ++i) {
    label = address[i] == '.' ? 0 : label + 1;
    if (label > 63) return 0;
  }
  return address.size();
}

constexpr std::array<Builtin, 4> kBuiltins{{
    {"CREDIT_CARD",
     R"(\b(?:[0-9]{13,19})"
     R"(|[0-9]{4}(?: [0-9]{4} [0-9]{4} (?:[0-9]{4} [0-9]{1,3}|[0-9]{1,4})| [0-9]{6} [0-9]{4,5}))"
     R"(|[0-9]{4}(?:-[0-9]{4}-[0-9]{4}-(?:[0-9]{4}-[0-9]{1,3}|[0-9]{1,4})|-[0-9]{6}-[0-9]{4,5}))\b)",
     23, accept_card},
    {"SSN", R"(\b(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})\b)", 11, accept_ssn},
    {"PHONE_NUMBER",
     R"((?:(?:\B\+1|\b1)[ .-])?\b[2-9][0-9]{2}(?:-[2-9][0-9]{2}-|\.[2-9][0-9]{2}\.| [2-9][0-9]{2} )[0-9]{4}\b)"
     R"(|(?:\B\+1 ?|\b1 ?|\B)\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[-. ][0-9]{4}\b)"
     R"(|\B\+[1-9][0-9]{7,14}\b)",
     17, accept_phone},
    {"EMAIL",
     R"(\b[A-Za-z0-9_][A-Za-z0-9_%+-]*(?:\.[A-Za-z0-9_%+-]+)*)"
     R"(@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}\b)",
     128, accept_email},
}};

}  // namespace

std::span<const Builtin> builtins() {
  return kBuiltins;
}

const Builtin* find_builtin(std::string_view name) {
  for (const Builtin& builtin : kBuiltins)
    if (builtin.name == name) return &builtin;
  return nullptr;
}

bool luhn_valid(std::string_view digits) {
  unsigned sum = 0;
  bool doubled = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    if (!is_digit(digits[i])) return false;
    unsigned d = static_cast<unsigned>(digits[i] - '0');
    if (doubled) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    doubled = !doubled;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool plausible_card_prefix(std::string_view digits) {
  if (digits.size() < 4) return false;
  const char first = digits[0];
  if (first >= '3' && first <= '6') return true;
  if (first != '2') return false;
  const int prefix = (digits[0] - '0') * 1000 + (digits[1] - '0') * 100 + (digits[2] - '0') * 10 + (digits[3] - '0');
  return prefix >= 2221 && prefix <= 2720;
}

bool ssn_valid(std::string_view area, std::string_view group, std::string_view serial) {
  if (area.size() != 3 || group.size() != 2 || serial.size() != 4) return false;
  return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000";
}

}  // namespace sluice::guard
