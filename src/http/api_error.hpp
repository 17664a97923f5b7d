// API errors in the client's schema. For OpenAI clients:
//   {"error":{"message":"...","type":"...","param":null,"code":"..."}}
// (all four keys present, as the OpenAI spec requires). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::http {

struct ApiError {
  unsigned status = 500;
  std::string_view type;  // invalid_request_error, server_error, ...
  std::string_view code;  // machine-readable, e.g. "route_not_found"
  std::string message;
  std::optional<std::string> param;
};

std::string openai_error_body(const ApiError& error);

}  // namespace sluice::http
