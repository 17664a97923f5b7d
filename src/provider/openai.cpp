// OpenAI and every OpenAI-compatible service (OpenRouter, vLLM, DeepSeek, Groq, Mistral, ...):
// Bearer key, "/v1" API base, api.openai.com:443 unless the Backend sets host/port/path.
#include <array>

#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

NativePath openai_style_path(std::string base, const PathRequest& request) {
  switch (request.operation) {
    case Operation::Chat:
      return {std::move(base), "/chat/completions"};
    case Operation::Embeddings:
      return {std::move(base), "/embeddings"};
    case Operation::Responses:
      return {std::move(base), "/responses"};
    case Operation::ModelAction:
    case Operation::CountTokens:
    case Operation::Other:
      break;
  }
  return {std::move(base), std::string(request.client_suffix)};
}

std::string escape_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

const ProviderTraits kOpenAI{
    .name = "openai",
    .kind = config::ProviderKind::OpenAI,
    .requires_auth_token = true,
    .decode = &decode_no_fields,
    .default_port = 443,
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
    .format = [](const config::LlmProvider&) { return WireFormat::OpenAI; },
    .default_host = [](const config::LlmProvider&) { return std::string("api.openai.com"); },
    .path = [](const config::LlmProvider&, const PathRequest& r) { return openai_style_path("/v1", r); },
};

const ProviderTraits& traits(config::ProviderKind kind) {
  switch (kind) {
    case config::ProviderKind::OpenAI:
      return kOpenAI;
    case config::ProviderKind::Ollama:
      return kOllama;
    case config::ProviderKind::Anthropic:
      return kAnthropic;
    case config::ProviderKind::Gemini:
      return kGemini;
    case config::ProviderKind::VertexAI:
      return kVertexAI;
    case config::ProviderKind::AzureOpenAI:
      return kAzureOpenAI;
    case config::ProviderKind::Bedrock:
      return kBedrock;
  }
  return kOpenAI;
}

std::span<const ProviderTraits* const> all_providers() {
  static constexpr std::array<const ProviderTraits*, 7> kAll = {&kOpenAI,   &kOllama,      &kAnthropic, &kGemini,
                                                                &kVertexAI, &kAzureOpenAI, &kBedrock};
  return kAll;
}

}  // namespace sluice::provider
