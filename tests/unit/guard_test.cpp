#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "guard/builtins.hpp"
#include "guard/matcher.hpp"
#include "guard/stream_masker.hpp"

namespace sluice::guard {
namespace {

const GuardSpec kAllRules{{"CREDIT_CARD", "SSN", "PHONE_NUMBER", "EMAIL"}, {{"ticket", "TCK-[0-9]{6}", 10}}};

Matcher compile_or_die(const GuardSpec& spec) {
  std::string error;
  auto matcher = Matcher::compile(spec, error);
  if (!matcher) throw std::runtime_error(error);
  return std::move(*matcher);
}

const Matcher& all_rules() {
  static const Matcher matcher = compile_or_die(kAllRules);
  return matcher;
}

std::string masked(std::string_view text) {
  std::string out;
  all_rules().mask(text, out);
  return out;
}

std::string compile_error(const GuardSpec& spec) {
  std::string error;
  EXPECT_FALSE(Matcher::compile(spec, error).has_value());
  return error;
}

// `partial` followed by its Luhn check digit.
std::string with_check_digit(std::string partial) {
  for (char digit = '0'; digit <= '9'; ++digit)
    if (luhn_valid(partial + digit)) return partial + digit;
  return partial;
}

TEST(GuardBuiltins, LuhnCheck) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid(""));
  EXPECT_FALSE(luhn_valid("41111111111x1111"));
}

TEST(GuardBuiltins, CardPrefixPlausibility) {
  EXPECT_TRUE(plausible_card_prefix("4111"));
  EXPECT_TRUE(plausible_card_prefix("2221"));
  EXPECT_TRUE(plausible_card_prefix("2720"));
  EXPECT_FALSE(plausible_card_prefix("2220"));
  EXPECT_FALSE(plausible_card_prefix("2721"));
  EXPECT_FALSE(plausible_card_prefix("1111"));
  EXPECT_FALSE(plausible_card_prefix("9111"));
}

TEST(GuardCreditCard, ValidNumbersAreMasked) {
  for (const char* card : {"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
                           "4222222222222", "30569309025904", "3566002020360505"}) {
    EXPECT_EQ(masked(std::string("pay with ") + card + " now"), "pay with <CREDIT_CARD> now") << card;
  }
  const std::string mastercard_2_series = with_check_digit("222100000000000");
  EXPECT_EQ(masked(mastercard_2_series), "<CREDIT_CARD>");
}

TEST(GuardCreditCard, LuhnFailureIsNotMasked) {
  EXPECT_EQ(masked("card 4111111111111112 here"), "card 4111111111111112 here");
  EXPECT_EQ(masked("card 4111 1111 1111 1112 here"), "card 4111 1111 1111 1112 here");
}

TEST(GuardCreditCard, ImplausiblePrefixIsNotMasked) {
  const std::string starts_with_9 = with_check_digit("911111111111111");
  const std::string starts_with_1 = with_check_digit("111111111111111");
  ASSERT_TRUE(luhn_valid(starts_with_9));
  ASSERT_TRUE(luhn_valid(starts_with_1));
  EXPECT_EQ(masked(starts_with_9), starts_with_9);
  EXPECT_EQ(masked(starts_with_1), starts_with_1);
}

TEST(GuardCreditCard, SpacesAndDashesInUsualGroupings) {
  EXPECT_EQ(masked("4111 1111 1111 1111"), "<CREDIT_CARD>");
  EXPECT_EQ(masked("4111-1111-1111-1111"), "<CREDIT_CARD>");
  EXPECT_EQ(masked("Amex 3782 822463 10005."), "Amex <CREDIT_CARD>.");
  EXPECT_EQ(masked("Amex 3782-822463-10005"), "Amex <CREDIT_CARD>");
  EXPECT_EQ(masked("Visa 4222 2222 2222 2"), "Visa <CREDIT_CARD>");
}

TEST(GuardCreditCard, UnusualGroupingsAndMixedSeparatorsAreNotMasked) {
  EXPECT_EQ(masked("4111 1111-1111 1111"), "4111 1111-1111 1111");
  EXPECT_EQ(masked("41 11 11 11 11 11 11 11"), "41 11 11 11 11 11 11 11");
  EXPECT_EQ(masked("4111  1111  1111  1111"), "4111  1111  1111  1111");
  EXPECT_EQ(masked("411111 1111 111111"), "411111 1111 111111");
}

TEST(GuardCreditCard, TrailingGroupThatBreaksLuhnIsLeftOut) {
  EXPECT_EQ(masked("4111 1111 1111 1111 12 items"), "<CREDIT_CARD> 12 items");
}

TEST(GuardCreditCard, OrderNumbers) {
  ASSERT_FALSE(luhn_valid("1234567812345678"));
  EXPECT_EQ(masked("ORD-1234567812345678-X"), "ORD-1234567812345678-X");
  ASSERT_FALSE(luhn_valid("4234567812345678"));
  EXPECT_EQ(masked("order 4234567812345678 shipped"), "order 4234567812345678 shipped");
  // A Luhn-valid card number delimited by dashes and letters is still a card number.
  EXPECT_EQ(masked("ORD-4111111111111111-X"), "ORD-<CREDIT_CARD>-X");
}

TEST(GuardCreditCard, DigitsInsideALongerNumberAreNotMatched) {
  EXPECT_EQ(masked("94111111111111111"), "94111111111111111");
  EXPECT_EQ(masked("41111111111111110000"), "41111111111111110000");
  EXPECT_EQ(masked("x4111111111111111"), "x4111111111111111");
  EXPECT_EQ(masked("4111111111111111_1"), "4111111111111111_1");
  EXPECT_EQ(masked("3.4111111111111111"), "3.4111111111111111");
  EXPECT_EQ(masked("2024-4111111111111111"), "2024-4111111111111111");
  EXPECT_EQ(masked("4111111111111111.25"), "4111111111111111.25");
  EXPECT_EQ(masked("4111-1111-1111-1111-2222"), "4111-1111-1111-1111-2222");
}

TEST(GuardSsn, ValidNumbersAreMasked) {
  EXPECT_EQ(masked("SSN 123-45-6789."), "SSN <SSN>.");
  EXPECT_EQ(masked("SSN 123 45 6789"), "SSN <SSN>");
  EXPECT_EQ(masked("(899-99-9999)"), "(<SSN>)");
  EXPECT_EQ(masked("001-01-0001"), "<SSN>");
}

TEST(GuardSsn, InvalidRangesAreNotMasked) {
  for (const char* ssn : {"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000"}) {
    EXPECT_EQ(masked(ssn), ssn);
  }
  EXPECT_TRUE(ssn_valid("665", "01", "0001"));
  EXPECT_FALSE(ssn_valid("666", "01", "0001"));
}

TEST(GuardSsn, OtherShapesAreNotMasked) {
  for (const char* text : {"123456789", "123-45 6789", "1123-45-6789", "123-45-67890", "123-45-6789-0001",
                           "a123-45-6789", "123-456-789"}) {
    EXPECT_EQ(masked(text), text);
  }
}

TEST(GuardEmail, AddressesAreMasked) {
  EXPECT_EQ(masked("Mail jane@example.com."), "Mail <EMAIL>.");
  EXPECT_EQ(masked("<john.doe+tag@mail.example.co.uk>"), "<<EMAIL>>");
  EXPECT_EQ(masked("x_y%z-1@sub-domain.example.org, ok"), "<EMAIL>, ok");
  EXPECT_EQ(masked("mailto:ops@acme.io"), "mailto:<EMAIL>");
}

TEST(GuardEmail, NonAddressesAreNotMasked) {
  for (const char* text :
       {"user@localhost", "a@b.c", "@example.com", "jane@", "jane@-example.com", "jane@example.c0m", "foo.@", "x@y"}) {
    EXPECT_EQ(masked(text), text);
  }
  const std::string long_local_part = std::string(65, 'a') + "@example.com";
  EXPECT_EQ(masked(long_local_part), long_local_part);
  const std::string local_part_of_64 = std::string(64, 'a') + "@example.com";
  EXPECT_EQ(masked(local_part_of_64), "<EMAIL>");
}

TEST(GuardPhone, NanpAndE164AreMasked) {
  for (const char* phone :
       {"(415) 555-2671", "(415)555-2671", "415-555-2671", "415.555.2671", "415 555 2671", "+1 415 555 2671",
        "+1 (415) 555-2671", "1-800-555-0199", "+14155552671", "+442079460958", "+12345678"}) {
    EXPECT_EQ(masked(std::string("call ") + phone + " today"), "call <PHONE_NUMBER> today") << phone;
  }
}

TEST(GuardPhone, NonPhonesAreNotMasked) {
  for (const char* text : {"123-456-7890", "415-055-2671", "415-555.2671", "+1234567", "+1234567890123456",
                           "4155552671", "a+14155552671", "5(415) 555-2671", "415-555-26710"}) {
    EXPECT_EQ(masked(text), text);
  }
}

TEST(GuardUserPattern, NamedPlaceholder) {
  EXPECT_EQ(masked("see TCK-123456 and TCK-12345"), "see <ticket> and TCK-12345");
}

TEST(GuardUserPattern, MatchIsCutAtMaxLength) {
  const Matcher matcher = compile_or_die({{}, {{"ticket", "TCK-[0-9]+", 10}}});
  std::string out;
  EXPECT_EQ(matcher.mask("TCK-1234567", out), 1u);
  EXPECT_EQ(out, "<ticket>7");
}

TEST(GuardUserPattern, FlagsAndAlternativesKeepTheirMeaning) {
  const Matcher matcher =
      compile_or_die({{"SSN"}, {{"ticket", "(?i)tck-[0-9]{6}", 10}, {"word", "secret|classified", 16}}});
  std::string out;
  EXPECT_EQ(matcher.mask("tck-123456 TCK-654321 Tck-000000 classified secret 123-45-6789", out), 6u);
  EXPECT_EQ(out, "<ticket> <ticket> <ticket> <word> <word> <SSN>");
}

TEST(GuardUserPattern, PatternMatchingOnlyEmptyStringsMasksNothing) {
  const Matcher matcher = compile_or_die({{}, {{"boundary", "\\b", 8}}});
  std::string out;
  EXPECT_EQ(matcher.mask("ab cd", out), 0u);
  EXPECT_EQ(out, "ab cd");
}

TEST(GuardMatcher, FindAllReportsPositionsAndRules) {
  const std::string text = "4111111111111111 123-45-6789 jane@example.com (415) 555-2671 TCK-000001";
  const GuardMatches matches = all_rules().find_all(text);
  ASSERT_EQ(matches.size(), 5u);
  const std::vector<std::string_view> names{"CREDIT_CARD", "SSN", "EMAIL", "PHONE_NUMBER", "ticket"};
  const std::vector<std::string_view> spans{"4111111111111111", "123-45-6789", "jane@example.com", "(415) 555-2671",
                                            "TCK-000001"};
  for (std::size_t i = 0; i < matches.size(); ++i) {
    EXPECT_EQ(all_rules().rule_name(matches[i].rule), names[i]);
    EXPECT_EQ(std::string_view(text).substr(matches[i].begin, matches[i].end - matches[i].begin), spans[i]);
  }
}

// The scan looks for candidates a window (4 KiB here) at a time: a match across the window's
// end is found, and wins over a later candidate inside it (the card number in the address).
TEST(GuardMatcher, MatchesAcrossTheScanWindowAreFound) {
  const std::string address = "a.4111111111111111.b@example.com";
  for (std::size_t offset = 4096 - 160; offset <= 4096 + 8; ++offset) {
    std::string text(offset - 1, 'x');
    text += " " + address + " ";
    text.append(6000, 'y');
    const GuardMatches matches = all_rules().find_all(text);
    ASSERT_EQ(matches.size(), 1u) << offset;
    EXPECT_EQ(all_rules().rule_name(matches[0].rule), "EMAIL") << offset;
    EXPECT_EQ(matches[0].begin, offset) << offset;
    EXPECT_EQ(matches[0].end, offset + address.size()) << offset;
  }
}

TEST(GuardMatcher, FirstMatchNamesTheRule) {
  EXPECT_EQ(all_rules().first_match("nothing to see"), std::nullopt);
  EXPECT_EQ(all_rules().first_match("ref TCK-424242 then 123-45-6789"), "ticket");
}

TEST(GuardMatcher, MaxMatchLengthIsTheLongestRule) {
  EXPECT_EQ(all_rules().max_match_length(), 128u);
  EXPECT_EQ(compile_or_die({{"SSN"}, {{"t", "x+", 300}}}).max_match_length(), 300u);
  EXPECT_EQ(compile_or_die({{"SSN", "CREDIT_CARD"}, {}}).max_match_length(), 23u);
}

TEST(GuardMatcher, EmptySpecMatchesNothing) {
  const Matcher matcher = compile_or_die({});
  std::string out;
  EXPECT_EQ(matcher.mask("4111111111111111", out), 0u);
  EXPECT_EQ(out, "4111111111111111");
}

TEST(GuardMatcher, InvalidRegexIsReportedWithItsName) {
  const std::string error = compile_error({{}, {{"ticket", "TCK-[0-9", 64}}});
  EXPECT_NE(error.find("pattern \"ticket\""), std::string::npos) << error;
  EXPECT_NE(error.find("invalid regular expression \"TCK-[0-9\""), std::string::npos) << error;
  EXPECT_NE(error.find("missing ]"), std::string::npos) << error;
}

TEST(GuardMatcher, UnknownBuiltinIsReported) {
  const std::string error = compile_error({{"SSN", "PASSPORT"}, {}});
  EXPECT_NE(error.find("unknown builtin \"PASSPORT\""), std::string::npos) << error;
}

TEST(GuardMatcher, OtherSpecErrors) {
  EXPECT_NE(compile_error({{"SSN", "SSN"}, {}}).find("listed twice"), std::string::npos);
  EXPECT_NE(compile_error({{"SSN"}, {{"SSN", "x", 8}}}).find("already used"), std::string::npos);
  EXPECT_NE(compile_error({{}, {{"", "x", 8}}}).find("empty name"), std::string::npos);
  EXPECT_NE(compile_error({{}, {{"t", "x", 0}}}).find("maxLength 0 is out of range"), std::string::npos);
  EXPECT_NE(compile_error({{}, {{"t", "x", 4097}}}).find("out of range"), std::string::npos);
  EXPECT_NE(compile_error({{}, {{"t", "x*", 8}}}).find("matches the empty string"), std::string::npos);
}

// ---------------------------------------------------------------- streaming

struct Streamed {
  std::string output;
  std::vector<std::string> pieces;
  std::size_t most_held = 0;
};

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    const std::size_t length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC2 ? 2 : 0;
    if (length == 0 || i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

Streamed stream(const Matcher& matcher, const std::vector<std::string_view>& deltas) {
  StreamMasker masker(matcher);
  Streamed out;
  for (std::string_view delta : deltas) {
    std::string released;
    masker.feed(delta, released);
    out.most_held = std::max(out.most_held, masker.held_bytes());
    out.output += released;
    out.pieces.push_back(std::move(released));
  }
  std::string released;
  masker.finish(released);
  out.output += released;
  out.pieces.push_back(std::move(released));
  return out;
}

struct Case {
  std::string text;
  std::vector<std::string> secrets;  // raw values that must never be released
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all{
      {"My card is 4111 1111 1111 1111, exp 12/27.", {"4111 1111 1111 1111"}},
      {"4111111111111111", {"4111111111111111"}},
      {"123-45-6789 4111-1111-1111-1111", {"123-45-6789", "4111-1111-1111-1111"}},
      {"SSN: 123-45-6789 and phone (415) 555-2671; mail jane.doe@example.com",
       {"123-45-6789", "(415) 555-2671", "jane.doe@example.com"}},
      {"Café ☕ 電話 +14155552671 — naïve résumé jane@example.org 😀 TCK-123456 fin ✓",
       {"+14155552671", "jane@example.org", "TCK-123456"}},
      {"TCK-123456TCK-654321<x>", {"TCK-123456", "TCK-654321"}},
      {"ORD-1234567812345678-X, 3.14159265358979 and 123-45-67890 stay", {}},
      {"éé378282246310005éé", {"378282246310005"}},
      {"Reach me at +1 (415) 555-2671 or a.very.long.name+filter@mail.subdomain.example.com after 5pm; my SSN is "
       "123 45 6789 and the Visa 4012-8888-8888-1881 expires soon. Ticket TCK-777777 has the details. "
       "Ünïcödé ends here: 6011 1111 1111 1117",
       {"(415) 555-2671", "a.very.long.name+filter@mail.subdomain.example.com", "123 45 6789", "4012-8888-8888-1881",
        "TCK-777777", "6011 1111 1111 1117"}},
  };
  return all;
}

// Matchers whose longest match is short, so a secret's decision point is reached in the text:
// every builtin alone and the ticket pattern alone, besides all rules together.
const std::vector<const Matcher*>& stream_matchers() {
  static const std::vector<Matcher> owned = [] {
    std::vector<Matcher> matchers;
    for (const char* builtin : {"CREDIT_CARD", "SSN", "PHONE_NUMBER", "EMAIL"})
      matchers.push_back(compile_or_die({{builtin}, {}}));
    matchers.push_back(compile_or_die({{}, {{"ticket", "TCK-[0-9]{6}", 10}}}));
    return matchers;
  }();
  static const std::vector<const Matcher*> all = [] {
    std::vector<const Matcher*> matchers{&all_rules()};
    for (const Matcher& matcher : owned) matchers.push_back(&matcher);
    return matchers;
  }();
  return all;
}

std::string mask_whole(const Matcher& matcher, std::string_view text) {
  std::string out;
  matcher.mask(text, out);
  return out;
}

void check_stream(const Matcher& matcher, const Case& c, const std::vector<std::string_view>& deltas,
                  const std::string& expected, const std::string& where) {
  const Streamed result = stream(matcher, deltas);
  ASSERT_EQ(result.output, expected) << where;
  StreamMasker probe(matcher);
  ASSERT_LE(result.most_held, probe.max_held_bytes()) << where;
  for (const std::string& piece : result.pieces) {
    ASSERT_TRUE(valid_utf8(piece)) << where << ": piece \"" << piece << "\"";
    if (&matcher != &all_rules()) continue;
    for (const std::string& secret : c.secrets) ASSERT_EQ(piece.find(secret), std::string::npos) << where;
  }
}

TEST(GuardStream, CasesMaskEverySecretWhole) {
  for (const Case& c : cases()) {
    const std::string whole = masked(c.text);
    for (const std::string& secret : c.secrets) EXPECT_EQ(whole.find(secret), std::string::npos) << c.text;
    EXPECT_EQ(all_rules().find_all(c.text).size(), c.secrets.size()) << c.text;
  }
}

TEST(GuardStream, EveryTwoPieceSplitGivesTheWholeTextMask) {
  for (const Matcher* matcher : stream_matchers()) {
    for (const Case& c : cases()) {
      const std::string expected = mask_whole(*matcher, c.text);
      const std::string_view text = c.text;
      for (std::size_t cut = 0; cut <= text.size(); ++cut)
        check_stream(*matcher, c, {text.substr(0, cut), text.substr(cut)}, expected,
                     c.text + " cut " + std::to_string(cut));
    }
  }
}

TEST(GuardStream, EveryThreePieceSplitOfShortTextsGivesTheWholeTextMask) {
  for (const Matcher* matcher : stream_matchers()) {
    for (const Case& c : cases()) {
      if (c.text.size() > 80) continue;
      const std::string expected = mask_whole(*matcher, c.text);
      const std::string_view text = c.text;
      for (std::size_t first = 0; first <= text.size(); ++first)
        for (std::size_t second = first; second <= text.size(); ++second)
          check_stream(*matcher, c, {text.substr(0, first), text.substr(first, second - first), text.substr(second)},
                       expected, c.text + " cuts " + std::to_string(first) + "," + std::to_string(second));
    }
  }
}

TEST(GuardStream, RandomChunkingsGiveTheWholeTextMask) {
  std::mt19937 random(20240610);
  for (const Matcher* matcher : stream_matchers()) {
    for (const Case& c : cases()) {
      const std::string expected = mask_whole(*matcher, c.text);
      for (int round = 0; round < 200; ++round) {
        std::uniform_int_distribution<std::size_t> size(0, 1 + static_cast<std::size_t>(round % 40));
        std::vector<std::string_view> deltas;
        std::string_view rest = c.text;
        while (!rest.empty()) {
          const std::string_view delta = rest.substr(0, size(random));
          deltas.push_back(delta);
          rest.remove_prefix(delta.size());
        }
        check_stream(*matcher, c, deltas, expected, c.text + " round " + std::to_string(round));
      }
    }
  }
}

TEST(GuardStream, HeldTailIsBoundedAndTheRestReleased) {
  const Matcher& matcher = all_rules();
  StreamMasker masker(matcher);
  std::string released;
  std::size_t fed = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string_view word = "lorem ipsum ";
    masker.feed(word, released);
    fed += word.size();
    EXPECT_LE(masker.held_bytes(), masker.max_held_bytes());
    EXPECT_EQ(released.size() + masker.held_bytes(), fed);
  }
  // Plain ASCII: exactly what a match starting there would still need is held.
  EXPECT_EQ(masker.held_bytes(), matcher.max_match_length() + kLookahead - 1);
  EXPECT_EQ(masker.max_held_bytes(), 128 + kLookahead - 1 + 3);
}

TEST(GuardStream, PartialCodePointIsHeld) {
  const Matcher matcher = compile_or_die({{"SSN"}, {}});  // a match is decided 11 + 2 bytes on
  StreamMasker masker(matcher);
  std::string released;
  // Releasing all but the last 12 bytes would cut the euro sign (3 bytes, at offsets 40-42).
  masker.feed(std::string(40, 'a') + "\u20ac" + std::string(10, 'b'), released);
  EXPECT_EQ(released, std::string(40, 'a'));
  EXPECT_EQ(masker.held_bytes(), 13u);
  masker.feed("cd", released);
  EXPECT_EQ(released, std::string(40, 'a') + "\u20ac");
}

TEST(GuardStream, FirstMatchIsKnownOnceCertain) {
  const Matcher matcher = compile_or_die({{"SSN"}, {}});
  StreamMasker masker(matcher);
  std::string released;
  masker.feed("id 123-45-6789", released);
  EXPECT_EQ(masker.first_match(), std::nullopt);  // "123-45-67890" would not be one
  masker.feed(" and", released);
  EXPECT_EQ(masker.first_match(), "SSN");
  EXPECT_EQ(masker.match_count(), 1u);
  EXPECT_EQ(released, "id <SSN>");
  masker.finish(released);
  EXPECT_EQ(released, "id <SSN> and");
}

TEST(GuardStream, AMatchIsNotReleasedBeforeItIsDecided) {
  const Matcher matcher = compile_or_die({{"SSN"}, {}});
  StreamMasker masker(matcher);
  std::string released;
  masker.feed("id 123-45-6789", released);
  masker.feed("0 more text to push the window along", released);
  masker.finish(released);
  EXPECT_EQ(released, "id 123-45-67890 more text to push the window along");
  EXPECT_EQ(masker.first_match(), std::nullopt);
}

}  // namespace
}  // namespace sluice::guard
