// AWS Bedrock runtime (bedrock-runtime.{region}.amazonaws.com): chat through Converse
// (/model/{id}/converse, /converse-stream with AWS event-stream framing), embeddings through
// InvokeModel (/model/{id}/invoke). The model id is percent-encoded in the path (ARNs carry ':'
// and '/'). Requests are signed with SigV4 (service "bedrock") from the credentials Secret
// (accessKeyId, secretAccessKey, sessionToken); a Bedrock API key in authToken is sent as Bearer.
#include "provider/provider.hpp"

namespace sluice::provider {

const ProviderTraits kBedrock{
    .name = "bedrock",
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
            case Operation::Other:
              break;
          }
          return NativePath{"", std::string(r.client_suffix)};
        },
};

}  // namespace sluice::provider
