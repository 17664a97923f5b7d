// Ollama through its OpenAI-compatible API (http://localhost:11434/v1/...). The key is
// "required but ignored" by Ollama, so authToken is optional for this provider.
#include "provider/provider.hpp"

namespace sluice::provider {

const ProviderTraits kOllama{
    .name = "ollama",
    .default_host = "localhost",
    .default_port = 11434,
    .base_path = "/v1",
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
};

}  // namespace sluice::provider
