// gemini_embed_client: serves a Google Gemini embeddings client (@google/genai's
// models.embedContent, google-genai, the REST API: POST …/models/{model}:embedContent and
// :batchEmbedContents) from a backend that does not speak Gemini: OpenAI-format providers
// (OpenAI, Azure OpenAI, Ollama, OpenAI-compatible: their /embeddings) and Bedrock embedding
// models (Amazon Titan, one call per text, and Cohere). The request goes through the OpenAI
// embeddings form (the pivot), handed to an inner translator (OpenAI -> Bedrock) or sent as is.
//
// What is carried: the text parts of each content (several parts of one content are joined
// with "\n" into one input), outputDimensionality as `dimensions`, taskType as the pivot's
// x_sluice_task_type (Cohere's input_type on Bedrock; TASK_TYPE_UNSPECIFIED is no task type).
// What is refused with a 400 naming the field: non-text parts, an empty content, `title`,
// a taskType where the provider has none (every OpenAI-format provider, Titan, and Cohere for
// the types it lacks), any other member, and a batch whose requests name different models or
// ask for different task types or dimensions (one upstream request carries one of each).
// Replies: {"embedding":{"values":[…]}} for embedContent, {"embeddings":[{"values":[…]},…]}
// for batchEmbedContents, in request order. Errors keep the provider's status and message; the
// exchange renders them in Google's shape.
// Promises: the codec functions are pure and thread-safe; a translator serves one request, is
// not thread-safe and never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// The most contents one request may embed (OpenAI's limit for one embeddings request).
inline constexpr std::size_t kMaxGeminiEmbedContents = 2048;

// A Gemini embeddings request as the OpenAI embeddings pivot.
struct GeminiEmbedPivot {
  boost::json::object openai;    // {"model","input","encoding_format":"float","dimensions"?,"x_sluice_task_type"?}
  std::size_t inputs = 0;        // the embeddings the reply must hold
  std::string task_type_field;   // where the client set its taskType ("taskType", "requests[0].taskType"); empty: none
  std::string dimensions_field;  // likewise for outputDimensionality
};

// `body` of :embedContent (`batch` false) or :batchEmbedContents (`batch` true) for `model`
// becomes the pivot. A 400's message starts with its param ("requests[2].content.parts[0]: …").
std::optional<http::ApiError> gemini_embed_to_openai(const boost::json::object& body, bool batch,
                                                     std::string_view model, GeminiEmbedPivot& pivot);

// An OpenAI embeddings reply holding `inputs` embeddings becomes the Gemini reply; its usage
// (prompt tokens) is read into `usage`. A reply that is not that is a 502.
std::optional<http::ApiError> openai_embeddings_to_gemini(std::string_view openai_reply, bool batch, std::size_t inputs,
                                                          std::string& gemini_reply, Usage& usage);

// context.gemini_action says which call the client made. `inner` (may be null: an OpenAI-format
// provider) converts the OpenAI embeddings exchange to the provider's format.
std::unique_ptr<Translator> make_gemini_embed_client(RequestContext context, std::unique_ptr<Translator> inner);

}  // namespace sluice::translate
