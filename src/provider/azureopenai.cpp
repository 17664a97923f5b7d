// Azure OpenAI: OpenAI's wire format on {endpoint}, the key in the api-key header. Two path
// forms: classic /openai/deployments/{deploymentName}/chat/completions?api-version={apiVersion}
// (the deployment picks the model), or with apiVersion "v1" the /openai/v1/chat/completions
// form (the body's model names the deployment). Resource-level APIs (files, batches) live at
// /openai/{api}?api-version=... in the classic form.
#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// apiVersion, endpoint (the resource host; required), deploymentName (required unless
// apiVersion is "v1"); the deployment and apiVersion go into the URL.
void decode_azureopenai(config::YamlMap& fields, config::LlmProvider& p) {
  auto& a = p.azureopenai;
  if (auto x = fields.str("apiVersion")) a.apiVersion = *x;
  if (auto x = fields.str("endpoint")) {
    std::string_view e = *x;
    if (e.starts_with("https://")) e.remove_prefix(8);
    while (!e.empty() && e.back() == '/') e.remove_suffix(1);
    if (e.empty() || e.find('/') != std::string_view::npos)
      fields.ctx().error(
          fields.node()["endpoint"], fields.field("endpoint"),
          "expected a host name like my-resource.openai.azure.com, found " + config::shown(fields.node()["endpoint"]));
    a.endpoint = e;
  } else if (!fields.has("endpoint")) {
    fields.require("endpoint", "the resource host, e.g. my-resource.openai.azure.com");
  }
  if (auto x = fields.str("deploymentName")) a.deploymentName = *x;
  if (a.deploymentName.empty() && a.apiVersion != "v1")
    fields.require("deploymentName", "the deployment to call (or apiVersion: v1 for the /openai/v1/ form)");
  check_path_segment(fields, "deploymentName", a.deploymentName);
  check_api_version(fields, a.apiVersion);
}

}  // namespace

const ProviderTraits kAzureOpenAI{
    .name = "azureopenai",
    .kind = config::ProviderKind::AzureOpenAI,
    .requires_auth_token = true,
    .decode = &decode_azureopenai,
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
            case Operation::Responses:
              return NativePath{"/openai", "/responses" + query};  // resource-scoped: the model is in the body
            case Operation::ModelAction:
            case Operation::CountTokens:
            case Operation::Other:
              break;
          }
          // Model-scoped APIs go to the deployment, resource-scoped ones to /openai.
          const auto suffix = r.client_suffix;
          const bool scoped =
              suffix.starts_with("/audio") || suffix.starts_with("/images") || suffix.starts_with("/completions");
          return NativePath{scoped ? deployment : std::string("/openai"), std::string(suffix) + query};
        },
    .client_query_param = "api-version",
};

}  // namespace sluice::provider
