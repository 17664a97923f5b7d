// OpenAI client -> AWS Bedrock. Chat Completions become Converse / ConverseStream bodies (the
// model id travels in the URL, /model/{id}/converse[-stream], never in the body) and Bedrock's
// replies (JSON, or the binary application/vnd.amazon.eventstream for streams) become OpenAI
// chat.completion / chat.completion.chunk SSE. Embeddings become InvokeModel bodies for Amazon
// Titan ({"inputText"}) and Cohere ({"texts"}) embedding models and come back as an OpenAI
// embeddings list. SigV4 signing is not done here (the exchange signs the body produced).
// Each translator serves one request (per-request state), is not thread-safe and never throws:
// every problem is an http::ApiError.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "http/api_error.hpp"
#include "translate/decode_bedrock.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// Body for POST /model/{id}/converse (context.stream false) or /converse-stream (true).
std::unique_ptr<Translator> make_openai_to_bedrock(RequestContext context);

// Body for POST /model/{id}/invoke. The model family comes from context.model: "titan-embed"
// (one input per call: a list of N inputs, at most 2048, is N calls, see
// Translator::upstream_calls) or "cohere.embed" (the list in one call); any other model is a
// 400 naming it. The pivot's x_sluice_task_type (a Gemini client's taskType) becomes Cohere's
// input_type where it has one; Titan has none (400).
std::unique_ptr<Translator> make_openai_embeddings_to_bedrock(RequestContext context);

}  // namespace sluice::translate
