#include "proxy/request_body.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

namespace sluice::proxy {

namespace json = boost::json;
using boost::system::error_code;

namespace {

// basic_parser handler that keeps only what the gateway needs from the top-level object.
class BodyScan {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  BodyInfo info;
  bool top_level_object = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth_ == 0) top_level_object = true;
    ++depth_;
    field_ = Field::None;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(error_code&) {
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(json::string_view part, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, error_code&) {
    if (depth_ == 1) {
      key_.append(part.data(), part.size());
      field_ = key_ == "model" ? Field::Model : key_ == "stream" ? Field::Stream : Field::None;
      key_.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view part, std::size_t, error_code&) {
    if (at_field(Field::Model)) info.model.append(part.data(), part.size());
    return true;
  }
  bool on_string(json::string_view part, std::size_t, error_code&) {
    if (at_field(Field::Model)) info.model.append(part.data(), part.size());
    value_done();
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code&) { return value_done(); }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) { return value_done(); }
  bool on_double(double, json::string_view, error_code&) { return value_done(); }
  bool on_bool(bool b, error_code&) {
    if (at_field(Field::Stream)) info.stream = b;
    return value_done();
  }
  bool on_null(error_code&) { return value_done(); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  enum class Field { None, Model, Stream };
  bool at_field(Field f) const { return depth_ == 1 && field_ == f; }
  bool value_done() {
    if (depth_ == 1) field_ = Field::None;
    return true;
  }

  int depth_ = 0;
  Field field_ = Field::None;
  std::string key_;
};

http::ApiError invalid_json(const std::string& body, std::size_t consumed, const error_code& ec) {
  const auto pos = std::min(consumed, body.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < pos; ++i) {
    if (body[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return http::ApiError{400, "invalid_request_error", "invalid_json",
                        "request body is not valid JSON: " + ec.message() + " at line " + std::to_string(line) +
                            ", column " + std::to_string(column) + " (byte offset " + std::to_string(pos) + ")",
                        {}};
}

}  // namespace

std::optional<http::ApiError> inspect_json_body(std::string& body, const std::optional<std::string>& model_override,
                                                BodyInfo& info) {
  if (body.empty()) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body is empty; expected a JSON object", {}};
  }
  json::basic_parser<BodyScan> parser{json::parse_options{}};
  error_code ec;
  const auto consumed = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) ec = json::error::extra_data;
  if (ec) return invalid_json(body, consumed, ec);
  if (!parser.handler().top_level_object) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body must be a JSON object", {}};
  }
  info = std::move(parser.handler().info);
  if (model_override) {
    // Rare path: rewrite the model through a document; the body was validated above.
    auto value = json::parse(body);
    value.as_object()["model"] = *model_override;
    info.model = *model_override;
    body = json::serialize(value);
  }
  return std::nullopt;
}

std::optional<http::ApiError> parse_json_body(const std::string& body, json::storage_ptr storage, json::value& document,
                                              BodyInfo& info) {
  error_code ec;
  document = json::parse(body, ec, std::move(storage));
  if (ec || !document.is_object()) {
    // Rare path: scan again for the message naming the position.
    std::string copy = body;
    if (auto error = inspect_json_body(copy, std::nullopt, info)) return error;
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body must be a JSON object", {}};
  }
  const auto& object = document.get_object();
  if (const auto* model = object.if_contains("model"); model != nullptr && model->is_string())
    info.model = model->get_string();
  if (const auto* stream = object.if_contains("stream"); stream != nullptr && stream->is_bool())
    info.stream = stream->get_bool();
  return std::nullopt;
}

}  // namespace sluice::proxy
