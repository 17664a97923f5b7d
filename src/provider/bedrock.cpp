// AWS Bedrock runtime (bedrock-runtime.{region}.amazonaws.com): chat through Converse
// (/model/{id}/converse, /converse-stream with AWS event-stream framing), embeddings through
// InvokeModel (/model/{id}/invoke), token counts through CountTokens (/model/{id}/count-tokens).
// The model id is percent-encoded in the path (ARNs carry ':' and '/'). Requests are signed with SigV4 (service
// "bedrock") from the credentials Secret (accessKeyId, secretAccessKey, sessionToken); a Bedrock API key in authToken
// is sent as Bearer.
#include "provider/fields.hpp"
#include "provider/provider.hpp"

namespace sluice::provider {

namespace {

// region (required), credentials.secretRef.name (required without an authToken); the model goes
// into the URL.
void decode_bedrock(config::YamlMap& fields, config::LlmProvider& p) {
  auto& b = p.bedrock;
  if (auto x = fields.str("region", config::Need::Required)) b.region = *x;
  {
    config::YamlMap creds(fields.take("credentials"), fields.field("credentials"), fields.ctx());
    if (creds.present()) {
      config::YamlMap ref(creds.take("secretRef"), creds.field("secretRef"), fields.ctx(), config::Need::Required);
      if (auto name = ref.str("name", config::Need::Required)) b.credentialsSecret = *name;
    } else if (p.authToken.kind == config::AuthKind::None) {
      fields.require("credentials",
                     "{secretRef: {name: <Secret with accessKeyId, secretAccessKey>}} or an authToken "
                     "(a Bedrock API key)");
    }
  }  // credentials' unknown fields are reported here, before the URL check
  if (p.model) check_model_segment(fields, *p.model, p.kind);
}

}  // namespace

const ProviderTraits kBedrock{
    .name = "bedrock",
    .kind = config::ProviderKind::Bedrock,
    .requires_auth_token = false,
    .decode = &decode_bedrock,
    .default_port = 443,
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
    .format = [](const config::LlmProvider&) { return WireFormat::Bedrock; },
    .default_host =
        [](const config::LlmProvider& p) { return "bedrock-runtime." + p.bedrock.region + ".amazonaws.com"; },
    .path =
        [](const config::LlmProvider&, const PathRequest& r) {
          const auto model = "/model/" + escape_path_segment(r.model);
          switch (r.operation) {
            case Operation::Chat:
              return NativePath{"", model + (r.stream ? "/converse-stream" : "/converse")};
            case Operation::Embeddings:
              return NativePath{"", model + "/invoke"};
            case Operation::CountTokens:
              return NativePath{"", model + "/count-tokens"};
            case Operation::Responses:
            case Operation::ModelAction:
            case Operation::Other:
              break;
          }
          return NativePath{"", std::string(r.client_suffix)};
        },
};

}  // namespace sluice::provider
