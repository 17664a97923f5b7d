// gemini_client request half: a Google Gemini generateContent request body (@google/genai,
// google-genai, the REST API: POST .../models/{model}:generateContent and
// :streamGenerateContent) -> the pivot form, an OpenAI Chat Completions request, which any
// provider translator reads (or an OpenAI-compatible backend takes as is). The inverse of the
// request half of openai_gemini.cpp. Only used for backends that do not speak Gemini: Gemini
// backends serve Gemini clients natively, so what only Gemini can do is a 400 here, never
// dropped. Replies go through encode_gemini.hpp.
//
// Pure function: reads `in`, writes `out`; thread-safe; never throws. Every refusal is a 400
// invalid_request_error (code invalid_request) whose message starts with, and whose param is,
// the Gemini field path, e.g. `contents[2].parts[0].inlineData.mimeType`. A member that is
// present but of the wrong JSON kind is a 400 naming it; null counts as absent. Every field is
// read under its camelCase name, else its snake_case one (the REST API accepts both), and
// paths name the camelCase spelling.
//
// Mapping:
//   - model = context.model (the model comes from the URL); `stream` true adds "stream": true
//     and "stream_options": {"include_usage": true}.
//   - systemInstruction (a Content; a plain string is accepted too): its text parts joined
//     with "\n" -> ONE system message first (none when the text is empty); a non-text part -> 400.
//   - contents[] (at least one): role "user" or absent -> user side, "model" -> assistant;
//     other roles -> 400 naming contents[i].role; parts must be a non-empty list of objects.
//     User turn: functionResponse parts -> `tool` messages (in order, before the rest of the
//     turn), the other parts -> one user message: content a string when it is one text part,
//     else a list of parts; text -> {"type":"text"}; inlineData {mimeType image/*, data} ->
//     image_url with a data: URI (other mime types -> 400 naming ...inlineData.mimeType);
//     fileData {fileUri, mimeType?} -> image_url with the URI (http(s) only, and not a Gemini
//     Files API URI, which only Gemini can read; a mimeType that is not image/* -> 400).
//     Model turn: text parts concatenated (no separator) -> content (null when empty and there
//     are tool calls); functionCall {name, args (object, absent = {}), id?} -> tool_calls with
//     arguments = args serialized and id = the part's id, else `call_<content index>_<part
//     index>` (deterministic: the same request converts to the same body, retries included);
//     a model turn with neither text nor calls is dropped. Media or functionResponse parts in a
//     model turn and functionCall parts in a user turn -> 400.
//     functionResponse {name, response (object, absent = {}), id?} answers the call with that
//     id when the part has one, else the oldest unanswered call of that name; a response that
//     answers nothing -> 400 naming ...functionResponse.id / .name. Its content is the response
//     object serialized; functionResponse.parts (multimodal responses) -> 400.
//     thought: true parts are dropped (reasoning text is not sent back to providers);
//     thoughtSignature is ignored (a part holding only one is dropped); executableCode and
//     codeExecutionResult parts -> 400 (served by Gemini backends only); a part with no data
//     field -> 400.
//   - tools[].functionDeclarations[] {name, description?, parametersJsonSchema (as is) |
//     parameters (Gemini's OpenAPI-subset Schema made JSON Schema: `type` values lower-cased,
//     "TYPE_UNSPECIFIED" dropped, nullable: true -> type [t, "null"], propertyOrdering dropped,
//     snake_case keywords camelCased, recursively through properties / items / anyOf ...)} ->
//     OpenAI function tools (parametersJsonSchema wins when both are given); response /
//     responseJsonSchema / behavior of a declaration are dropped (OpenAI has no equivalent).
//     Any other tool kind (googleSearch, googleSearchRetrieval, codeExecution, urlContext,
//     googleMaps, fileSearch, ...) -> 400 "tools[i].<kind> is served by Gemini backends only".
//   - toolConfig.functionCallingConfig.mode (only when there are tools): AUTO and VALIDATED ->
//     "auto", NONE -> "none", ANY -> "required", or with allowedFunctionNames of one name ->
//     that function; several names -> 400; allowedFunctionNames with another mode -> 400; an
//     unknown mode -> 400. toolConfig.retrievalConfig -> 400 (Gemini backends only).
//   - generationConfig: maxOutputTokens -> max_completion_tokens, temperature, topP -> top_p,
//     stopSequences -> stop (an empty list is not sent), candidateCount > 1 -> n (a 400 when
//     streaming: a Gemini stream carries one candidate here), presencePenalty /
//     frequencyPenalty, seed; responseMimeType "application/json" -> response_format
//     json_schema {name "response", schema} with responseJsonSchema (as is) or responseSchema
//     (converted as tool parameters), else json_object; "text/plain" -> nothing; other mime
//     types -> 400; a schema without "application/json", or both schemas, -> 400.
//     thinkingConfig: thinkingLevel MINIMAL/LOW/MEDIUM/HIGH -> reasoning_effort in lower case
//     (wins over a budget); thinkingBudget 0 (off) and -1 (dynamic) -> no reasoning_effort,
//     <= 1024 low, <= 8192 medium, larger high, other negatives -> 400; includeThoughts is
//     ignored. topK is dropped (OpenAI has none). responseModalities other than TEXT,
//     speechConfig, imageConfig, mediaResolution, audioTimestamp, enableAffectiveDialog,
//     routingConfig, modelSelectionConfig, responseLogprobs: true, logprobs,
//     enableEnhancedCivicAnswers -> 400 (Gemini backends only). Unknown members are dropped.
//   - safetySettings (a non-empty list) and cachedContent -> 400 "... is served by Gemini
//     backends only"; labels (Vertex billing labels) are dropped; other top-level members are
//     dropped.
//   - A request whose contents leave no message (only thought parts) -> 400 naming contents.
#pragma once

#include <boost/json/object.hpp>
#include <optional>

#include "http/api_error.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// `in` (a generateContent body) -> `out` (an OpenAI chat request; `out` is written only in
// part on error). `stream`: the client called streamGenerateContent.
std::optional<http::ApiError> gemini_request_to_openai(const boost::json::object& in, const RequestContext& context,
                                                       bool stream, boost::json::object& out);

}  // namespace sluice::translate
