#include "config/yaml_reader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "scoped_env.hpp"

namespace sluice::config {
namespace {

using namespace std::chrono_literals;

using sluice::testing::ScopedEnv;

// ------------------------------------------------------------------ expand_env

TEST(ExpandEnvTest, TextWithoutPlaceholderIsUnchanged) {
  std::string missing = "untouched";
  EXPECT_EQ(expand_env("plain $HOME text {x}", &missing), "plain $HOME text {x}");
  EXPECT_EQ(missing, "untouched");
  EXPECT_EQ(expand_env("", &missing), "");
}

TEST(ExpandEnvTest, ReplacesASetVariable) {
  ScopedEnv env("SLUICE_TEST_KEY", "sk-123");
  std::string missing;
  EXPECT_EQ(expand_env("Bearer ${SLUICE_TEST_KEY}", &missing), "Bearer sk-123");
  EXPECT_EQ(expand_env("${SLUICE_TEST_KEY}", &missing), "sk-123");
  EXPECT_TRUE(missing.empty());
}

TEST(ExpandEnvTest, ReplacesSeveralVariables) {
  ScopedEnv a("SLUICE_TEST_A", "alpha");
  ScopedEnv b("SLUICE_TEST_B", "beta");
  EXPECT_EQ(expand_env("${SLUICE_TEST_A}-${SLUICE_TEST_B}/${SLUICE_TEST_A}", nullptr), "alpha-beta/alpha");
}

TEST(ExpandEnvTest, VariableSetToEmptyExpandsToEmpty) {
  ScopedEnv env("SLUICE_TEST_EMPTY", "");
  std::string missing;
  EXPECT_EQ(expand_env("x${SLUICE_TEST_EMPTY}y", &missing), "xy");
  EXPECT_TRUE(missing.empty());
}

TEST(ExpandEnvTest, UnsetVariableReturnsNulloptAndNamesIt) {
  ::unsetenv("SLUICE_TEST_UNSET");
  std::string missing;
  EXPECT_EQ(expand_env("key=${SLUICE_TEST_UNSET}", &missing), std::nullopt);
  EXPECT_EQ(missing, "SLUICE_TEST_UNSET");
}

TEST(ExpandEnvTest, NamesTheFirstUnsetVariable) {
  ScopedEnv set("SLUICE_TEST_SET", "v");
  ::unsetenv("SLUICE_TEST_UNSET_1");
  ::unsetenv("SLUICE_TEST_UNSET_2");
  std::string missing;
  EXPECT_EQ(expand_env("${SLUICE_TEST_SET}${SLUICE_TEST_UNSET_1}${SLUICE_TEST_UNSET_2}", &missing), std::nullopt);
  EXPECT_EQ(missing, "SLUICE_TEST_UNSET_1");
}

TEST(ExpandEnvTest, UnsetVariableWithNullMissingPointerDoesNotCrash) {
  ::unsetenv("SLUICE_TEST_UNSET");
  EXPECT_EQ(expand_env("${SLUICE_TEST_UNSET}", nullptr), std::nullopt);
}

TEST(ExpandEnvTest, UnterminatedPlaceholderIsKeptLiterally) {
  ScopedEnv env("SLUICE_TEST_KEY", "sk");
  std::string missing;
  EXPECT_EQ(expand_env("a ${SLUICE_TEST_KEY} b ${NOT_CLOSED", &missing), "a sk b ${NOT_CLOSED");
  EXPECT_TRUE(missing.empty());
}

// ------------------------------------------------------------------ parse_duration

TEST(ParseDurationTest, AcceptsGatewayApiDurations) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(ParseDurationTest, RejectsMalformedDurations) {
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("10"), std::nullopt) << "a unit is required";
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("5x"), std::nullopt);
  EXPECT_EQ(parse_duration("s"), std::nullopt);
  EXPECT_EQ(parse_duration("1.5s"), std::nullopt);
  EXPECT_EQ(parse_duration("10s "), std::nullopt);
}

TEST(ParseDurationTest, RejectsNumbersTooLargeToParse) {
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);
}

// A duration that does not fit in int64 milliseconds is rejected, never wrapped.
TEST(ParseDurationTest, RejectsDurationsThatOverflow) {
  EXPECT_EQ(parse_duration("9223372036854775807h"), std::nullopt);
  EXPECT_EQ(parse_duration("2562047788016h"), std::nullopt);            // just above INT64_MAX ms
  EXPECT_EQ(parse_duration("9223372036854775807ms1ms"), std::nullopt);  // overflow in the sum
}

// ------------------------------------------------------------------ parse_bytes

TEST(ParseBytesTest, AcceptsPlainAndSuffixedSizes) {
  EXPECT_EQ(parse_bytes("65536"), 65536u);
  EXPECT_EQ(parse_bytes("64Ki"), 64u * 1024);
  EXPECT_EQ(parse_bytes("32Mi"), 32u * 1024 * 1024);
  EXPECT_EQ(parse_bytes("1Gi"), 1024ull * 1024 * 1024);
  EXPECT_EQ(parse_bytes("2K"), 2048u);
  EXPECT_EQ(parse_bytes("3M"), 3u * 1024 * 1024);
  EXPECT_EQ(parse_bytes("4G"), 4ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_bytes("0"), 0u);
}

TEST(ParseBytesTest, RejectsMalformedSizes) {
  EXPECT_EQ(parse_bytes("12Q"), std::nullopt);
  EXPECT_EQ(parse_bytes("abc"), std::nullopt);
  EXPECT_EQ(parse_bytes(""), std::nullopt);
  EXPECT_EQ(parse_bytes("-1"), std::nullopt);
  EXPECT_EQ(parse_bytes("Ki"), std::nullopt);
}

TEST(ParseBytesTest, RejectsOverflow) {
  EXPECT_EQ(parse_bytes("18446744073709551615Gi"), std::nullopt);
  EXPECT_EQ(parse_bytes("99999999999999999999999"), std::nullopt);
}

// ------------------------------------------------------------------ YamlMap

class YamlMapTest : public ::testing::Test {
 protected:
  Diagnostics diags;
  DecodeContext ctx{diags, "reader.yaml", "Backend/b"};

  const Diagnostic& only() {
    EXPECT_EQ(diags.items().size(), 1u) << diags.format_all();
    static const Diagnostic kNone{};
    return diags.items().empty() ? kNone : diags.items().front();
  }
};

TEST_F(YamlMapTest, ReadsTypedFieldsWithoutDiagnostics) {
  auto node = YAML::Load("name: gpt\nport: 443\nenabled: true\ntimeout: 1m30s\nsize: 64Ki\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_TRUE(m.present());
    EXPECT_EQ(m.str("name"), "gpt");
    EXPECT_EQ(m.integer("port", 1, 65535), 443);
    EXPECT_EQ(m.boolean("enabled"), true);
    EXPECT_EQ(m.duration("timeout"), 90s);
    EXPECT_EQ(m.bytes("size"), 65536u);
    EXPECT_EQ(m.str("absent"), std::nullopt);
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, FieldJoinsPath) {
  auto node = YAML::Load("a: 1");
  YamlMap nested(node, "spec.ai.llm", ctx);
  EXPECT_EQ(nested.field("host"), "spec.ai.llm.host");
  YamlMap top(node, "", ctx);
  EXPECT_EQ(top.field("kind"), "kind");
  nested.ignore("a");
  top.ignore("a");
}

TEST_F(YamlMapTest, ReportsUnknownFieldWithPathLineAndResource) {
  auto node = YAML::Load("host: example.com\nhots: typo\n");
  {
    YamlMap m(node, "spec.ai.llm", ctx);
    EXPECT_EQ(m.str("host"), "example.com");
  }
  const auto& d = only();
  EXPECT_EQ(d.severity, Severity::Error);
  EXPECT_EQ(d.file, "reader.yaml");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.resource, "Backend/b");
  EXPECT_EQ(d.field, "spec.ai.llm.hots");
  EXPECT_EQ(d.message, "unknown field");
}

TEST_F(YamlMapTest, ReportsEveryUnknownField) {
  auto node = YAML::Load("a: 1\nb: 2\nc: 3\n");
  {
    YamlMap m(node, "spec", ctx);
    m.take("b");
  }
  ASSERT_EQ(diags.items().size(), 2u) << diags.format_all();
  EXPECT_EQ(diags.items()[0].field, "spec.a");
  EXPECT_EQ(diags.items()[1].field, "spec.c");
}

TEST_F(YamlMapTest, IgnoredAndTakenKeysAreNotUnknown) {
  auto node = YAML::Load("a: 1\nb: {x: y}\n");
  {
    YamlMap m(node, "spec", ctx);
    m.ignore("a");
    m.take("b");
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, AbsentOptionalSectionIsEmptyAndValid) {
  auto node = YAML::Load("other: 1");
  {
    YamlMap m(node["missing"], "spec.tls", ctx);
    EXPECT_FALSE(m.present());
    EXPECT_FALSE(m.has("mode"));
    EXPECT_EQ(m.str("mode"), std::nullopt);
    EXPECT_EQ(m.str("required", Need::Required), std::nullopt);
  }
  {
    YamlMap null_map(YAML::Load("~"), "spec.tls", ctx);
    EXPECT_FALSE(null_map.present());
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, AbsentRequiredSectionIsAnError) {
  auto node = YAML::Load("other: 1");
  { YamlMap m(node["ai"], "spec.ai", ctx, Need::Required); }
  const auto& d = only();
  EXPECT_EQ(d.field, "spec.ai");
  EXPECT_EQ(d.message, "is required");
  EXPECT_EQ(d.line, 0);
}

TEST_F(YamlMapTest, MissingRequiredFieldIsAnError) {
  auto node = YAML::Load("\nkey: v\n");
  {
    YamlMap m(node, "spec.ref", ctx);
    EXPECT_EQ(m.str("name", Need::Required), std::nullopt);
    m.take("key");
  }
  const auto& d = only();
  EXPECT_EQ(d.field, "spec.ref.name");
  EXPECT_EQ(d.message, "is required");
  EXPECT_EQ(d.line, 2);
}

TEST_F(YamlMapTest, NullRequiredFieldIsAnError) {
  auto node = YAML::Load("name: ~\n");
  {
    YamlMap m(node, "spec.ref", ctx);
    EXPECT_EQ(m.str("name", Need::Required), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.ref.name");
  EXPECT_EQ(only().message, "is required");
}

TEST_F(YamlMapTest, RequireExplainsWhatIsExpected) {
  auto node = YAML::Load("a: 1\n");
  {
    YamlMap m(node, "spec.rules[0]", ctx);
    m.require("backendRefs", "at least one {kind: Backend, name}");
    m.require("a", "present");
    m.take("a");
  }
  const auto& d = only();
  EXPECT_EQ(d.field, "spec.rules[0].backendRefs");
  EXPECT_EQ(d.message, "is required (at least one {kind: Backend, name})");
}

TEST_F(YamlMapTest, MappingWhereScalarExpected) {
  auto node = YAML::Load("spec: just-a-string\n");
  { YamlMap m(node["spec"], "spec", ctx); }
  const auto& d = only();
  EXPECT_EQ(d.field, "spec");
  EXPECT_EQ(d.message, "expected a mapping, found a scalar");
  EXPECT_EQ(d.line, 1);
}

TEST_F(YamlMapTest, MappingWhereListFound) {
  auto node = YAML::Load("spec: [1, 2]\n");
  { YamlMap m(node["spec"], "spec", ctx); }
  EXPECT_EQ(only().message, "expected a mapping, found a list");
}

TEST_F(YamlMapTest, StringWhereMappingFound) {
  auto node = YAML::Load("host: {a: b}\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.str("host"), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.host");
  EXPECT_EQ(only().message, "expected a string, found a mapping");
}

TEST_F(YamlMapTest, StringWhereListFound) {
  auto node = YAML::Load("host: [a]\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.str("host"), std::nullopt);
  }
  EXPECT_EQ(only().message, "expected a string, found a list");
}

TEST_F(YamlMapTest, StringsExpandEnvironment) {
  ScopedEnv env("SLUICE_TEST_HOST", "api.example.com");
  auto node = YAML::Load("host: ${SLUICE_TEST_HOST}\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.str("host"), "api.example.com");
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, UnsetEnvironmentVariableIsAnError) {
  ::unsetenv("SLUICE_TEST_UNSET");
  auto node = YAML::Load("host: ${SLUICE_TEST_UNSET}\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.str("host"), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.host");
  EXPECT_EQ(only().message, "environment variable SLUICE_TEST_UNSET is not set");
}

TEST_F(YamlMapTest, IntegerNotANumber) {
  auto node = YAML::Load("port: http\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.integer("port", 0, 65535), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.port");
  EXPECT_EQ(only().message, "expected an integer, found \"http\"");
}

TEST_F(YamlMapTest, IntegerWithTrailingGarbage) {
  auto node = YAML::Load("port: 80x\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.integer("port", 0, 65535), std::nullopt);
  }
  EXPECT_EQ(only().message, "expected an integer, found \"80x\"");
}

TEST_F(YamlMapTest, IntegerRangeIsInclusive) {
  auto node = YAML::Load("lo: 1\nhi: 10\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.integer("lo", 1, 10), 1);
    EXPECT_EQ(m.integer("hi", 1, 10), 10);
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, IntegerAboveRange) {
  auto node = YAML::Load("port: 70000\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.integer("port", 0, 65535), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.port");
  EXPECT_EQ(only().message, "must be between 0 and 65535, found 70000");
  EXPECT_EQ(only().line, 1);
}

TEST_F(YamlMapTest, IntegerBelowRange) {
  auto node = YAML::Load("workers: -1\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.integer("workers", 0, 256), std::nullopt);
  }
  EXPECT_EQ(only().message, "must be between 0 and 256, found -1");
}

TEST_F(YamlMapTest, RequiredIntegerMissing) {
  auto node = YAML::Load("a: 1\n");
  {
    YamlMap m(node, "spec.listeners[0]", ctx);
    EXPECT_EQ(m.integer("port", 0, 65535, Need::Required), std::nullopt);
    m.take("a");
  }
  EXPECT_EQ(only().field, "spec.listeners[0].port");
  EXPECT_EQ(only().message, "is required");
}

TEST_F(YamlMapTest, BooleanRejectsOtherWords) {
  auto node = YAML::Load("on: false\nflag: yes\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.boolean("on"), false);
    EXPECT_EQ(m.boolean("flag"), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.flag");
  EXPECT_EQ(only().message, "expected true or false, found \"yes\"");
}

TEST_F(YamlMapTest, MalformedDuration) {
  auto node = YAML::Load("timeout: 10\n");
  {
    YamlMap m(node, "spec.timeouts", ctx);
    EXPECT_EQ(m.duration("timeout"), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.timeouts.timeout");
  EXPECT_EQ(only().message, "expected a duration such as \"500ms\", \"10s\", \"1m30s\", found \"10\"");
}

TEST_F(YamlMapTest, MalformedBytes) {
  auto node = YAML::Load("max: 12Q\n");
  {
    YamlMap m(node, "spec.limits", ctx);
    EXPECT_EQ(m.bytes("max"), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.limits.max");
  EXPECT_EQ(only().message, "expected a size such as 65536, \"64Ki\" or \"32Mi\", found \"12Q\"");
}

enum class Color { Red, Green, Blue };

TEST_F(YamlMapTest, EnumerationMapsKnownValues) {
  auto node = YAML::Load("color: Green\n");
  {
    YamlMap m(node, "spec", ctx);
    EXPECT_EQ(m.enumeration<Color>("color", {{"Red", Color::Red}, {"Green", Color::Green}, {"Blue", Color::Blue}}),
              Color::Green);
    EXPECT_EQ(m.enumeration<Color>("absent", {{"Red", Color::Red}}), std::nullopt);
  }
  EXPECT_TRUE(diags.items().empty()) << diags.format_all();
}

TEST_F(YamlMapTest, EnumerationListsExpectedValues) {
  auto node = YAML::Load("x: 1\ncolor: green\n");
  {
    YamlMap m(node, "spec.tls", ctx);
    m.take("x");
    EXPECT_EQ(m.enumeration<Color>("color", {{"Red", Color::Red}, {"Green", Color::Green}, {"Blue", Color::Blue}}),
              std::nullopt);
  }
  const auto& d = only();
  EXPECT_EQ(d.field, "spec.tls.color");
  EXPECT_EQ(d.message, "unknown value \"green\"; expected one of Red, Green, Blue");
  EXPECT_EQ(d.line, 2);
}

TEST_F(YamlMapTest, RequiredEnumerationMissing) {
  auto node = YAML::Load("x: 1\n");
  {
    YamlMap m(node, "spec", ctx);
    m.take("x");
    EXPECT_EQ(m.enumeration<Color>("type", {{"Red", Color::Red}}, Need::Required), std::nullopt);
  }
  EXPECT_EQ(only().field, "spec.type");
  EXPECT_EQ(only().message, "is required");
}

TEST_F(YamlMapTest, HasSeesOnlyPresentKeys) {
  auto node = YAML::Load("a: 1\nb: ~\n");
  YamlMap m(node, "spec", ctx);
  EXPECT_TRUE(m.has("a"));
  EXPECT_TRUE(m.has("b"));
  EXPECT_FALSE(m.has("c"));
  m.ignore("a");
  m.ignore("b");
}

// ------------------------------------------------------------------ free helpers

TEST_F(YamlMapTest, ScalarStringRejectsNonScalars) {
  auto node = YAML::Load("list: [a]\n");
  EXPECT_EQ(scalar_string(node["list"], "spec.hostnames[0]", ctx), std::nullopt);
  EXPECT_EQ(only().field, "spec.hostnames[0]");
  EXPECT_EQ(only().message, "expected a string, found a list");
}

TEST_F(YamlMapTest, IsSequence) {
  auto node = YAML::Load("list: [a, b]\nscalar: x\nmap: {a: b}\n");
  EXPECT_TRUE(is_sequence(node["list"], "spec.list", ctx));
  EXPECT_TRUE(diags.items().empty());
  EXPECT_FALSE(is_sequence(node["scalar"], "spec.scalar", ctx));
  EXPECT_FALSE(is_sequence(node["map"], "spec.map", ctx));
  ASSERT_EQ(diags.items().size(), 2u);
  EXPECT_EQ(diags.items()[0].field, "spec.scalar");
  EXPECT_EQ(diags.items()[0].message, "expected a list, found a scalar");
  EXPECT_EQ(diags.items()[0].line, 2);
  EXPECT_EQ(diags.items()[1].message, "expected a list, found a mapping");
}

TEST_F(YamlMapTest, WarningsAreNotErrors) {
  auto node = YAML::Load("a: 1\n");
  ctx.warning(node["a"], "spec.a", "has no effect");
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.items()[0].severity, Severity::Warning);
  EXPECT_FALSE(diags.has_errors());
  EXPECT_EQ(diags.items()[0].format(), "reader.yaml:1: warning: Backend/b: spec.a: has no effect");
}

TEST(DiagnosticTest, FormatIncludesEveryPart) {
  Diagnostic d{Severity::Error, "config.yaml", 12, "Backend/openrouter", "spec.ai.llm.host", "expected a string"};
  EXPECT_EQ(d.format(), "config.yaml:12: error: Backend/openrouter: spec.ai.llm.host: expected a string");
  Diagnostic bare{Severity::Error, "", 0, "", "", "oops"};
  EXPECT_EQ(bare.format(), "<config>: error: oops");
}

TEST(DiagnosticTest, CountsErrorsOnly) {
  Diagnostics diags;
  diags.add({Severity::Warning, "f", 1, "", "", "w"});
  EXPECT_FALSE(diags.has_errors());
  diags.add({Severity::Error, "f", 2, "", "", "e1"});
  diags.add({Severity::Error, "f", 3, "", "", "e2"});
  EXPECT_TRUE(diags.has_errors());
  EXPECT_EQ(diags.error_count(), 2u);
  EXPECT_EQ(diags.format_all(), "f:1: warning: w\nf:2: error: e1\nf:3: error: e2\n");
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(YamlMapStrings, ReadsAListReportsWhatIsNotOneAndMarksTheKeyKnown) {
  Diagnostics diagnostics;
  const DecodeContext ctx{diagnostics, "p.yaml", "TrafficPolicy/p"};
  {
    YamlMap map(YAML::Load("{a: [x, 'y'], b: ~, c: notalist, d: [ok, {no: map}]}"), "spec", ctx);
    EXPECT_EQ(map.strings("a"), (std::vector<std::string>{"x", "y"}));
    EXPECT_FALSE(map.strings("b")) << "null: as if absent";
    EXPECT_FALSE(map.strings("c"));
    EXPECT_EQ(map.strings("d"), std::vector<std::string>{"ok"}) << "the item that is no string is left out";
    EXPECT_FALSE(map.strings("absent"));
  }
  const auto all = diagnostics.format_all();
  EXPECT_NE(all.find("spec.c"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.d[1]"), std::string::npos) << all;
  EXPECT_EQ(all.find("unknown"), std::string::npos) << "every key read is known: " << all;
}

}  // namespace
}  // namespace sluice::config
