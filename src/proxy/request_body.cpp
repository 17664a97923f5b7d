#include "proxy/request_body.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <cstdint>
#include <unordered_set>

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
  std::string duplicate_key;  // the first top-level key seen twice

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth_ == 0) top_level_object = true;
    if (at_field(Field::GenerationConfig)) in_generation_config_ = true;
    ++depth_;
    field_ = Field::None;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    if (depth_ == 1) in_generation_config_ = false;
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
    if (depth_ == 1 || in_config()) key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, error_code&) {
    if (depth_ == 1) {
      key_.append(part.data(), part.size());
      field_ = top_level_field(key_);
      remember_key();
      key_.clear();
    } else if (in_config()) {
      key_.append(part.data(), part.size());
      field_ = key_ == "maxOutputTokens" ? Field::ConfigMaxTokens
               : key_ == "temperature"   ? Field::ConfigTemperature
               : key_ == "topP"          ? Field::ConfigTopP
                                         : Field::None;
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
  bool on_int64(std::int64_t v, json::string_view, error_code&) { return number(static_cast<double>(v)); }
  bool on_uint64(std::uint64_t v, json::string_view, error_code&) { return number(static_cast<double>(v)); }
  bool on_double(double d, json::string_view, error_code& ec) {
    // A number beyond double's range would be re-serialised as "Infinity" or "NaN" (not JSON)
    // by a model override or a translation.
    if (!std::isfinite(d)) {
      ec = json::error::exponent_overflow;
      return false;
    }
    return number(d);
  }
  bool on_bool(bool b, error_code&) {
    if (at_field(Field::Stream)) info.stream = b;
    return value_done();
  }
  bool on_null(error_code&) { return value_done(); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  enum class Field {
    None,
    Model,
    Stream,
    MaxCompletionTokens,
    MaxTokens,
    MaxOutputTokens,
    Temperature,
    TopP,
    GenerationConfig,
    ConfigMaxTokens,
    ConfigTemperature,
    ConfigTopP,
  };
  static Field top_level_field(std::string_view key) {
    if (key == "model") return Field::Model;
    if (key == "stream") return Field::Stream;
    if (key == "max_completion_tokens") return Field::MaxCompletionTokens;
    if (key == "max_tokens") return Field::MaxTokens;
    if (key == "max_output_tokens") return Field::MaxOutputTokens;
    if (key == "temperature") return Field::Temperature;
    if (key == "top_p") return Field::TopP;
    if (key == "generationConfig") return Field::GenerationConfig;
    return Field::None;
  }
  bool at_field(Field f) const { return depth_ == 1 && field_ == f; }
  bool in_config() const { return depth_ == 2 && in_generation_config_; }
  bool value_done() {
    if (depth_ == 1 || in_config()) field_ = Field::None;
    return true;
  }
  // A number: a generation parameter when it is one. Ranks order the sources of max_tokens
  // (generationConfig, then max_completion_tokens, max_tokens, max_output_tokens) and of
  // temperature and top_p (generationConfig over the top level).
  bool number(double v) {
    auto& p = info.parameters;
    auto take = [v](std::optional<double>& slot, int& rank, int at) {
      if (at < rank) return;
      slot = v;
      rank = at;
    };
    if (depth_ == 1) {
      switch (field_) {
        case Field::MaxCompletionTokens:
          take(p.max_tokens, max_tokens_rank_, 3);
          break;
        case Field::MaxTokens:
          take(p.max_tokens, max_tokens_rank_, 2);
          break;
        case Field::MaxOutputTokens:
          take(p.max_tokens, max_tokens_rank_, 1);
          break;
        case Field::Temperature:
          take(p.temperature, temperature_rank_, 1);
          break;
        case Field::TopP:
          take(p.top_p, top_p_rank_, 1);
          break;
        default:
          break;
      }
    } else if (in_config()) {
      switch (field_) {
        case Field::ConfigMaxTokens:
          take(p.max_tokens, max_tokens_rank_, 4);
          break;
        case Field::ConfigTemperature:
          take(p.temperature, temperature_rank_, 2);
          break;
        case Field::ConfigTopP:
          take(p.top_p, top_p_rank_, 2);
          break;
        default:
          break;
      }
    }
    return value_done();
  }

  // Top-level keys so far, as 64-bit hashes (no allocation per key): a short list (the common
  // case), a set past kListedKeys. Two different keys sharing a hash would be refused as a
  // duplicate; only the sender of such a body is affected.
  static constexpr std::size_t kListedKeys = 32;
  static std::uint64_t key_hash(std::string_view key) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (const char c : key) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
  }
  void remember_key() {
    if (!duplicate_key.empty()) return;
    const auto hash = key_hash(key_);
    if (seen_set_.empty()) {
      if (std::find(seen_list_.begin(), seen_list_.end(), hash) != seen_list_.end()) {
        duplicate_key = key_;
        return;
      }
      if (seen_list_.size() < kListedKeys) {
        seen_list_.push_back(hash);
        return;
      }
      seen_set_.insert(seen_list_.begin(), seen_list_.end());
    }
    if (!seen_set_.insert(hash).second) duplicate_key = key_;
  }

  int depth_ = 0;
  Field field_ = Field::None;
  bool in_generation_config_ = false;
  int max_tokens_rank_ = 0;
  int temperature_rank_ = 0;
  int top_p_rank_ = 0;
  std::string key_;
  boost::container::small_vector<std::uint64_t, kListedKeys> seen_list_;
  std::unordered_set<std::uint64_t> seen_set_;
};

// Nesting deep enough for real tool schemas (JSON Schema nests quickly), shallow enough to bound
// the parser's stack.
json::parse_options body_parse_options() {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  return options;
}

// What the gateway itself does with the body's fields: "model" goes into logs, metrics and
// provider URLs, so it must be short and printable, and never a dot-segment.
std::optional<http::ApiError> check_fields(const BodyInfo& info, const std::string& duplicate_key) {
  if (!duplicate_key.empty()) {
    const auto shown = duplicate_key.size() > 64 ? duplicate_key.substr(0, 64) + "..." : duplicate_key;
    return http::ApiError{
        400, "invalid_request_error", "duplicate_key",
        "request body has the top-level key \"" + shown + "\" more than once; a JSON object's keys must be unique",
        std::nullopt};
  }
  const auto& model = info.model;
  if (model.size() > kMaxModelBytes) {
    return http::ApiError{400, "invalid_request_error", "invalid_model",
                          "\"model\" is longer than " + std::to_string(kMaxModelBytes) + " bytes",
                          std::string("model")};
  }
  for (const char ch : model) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return http::ApiError{400, "invalid_request_error", "invalid_model", "\"model\" holds a control character",
                            std::string("model")};
    }
  }
  if (model == "." || model == "..") {
    return http::ApiError{400, "invalid_request_error", "invalid_model",
                          "\"model\" must name a model, not \"" + model + "\"", std::string("model")};
  }
  return std::nullopt;
}

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
  return http::ApiError{400,
                        "invalid_request_error",
                        "invalid_json",
                        "request body is not valid JSON: " + ec.message() + " at line " + std::to_string(line) +
                            ", column " + std::to_string(column) + " (byte offset " + std::to_string(pos) + ")",
                        {}};
}

}  // namespace

namespace {

// Validates `body` with the scanner (duplicate top-level keys, nesting, "model") and fills
// `info`; shared by both readers so they accept exactly the same bodies.
std::optional<http::ApiError> scan_json_body(const std::string& body, BodyInfo& info) {
  if (body.empty()) {
    return http::ApiError{
        400, "invalid_request_error", "invalid_json", "request body is empty; expected a JSON object", {}};
  }
  json::basic_parser<BodyScan> parser{body_parse_options()};
  error_code ec;
  const auto consumed = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) ec = json::error::extra_data;
  if (ec) return invalid_json(body, consumed, ec);
  if (!parser.handler().top_level_object) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body must be a JSON object", {}};
  }
  info = std::move(parser.handler().info);
  return check_fields(info, parser.handler().duplicate_key);
}

}  // namespace

std::optional<http::ApiError> inspect_json_body(std::string& body, const std::optional<std::string>& model_override,
                                                BodyInfo& info) {
  if (auto error = scan_json_body(body, info)) return error;
  if (model_override) {
    // Rare path: rewrite the model through a document; the body was validated above.
    auto value = json::parse(body, {}, body_parse_options());
    value.as_object()["model"] = *model_override;
    info.model = *model_override;
    body = json::serialize(value);
  }
  return std::nullopt;
}

namespace {

std::optional<double> number_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

}  // namespace

GenerationParameters generation_parameters(const json::object& body) {
  GenerationParameters p;
  for (const auto key : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
    if ((p.max_tokens = number_member(body, key))) break;
  }
  p.temperature = number_member(body, "temperature");
  p.top_p = number_member(body, "top_p");
  if (const auto* config = body.if_contains("generationConfig"); config != nullptr && config->is_object()) {
    const auto& g = config->get_object();
    if (const auto v = number_member(g, "maxOutputTokens")) p.max_tokens = v;
    if (const auto v = number_member(g, "temperature")) p.temperature = v;
    if (const auto v = number_member(g, "topP")) p.top_p = v;
  }
  return p;
}

std::optional<http::ApiError> parse_json_body(const std::string& body, json::storage_ptr storage, json::value& document,
                                              BodyInfo& info) {
  // The scan validates the document (duplicate keys included: a DOM keeps only one of them)
  // and fills `info`; the DOM is built only from a body it accepted.
  if (auto error = scan_json_body(body, info)) return error;
  error_code ec;
  document = json::parse(body, ec, std::move(storage), body_parse_options());
  if (ec || !document.is_object()) {
    return http::ApiError{400, "invalid_request_error", "invalid_json", "request body must be a JSON object", {}};
  }
  return std::nullopt;
}

}  // namespace sluice::proxy
