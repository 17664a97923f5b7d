// The auth section: model patterns, decoding (raw and hashed keys, their diagnostics), the merge
// per field, and the stage's phases. What requests see is tested through the real binaries in
// tests/integration/auth.test.mjs.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "config/diagnostics.hpp"
#include "config/yaml_reader.hpp"
#include "pipeline/principal.hpp"
#include "policy/auth.hpp"

namespace sluice::policy {
namespace {

TEST(ModelPattern, ExactPrefixSuffixAndAll) {
  using pipeline::model_pattern_matches;
  EXPECT_TRUE(model_pattern_matches("gpt-4o", "gpt-4o"));
  EXPECT_FALSE(model_pattern_matches("gpt-4o", "gpt-4o-mini"));
  EXPECT_TRUE(model_pattern_matches("gpt-4o*", "gpt-4o-mini"));
  EXPECT_TRUE(model_pattern_matches("gpt-4o*", "gpt-4o"));
  EXPECT_FALSE(model_pattern_matches("gpt-4o*", "gpt-4"));
  EXPECT_TRUE(model_pattern_matches("*-mini", "gpt-4o-mini"));
  EXPECT_FALSE(model_pattern_matches("*-mini", "gpt-4o"));
  EXPECT_TRUE(model_pattern_matches("*", "anything"));
  pipeline::Principal open{"p", {}, {}};
  EXPECT_TRUE(open.allows("whatever")) << "no allowedModels: every model";
  pipeline::Principal restricted{"p", {}, {"claude-*", "gpt-4o"}};
  EXPECT_TRUE(restricted.allows("claude-sonnet-4-5"));
  EXPECT_FALSE(restricted.allows("gpt-4o-mini"));
}

struct Decoded {
  config::AuthPolicy value;
  config::Diagnostics diagnostics;
};

Decoded decode(const std::string& yaml) {
  Decoded out;
  const config::DecodeContext ctx{out.diagnostics, "p.yaml", "TrafficPolicy/p"};
  config::YamlMap section(YAML::Load(yaml), "spec.auth", ctx);
  out.value = AuthSection::decode(section);
  AuthSection::validate(out.value, section);
  return out;
}

TEST(AuthSection, DecodesRawAndHashedKeys) {
  const auto d = decode(
      "{apiKey: {mode: Optional, headers: [X-Sluice-Key], keys: ["
      "{name: a, secretRef: {name: s}, metadata: {team: a}, allowedModels: ['gpt-*']},"
      "{name: b, keyHash: 'SHA256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08'}]}}");
  EXPECT_FALSE(d.diagnostics.has_errors()) << d.diagnostics.format_all();
  ASSERT_TRUE(d.value.apiKey);
  EXPECT_EQ(d.value.apiKey->mode, config::AuthMode::Optional);
  ASSERT_TRUE(d.value.apiKey->headers);
  EXPECT_EQ(d.value.apiKey->headers->front(), "x-sluice-key") << "header names are compared lowercase";
  ASSERT_TRUE(d.value.apiKey->keys);
  const auto& keys = *d.value.apiKey->keys;
  ASSERT_EQ(keys.size(), 2u);
  ASSERT_TRUE(keys[0].secretRef);
  EXPECT_EQ(keys[0].secretRef->key, "apiKey") << "the default Secret key";
  EXPECT_EQ(keys[0].metadata.at("team"), "a");
  EXPECT_EQ(keys[1].keyHash, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(AuthSection, ReportsEachMistakeWithItsField) {
  const auto d = decode(
      "{apiKey: {keys: [{name: a}, {name: a, keyHash: 'sha256:12'}, "
      "{name: c, secretRef: {name: s}, keyHash: "
      "'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'},"
      "{name: d, keyHash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', allowedModels: "
      "['*a*']}]}}");
  const auto all = d.diagnostics.format_all();
  EXPECT_NE(all.find("spec.auth.apiKey.keys[0]: needs secretRef"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[1].keyHash: expected \"sha256:\""), std::string::npos) << all;
  EXPECT_EQ(all.find("keys[1]: needs secretRef"), std::string::npos) << "an invalid keyHash is reported once";
  EXPECT_NE(all.find("spec.auth.apiKey.keys[1].name: \"a\" is also the name of keys[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[2]: has both secretRef and keyHash"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.auth.apiKey.keys[3].allowedModels[0]: \"*a*\" is not a model pattern"), std::string::npos)
      << all;
}

TEST(AuthSection, MergesModeHeadersAndKeysSeparately) {
  config::AuthPolicy general;
  general.apiKey = config::ApiKeyAuth{};
  general.apiKey->keys = std::vector<config::ApiKeyEntry>{{"a", std::nullopt, std::string(64, '0'), {}, {}}};
  general.apiKey->headers = std::vector<std::string>{"x-api-key"};
  config::AuthPolicy specific;
  specific.apiKey = config::ApiKeyAuth{};
  specific.apiKey->mode = config::AuthMode::Optional;
  const auto merged = AuthSection::merge(general, specific);
  ASSERT_TRUE(merged.apiKey);
  EXPECT_EQ(merged.apiKey->mode, config::AuthMode::Optional);
  ASSERT_TRUE(merged.apiKey->keys);
  EXPECT_EQ(merged.apiKey->keys->size(), 1u) << "the general policy's keys stay";
  EXPECT_EQ(merged.apiKey->headers->front(), "x-api-key");
}

TEST(AuthSection, TheStageChecksModelsOnlyWhenAKeyIsRestricted) {
  const config::Config config;
  config::AuthPolicy open;
  open.apiKey = config::ApiKeyAuth{};
  open.apiKey->keys = std::vector<config::ApiKeyEntry>{{"a", std::nullopt, std::string(64, '0'), {}, {}}};
  const auto plain = AuthSection::make_stage(open, SectionContext{config, AttachLevel::Rule});
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->phases(), pipeline::bit(pipeline::Phase::RequestHead)) << "no body phase: the relay stays as is";
  auto restricted = open;
  restricted.apiKey->keys->front().allowedModels = {"gpt-*"};
  const auto checking = AuthSection::make_stage(restricted, SectionContext{config, AttachLevel::Rule});
  EXPECT_NE(checking->phases() & pipeline::bit(pipeline::Phase::RequestBody), 0u);
  EXPECT_EQ(checking->phases() & pipeline::bit(pipeline::Phase::BodyDocument), 0u)
      << "the model check reads the scanned model, not a parsed document";
}

}  // namespace
}  // namespace sluice::policy
