// Which translation an exchange needs: the client's API (OpenAI chat / embeddings / Responses,
// Anthropic Messages) against the provider's wire format. Native pairs need none; an impossible
// pair (embeddings on Anthropic; a token count on an OpenAI-format provider) is a clear 400.
// Token counts on a provider with another count API go through count_tokens (Anthropic
// count_tokens <-> Gemini countTokens, Vertex AI count-tokens:rawPredict, Bedrock CountTokens).
// Gemini embedContent clients on OpenAI-format and Bedrock providers go through the OpenAI
// embeddings form (gemini_embed_client). Anthropic Messages, Responses API and Gemini
// generateContent clients on providers that do not speak their API go through the OpenAI chat
// form: anthropic_client, responses_client and gemini_client wrap the OpenAI -> provider
// translator. Pure function; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "http/api_error.hpp"
#include "provider/provider.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

enum class ClientApi {
  OpenAIChat,
  OpenAIEmbeddings,
  AnthropicMessages,
  AnthropicCountTokens,  // /v1/messages/count_tokens: every provider with a count API
  OpenAIResponses,
  GeminiGenerate,     // generateContent / streamGenerateContent
  GeminiEmbed,        // embedContent, batchEmbedContents: every provider but Anthropic ones
  GeminiCountTokens,  // countTokens: every provider with a count API
};

struct Selection {
  std::unique_ptr<Translator> translator;  // null: the provider speaks the client's API natively
  std::optional<http::ApiError> error;     // the pair cannot be served
};

Selection select_translator(ClientApi api, provider::WireFormat format, const RequestContext& context);

// Whether a provider of `format` can serve `api` at all (embeddings on Anthropic cannot): the
// exchange skips providers that cannot, instead of failing the request on them.
bool can_serve(ClientApi api, provider::WireFormat format);

// Whether a provider of `format` that can serve the token count `api` counts for `model`
// (Bedrock's CountTokens: Claude models only); true for every other API.
bool can_count(ClientApi api, provider::WireFormat format, std::string_view model);

// Whether select_translator would return a translator (or an error) for this pair: known before
// the body is read, so a body to translate is parsed into a document once.
bool needs_translation(ClientApi api, provider::WireFormat format);

}  // namespace sluice::translate
