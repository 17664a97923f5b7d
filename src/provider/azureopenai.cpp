// Azure OpenAI: OpenAI's wire format on {endpoint}, the key in the api-key header. Two path
// forms: classic /openai/deployments/{deploymentName}/chat/completions?api-version={apiVersion}
// (the deployment picks the model), or with apiVersion "v1" the /openai/v1/chat/completions
// form (the body's model names the deployment). Resource-level APIs (files, batches) live at
// /openai/{api}?api-version=... in the classic form.
#include "provider/provider.hpp"

namespace sluice::provider {

const ProviderTraits kAzureOpenAI{
    .name = "azureopenai",
    .default_port = 443,
    .auth_header = "api-key",
    .auth_prefix = "",
    .format = [](const config::LlmProvider&) { return WireFormat::OpenAI; },
    .default_host = [](const config::LlmProvider& p) { return p.azureopenai.endpoint; },
    .path =
        [](const config::LlmProvider& p, const PathRequest& r) {
          const auto& a = p.azureopenai;
          if (a.apiVersion == "v1") return openai_style_path("/openai/v1", r);
          const std::string query = "?api-version=" + a.apiVersion;
          const std::string deployment = "/openai/deployments/" + escape_path_segment(a.deploymentName);
          switch (r.operation) {
            case Operation::Chat:
              return NativePath{deployment, "/chat/completions" + query};
            case Operation::Embeddings:
              return NativePath{deployment, "/embeddings" + query};
            case Operation::Other:
              break;
          }
          // Model-scoped APIs go to the deployment, resource-scoped ones to /openai.
          const auto suffix = r.client_suffix;
          const bool scoped =
              suffix.starts_with("/audio") || suffix.starts_with("/images") || suffix.starts_with("/completions");
          return NativePath{scoped ? deployment : std::string("/openai"), std::string(suffix) + query};
        },
};

}  // namespace sluice::provider
