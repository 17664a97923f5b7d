#include "translate/chained_client.hpp"

#include <string>

namespace sluice::translate {

namespace json = boost::json;

http::ApiError openai_upstream_error(unsigned status, std::string_view upstream_body) {
  http::ApiError error;
  error.status = status;
  error.type = openai_error_type(status);
  error.code = "upstream_error";
  boost::system::error_code ec;
  const auto body = json::parse(upstream_body, ec);
  if (!ec && body.is_object()) {
    const auto& object = body.get_object();
    if (const auto* inner = object.if_contains("error"); inner != nullptr && inner->is_object()) {
      error.message = string_or(inner->get_object(), "message");
    } else if (inner != nullptr && inner->is_string()) {
      error.message = inner->get_string();  // Ollama: {"error":"..."}
    } else {
      error.message = string_or(object, "message");  // vLLM: {"object":"error","message":...}
      if (error.message.empty()) error.message = string_or(object, "detail");
    }
  }
  if (error.message.empty()) {
    error.message = "backend returned HTTP " + std::to_string(status);
    if (!upstream_body.empty()) error.message.append(": ").append(upstream_body.substr(0, 200));
  }
  return error;
}

}  // namespace sluice::translate
