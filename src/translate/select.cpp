#include "translate/select.hpp"

#include "translate/anthropic_client.hpp"
#include "translate/count_tokens.hpp"
#include "translate/gemini_client.hpp"
#include "translate/gemini_embed_client.hpp"
#include "translate/openai_anthropic.hpp"
#include "translate/openai_bedrock.hpp"
#include "translate/openai_gemini.hpp"
#include "translate/responses_client.hpp"

namespace sluice::translate {

using provider::WireFormat;

namespace {

// OpenAI chat -> the provider's chat format; null for OpenAI-format providers.
std::unique_ptr<Translator> chat_translator(WireFormat format, const RequestContext& context) {
  switch (format) {
    case WireFormat::OpenAI:
      return nullptr;
    case WireFormat::Anthropic:
    case WireFormat::VertexAnthropic:
      return make_openai_to_anthropic(context);
    case WireFormat::Gemini:
    case WireFormat::VertexGemini:
      return make_openai_to_gemini(context);
    case WireFormat::Bedrock:
      return make_openai_to_bedrock(context);
  }
  return nullptr;
}

// The count API of a provider of `format`; none for OpenAI-format providers.
std::optional<CountProvider> count_provider(WireFormat format) {
  switch (format) {
    case WireFormat::OpenAI:
      return std::nullopt;
    case WireFormat::Anthropic:
      return CountProvider::Anthropic;
    case WireFormat::VertexAnthropic:
      return CountProvider::VertexAnthropic;
    case WireFormat::Gemini:
      return CountProvider::Gemini;
    case WireFormat::VertexGemini:
      return CountProvider::VertexGemini;
    case WireFormat::Bedrock:
      return CountProvider::Bedrock;
  }
  return std::nullopt;
}

bool counts(ClientApi api) {
  return api == ClientApi::AnthropicCountTokens || api == ClientApi::GeminiCountTokens;
}

}  // namespace

static bool gemini_format(WireFormat format) {
  return format == WireFormat::Gemini || format == WireFormat::VertexGemini;
}

bool can_serve(ClientApi api, WireFormat format) {
  if (counts(api)) return count_provider(format).has_value();
  return (api != ClientApi::OpenAIEmbeddings && api != ClientApi::GeminiEmbed) ||
         (format != WireFormat::Anthropic && format != WireFormat::VertexAnthropic);
}

bool can_count(ClientApi api, WireFormat format, std::string_view model) {
  if (!counts(api)) return true;
  const auto provider = count_provider(format);
  return provider && counts_tokens_for(*provider, model);
}

bool needs_translation(ClientApi api, WireFormat format) {
  switch (api) {
    case ClientApi::OpenAIChat:
    case ClientApi::OpenAIEmbeddings:
    case ClientApi::OpenAIResponses:
      return format != WireFormat::OpenAI;
    case ClientApi::AnthropicMessages:
    case ClientApi::AnthropicCountTokens:
      return format != WireFormat::Anthropic;
    case ClientApi::GeminiGenerate:
    case ClientApi::GeminiCountTokens:
    case ClientApi::GeminiEmbed:
      return !gemini_format(format);
  }
  return false;
}

Selection select_translator(ClientApi api, WireFormat format, const RequestContext& context) {
  Selection out;
  switch (api) {
    case ClientApi::OpenAIChat:
      out.translator = chat_translator(format, context);
      break;
    case ClientApi::OpenAIEmbeddings:
      switch (format) {
        case WireFormat::OpenAI:
          break;
        case WireFormat::Gemini:
          out.translator = make_openai_embeddings_to_gemini(context);
          break;
        case WireFormat::VertexGemini:
          out.translator = make_openai_embeddings_to_vertex(context);
          break;
        case WireFormat::Bedrock:
          out.translator = make_openai_embeddings_to_bedrock(context);
          break;
        case WireFormat::Anthropic:
        case WireFormat::VertexAnthropic:
          out.error = http::ApiError{400, "invalid_request_error", "unsupported_api",
                                     "embeddings are not available from Anthropic models; route embeddings to an "
                                     "OpenAI, Gemini, Vertex AI or Bedrock backend",
                                     std::string("model")};
          break;
      }
      break;
    case ClientApi::AnthropicMessages:
      if (format == WireFormat::Anthropic) break;  // native
      out.translator = make_anthropic_client(context, chat_translator(format, context));
      break;
    case ClientApi::OpenAIResponses:
      if (format == WireFormat::OpenAI) break;  // native
      out.translator = make_responses_client(context, chat_translator(format, context));
      break;
    case ClientApi::AnthropicCountTokens:
    case ClientApi::GeminiCountTokens: {
      const bool anthropic = api == ClientApi::AnthropicCountTokens;
      if (anthropic ? format == WireFormat::Anthropic : gemini_format(format)) break;  // native
      const auto provider = count_provider(format);
      if (!provider) {
        out.error = http::ApiError{400,
                                   "invalid_request_error",
                                   "unsupported_api",
                                   "OpenAI-format backends have no token count API; count on an Anthropic, Gemini, "
                                   "Vertex AI or Bedrock (Claude) backend",
                                   {}};
        break;
      }
      auto chat = anthropic ? make_anthropic_client(context, chat_translator(format, context))
                            : make_gemini_client(context, chat_translator(format, context));
      out.translator = make_count_tokens(anthropic ? CountClient::Anthropic : CountClient::Gemini, *provider, context,
                                         std::move(chat));
      break;
    }
    case ClientApi::GeminiGenerate:
      if (gemini_format(format)) break;  // native
      out.translator = make_gemini_client(context, chat_translator(format, context));
      break;
    case ClientApi::GeminiEmbed:
      switch (format) {
        case WireFormat::Gemini:
        case WireFormat::VertexGemini:
          break;  // native
        case WireFormat::OpenAI:
          out.translator = make_gemini_embed_client(context, nullptr);
          break;
        case WireFormat::Bedrock:
          out.translator = make_gemini_embed_client(context, make_openai_embeddings_to_bedrock(context));
          break;
        case WireFormat::Anthropic:
        case WireFormat::VertexAnthropic:
          out.error = http::ApiError{400, "invalid_request_error", "unsupported_api",
                                     "embeddings are not available from Anthropic models; route embedContent to a "
                                     "Gemini, Vertex AI, OpenAI-format or Bedrock backend",
                                     std::string("model")};
          break;
      }
      break;
  }
  return out;
}

}  // namespace sluice::translate
