// The OpenAI wire format: chat completions (plain and SSE streaming), embeddings, the model
// list, and OpenAI error bodies.
// Promises: request bodies are validated strictly (400 with an OpenAI error object naming the
// offending param); replies are deterministic for a given request apart from `id` and `created`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api.hpp"

namespace sluice::mock::openai {

// The reply for an OpenAI endpoint (matched by path suffix), or nullopt if the path is not one.
std::optional<ApiReply> handle(const ApiRequest& request);

// POST chat/completions and embeddings; a non-empty `model_override` replaces the body's model
// (which is then optional), as an Azure deployment path does.
ApiReply chat_completions(const ApiRequest& request, std::string_view model_override);
ApiReply embeddings(const ApiRequest& request, std::string_view model_override);

// The embedding of `text` as a JSON array of `dimensions` numbers, the values OpenAI embeddings
// give the same text.
std::string embedding_array(std::string_view text, int dimensions);

// {"error":{"message":…,"type":…,"param":…,"code":…}}; an empty param or code is written as null.
FullReply error(unsigned status, std::string_view message, std::string_view type = "invalid_request_error",
                std::string_view param = {}, std::string_view code = {});

// The error OpenAI would send with `status`: rate_limit_error for 429, server_error for 5xx,
// invalid_request_error otherwise.
FullReply injected_error(unsigned status);

// Structured output asked by chat `response_format` or Responses `text.format`.
struct OutputFormat {
  bool json = false;                           // json_object or json_schema
  const boost::json::value* schema = nullptr;  // json_schema's schema (null for json_object)
};

// Validates a response_format (`nested`: {type, json_schema:{name, schema, strict}}) or a
// Responses text.format (flat: {type, name, schema, strict}) as OpenAI does; `where` is the
// param path ("response_format" or "text.format"). The 400 to send when invalid.
std::variant<OutputFormat, FullReply> parse_output_format(const boost::json::value& value, std::string_view where,
                                                          bool nested);

// How a chat or Responses request lets the model call its functions: `mode` "none", "auto",
// "required", or "function" (then `forced` is the function's name); "hosted" (Responses: a
// tool_choice naming a built-in tool) never calls a function.
struct ToolChoice {
  std::string_view mode = "auto";
  std::string_view forced;
};

// The function the mock calls instead of answering with text, decided the same way for chat
// completions and the Responses API: none without functions or with mode "none" or "hosted"; the
// forced one for mode "function" (null when no function has that name: the caller answers 400);
// the first for "required", or for "auto" when `last_user_text` (the text of the last message
// when it is the user's; empty after a tool result) contains the word "tool" or "tools". Each
// function is an object with a string `name` (chat: tools[].function; Responses: the tool).
const boost::json::object* choose_function(const std::vector<const boost::json::object*>& functions,
                                           const ToolChoice& choice, std::string_view last_user_text);

// Output tokens of a reply that is a function call.
inline constexpr std::size_t kToolCallTokens = 8;

// Validates a reasoning effort (minimal, low, medium, high) named `param`; the 400 when invalid.
std::optional<FullReply> check_reasoning_effort(const boost::json::value& value, std::string_view param);

// The reasoning tokens the mock reports for an effort: minimal 8, low 16, medium 32, high 64.
std::size_t reasoning_tokens(std::string_view effort);

// True when `text` contains "json" in any case.
bool mentions_json(std::string_view text);

// 404 for a path that no endpoint serves.
FullReply unknown_url(std::string_view method, std::string_view target);

}  // namespace sluice::mock::openai
