// Reading an OpenAI API request body once: validates the whole JSON document and extracts
// the top-level "model" and "stream" without building a document (no allocation beyond the
// model string). Only a configured model override parses into a DOM, to rewrite it.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "http/api_error.hpp"

namespace sluice::proxy {

struct BodyInfo {
  std::string model;
  bool stream = false;
};

// On success fills `info` (and rewrites `body` when `model_override` is set); otherwise
// returns the 400 error to send, naming the parse position.
std::optional<http::ApiError> inspect_json_body(std::string& body, const std::optional<std::string>& model_override,
                                                BodyInfo& info);

}  // namespace sluice::proxy
