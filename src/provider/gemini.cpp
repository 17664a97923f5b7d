// Google Gemini API (AI Studio, generativelanguage.googleapis.com): the key in x-goog-api-key;
// the model and the action in the path: /v1beta/models/{model}:generateContent,
// :streamGenerateContent?alt=sse, :batchEmbedContents (apiVersion selects "v1beta" / "v1").
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// "models/gemini-2.5-flash" and "gemini-2.5-flash" name the same model.
std::string_view bare_model(std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  return model;
}

}  // namespace

const ProviderTraits kGemini{
    .name = "gemini",
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
            case Operation::Other:
              out.suffix = std::string(r.client_suffix);
              break;
          }
          return out;
        },
};

}  // namespace sluice::provider
