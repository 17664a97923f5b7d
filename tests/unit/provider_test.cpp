#include "provider/provider.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::provider {
namespace {

std::string path_of(const config::LlmProvider& p, Operation op, std::string_view model, bool stream,
                    std::string_view client_suffix = {}) {
  const auto path = traits(p.kind).path(p, PathRequest{op, model, stream, client_suffix});
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

}  // namespace
}  // namespace sluice::provider
