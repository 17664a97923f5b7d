// Google Gemini API (AI Studio, generativelanguage.googleapis.com): the key in x-goog-api-key;
// the model and the action in the path: /v1beta/models/{model}:generateContent,
// :streamGenerateContent?alt=sse, :batchEmbedContents (apiVersion selects "v1beta" / "v1").
#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// "models/gemini-2.5-flash" and "gemini-2.5-flash" name the same model.
std::string_view bare_model(std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  return model;
}

// apiVersion (the first path segment); the model and apiVersion go into the URL.
void decode_gemini(config::YamlMap& fields, config::LlmProvider& p) {
  if (auto v = fields.str("apiVersion")) p.gemini.apiVersion = *v;
  if (p.model) check_model_segment(fields, bare_model(*p.model), p.kind);
  check_api_version(fields, p.gemini.apiVersion);
}

}  // namespace

const ProviderTraits kGemini{
    .name = "gemini",
    .kind = config::ProviderKind::Gemini,
    .requires_auth_token = true,
    .decode = &decode_gemini,
    .default_port = 443,
    .auth_header = "x-goog-api-key",
    .auth_prefix = "",
    .format = [](const config::LlmProvider&) { return WireFormat::Gemini; },
    .default_host = [](const config::LlmProvider&) { return std::string("generativelanguage.googleapis.com"); },
    .path =
        [](const config::LlmProvider& p, const PathRequest& r) {
          NativePath out{"/" + p.gemini.apiVersion, {}};
          const auto model = escape_path_segment(bare_model(r.model));
          switch (r.operation) {
            case Operation::Chat:
              out.suffix = "/models/" + model + (r.stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
              break;
            case Operation::Embeddings:
              out.suffix = "/models/" + model + ":batchEmbedContents";
              break;
            case Operation::ModelAction:
              out.suffix = "/models/" + model + ":" + std::string(r.action);
              break;
            case Operation::CountTokens:
              out.suffix = "/models/" + model + ":countTokens";
              break;
            case Operation::Responses:
            case Operation::Other:
              out.suffix = std::string(r.client_suffix);
              break;
          }
          return out;
        },
};

}  // namespace sluice::provider
