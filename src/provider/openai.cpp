// OpenAI and every OpenAI-compatible service (OpenRouter, vLLM, DeepSeek, Groq, Mistral, ...):
// Bearer key, "/v1" API base, api.openai.com:443 unless the Backend sets host/port/path.
#include "provider/provider.hpp"

namespace sluice::provider {

const ProviderTraits kOpenAI{
    .name = "openai",
    .default_host = "api.openai.com",
    .default_port = 443,
    .base_path = "/v1",
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
};

const ProviderTraits& traits(config::ProviderKind kind) {
  switch (kind) {
    case config::ProviderKind::OpenAI:
      return kOpenAI;
    case config::ProviderKind::Ollama:
      return kOllama;
  }
  return kOpenAI;
}

}  // namespace sluice::provider
