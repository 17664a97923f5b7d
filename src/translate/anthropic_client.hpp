// anthropic_client: serves an Anthropic Messages API client (POST /v1/messages: the
// @anthropic-ai/sdk, Claude Code) from a backend that is not Anthropic. It is an adapter in
// front of an OpenAI Chat Completions chain: the Anthropic request becomes an OpenAI request,
// which is either handed to an inner Translator (OpenAI -> Gemini / Bedrock / ...) or, when
// there is no inner translator, sent as is (OpenAI-compatible backends: OpenAI, Azure, Ollama,
// vLLM ...). Replies are encoded by the Anthropic Messages encoder (encode_anthropic_messages)
// from canonical events: decoded straight from the provider's format when the inner translator
// offers its decoder (ProviderCodec: Anthropic on Vertex, Gemini, Bedrock), else decoded from
// OpenAI (spoken by the upstream itself, or produced by an inner translator without a codec).
// Errors of non-2xx replies go through the inner translator.
//
// Promises: one object per request (it keeps the stream state), not thread-safe, never throws.
// Decisions beyond the common brief (docs/providers.md):
//   - system: string or text blocks -> ONE system message, blocks joined with "\n".
//   - tool_result blocks -> `tool` messages placed before the rest of that user turn; text
//     content joined with "\n"; is_error true -> content prefixed "Error: "; images inside a
//     tool_result move to the user message that follows the tool messages (OpenAI tool
//     messages carry text only).
//   - assistant text blocks are concatenated (no separator); thinking / redacted_thinking blocks
//     -> the message's thinking_blocks (pivot extension, common.hpp), which Anthropic-format
//     providers replay when signed and the others drop; in user turns they are dropped.
//   - thinking {enabled, budget_tokens} -> reasoning_effort (<= 2048 low, <= 8192 medium, else
//     high) and x_sluice_thinking_budget (the exact budget); disabled -> "none"; adaptive ->
//     output_config.effort (low / medium / high; max -> xhigh; default high).
//     output_config.format (or the older output_format) {type json_schema, schema} ->
//     response_format json_schema named "response"; another type -> 400.
//   - top_k, service_tier, cache_control, output_config.effort without adaptive thinking and
//     other Anthropic-only fields are dropped (OpenAI has no equivalent); document and
//     server-tool blocks are a 400 naming the field. A provider translator's 400 names the
//     Anthropic field (reasoning_effort -> thinking, response_format -> output_config.format).
//   - Responses: thinking blocks carry the provider's signature when it gave one (Anthropic on
//     Vertex, Claude on Bedrock), else an empty one (see encode_anthropic_messages.hpp).
//   - Streams: a tool-call fragment for an OpenAI tool index whose block was already closed
//     (interleaved parallel calls) is ignored; `data: [DONE]` ends the stream cleanly even
//     without a finish_reason; a stream ending with neither -> error event "stream ended early".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "translate/common.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// `inner` (may be null) converts the OpenAI Chat Completions exchange to the provider's format.
std::unique_ptr<Translator> make_anthropic_client(RequestContext context, std::unique_ptr<Translator> inner);

// /v1/messages/count_tokens answered without a provider (no Anthropic provider serves the
// route): one token per 4 bytes (rounded up) of the system prompt, the messages' text, tool
// calls and results, and the tools serialized. The body is {"input_tokens": N}; the exchange
// marks the answer `x-sluice-token-count: estimate`. A body that is not a JSON object or has no
// messages list is a 400.
TokenEstimate estimate_anthropic_count_tokens(std::string_view body);

}  // namespace sluice::translate
