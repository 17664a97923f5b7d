// libFuzzer target for the prompt guard's matching (src/guard). Input: [seed byte][text...]; the
// seed picks the matcher (every builtin and two user patterns, or one builtin alone, whose short
// max length puts the stream's decision point inside short texts), the chunking, and whether
// the text starts just before the end of the whole-text scan's 4 KiB window. Invariants
// checked, on arbitrary bytes: no crash or sanitizer report; find_all's matches are in order,
// non-overlapping, non-empty and at most max_match_length() long, as many as mask() reports;
// first_match() names the first of them; the text fed to a StreamMasker in pseudo-random deltas
// releases exactly mask() of the whole text, holds at most max_held_bytes() after each delta,
// names the same first match, and for valid UTF-8 never cuts a code point between pieces.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_chunks.hpp"
#include "guard/matcher.hpp"
#include "guard/stream_masker.hpp"

namespace {

using sluice::guard::GuardSpec;
using sluice::guard::Matcher;
using sluice::guard::StreamMasker;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "guard_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input as a crash artifact
}

Matcher compile(const GuardSpec& spec) {
  std::string error;
  auto matcher = Matcher::compile(spec, error);
  if (!matcher) broken(error.c_str());
  return std::move(*matcher);
}

const std::vector<Matcher>& matchers() {
  static const std::vector<Matcher> all = [] {
    std::vector<Matcher> out;
    out.push_back(compile({{"CREDIT_CARD", "SSN", "PHONE_NUMBER", "EMAIL"},
                           {{"ticket", "TCK-[0-9]{6}", 10}, {"key", "(?i)sk-[a-z0-9]{8,20}", 23}}}));
    for (const char* builtin : {"CREDIT_CARD", "SSN", "PHONE_NUMBER", "EMAIL"}) out.push_back(compile({{builtin}, {}}));
    return out;
  }();
  return all;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    const std::size_t length = byte < 0x80    ? 1
                               : byte >= 0xF5 ? 0
                               : byte >= 0xF0 ? 4
                               : byte >= 0xE0 ? 3
                               : byte >= 0xC2 ? 2
                                              : 0;
    if (length == 0 || i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t seed = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // Seeds with the high bit put the input after 3,900 spaces, across the end of the first 4 KiB
  // window in which mask() looks for candidates; the stream, which holds little, has no such
  // window, and both must agree.
  std::string padded;
  if ((seed & 0x80) != 0) padded = std::string(3900, ' ').append(input);
  const std::string_view text = padded.empty() ? input : std::string_view(padded);
  const Matcher& matcher = matchers()[seed % matchers().size()];

  std::string whole;
  const std::size_t count = matcher.mask(text, whole);
  const auto matches = matcher.find_all(text);
  if (matches.size() != count) broken("find_all and mask disagree on the number of matches");
  std::size_t previous_end = 0;
  for (const auto& match : matches) {
    if (match.begin < previous_end || match.end <= match.begin || match.end > text.size()) broken("bad match span");
    if (match.end - match.begin > matcher.max_match_length()) broken("match longer than max_match_length");
    if (match.rule >= matcher.rule_count()) broken("bad rule index");
    previous_end = match.end;
  }
  const auto first = matcher.first_match(text);
  if (first.has_value() != !matches.empty()) broken("first_match and find_all disagree");
  if (first && *first != matcher.rule_name(matches[0].rule)) broken("first_match names another rule");

  const bool check_code_points = valid_utf8(text);
  StreamMasker masker(matcher);
  sluice::fuzz::ChunkSplitter splitter(seed * 0x9E3779B97F4A7C15ull + size);
  std::string streamed;
  std::string released;
  std::string_view rest = text;
  while (!rest.empty()) {
    released.clear();
    masker.feed(splitter.next(rest), released);
    if (masker.held_bytes() > masker.max_held_bytes()) broken("held more than max_held_bytes");
    if (check_code_points && !valid_utf8(released)) broken("a released piece cuts a code point");
    streamed += released;
  }
  released.clear();
  masker.finish(released);
  if (check_code_points && !valid_utf8(released)) broken("the last piece cuts a code point");
  streamed += released;
  if (streamed != whole) broken("streamed output differs from mask() of the whole text");
  if (masker.match_count() != count) broken("stream and whole text count different matches");
  if (masker.first_match() != first) broken("stream names another first match");
  return 0;
}
