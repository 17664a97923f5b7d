// Ollama through its OpenAI-compatible API (http://localhost:11434/v1/...). The key is
// "required but ignored" by Ollama, so authToken is optional for this provider.
#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

const ProviderTraits kOllama{
    .name = "ollama",
    .kind = config::ProviderKind::Ollama,
    .requires_auth_token = false,
    .decode = &decode_no_fields,
    .default_port = 11434,
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
    .format = [](const config::LlmProvider&) { return WireFormat::OpenAI; },
    .default_host = [](const config::LlmProvider&) { return std::string("localhost"); },
    .path = [](const config::LlmProvider&, const PathRequest& r) { return openai_style_path("/v1", r); },
};

}  // namespace sluice::provider
