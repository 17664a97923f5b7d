#include "translate/content_event.hpp"

#include <array>
#include <cstring>

namespace sluice::translate {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t';
}

// Whether some member `quoted` in `raw` has a value whose first character is `first` and, when
// `nonempty`, a second one that does not close it (a non-empty string).
bool member_value(std::string_view raw, std::string_view quoted, char first, bool nonempty) {
  for (std::size_t from = 0; from < raw.size();) {
    const void* found = ::memmem(raw.data() + from, raw.size() - from, quoted.data(), quoted.size());
    if (found == nullptr) return false;
    auto i = static_cast<std::size_t>(static_cast<const char*>(found) - raw.data()) + quoted.size();
    from = i;
    while (i < raw.size() && blank(raw[i])) ++i;
    if (i >= raw.size() || raw[i] != ':') continue;
    ++i;
    while (i < raw.size() && blank(raw[i])) ++i;
    if (i >= raw.size() || raw[i] != first) continue;
    if (!nonempty) return true;
    if (i + 1 < raw.size() && raw[i + 1] != '"') return true;
  }
  return false;
}

}  // namespace

bool sse_event_carries_content(std::string_view raw) {
  static constexpr std::array<std::string_view, 9> kTextMembers = {
      "\"content\"",      "\"text\"",     "\"delta\"",   "\"arguments\"",
      "\"partial_json\"", "\"thinking\"", "\"refusal\"", "\"reasoning_content\"",
      "\"reasoning\""};
  for (const auto member : kTextMembers)
    if (member_value(raw, member, '"', true)) return true;
  return member_value(raw, "\"tool_calls\"", '[', false) || member_value(raw, "\"functionCall\"", '{', false);
}

}  // namespace sluice::translate
