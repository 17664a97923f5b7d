#include "http/api_error.hpp"

#include <boost/json.hpp>

namespace sluice::http {

std::string openai_error_body(const ApiError& error) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = error.type;
  inner["param"] = error.param ? boost::json::value(*error.param) : boost::json::value(nullptr);
  inner["code"] = error.code.empty() ? boost::json::value(nullptr) : boost::json::value(error.code);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

std::string_view anthropic_error_type(unsigned status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string anthropic_error_body(const ApiError& error) {
  boost::json::object inner;
  inner["type"] = anthropic_error_type(error.status);
  inner["message"] = error.message;
  boost::json::object outer;
  outer["type"] = "error";
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

std::string_view google_status_for(unsigned http_status) {
  switch (http_status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 402:
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 408:
    case 504:
      return "DEADLINE_EXCEEDED";
    case 409:
      return "ABORTED";
    case 499:
      return "CANCELLED";
    case 501:
      return "UNIMPLEMENTED";
    case 502:
    case 503:
    case 529:
      return "UNAVAILABLE";
    default:
      return http_status >= 400 && http_status < 500 ? "INVALID_ARGUMENT" : "INTERNAL";
  }
}

std::string google_error_body(const http::ApiError& error) {
  boost::json::object inner{
      {"code", error.status}, {"message", error.message}, {"status", google_status_for(error.status)}};
  if (error.param && !error.param->empty()) {
    inner["details"] = boost::json::array{boost::json::object{
        {"@type", "type.googleapis.com/google.rpc.BadRequest"},
        {"fieldViolations",
         boost::json::array{boost::json::object{{"field", *error.param}, {"description", error.message}}}}}};
  }
  return boost::json::serialize(boost::json::object{{"error", std::move(inner)}});
}

}  // namespace sluice::http
