// Anthropic Messages API (api.anthropic.com/v1/messages): the key in x-api-key, the API version
// in the anthropic-version header (ai.llm.anthropic.apiVersion). OpenAI chat requests are
// translated by translate/openai_anthropic; Anthropic clients are served natively.
#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// apiVersion (the anthropic-version header), defaultMaxTokens.
void decode_anthropic(config::YamlMap& fields, config::LlmProvider& p) {
  if (auto v = fields.str("apiVersion")) p.anthropic.apiVersion = *v;
  if (auto v = decode_max_tokens(fields)) p.anthropic.defaultMaxTokens = *v;
}

}  // namespace

const ProviderTraits kAnthropic{
    .name = "anthropic",
    .kind = config::ProviderKind::Anthropic,
    .requires_auth_token = true,
    .decode = &decode_anthropic,
    .default_port = 443,
    .auth_header = "x-api-key",
    .auth_prefix = "",
    .format = [](const config::LlmProvider&) { return WireFormat::Anthropic; },
    .default_host = [](const config::LlmProvider&) { return std::string("api.anthropic.com"); },
    .path =
        [](const config::LlmProvider&, const PathRequest& r) {
          if (r.operation == Operation::Chat) return NativePath{"/v1", "/messages"};
          if (r.operation == Operation::CountTokens) return NativePath{"/v1", "/messages/count_tokens"};
          return NativePath{"/v1", std::string(r.client_suffix)};
        },
};

}  // namespace sluice::provider
