// Google Vertex AI: Gemini (publisher GOOGLE) and Claude (publisher ANTHROPIC) models of one
// project and location, with an OAuth2 access token as Bearer (from a Secret; minting tokens
// from a service account is not built yet). Host: {location}-aiplatform.googleapis.com, or
// aiplatform.googleapis.com for "global". Paths:
//   /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
//     (:streamGenerateContent?alt=sse, :predict for embeddings)
//   /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict (:streamRawPredict)
//     (token counts: .../publishers/anthropic/models/count-tokens:rawPredict, google: {m}:countTokens)
#include <cctype>

#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// projectId and location (required; they name the host and the path), publisher, apiVersion,
// anthropicVersion, defaultMaxTokens; the model and apiVersion go into the URL.
void decode_vertexai(config::YamlMap& fields, config::LlmProvider& p) {
  auto& v = p.vertexai;
  if (auto x = fields.str("projectId", config::Need::Required)) v.projectId = *x;
  if (auto x = fields.str("location", config::Need::Required)) v.location = *x;
  if (auto x = fields.enumeration<config::VertexPublisher>(
          "publisher",
          {{"GOOGLE", config::VertexPublisher::Google}, {"ANTHROPIC", config::VertexPublisher::Anthropic}}))
    v.publisher = *x;
  if (auto x = fields.str("apiVersion")) v.apiVersion = *x;
  if (auto x = fields.str("anthropicVersion")) v.anthropicVersion = *x;
  if (auto x = decode_max_tokens(fields)) v.defaultMaxTokens = *x;
  for (const auto* name : {"projectId", "location"}) {
    const auto& value = name == std::string_view("projectId") ? v.projectId : v.location;
    for (char c : value)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
        fields.ctx().error(fields.node()[name], fields.field(name),
                           config::shown(fields.node()[name]) + " may only contain letters, digits, '-' and '_'");
        break;
      }
  }
  if (p.model) check_model_segment(fields, *p.model, p.kind);
  check_api_version(fields, v.apiVersion);
}

}  // namespace

const ProviderTraits kVertexAI{
    .name = "vertexai",
    .kind = config::ProviderKind::VertexAI,
    .requires_auth_token = true,
    .decode = &decode_vertexai,
    .default_port = 443,
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
    .format =
        [](const config::LlmProvider& p) {
          return p.vertexai.publisher == config::VertexPublisher::Anthropic ? WireFormat::VertexAnthropic
                                                                            : WireFormat::VertexGemini;
        },
    .default_host =
        [](const config::LlmProvider& p) {
          const auto& location = p.vertexai.location;
          if (location == "global") return std::string("aiplatform.googleapis.com");
          if (location == "us" || location == "eu") return "aiplatform." + location + ".rep.googleapis.com";
          return location + "-aiplatform.googleapis.com";
        },
    .path =
        [](const config::LlmProvider& p, const PathRequest& r) {
          const auto& v = p.vertexai;
          NativePath out{"/" + v.apiVersion + "/projects/" + v.projectId + "/locations/" + v.location, {}};
          const bool anthropic = v.publisher == config::VertexPublisher::Anthropic;
          const auto model = escape_path_segment(r.model);
          const std::string models = anthropic ? "/publishers/anthropic/models/" : "/publishers/google/models/";
          switch (r.operation) {
            case Operation::Chat:
              if (anthropic) {
                out.suffix = models + model + (r.stream ? ":streamRawPredict" : ":rawPredict");
              } else {
                out.suffix = models + model + (r.stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
              }
              break;
            case Operation::Embeddings:
              out.suffix = models + model + ":predict";
              break;
            case Operation::ModelAction:
              out.suffix = models + model + ":" + std::string(r.action);
              break;
            case Operation::CountTokens:
              // Claude counts at one endpoint for every model, named in the body.
              out.suffix = anthropic ? models + "count-tokens:rawPredict" : models + model + ":countTokens";
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
