#include "provider/fields.hpp"

#include <algorithm>
#include <cctype>

namespace sluice::provider {

namespace {

bool dot_segment(std::string_view value) {
  return value == "." || value == "..";
}

// A value placed in an upstream URL unencoded (API versions): a conservative token.
bool url_token(std::string_view value) {
  return !value.empty() && !dot_segment(value) && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

void decode_no_fields(config::YamlMap&, config::LlmProvider&) {}

std::optional<std::uint32_t> decode_max_tokens(config::YamlMap& fields) {
  if (auto v = fields.integer("defaultMaxTokens", 1, 10'000'000)) return static_cast<std::uint32_t>(*v);
  return std::nullopt;
}

void check_model_segment(config::YamlMap& fields, std::string_view bare, config::ProviderKind kind) {
  if (!dot_segment(bare)) return;
  fields.ctx().error(fields.node()["model"], fields.field("model"),
                     config::shown(fields.node()["model"]) + " is a dot segment; " +
                         std::string(config::provider_key(kind)) +
                         " puts the model in the URL path, where it would name another path");
}

void check_path_segment(config::YamlMap& fields, std::string_view key, std::string_view value) {
  if (!dot_segment(value)) return;
  const std::string name(key);
  fields.ctx().error(fields.node()[name], fields.field(key),
                     config::shown(fields.node()[name]) + " is a dot segment, which would name another URL path");
}

void check_api_version(config::YamlMap& fields, const std::string& version) {
  if (!fields.has("apiVersion") || url_token(version)) return;
  fields.ctx().error(fields.node()["apiVersion"], fields.field("apiVersion"),
                     config::shown(fields.node()["apiVersion"]) +
                         " goes into the upstream URL; it may only contain letters, "
                         "digits, '-', '_' and '.'");
}

}  // namespace sluice::provider
