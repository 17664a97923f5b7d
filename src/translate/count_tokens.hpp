// count_tokens: serves a client's token count (Anthropic POST …/v1/messages/count_tokens, Gemini
// POST …/models/{model}:countTokens) from a provider that counts in another API. It writes no
// message conversion of its own: the client's request goes through the chat chain the exchange
// would use for a message request (the client schema into the OpenAI chat pivot, the pivot into
// the provider's chat body: anthropic_client / gemini_client around openai_gemini,
// openai_anthropic or openai_bedrock), and the provider's chat body is reshaped into its count
// request:
//   Gemini (AI Studio)  :countTokens {"generateContentRequest":{"model":"models/<m>","contents",
//                       "systemInstruction","tools","toolConfig"}} (system instructions and
//                       tools are counted only inside generateContentRequest)
//   Vertex AI, Google   :countTokens {"contents","systemInstruction","tools"}
//   Anthropic           /v1/messages/count_tokens {"model","messages","system","tools",
//                       "tool_choice","thinking"} (what count_tokens accepts of a Messages body)
//   Vertex AI, Claude   count-tokens:rawPredict: the same with "anthropic_version" and, unlike
//                       rawPredict, "model" in the body; an Anthropic client's body goes as it
//                       is (only model and anthropic_version set), no pivot
//   Bedrock (Claude)    /model/{id}/count-tokens {"input":{"converse":{"messages","system",
//                       "toolConfig","additionalModelRequestFields"}}}
// Generation settings (max tokens, sampling, stop sequences) are dropped: they do not change
// the input count. The provider's count ({"totalTokens"} / {"input_tokens"} / {"inputTokens"})
// comes back as the client's: {"input_tokens": N} for Anthropic, {"totalTokens": N} for Gemini.
// A Gemini client's body may be {"contents", "systemInstruction", "tools", ...} (Vertex's form)
// or {"generateContentRequest": {...}} (AI Studio's); the inner request is read in the second.
// An Anthropic client's count_tokens body has no max_tokens: the pivot is given one, dropped again.
// Errors: a request the chain cannot carry is its 400 (named in the client's fields); a
// provider's error is the chain's translate_error (the client renders it in its own shape).
//
// Promises: one object per request, not thread-safe, never throws. Counting never streams:
// stream_feed answers an error event in the client's schema.
#pragma once

#include <memory>
#include <string_view>

#include "translate/translator.hpp"

namespace sluice::translate {

// The API the client counts in.
enum class CountClient { Anthropic, Gemini };

// The count API of the provider.
enum class CountProvider { Gemini, VertexGemini, Anthropic, VertexAnthropic, Bedrock };

// `chat`: the client-schema chat translator for this provider (make_anthropic_client or
// make_gemini_client around the provider's OpenAI translator), built with the same `context`.
std::unique_ptr<Translator> make_count_tokens(CountClient client, CountProvider provider, RequestContext context,
                                              std::unique_ptr<Translator> chat);

// Whether the provider counts tokens for `model`: Bedrock's CountTokens serves Claude models only
// (a model id or ARN naming "anthropic.claude"); the other count APIs serve every model.
bool counts_tokens_for(CountProvider provider, std::string_view model);

}  // namespace sluice::translate
