#include "provider/provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "config/yaml_reader.hpp"

namespace sluice::provider {
namespace {

std::string path_of(const config::LlmProvider& p, Operation op, std::string_view model, bool stream,
                    std::string_view client_suffix = {}) {
  const auto path = traits(p.kind).path(p, PathRequest{op, model, stream, client_suffix, {}});
  return path.base + path.suffix;
}

config::LlmProvider provider(config::ProviderKind kind) {
  config::LlmProvider p;
  p.kind = kind;
  return p;
}

TEST(ProviderPath, OpenAiStyleProvidersUseV1AndTheClientSuffix) {
  for (auto kind : {config::ProviderKind::OpenAI, config::ProviderKind::Ollama}) {
    const auto p = provider(kind);
    EXPECT_EQ(path_of(p, Operation::Chat, "m", true), "/v1/chat/completions");
    EXPECT_EQ(path_of(p, Operation::Embeddings, "m", false), "/v1/embeddings");
    EXPECT_EQ(path_of(p, Operation::Other, "", false, "/audio/speech"), "/v1/audio/speech");
  }
}

TEST(ProviderPath, AnthropicMessages) {
  const auto p = provider(config::ProviderKind::Anthropic);
  EXPECT_EQ(path_of(p, Operation::Chat, "claude", true), "/v1/messages");
  EXPECT_EQ(path_of(p, Operation::Other, "", false, "/models"), "/v1/models");
}

TEST(ProviderPath, GeminiPutsModelAndActionInThePath) {
  auto p = provider(config::ProviderKind::Gemini);
  EXPECT_EQ(path_of(p, Operation::Chat, "gemini-2.5-flash", false), "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(path_of(p, Operation::Chat, "models/gemini-2.5-flash", true),
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(path_of(p, Operation::Embeddings, "text-embedding-004", false),
            "/v1beta/models/text-embedding-004:batchEmbedContents");
  p.gemini.apiVersion = "v1";
  EXPECT_EQ(path_of(p, Operation::Chat, "g", false), "/v1/models/g:generateContent");
}

TEST(ProviderPath, GeminiModelActionsKeepTheClientsAction) {
  const auto action = [](const config::LlmProvider& p, std::string_view model, std::string_view what) {
    const auto path = traits(p.kind).path(p, PathRequest{Operation::ModelAction, model, false, {}, what});
    return path.base + path.suffix;
  };
  auto p = provider(config::ProviderKind::Gemini);
  EXPECT_EQ(action(p, "gemini-2.5-flash", "countTokens"), "/v1beta/models/gemini-2.5-flash:countTokens");
  // A stream without alt=sse stays a JSON-array stream.
  EXPECT_EQ(action(p, "models/g", "streamGenerateContent"), "/v1beta/models/g:streamGenerateContent");
  auto v = provider(config::ProviderKind::VertexAI);
  v.vertexai.projectId = "proj";
  v.vertexai.location = "us-central1";
  EXPECT_EQ(action(v, "gemini-2.5-pro", "embedContent"),
            "/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-pro:embedContent");
}

TEST(ProviderPath, VertexBothPublishers) {
  auto p = provider(config::ProviderKind::VertexAI);
  p.vertexai.projectId = "proj";
  p.vertexai.location = "us-central1";
  const std::string base = "/v1/projects/proj/locations/us-central1/publishers/";
  EXPECT_EQ(path_of(p, Operation::Chat, "gemini-2.5-pro", false),
            base + "google/models/gemini-2.5-pro:generateContent");
  EXPECT_EQ(path_of(p, Operation::Chat, "gemini-2.5-pro", true),
            base + "google/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  EXPECT_EQ(path_of(p, Operation::Embeddings, "text-embedding-005", false),
            base + "google/models/text-embedding-005:predict");
  p.vertexai.publisher = config::VertexPublisher::Anthropic;
  EXPECT_EQ(path_of(p, Operation::Chat, "claude-sonnet-4-5@20250929", false),
            base + "anthropic/models/claude-sonnet-4-5%4020250929:rawPredict");
  EXPECT_EQ(path_of(p, Operation::Chat, "claude", true), base + "anthropic/models/claude:streamRawPredict");
  EXPECT_EQ(traits(p.kind).default_host(p), "us-central1-aiplatform.googleapis.com");
  p.vertexai.location = "eu";
  EXPECT_EQ(traits(p.kind).default_host(p), "aiplatform.eu.rep.googleapis.com");
}

TEST(ProviderPath, TokenCountsGoToEachProvidersCountApi) {
  EXPECT_EQ(path_of(provider(config::ProviderKind::Anthropic), Operation::CountTokens, "claude", false),
            "/v1/messages/count_tokens");
  EXPECT_EQ(path_of(provider(config::ProviderKind::Gemini), Operation::CountTokens, "models/g", false),
            "/v1beta/models/g:countTokens");
  auto v = provider(config::ProviderKind::VertexAI);
  v.vertexai.projectId = "proj";
  v.vertexai.location = "us-east5";
  const std::string base = "/v1/projects/proj/locations/us-east5/publishers/";
  EXPECT_EQ(path_of(v, Operation::CountTokens, "gemini-2.5-pro", false),
            base + "google/models/gemini-2.5-pro:countTokens");
  v.vertexai.publisher = config::VertexPublisher::Anthropic;
  // One endpoint for every Claude model: the model is named in the body.
  EXPECT_EQ(path_of(v, Operation::CountTokens, "claude-sonnet-4-5@20250929", false),
            base + "anthropic/models/count-tokens:rawPredict");
  EXPECT_EQ(path_of(provider(config::ProviderKind::Bedrock), Operation::CountTokens,
                    "anthropic.claude-3-5-sonnet-20241022-v2:0", false),
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/count-tokens");
}

TEST(ProviderPath, AzureClassicAndV1Forms) {
  auto p = provider(config::ProviderKind::AzureOpenAI);
  p.azureopenai.deploymentName = "gpt-4o";
  p.azureopenai.apiVersion = "2024-10-21";
  EXPECT_EQ(path_of(p, Operation::Chat, "ignored", true),
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(path_of(p, Operation::Embeddings, "ignored", false),
            "/openai/deployments/gpt-4o/embeddings?api-version=2024-10-21");
  EXPECT_EQ(path_of(p, Operation::Other, "", false, "/audio/transcriptions"),
            "/openai/deployments/gpt-4o/audio/transcriptions?api-version=2024-10-21");
  EXPECT_EQ(path_of(p, Operation::Other, "", false, "/files"), "/openai/files?api-version=2024-10-21");
  p.azureopenai.apiVersion = "v1";
  EXPECT_EQ(path_of(p, Operation::Chat, "gpt-4o", false), "/openai/v1/chat/completions");
}

TEST(ProviderPath, BedrockEscapesTheModelIdOnce) {
  const auto p = provider(config::ProviderKind::Bedrock);
  EXPECT_EQ(path_of(p, Operation::Chat, "anthropic.claude-3-5-sonnet-20241022-v2:0", false),
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse");
  EXPECT_EQ(path_of(p, Operation::Chat, "arn:aws:bedrock:us-east-1:123:inference-profile/us.x", true),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x/converse-stream");
  EXPECT_EQ(path_of(p, Operation::Embeddings, "amazon.titan-embed-text-v2:0", false),
            "/model/amazon.titan-embed-text-v2%3A0/invoke");
}

TEST(EscapePathSegment, KeepsUnreservedOnly) {
  EXPECT_EQ(escape_path_segment("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(escape_path_segment("a/b:c d%"), "a%2Fb%3Ac%20d%25");
}

// ------------------------------------------------------------------ decoding ai.llm.<provider>

struct Decoded {
  config::LlmProvider provider;
  std::vector<std::string> problems;  // "field: message", in order
};

// Decodes `yaml` as ai.llm.<provider> the way the loader does: model (and authToken, when
// `with_token`) are common fields read first, then the provider's own decode hook, then the map
// reports any unknown field.
Decoded decode_fields(config::ProviderKind kind, const std::string& yaml, bool with_token = true) {
  Decoded out;
  out.provider.kind = kind;
  config::Diagnostics diagnostics;
  const config::DecodeContext ctx{diagnostics, "t.yaml", "Backend/b"};
  {
    config::YamlMap fields(YAML::Load(yaml), "spec.ai.llm." + std::string(traits(kind).name), ctx);
    fields.ignore("authToken");
    if (with_token) out.provider.authToken.kind = config::AuthKind::Inline;
    out.provider.model = fields.str("model");
    traits(kind).decode(fields, out.provider);
  }
  for (const auto& d : diagnostics.items()) {
    EXPECT_EQ(d.resource, "Backend/b");
    EXPECT_EQ(d.file, "t.yaml");
    out.problems.push_back(d.field + ": " + d.message);
  }
  return out;
}

TEST(ProviderTraits, EveryProviderIsListedOnceUnderItsConfigKey) {
  const auto all = all_providers();
  ASSERT_EQ(all.size(), 7u);
  for (const auto* provider : all) {
    EXPECT_EQ(&traits(provider->kind), provider) << provider->name;
    EXPECT_EQ(provider->name, config::provider_key(provider->kind));
    EXPECT_NE(provider->decode, nullptr) << provider->name;
  }
  EXPECT_FALSE(traits(config::ProviderKind::Ollama).requires_auth_token);
  EXPECT_FALSE(traits(config::ProviderKind::Bedrock).requires_auth_token) << "SigV4 credentials instead";
  EXPECT_TRUE(traits(config::ProviderKind::OpenAI).requires_auth_token);
}

TEST(ProviderDecode, OpenAiAndOllamaHaveNoFieldsOfTheirOwn) {
  for (auto kind : {config::ProviderKind::OpenAI, config::ProviderKind::Ollama}) {
    const auto r = decode_fields(kind, "{model: gpt, apiVersion: v1}");
    const auto name = std::string(traits(kind).name);
    EXPECT_THAT(r.problems, ::testing::ElementsAre("spec.ai.llm." + name + ".apiVersion: unknown field"));
  }
}

TEST(ProviderDecode, AnthropicVersionAndDefaultMaxTokens) {
  auto r = decode_fields(config::ProviderKind::Anthropic, "{apiVersion: '2023-01-01', defaultMaxTokens: 2048}");
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.provider.anthropic.apiVersion, "2023-01-01");
  EXPECT_EQ(r.provider.anthropic.defaultMaxTokens, 2048u);
  r = decode_fields(config::ProviderKind::Anthropic, "{defaultMaxTokens: 0}");
  EXPECT_THAT(r.problems, ::testing::ElementsAre(::testing::StartsWith(
                              "spec.ai.llm.anthropic.defaultMaxTokens: must be between 1 and 10000000")));
}

TEST(ProviderDecode, GeminiChecksWhatGoesIntoTheUrl) {
  auto r = decode_fields(config::ProviderKind::Gemini, "{model: models/gemini-2.5-flash, apiVersion: v1}");
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.provider.gemini.apiVersion, "v1");
  r = decode_fields(config::ProviderKind::Gemini, "{model: models/.., apiVersion: 'v1/../x'}");
  EXPECT_THAT(r.problems,
              ::testing::ElementsAre("spec.ai.llm.gemini.model: \"models/..\" is a dot segment; gemini puts the "
                                     "model in the URL path, where it would name another path",
                                     "spec.ai.llm.gemini.apiVersion: \"v1/../x\" goes into the upstream URL; it may "
                                     "only contain letters, digits, '-', '_' and '.'"));
}

TEST(ProviderDecode, VertexAiNeedsProjectAndLocationOfSafeCharacters) {
  auto r = decode_fields(config::ProviderKind::VertexAI,
                         "{projectId: my-project, location: us-east5, publisher: ANTHROPIC, anthropicVersion: v, "
                         "defaultMaxTokens: 100}");
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.provider.vertexai.projectId, "my-project");
  EXPECT_EQ(r.provider.vertexai.location, "us-east5");
  EXPECT_EQ(r.provider.vertexai.publisher, config::VertexPublisher::Anthropic);
  EXPECT_EQ(r.provider.vertexai.anthropicVersion, "v");
  EXPECT_EQ(r.provider.vertexai.defaultMaxTokens, 100u);
  r = decode_fields(config::ProviderKind::VertexAI, "{projectId: 'a/b', location: us, model: '.'}");
  EXPECT_THAT(r.problems,
              ::testing::ElementsAre(
                  "spec.ai.llm.vertexai.projectId: \"a/b\" may only contain letters, digits, '-' and '_'",
                  "spec.ai.llm.vertexai.model: \".\" is a dot segment; vertexai puts the model in the URL path, "
                  "where it would name another path"));
  r = decode_fields(config::ProviderKind::VertexAI, "{}");
  EXPECT_THAT(r.problems, ::testing::ElementsAre("spec.ai.llm.vertexai.projectId: is required",
                                                 "spec.ai.llm.vertexai.location: is required"));
}

TEST(ProviderDecode, AzureEndpointIsAHostAndTheDeploymentAPathSegment) {
  auto r =
      decode_fields(config::ProviderKind::AzureOpenAI,
                    "{endpoint: 'https://res.openai.azure.com/', deploymentName: gpt-4o, apiVersion: '2024-10-21'}");
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.provider.azureopenai.endpoint, "res.openai.azure.com");
  EXPECT_EQ(r.provider.azureopenai.deploymentName, "gpt-4o");
  r = decode_fields(config::ProviderKind::AzureOpenAI, "{endpoint: 'https://res/x', deploymentName: '..'}");
  EXPECT_THAT(r.problems, ::testing::ElementsAre("spec.ai.llm.azureopenai.endpoint: expected a host name like "
                                                 "my-resource.openai.azure.com, found \"https://res/x\"",
                                                 "spec.ai.llm.azureopenai.deploymentName: \"..\" is a dot segment, "
                                                 "which would name another URL path"));
  r = decode_fields(config::ProviderKind::AzureOpenAI, "{endpoint: res.openai.azure.com, apiVersion: v1}");
  EXPECT_TRUE(r.problems.empty()) << "the v1 form needs no deployment";
}

TEST(ProviderDecode, BedrockNeedsARegionAndCredentialsOrAnApiKey) {
  auto r = decode_fields(config::ProviderKind::Bedrock, "{region: us-east-1, credentials: {secretRef: {name: aws}}}",
                         /*with_token=*/false);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.provider.bedrock.region, "us-east-1");
  EXPECT_EQ(r.provider.bedrock.credentialsSecret, "aws");
  r = decode_fields(config::ProviderKind::Bedrock, "{region: us-east-1}", /*with_token=*/true);
  EXPECT_TRUE(r.problems.empty()) << "a Bedrock API key replaces the credentials";
  r = decode_fields(config::ProviderKind::Bedrock, "{model: '..'}", /*with_token=*/false);
  EXPECT_THAT(r.problems,
              ::testing::ElementsAre("spec.ai.llm.bedrock.region: is required",
                                     ::testing::StartsWith("spec.ai.llm.bedrock.credentials: is required"),
                                     "spec.ai.llm.bedrock.model: \"..\" is a dot segment; bedrock puts the model in "
                                     "the URL path, where it would name another path"));
}

}  // namespace
}  // namespace sluice::provider
