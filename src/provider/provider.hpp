// Provider traits: what Sluice knows about each LLM provider's wire endpoint by default
// (host, port, API base path, how the key is sent). One provider per .cpp file; provider-
// specific fields stay with their provider. Constant data; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/resources.hpp"

namespace sluice::provider {

struct ProviderTraits {
  std::string_view name;          // the config key: "openai", "ollama"
  std::string_view default_host;
  std::uint16_t default_port;
  std::string_view base_path;     // prepended to the API suffix: "/v1" + "/chat/completions"
  std::string_view auth_header;   // default header carrying the key
  std::string_view auth_prefix;   // default prefix before the key
};

extern const ProviderTraits kOpenAI;
extern const ProviderTraits kOllama;

const ProviderTraits& traits(config::ProviderKind kind);

}  // namespace sluice::provider
