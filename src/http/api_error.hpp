// API errors in the client's schema. For OpenAI clients:
//   {"error":{"message":"...","type":"...","param":null,"code":"..."}}
// (all four keys present, as the OpenAI spec requires); for Anthropic clients:
//   {"type":"error","error":{"type":"...","message":"..."}}. Pure functions; thread-safe.
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

// Anthropic's schema: {"type":"error","error":{"type":"...","message":"..."}}. The type is the
// Anthropic one for the status (400 invalid_request_error, 401 authentication_error, 403
// permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 529
// overloaded_error, 504 timeout_error, other >= 500 api_error).
std::string anthropic_error_body(const ApiError& error);
std::string_view anthropic_error_type(unsigned status);

// The google.rpc status name for an HTTP status: 400 INVALID_ARGUMENT (also other 4xx not
// below), 401 UNAUTHENTICATED, 402 and 429 RESOURCE_EXHAUSTED, 403 PERMISSION_DENIED,
// 404 NOT_FOUND, 408 and 504 DEADLINE_EXCEEDED, 409 ABORTED, 499 CANCELLED, 501 UNIMPLEMENTED,
// 502, 503 and 529 UNAVAILABLE, other statuses INTERNAL.
std::string_view google_status_for(unsigned http_status);

// {"error":{"code":<status>,"message":...,"status":<google_status_for>}}; when the error names
// a field (param), also "details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",
// "fieldViolations":[{"field":<param>,"description":<message>}]}] as Google does.
std::string google_error_body(const ApiError& error);

}  // namespace sluice::http
