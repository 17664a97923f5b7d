// gemini_client: serves a Google Gemini client (@google/genai, google-genai, the REST API:
// POST …/models/{model}:generateContent and :streamGenerateContent, `alt=sse` or the JSON-array
// stream) from a backend that does not speak Gemini (OpenAI-format, Anthropic, Vertex AI Claude,
// Bedrock). A ChainedClient (chained_client.hpp): the request decoder is gemini_client_request,
// the encoders encode_gemini (SSE or JSON-array framing, RequestContext::json_array_stream).
// Thought parts are returned only when the request set
// generationConfig.thinkingConfig.includeThoughts, as Gemini does. An inner translator's 400
// names the Gemini field (max_completion_tokens -> generationConfig.maxOutputTokens,
// response_format -> generationConfig.responseJsonSchema, messages -> contents, ...).
// Promises: one object per request, not thread-safe, never throws.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "translate/common.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// `inner` (may be null) converts the OpenAI Chat Completions exchange to the provider's format.
std::unique_ptr<Translator> make_gemini_client(RequestContext context, std::unique_ptr<Translator> inner);

// countTokens answered without a provider (no Gemini-format provider serves the route): one
// token per 4 bytes of text (rounded up) in contents, systemInstruction and the tools'
// declarations (serialized), of the body itself or of its generateContentRequest. The body is
// {"totalTokens": N}; the exchange marks the answer `x-sluice-token-count: estimate`. A body
// that is not a JSON object, or has neither contents nor generateContentRequest, is a 400.
TokenEstimate estimate_gemini_count_tokens(std::string_view body);

}  // namespace sluice::translate
