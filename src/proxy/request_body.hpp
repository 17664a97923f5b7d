// Reading an API request body once: for bodies forwarded as they are, validates the whole JSON
// document and extracts the top-level "model" and "stream" (and the generation parameters a
// trace reports) without building a document (no allocation beyond the model string; only a configured model override
// parses into a DOM, to rewrite it); for bodies to translate, parses the document the translator works on. Pure
// functions; thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "http/api_error.hpp"

namespace sluice::proxy {

// Limits of what a body may hold, beyond its size (Gateway maxRequestBodyBytes): nesting
// depth, and the length of "model" (it reaches logs, metrics and provider URLs).
inline constexpr std::size_t kMaxJsonDepth = 128;
inline constexpr std::size_t kMaxModelBytes = 256;

// The generation parameters a trace reports (gen_ai.request.max_tokens, temperature, top_p),
// as numbers the body gave; absent otherwise. max_tokens is the first number of
// max_completion_tokens, max_tokens and max_output_tokens; Gemini's generationConfig
// (maxOutputTokens, temperature, topP) wins over the top level.
struct GenerationParameters {
  std::optional<double> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
};

struct BodyInfo {
  std::string model;
  bool stream = false;
  GenerationParameters parameters;
};

// On success fills `info` (and rewrites `body` when `model_override` is set); otherwise
// returns the 400 error to send, naming the parse position. Refused besides invalid JSON: a
// top-level key given twice (a provider would run one, the logs show another), nesting deeper
// than kMaxJsonDepth, a "model" longer than kMaxModelBytes, holding a control character, or
// "." / "..".
std::optional<http::ApiError> inspect_json_body(std::string& body, const std::optional<std::string>& model_override,
                                                BodyInfo& info);

// The generation parameters of a parsed request body, by the same rules as the scan fills
// BodyInfo::parameters with (a stage may have changed the document since the scan).
GenerationParameters generation_parameters(const boost::json::object& body);

// The whole body as a JSON document (in `storage`), for requests that are translated; fills
// `info` from its top-level "model" (a string) and "stream" (a bool). A body that does not
// parse gets the same 400 as inspect_json_body, naming the parse position.
std::optional<http::ApiError> parse_json_body(const std::string& body, boost::json::storage_ptr storage,
                                              boost::json::value& document, BodyInfo& info);

}  // namespace sluice::proxy
