// Small pieces every translator needs: SSE framing, error events in each client schema, ids,
// data URIs, base64 and OpenAI content flattening. Pure functions (new_id draws from a
// thread-local generator); thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// "data: <json>\n\n"
void append_sse_data(std::string& out, std::string_view data);
// "event: <name>\ndata: <json>\n\n"
void append_sse_event(std::string& out, std::string_view name, std::string_view data);
// `data: {"error":{...}}` — what the OpenAI SDKs raise as APIError mid-stream.
void append_openai_error_event(std::string& out, const http::ApiError& error);
// `event: error` + `data: {"type":"error","error":{"type","message"}}` (Anthropic streams).
void append_anthropic_error_event(std::string& out, const http::ApiError& error);
// `data: [DONE]`
void append_sse_done(std::string& out);
// "data: <value serialized>\n\n" and "event: <name>\n" + that, serialized straight into `out`.
void append_sse_json(std::string& out, const boost::json::value& value);
void append_sse_json_event(std::string& out, std::string_view name, const boost::json::value& value);
// A parsed event written back: its `event:` line when named, one `data:` line per line of data.
struct SseEvent;
void append_sse_event_lines(std::string& out, const SseEvent& event);

// Appends `text` as a JSON string literal (quotes included; ", \ and control characters
// escaped, UTF-8 passed through) — for hot paths that write JSON without building a document.
void append_json_string(std::string& out, std::string_view text);

// 400 for a client request the translation cannot carry (invalid_request_error), naming the
// field in `param`.
http::ApiError invalid_request(std::string message, std::string param, std::string_view code = "invalid_value");

// 502 for an upstream reply that is not what its provider's format promises
// (server_error, code upstream_bad_response).
http::ApiError bad_upstream(std::string message);

// OpenAI's usage object: prompt/completion/total tokens, cached and reasoning details.
boost::json::object openai_usage(const Usage& usage);

// Checked views of JSON members, for documents from clients and providers: the value when it
// has the expected kind, else null / empty / 0 (json_count: a non-negative integer, doubles
// truncated, anything else 0).
const boost::json::object* object_or_null(const boost::json::value* v);
const boost::json::array* array_or_null(const boost::json::value* v);
std::string_view string_or_empty(const boost::json::value* v);
std::uint64_t json_count(const boost::json::value* v);
// The string member `key` of `object`, or `fallback` when it is absent or not a string.
std::string_view string_or(const boost::json::object& object, std::string_view key, std::string_view fallback = {});

// A token count Sluice answers itself (no provider of the route counts in the client's API):
// the client-shaped body, or the 400 for a request it cannot read.
struct TokenEstimate {
  std::string body;
  std::optional<http::ApiError> error;
};

// "messages[3]": a field path for error messages.
std::string indexed(std::string_view base, std::size_t index);

// OpenAI error type for an HTTP status (400 invalid_request_error, 401 authentication_error,
// 403 permission_error, 404 not_found_error, 429 rate_limit_error (OpenAI: "requests"/
// "tokens"; the SDKs key on the status), >= 500 server_error).
std::string_view openai_error_type(unsigned status);

// "<prefix><24 random alphanumerics>", e.g. new_id("chatcmpl-"), new_id("call_"), new_id("toolu_").
std::string new_id(std::string_view prefix);

std::int64_t unix_now();

struct DataUri {
  std::string_view media_type;  // "image/png"
  std::string_view data;        // the base64 payload, not decoded
};
// Parses "data:<media type>;base64,<data>". Anything else (plain URLs, non-base64) -> nullopt.
std::optional<DataUri> parse_data_uri(std::string_view uri);

std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding optional; nullopt on a character outside it.
std::optional<std::string> base64_decode(std::string_view text);

// An embedding as OpenAI's base64 form: little-endian float32 values, base64-encoded (what
// the OpenAI SDKs ask for by default with encoding_format "base64").
std::string embedding_to_base64(const boost::json::array& values);

// OpenAI message content (a string, an array of parts, or null) as plain text: text parts
// joined with "\n" (non-text parts skipped).
std::string content_text(const boost::json::value& content);

// ---------------------------------------------------------------------------------------------
// Pivot extensions: members of the OpenAI chat pivot that OpenAI does not define, written by the
// client-schema decoders (anthropic_client, gemini_client_request) or sent by OpenAI clients, and
// read only by the provider translators. strip_pivot_extensions removes them before a pivot is
// sent as is to an OpenAI-format backend (which would reject unknown members).
//   x_sluice_thinking_budget (top level): the exact thinking budget in tokens the client asked
//     for (Anthropic thinking.budget_tokens, Gemini thinkingBudget), beside reasoning_effort.
//   messages[i].thinking_blocks (assistant): the reasoning of that turn as Anthropic blocks,
//     [{"type":"thinking","thinking","signature"} | {"type":"redacted_thinking","data"}]
//     (LiteLLM's member, which the OpenAI chat encoder also writes), replayed to Anthropic and
//     Claude on Bedrock when signed.
//   messages[i].tool_calls[j].extra_content.google.thought_signature: the Gemini thought
//     signature of that call (Google's OpenAI-compatible form), replayed on its functionCall part.
// The OpenAI embeddings pivot (a Gemini embedContent client's request) has one:
//   x_sluice_task_type (top level): the Gemini taskType the client asked for (RETRIEVAL_QUERY,
//     RETRIEVAL_DOCUMENT, CLASSIFICATION, CLUSTERING, ...), for providers with an equivalent.
inline constexpr std::string_view kPivotThinkingBudget = "x_sluice_thinking_budget";
inline constexpr std::string_view kPivotTaskType = "x_sluice_task_type";
inline constexpr std::string_view kPivotThinkingBlocks = "thinking_blocks";
void strip_pivot_extensions(boost::json::object& pivot);

// The Gemini thought signature of a pivot tool call (empty when it has none).
std::string_view pivot_call_signature(const boost::json::object& call);

// The reasoning a pivot request asks for: reasoning_effort (none, minimal, low, medium, high or
// xhigh; anything else is a 400 naming reasoning_effort) and x_sluice_thinking_budget.
// x_sluice_thinking_budget -1 is a dynamic ask (Anthropic adaptive thinking without an effort,
// Gemini thinkingBudget -1: the model decides how much to think), beside reasoning_effort medium.
struct ReasoningAsk {
  std::string effort;                   // empty: not asked
  std::optional<std::uint64_t> budget;  // the client's exact budget, when it gave one
  bool dynamic = false;                 // the client let the model decide
  bool enabled() const { return !effort.empty() && effort != "none"; }
};
std::optional<http::ApiError> read_reasoning(const boost::json::object& pivot, ReasoningAsk& ask);

// Whether a Gemini model takes generationConfig.thinkingConfig.thinkingLevel rather than a
// budget: Gemini 3 and later, recognised by the name ("gemini-<major>" with major >= 3, after
// any path such as "models/" or "publishers/google/models/").
bool gemini_takes_thinking_level(std::string_view model);

// Claude's thinking budget for `ask` (Anthropic, Vertex AI's Anthropic publisher, Claude on
// Bedrock): the client's exact budget (at least 1024, Claude's minimum), else by effort: minimal
// and low 1024, medium 8192, high 16384, xhigh 32768. nullopt: no thinking.
std::optional<std::uint64_t> claude_thinking_budget(const ReasoningAsk& ask);

// Whether a Claude model takes adaptive thinking (thinking {type: adaptive} and
// output_config.effort) rather than a budget: Opus, Sonnet and Fable 4.6 and later, and Mythos
// (Anthropic deprecates budget_tokens on 4.6 and refuses it from Opus 4.7 on), read from the
// name (claude-opus-4-6..., anthropic.claude-sonnet-4-6, claude-opus-5). Any name Sluice cannot
// read as one of these keeps the budget, which every other Claude model takes.
bool claude_takes_adaptive_thinking(std::string_view model);
// The output_config.effort of an adaptive ask: minimal and low -> low, medium, high; xhigh ->
// max on Opus (the family that has it), else high; empty for a dynamic ask (Claude's default).
std::string_view claude_adaptive_effort(const ReasoningAsk& ask, std::string_view model);

// What Claude refuses beside thinking, as a 400 naming the pivot field: temperature other than 1,
// top_p below 0.95, a tool_choice that forces a tool (required or a named function).
std::optional<http::ApiError> claude_thinking_conflicts(const boost::json::object& pivot);

// The signed thinking blocks of a pivot assistant message, in Anthropic's form (unsigned
// thinking and malformed entries are dropped: a provider cannot verify them).
boost::json::array signed_thinking_blocks(const boost::json::object& message);

}  // namespace sluice::translate
