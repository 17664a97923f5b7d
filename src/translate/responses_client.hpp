// responses_client: serves an OpenAI Responses API client (POST /v1/responses: the openai SDKs'
// responses.create, the OpenAI Agents SDK, the Vercel AI SDK's default OpenAI model,
// LangChain's useResponsesApi) from a backend that does not speak the Responses API (Anthropic,
// Gemini, Vertex AI, Bedrock). A ChainedClient (chained_client.hpp): the Responses request
// becomes an OpenAI chat request, replies are encoded by encode_openai_responses.
//
// Request decisions (docs/providers.md, "Responses API on other providers"):
//   - instructions -> the first system message; input: a string -> one user message; items:
//     `message` (type optional; roles user, system, developer -> system, assistant; content a
//     string or input_text / output_text / refusal / input_image parts), `function_call`
//     (merged into the assistant message just before it, else a new one), `function_call_output`
//     (a `tool` message; output a string or input_text parts), `reasoning` (its
//     encrypted_content, when Sluice sealed it (reasoning_item.hpp), goes with the next
//     assistant turn: a thinking block -> the message's thinking_blocks, a Gemini thought
//     signature -> extra_content of the call with its call_id; foreign or absent content: the
//     item is dropped, the provider reasons afresh; Sluice's prefix with altered content: 400
//     naming input[i].encrypted_content; the summary is never read);
//   - function tools -> chat function tools; tool_choice auto / none / required / {type
//     function, name}; text.format json_object / json_schema -> response_format;
//     max_output_tokens -> max_completion_tokens; reasoning.effort -> reasoning_effort;
//     temperature, top_p, parallel_tool_calls, user carried; metadata echoed in the response
//     (not sent to the provider); stream -> stream with usage;
//   - refused with a 400 naming the field: built-in tools (web_search, file_search,
//     code_interpreter, computer use, image_generation, mcp, local_shell ...) and tool_choice
//     naming one; previous_response_id, conversation and store true (they reach a translator
//     only without a response store: policy/response_store.hpp takes them out, and then says
//     in RequestContext that the answer is kept, which the response echoes); background true; prompt templates;
//     item_reference and built-in tool call items; input_file and input_audio parts; image parts in a
//     function_call_output.
//   - an inner translator's 400 names the Responses field (max_completion_tokens ->
//     max_output_tokens, response_format -> text.format, messages... -> input, reasoning_effort
//     -> reasoning.effort).
#pragma once

#include <memory>

#include "translate/translator.hpp"

namespace sluice::translate {

// `inner` (may be null) converts the OpenAI Chat Completions exchange to the provider's format.
std::unique_ptr<Translator> make_responses_client(RequestContext context, std::unique_ptr<Translator> inner);

}  // namespace sluice::translate
