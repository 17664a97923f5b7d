// Helpers shared by the provider wire formats other than OpenAI (Anthropic, Gemini, Bedrock,
// Azure): the generated reply text, token estimates, tool-call arguments built from a JSON
// schema, stream fragments, query and path helpers, and the Invalid exception the formats throw
// internally to reject a request (each format catches it in its handle() and answers with its
// own error shape, so nothing escapes to the responder).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api.hpp"
#include "scripted_text.hpp"

namespace sluice::mock::common {

namespace json = boost::json;

// A rejected request: the HTTP status, a message, and a provider-specific kind (Anthropic error
// type, Google status, AWS exception name); empty kind means the format's default for status.
struct Invalid {
  unsigned status = 400;
  std::string message;
  std::string kind;
};

[[noreturn]] void fail(std::string message, unsigned status = 400, std::string kind = {});

// Piece 0 is "chunk0", piece i > 0 is " chunk<i>" (as in the OpenAI format).
std::string piece(int index);
// All pieces concatenated: "chunk0 chunk1 chunk2 chunk3" for 4.
std::string reply_text(int pieces);

// The chat reply of a request: the text of x-mock-reply in its pieces when given, else the
// generated pieces above (request.chunks of them).
std::size_t reply_piece_count(const ApiRequest& request);
std::string reply_piece(const ApiRequest& request, std::size_t index);
std::string whole_reply(const ApiRequest& request);
// Output tokens of the reply: request.chunks for the generated text, else max(1, code points / 4)
// (0 for an empty text); reply_tokens_through counts the pieces 0..index only.
std::size_t reply_tokens(const ApiRequest& request);
std::size_t reply_tokens_through(const ApiRequest& request, std::size_t index);

// Tool-call arguments: x-mock-tool-args when given, else args_for_schema(schema); as an object, as
// JSON text, and as the pieces a stream sends (x-mock-tool-args' pieces, else fragments(text)).
json::object tool_input(const ApiRequest& request, const json::value* schema);
std::string tool_input_text(const ApiRequest& request, const json::value* schema);
std::vector<std::string> tool_input_pieces(const ApiRequest& request, std::string_view generated_text);

// max(1, characters / 4), characters counted as Unicode code points.
std::size_t estimate_tokens(std::string_view text);
std::size_t estimate_tokens_of_chars(std::size_t characters);

// Values valid against a JSON Schema (or a Gemini OpenAPI schema: upper-case types, `nullable`,
// numbers in strings), one generator for every format's tool calls and structured output. A
// string is "mock" (an example of its `format`: date-time, date, time, duration, email,
// hostname, ipv4, ipv6, uri, url, uuid; padded to minLength, cut to maxLength); an integer or
// number 1 moved into minimum/maximum (exclusive ones too) and up to multipleOf; a boolean true;
// null null; `enum` its first value; `const` its value; anyOf/oneOf their first option that is
// not {"type":"null"}; allOf its parts' objects merged; a local `$ref` ("#/$defs/…",
// "#/definitions/…", "#") the schema it names; a type list its first non-null type; no type an
// object when there are `properties`/`required`, an array when there are `items`, else "mock".
// An array has one item (minItems when more, at most maxItems; a tuple one per position;
// without an item schema, minItems "mock" items). Patterns, uniqueItems and `not` are not
// honoured. Bounded: past 16 levels or 1000 values a value is the smallest valid one (null when
// allowed, only required properties, minItems items), past 32 levels or 20000 values null.

// Tool-call arguments: an object with every `required` property of `schema`, recursively (an
// empty object when the schema is not an object schema).
json::object args_for_schema(const json::value* schema);

// A structured-output document: as args_for_schema, but objects have **every** property of
// `properties`, not only the required ones.
json::value value_for_schema(const json::value* schema);

// The JSON text of a structured reply: value_for_schema(schema), or {"answer":"mock"} when
// `schema` is null (JSON mode without a schema).
std::string json_reply_text(const json::value* schema);

// A structured reply in the request's pieces (cut evenly into request.chunks pieces, at least
// one), or nullopt when x-mock-reply chose the text. Use with_reply() to answer with it.
std::optional<ScriptedText> json_reply(const ApiRequest& request, const json::value* schema);

// A copy of `request` whose reply text is `text` (not cut at max_tokens: a JSON reply is whole).
ApiRequest with_reply(const ApiRequest& request, const ScriptedText& text);

// Reasoning: the text of the mock's thinking blocks, and the signature it attaches to a thinking
// text (base64 of "mock-sig:" + a 64-bit FNV-1a checksum of the text, in hex): a replayed block
// whose text or signature changed no longer verifies.
std::string_view thinking_text();
std::string thinking_signature(std::string_view thinking);
bool valid_thinking_signature(std::string_view thinking, std::string_view signature);

// Lower-case hex FNV-1a 64 of `bytes`.
std::string fnv1a_hex(std::string_view bytes);

// Standard base64 of `text`.
std::string base64(std::string_view text);

// True when `text` contains the word "tool" or "tools" (any case, bounded by non-letters).
bool mentions_tool(std::string_view text);

// `text` cut into 3 non-empty pieces (2 when it has only 2 bytes), for streamed tool input.
std::vector<std::string> fragments(std::string_view text);

// A process-wide counter for ids (msg_…, toolu_…, responseId, …).
std::uint64_t next_id();

std::string serialize(const json::value& value);

// "a, b, c" (for the lists of names in validation messages).
std::string join(const std::vector<std::string>& items);

// Percent-decoding of a path segment or query value ('+' kept as is).
std::string percent_decode(std::string_view text);

// The raw value of the first `name=` parameter of a query string, nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

// The token of an `Authorization: Bearer <token>` header, nullopt when absent or empty.
std::optional<std::string_view> bearer_token(const ApiRequest& request);

bool is_integer(const json::value& value);  // an integral JSON number
bool is_number(const json::value& value);   // any JSON number
std::int64_t to_int(const json::value& value);
double to_double(const json::value& value);

// Appends "name: value\r\n".
void add_header(std::string& headers, std::string_view name, std::string_view value);

}  // namespace sluice::mock::common
