// Provider traits: what Sluice knows about each LLM provider's wire endpoint — default host and
// port, how the credential is sent, which wire format its chat and embeddings APIs speak, and
// the native path of each operation (Gemini puts the model and the action in the path, Bedrock
// the escaped model id, Azure the deployment and api-version). One provider per .cpp file;
// provider-specific fields stay with their provider: their values in config::LlmProvider's
// per-provider structs, their decoding from ai.llm.<provider> in the provider's `decode`
// (helpers in provider/fields.hpp). Constant data and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/resources.hpp"

namespace sluice::config {
class YamlMap;
}

namespace sluice::provider {

// The wire format a provider's chat and embeddings endpoints speak.
enum class WireFormat {
  OpenAI,           // OpenAI, Azure OpenAI, Ollama and every OpenAI-compatible service
  Anthropic,        // Anthropic Messages
  Gemini,           // Gemini generateContent (AI Studio) / batchEmbedContents
  VertexGemini,     // Gemini generateContent on Vertex AI / :predict for embeddings
  VertexAnthropic,  // Anthropic Messages on Vertex AI (rawPredict, no model in the body)
  Bedrock,          // Bedrock Converse / InvokeModel, SigV4-signed
};

// What the exchange asks the upstream to do.
enum class Operation {
  Chat,  // chat completions (or Anthropic Messages for Anthropic-format providers)
  Embeddings,
  Responses,    // the OpenAI Responses API (OpenAI-format providers)
  ModelAction,  // a Gemini model action (PathRequest::action: embedContent, a
                // streamGenerateContent without alt=sse) on a Gemini-format provider
  CountTokens,  // the provider's token count for a request: Anthropic /v1/messages/count_tokens,
                // Gemini :countTokens, Vertex AI Claude count-tokens:rawPredict, Bedrock
                // /model/{id}/count-tokens (OpenAI-format providers have none: the client's suffix)
  Other,        // passthrough: the client's API suffix, unchanged
};

struct PathRequest {
  Operation operation = Operation::Other;
  std::string_view model;  // effective model (may be empty for Other)
  bool stream = false;
  std::string_view client_suffix;  // the client's API suffix ("/audio/speech"), for Other
  std::string_view action;         // for ModelAction
};

// The upstream path as base + suffix; the Backend's path.prefix replaces `base`.
struct NativePath {
  std::string base;
  std::string suffix;  // may carry a query ("?alt=sse", "?api-version=...")
};

struct ProviderTraits {
  std::string_view name;  // the config key: "openai", "anthropic", ...
  config::ProviderKind kind;
  bool requires_auth_token;  // false: the provider works without one (Ollama, Bedrock with SigV4)
  // Decodes the provider's own fields of ai.llm.<name> into `p` (the loader reads the common
  // authToken and model first) and checks the values that go into the upstream URL; problems
  // become diagnostics through the map's context.
  void (*decode)(config::YamlMap& fields, config::LlmProvider& p);
  std::uint16_t default_port;
  std::string_view auth_header;  // default header carrying the key
  std::string_view auth_prefix;  // default prefix before the key
  WireFormat (*format)(const config::LlmProvider&);
  std::string (*default_host)(const config::LlmProvider&);
  NativePath (*path)(const config::LlmProvider&, const PathRequest&);
  // A query parameter of the provider's URL the client may choose (Azure: api-version, which
  // the AzureOpenAI SDKs send): the client's value replaces the configured one. Empty: none.
  std::string_view client_query_param = {};
};

extern const ProviderTraits kOpenAI;
extern const ProviderTraits kOllama;
extern const ProviderTraits kAnthropic;
extern const ProviderTraits kGemini;
extern const ProviderTraits kVertexAI;
extern const ProviderTraits kAzureOpenAI;
extern const ProviderTraits kBedrock;

const ProviderTraits& traits(config::ProviderKind kind);

// Every provider, in the order the loader looks for their keys under ai.llm.
std::span<const ProviderTraits* const> all_providers();

// The OpenAI-style path for an operation: base + "/chat/completions" | "/embeddings" | the
// client's suffix. Shared by the OpenAI-format providers.
NativePath openai_style_path(std::string base, const PathRequest& request);

// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (model ids in paths: ':' and '/').
std::string escape_path_segment(std::string_view segment);

}  // namespace sluice::provider
