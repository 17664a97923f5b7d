// Helpers for the providers' `decode` hooks (ProviderTraits::decode): the fields several
// providers share and the checks on values placed in the upstream URL. Each records its problem
// as a diagnostic on the field (file, resource, field path), quoting the value as written.
// Stateless functions over the YamlMap of one decode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/resources.hpp"
#include "config/yaml_reader.hpp"

namespace sluice::provider {

// No-op decoder for providers without fields of their own.
void decode_no_fields(config::YamlMap& fields, config::LlmProvider& p);

// defaultMaxTokens (1 to 10,000,000): the max_tokens sent when the client sets none.
std::optional<std::uint32_t> decode_max_tokens(config::YamlMap& fields);

// The model goes into the URL path as one segment: `bare` (the model as it is placed there)
// must not be a dot segment, which the upstream would resolve to another path.
void check_model_segment(config::YamlMap& fields, std::string_view bare, config::ProviderKind kind);

// A value placed as one segment of an upstream URL path must not be "." or "..".
void check_path_segment(config::YamlMap& fields, std::string_view key, std::string_view value);

// apiVersion goes into the upstream URL unencoded: when set, it may only hold letters, digits,
// '-', '_' and '.' and must not be a dot segment. `version` is the decoded value.
void check_api_version(config::YamlMap& fields, const std::string& version);

}  // namespace sluice::provider
