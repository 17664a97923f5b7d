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

}  // namespace sluice::translate
