// OpenAI client <-> Google Gemini (AI Studio generativelanguage API, and Vertex AI publisher
// google: same generateContent body and response). Chat: an OpenAI chat completion request becomes
// a generateContent / streamGenerateContent?alt=sse body (the model goes in the URL, which the
// exchange builds, never in the body); the Gemini response, SSE stream and error body come back in
// OpenAI's schema. Embeddings: OpenAI /v1/embeddings <-> AI Studio :batchEmbedContents or Vertex
// :predict.
// Promises: one translator object per request (it keeps the tool-call and stream state), not
// thread-safe, never throws (every problem is an http::ApiError).
#pragma once

#include <memory>
#include <string_view>

#include "http/api_error.hpp"
#include "translate/decode_gemini.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// Chat completions -> :generateContent / :streamGenerateContent?alt=sse.
std::unique_ptr<Translator> make_openai_to_gemini(RequestContext context);

// Embeddings -> AI Studio :batchEmbedContents
// ({"requests":[{"model":"models/<m>","content":{"parts":[{"text"}]},"outputDimensionality"?}]}).
std::unique_ptr<Translator> make_openai_embeddings_to_gemini(RequestContext context);

// Embeddings -> Vertex AI :predict
// ({"instances":[{"content"}],"parameters"?:{"outputDimensionality"}}).
std::unique_ptr<Translator> make_openai_embeddings_to_vertex(RequestContext context);

}  // namespace sluice::translate
