#include "provider_common.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <span>

#include "text.hpp"

namespace sluice::mock::common {

void fail(std::string message, unsigned status, std::string kind) {
  throw Invalid{status, std::move(message), std::move(kind)};
}

std::string piece(int index) {
  std::string out = index == 0 ? "chunk" : " chunk";
  append_number(out, index);
  return out;
}

std::string reply_text(int pieces) {
  std::string out;
  for (int i = 0; i < pieces; ++i) out.append(piece(i));
  return out;
}

std::size_t reply_piece_count(const ApiRequest& request) {
  return request.reply_text ? request.reply_text->pieces() : static_cast<std::size_t>(request.chunks);
}

std::string reply_piece(const ApiRequest& request, std::size_t index) {
  return request.reply_text ? std::string(request.reply_text->piece(index)) : piece(static_cast<int>(index));
}

std::string whole_reply(const ApiRequest& request) {
  return request.reply_text ? request.reply_text->text : reply_text(request.chunks);
}

std::size_t reply_tokens(const ApiRequest& request) {
  if (request.reply_text == nullptr) return static_cast<std::size_t>(request.chunks);
  return request.reply_text->text.empty() ? 0 : estimate_tokens(request.reply_text->text);
}

std::size_t reply_tokens_through(const ApiRequest& request, std::size_t index) {
  if (request.reply_text == nullptr) return index + 1;
  return estimate_tokens(request.reply_text->through(index));
}

json::object tool_input(const ApiRequest& request, const json::value* schema) {
  if (request.tool_args == nullptr) return args_for_schema(schema);
  boost::system::error_code error;
  json::value parsed = json::parse(request.tool_args->text, error);  // checked by the responder
  return parsed.is_object() ? std::move(parsed.get_object()) : json::object();
}

std::string tool_input_text(const ApiRequest& request, const json::value* schema) {
  if (request.tool_args != nullptr) return request.tool_args->text;
  return serialize(args_for_schema(schema));
}

std::vector<std::string> tool_input_pieces(const ApiRequest& request, std::string_view generated_text) {
  if (request.tool_args == nullptr) return fragments(generated_text);
  std::vector<std::string> pieces;
  pieces.reserve(request.tool_args->pieces());
  for (std::size_t i = 0; i < request.tool_args->pieces(); ++i) pieces.emplace_back(request.tool_args->piece(i));
  return pieces;
}

std::size_t estimate_tokens_of_chars(std::size_t characters) {
  return characters / 4 > 1 ? characters / 4 : 1;
}

std::size_t estimate_tokens(std::string_view text) {
  return estimate_tokens_of_chars(utf8_length(text));
}

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

json::value value_of_type(const json::value* property) {
  const json::object* fields = property ? property->if_object() : nullptr;
  const json::value* type = fields ? fields->if_contains("type") : nullptr;
  std::string name;
  if (type && type->is_string()) {
    name = lower(type->get_string());
  } else if (type && type->is_array()) {
    for (const json::value& item : type->get_array()) {
      if (item.is_string() && item.get_string() != "null") {
        name = lower(item.get_string());
        break;
      }
    }
  }
  if (name == "number" || name == "integer") return 1;
  if (name == "boolean") return true;
  if (name == "object") return json::object();
  if (name == "array") return json::array();
  if (name == "null") return nullptr;
  return "mock";
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::atomic<std::uint64_t> id_counter{0};

}  // namespace

json::object args_for_schema(const json::value* schema) {
  json::object args;
  const json::object* fields = schema ? schema->if_object() : nullptr;
  if (fields == nullptr) return args;
  const json::value* required = fields->if_contains("required");
  const json::value* properties = fields->if_contains("properties");
  if (required == nullptr || !required->is_array()) return args;
  for (const json::value& name : required->get_array()) {
    if (!name.is_string()) continue;
    const json::value* property = nullptr;
    if (properties && properties->is_object()) {
      property = properties->get_object().if_contains(name.get_string());
    }
    args[name.get_string()] = value_of_type(property);
  }
  return args;
}

namespace {

// The schema a local `$ref` ("#/$defs/Name", "#/definitions/Name", "#") points to, or null.
const json::value* resolve_ref(const json::value* root, std::string_view ref) {
  if (ref == "#") return root;
  if (!ref.starts_with("#/")) return nullptr;
  const json::value* at = root;
  std::string_view rest = ref.substr(2);
  while (at != nullptr && !rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string key = percent_decode(rest.substr(0, slash));
    const json::object* fields = at->if_object();
    at = fields ? fields->if_contains(key) : nullptr;
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return at;
}

json::value generate(const json::value* root, const json::value* schema, int depth) {
  if (depth > 32) return nullptr;
  const json::object* fields = schema ? schema->if_object() : nullptr;
  if (fields == nullptr) return "mock";
  if (const json::value* ref = fields->if_contains("$ref"); ref && ref->is_string()) {
    return generate(root, resolve_ref(root, ref->get_string()), depth + 1);
  }
  if (const json::value* constant = fields->if_contains("const")) return *constant;
  if (const json::value* values = fields->if_contains("enum");
      values && values->is_array() && !values->get_array().empty()) {
    return values->get_array().front();
  }
  for (const char* name : {"anyOf", "oneOf", "allOf", "any_of"}) {
    const json::value* options = fields->if_contains(name);
    if (options == nullptr || !options->is_array() || options->get_array().empty()) continue;
    // The first option that is not {"type":"null"}, else the first.
    for (const json::value& option : options->get_array()) {
      const json::object* option_fields = option.if_object();
      const json::value* type = option_fields ? option_fields->if_contains("type") : nullptr;
      if (type && type->is_string() && lower(type->get_string()) == "null") continue;
      return generate(root, &option, depth + 1);
    }
    return generate(root, &options->get_array().front(), depth + 1);
  }
  std::string type;
  if (const json::value* declared = fields->if_contains("type"); declared && declared->is_string()) {
    type = lower(declared->get_string());
  } else if (declared && declared->is_array()) {
    for (const json::value& item : declared->get_array()) {
      if (item.is_string() && item.get_string() != "null") {
        type = lower(item.get_string());
        break;
      }
    }
  }
  if (type.empty() && fields->contains("properties")) type = "object";
  if (type.empty() && fields->contains("items")) type = "array";
  if (type == "object") {
    json::object out;
    if (const json::value* properties = fields->if_contains("properties"); properties && properties->is_object()) {
      for (const auto& property : properties->get_object()) {
        out[property.key()] = generate(root, &property.value(), depth + 1);
      }
    }
    return out;
  }
  if (type == "array") {
    json::array out;
    const json::value* items = fields->if_contains("items");
    if (items && items->is_array()) {  // tuple form
      for (const json::value& item : items->get_array()) out.push_back(generate(root, &item, depth + 1));
    } else {
      out.push_back(generate(root, items, depth + 1));
    }
    return out;
  }
  if (type == "number" || type == "integer") return 1;
  if (type == "boolean") return true;
  if (type == "null") return nullptr;
  return "mock";
}

}  // namespace

json::value value_for_schema(const json::value* schema) {
  return generate(schema, schema, 0);
}

std::string json_reply_text(const json::value* schema) {
  if (schema == nullptr) return R"({"answer":"mock"})";
  return json::serialize(value_for_schema(schema));
}

std::optional<ScriptedText> json_reply(const ApiRequest& request, const json::value* schema) {
  if (request.reply_text != nullptr) return std::nullopt;
  return cut_evenly(json_reply_text(schema), static_cast<std::size_t>(std::max(request.chunks, 1)));
}

ApiRequest with_reply(const ApiRequest& request, const ScriptedText& text) {
  ApiRequest copy = request;
  copy.reply_text = &text;
  copy.cut_at_max_tokens = false;
  return copy;
}

std::string_view thinking_text() {
  return "The user asked a question. Let me think about it step by step before answering.";
}

std::string fnv1a_hex(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<std::size_t>(i)] = kDigits[hash & 15];
  return out;
}

std::string base64(std::string_view text) {
  std::string out;
  append_base64(out, std::as_bytes(std::span(text.data(), text.size())));
  return out;
}

std::string thinking_signature(std::string_view thinking) {
  return base64("mock-sig:" + fnv1a_hex(thinking));
}

bool valid_thinking_signature(std::string_view thinking, std::string_view signature) {
  return signature == thinking_signature(thinking);
}

bool mentions_tool(std::string_view text) {
  const std::string folded = lower(text);
  for (std::size_t at = folded.find("tool"); at != std::string::npos; at = folded.find("tool", at + 1)) {
    std::size_t end = at + 4;
    if (end < folded.size() && folded[end] == 's') ++end;
    const bool starts = at == 0 || !is_letter(folded[at - 1]);
    const bool ends = end == folded.size() || !is_letter(folded[end]);
    if (starts && ends) return true;
  }
  return false;
}

std::vector<std::string> fragments(std::string_view text) {
  if (text.size() < 3) {
    const std::size_t half = text.size() / 2;
    return {std::string(text.substr(0, half)), std::string(text.substr(half))};
  }
  const std::size_t third = text.size() / 3;
  return {std::string(text.substr(0, third)), std::string(text.substr(third, third)),
          std::string(text.substr(2 * third))};
}

std::uint64_t next_id() {
  return id_counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

std::string serialize(const json::value& value) {
  return json::serialize(value);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_digit(text[i + 1]);
      const int low = hex_digit(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> bearer_token(const ApiRequest& request) {
  const auto authorization = request.header("authorization");
  if (!authorization || authorization->size() <= 7 || !iequals(authorization->substr(0, 7), "Bearer ")) {
    return std::nullopt;
  }
  std::string_view token = authorization->substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool is_integer(const json::value& value) {
  if (value.is_int64() || value.is_uint64()) return true;
  if (value.is_double()) {
    const double number = value.get_double();
    return number == static_cast<double>(static_cast<std::int64_t>(number));
  }
  return false;
}

bool is_number(const json::value& value) {
  return value.is_int64() || value.is_uint64() || value.is_double();
}

std::int64_t to_int(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) return static_cast<std::int64_t>(value.get_uint64());
  if (value.is_double()) return static_cast<std::int64_t>(value.get_double());
  return 0;
}

double to_double(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  return 0;
}

void add_header(std::string& headers, std::string_view name, std::string_view value) {
  headers.append(name).append(": ").append(value).append("\r\n");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.append(", ");
    out.append(item);
  }
  return out;
}

}  // namespace sluice::mock::common
