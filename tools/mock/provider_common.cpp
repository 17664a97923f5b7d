#include "provider_common.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
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

namespace {

// Bounds of a generated value: within kFullDepth levels and kFullBudget values a value is
// complete; past either it is the smallest valid one (null where the schema allows it, only the
// required properties, arrays of minItems items); past kMaxDepth levels or kHardBudget values it
// is null, so a recursive schema ends and no schema makes an unbounded document.
constexpr int kFullDepth = 16;
constexpr int kMaxDepth = 32;
constexpr long kFullBudget = 1000;
constexpr long kHardBudget = 20000;
constexpr double kMaxItems = 64;
constexpr double kMaxLength = 4096;

// The schema a local `$ref` ("#/$defs/Name", "#/definitions/Name", "#") points to, or null.
const json::value* resolve_ref(const json::value* root, std::string_view ref) {
  if (ref == "#") return root;
  if (!ref.starts_with("#/")) return nullptr;
  const json::value* at = root;
  std::string_view rest = ref.substr(2);
  while (at != nullptr && !rest.empty()) {
    const std::size_t slash = rest.find('/');
    std::string key = percent_decode(rest.substr(0, slash));
    // JSON Pointer escapes: ~1 is '/', ~0 is '~'.
    for (std::size_t at_tilde = key.find('~'); at_tilde != std::string::npos && at_tilde + 1 < key.size();
         at_tilde = key.find('~', at_tilde + 1)) {
      if (key[at_tilde + 1] == '1') key.replace(at_tilde, 2, "/");
      if (key[at_tilde + 1] == '0') key.erase(at_tilde + 1, 1);
    }
    const json::object* fields = at->if_object();
    at = fields ? fields->if_contains(key) : nullptr;
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return at;
}

// The lower-cased type names of a schema ("type": "STRING" or ["string","null"]).
std::vector<std::string> type_names(const json::object& fields) {
  std::vector<std::string> names;
  const json::value* type = fields.if_contains("type");
  if (type && type->is_string()) names.push_back(lower(type->get_string()));
  if (type && type->is_array()) {
    for (const json::value& item : type->get_array()) {
      if (item.is_string()) names.push_back(lower(item.get_string()));
    }
  }
  return names;
}

bool is_null_schema(const json::value& schema) {
  const json::object* fields = schema.if_object();
  const std::vector<std::string> names = fields ? type_names(*fields) : std::vector<std::string>{};
  return names.size() == 1 && names.front() == "null";
}

// A numeric member: a JSON number, or a number in a string (Gemini writes int64 fields so).
std::optional<double> number_member(const json::object& fields, std::string_view key) {
  const json::value* value = fields.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (is_number(*value)) return to_double(*value);
  if (!value->is_string()) return std::nullopt;
  const std::string_view text = value->get_string();
  double number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

// Whether null is valid: a "null" type, `nullable: true` (OpenAPI), a null enum value or a
// {"type":"null"} option of anyOf/oneOf.
bool allows_null(const json::object& fields) {
  const std::vector<std::string> names = type_names(fields);
  if (std::ranges::find(names, "null") != names.end()) return true;
  if (const json::value* nullable = fields.if_contains("nullable"); nullable && nullable->is_bool()) {
    if (nullable->get_bool()) return true;
  }
  if (const json::value* values = fields.if_contains("enum"); values && values->is_array()) {
    if (std::ranges::any_of(values->get_array(), [](const json::value& value) { return value.is_null(); })) return true;
  }
  for (const char* name : {"anyOf", "oneOf", "any_of"}) {
    const json::value* options = fields.if_contains(name);
    if (options && options->is_array() && std::ranges::any_of(options->get_array(), is_null_schema)) return true;
  }
  return false;
}

// Values valid against one schema document (`root`, which local $refs resolve against).
// `all_properties`: an object gets every property of `properties` (structured output); else only
// the required ones (tool input, as models fill it).
class Generator {
 public:
  Generator(const json::value* root, bool all_properties) : root_(root), all_properties_(all_properties) {}

  json::value generate(const json::value* schema, int depth) {
    if (depth > kMaxDepth || spent_ >= kHardBudget) return nullptr;
    ++spent_;
    const json::object* fields = schema ? schema->if_object() : nullptr;
    if (fields == nullptr) return "mock";  // no schema, or `true`: anything is valid
    if (const json::value* ref = fields->if_contains("$ref"); ref && ref->is_string()) {
      return generate(resolve_ref(root_, ref->get_string()), depth + 1);
    }
    if (const json::value* constant = fields->if_contains("const")) return *constant;
    if (const json::value* values = fields->if_contains("enum");
        values && values->is_array() && !values->get_array().empty()) {
      return values->get_array().front();
    }
    const bool minimal = depth > kFullDepth || spent_ > kFullBudget;
    if (minimal && allows_null(*fields)) return nullptr;
    if (const json::value* parts = fields->if_contains("allOf");
        parts && parts->is_array() && !parts->get_array().empty()) {
      return all_of(*fields, parts->get_array(), depth);
    }
    for (const char* name : {"anyOf", "oneOf", "any_of"}) {
      const json::value* options = fields->if_contains(name);
      if (options == nullptr || !options->is_array() || options->get_array().empty()) continue;
      for (const json::value& option : options->get_array()) {
        if (!is_null_schema(option)) return generate(&option, depth + 1);
      }
      return nullptr;
    }
    const std::vector<std::string> names = type_names(*fields);
    std::string type;
    for (const std::string& name : names) {
      if (name != "null") {
        type = name;
        break;
      }
    }
    if (type.empty() && !names.empty()) return nullptr;  // only "null"
    if (type.empty() && (fields->contains("properties") || fields->contains("required"))) type = "object";
    if (type.empty() && (fields->contains("items") || fields->contains("prefixItems"))) type = "array";
    if (type == "object") return object_value(*fields, depth, minimal);
    if (type == "array") return array_value(*fields, depth, minimal);
    if (type == "integer") return number_value(*fields, true);
    if (type == "number") return number_value(*fields, false);
    if (type == "boolean") return true;
    return string_value(*fields);
  }

 private:
  // allOf: the objects its parts (and the schema's own properties) generate, merged; the first
  // part's value when one is not an object.
  json::value all_of(const json::object& fields, const json::array& parts, int depth) {
    json::object merged;
    for (const json::value& part : parts) {
      json::value value = generate(&part, depth + 1);
      if (!value.is_object()) return generate(&parts.front(), depth + 1);
      for (auto& member : value.get_object()) merged[member.key()] = std::move(member.value());
    }
    if (fields.contains("properties") || fields.contains("required")) {
      for (auto& member : object_value(fields, depth, false)) merged[member.key()] = std::move(member.value());
    }
    return merged;
  }

  json::object object_value(const json::object& fields, int depth, bool minimal) {
    json::object out;
    const json::value* properties_value = fields.if_contains("properties");
    const json::object* properties = properties_value ? properties_value->if_object() : nullptr;
    const json::value* required_value = fields.if_contains("required");
    const json::array* required = required_value ? required_value->if_array() : nullptr;
    const auto is_required = [&](std::string_view key) {
      return required && std::ranges::any_of(*required, [&](const json::value& name) {
               return name.is_string() && name.get_string() == key;
             });
    };
    if (properties) {
      for (const auto& property : *properties) {
        if ((all_properties_ && !minimal) || is_required(property.key())) {
          out[property.key()] = generate(&property.value(), depth + 1);
        }
      }
    }
    if (required) {  // required names without a property schema: additionalProperties' schema
      const json::value* extra = fields.if_contains("additionalProperties");
      for (const json::value& name : *required) {
        if (!name.is_string() || out.contains(name.get_string())) continue;
        out[name.get_string()] = generate(extra && extra->is_object() ? extra : nullptr, depth + 1);
      }
    }
    return out;
  }

  // One item (or minItems, at most kMaxItems; at most maxItems); a tuple (prefixItems, or an
  // array `items`) has an item per position. Without an item schema: minItems "mock" items.
  json::array array_value(const json::object& fields, int depth, bool minimal) {
    const json::value* items_value = fields.if_contains("items");
    const json::value* prefix_value = fields.if_contains("prefixItems");
    const json::array* prefix = prefix_value ? prefix_value->if_array() : nullptr;
    if (prefix == nullptr && items_value && items_value->is_array()) prefix = &items_value->get_array();
    const json::value* item_schema = items_value && items_value->is_object() ? items_value : nullptr;
    const double min_items = std::clamp(number_member(fields, "minItems").value_or(0), 0.0, kMaxItems);
    double wanted = minimal || (item_schema == nullptr && prefix == nullptr) ? min_items : std::max(min_items, 1.0);
    if (prefix) wanted = std::max(wanted, static_cast<double>(prefix->size()));
    if (const auto max_items = number_member(fields, "maxItems")) wanted = std::min(wanted, std::max(*max_items, 0.0));
    json::array out;
    const auto count = static_cast<std::size_t>(std::min(wanted, kMaxItems));
    for (std::size_t i = 0; i < count; ++i) {
      const json::value* schema = prefix && i < prefix->size() ? &(*prefix)[i] : item_schema;
      out.push_back(generate(schema, depth + 1));
    }
    return out;
  }

  // 1, moved into [minimum, maximum] (exclusive bounds as numbers or draft-4 booleans) and up to
  // a multiple of multipleOf.
  static json::value number_value(const json::object& fields, bool integer) {
    double value = 1;
    std::optional<double> low = number_member(fields, "minimum");
    std::optional<double> high = number_member(fields, "maximum");
    bool low_exclusive = false;
    bool high_exclusive = false;
    if (const json::value* flag = fields.if_contains("exclusiveMinimum"); flag && flag->is_bool()) {
      low_exclusive = flag->get_bool();
    } else if (const auto bound = number_member(fields, "exclusiveMinimum")) {
      low = bound;
      low_exclusive = true;
    }
    if (const json::value* flag = fields.if_contains("exclusiveMaximum"); flag && flag->is_bool()) {
      high_exclusive = flag->get_bool();
    } else if (const auto bound = number_member(fields, "exclusiveMaximum")) {
      high = bound;
      high_exclusive = true;
    }
    if (const auto step = number_member(fields, "multipleOf"); step && *step > 0) {
      value = std::ceil(value / *step) * *step;
    }
    if (low && (value < *low || (low_exclusive && value <= *low))) {
      if (integer) {
        value = low_exclusive ? std::floor(*low) + 1 : std::ceil(*low);
      } else {
        value = low_exclusive ? *low + 1 : *low;
      }
    }
    if (high && (value > *high || (high_exclusive && value >= *high))) {
      if (integer) {
        value = high_exclusive ? std::ceil(*high) - 1 : std::floor(*high);
      } else if (high_exclusive) {
        value = low ? (*low + *high) / 2 : *high - 1;
      } else {
        value = *high;
      }
    }
    if (integer || value == std::trunc(value)) return static_cast<std::int64_t>(value);
    return value;
  }

  // "mock", or an example of its `format`; padded to minLength, cut to maxLength.
  static json::value string_value(const json::object& fields) {
    std::string text = "mock";
    if (const json::value* format = fields.if_contains("format"); format && format->is_string()) {
      static constexpr std::pair<std::string_view, std::string_view> kExamples[] = {
          {"date-time", "2024-01-01T00:00:00Z"},
          {"date", "2024-01-01"},
          {"time", "00:00:00Z"},
          {"duration", "P1D"},
          {"email", "mock@example.com"},
          {"hostname", "example.com"},
          {"ipv4", "127.0.0.1"},
          {"ipv6", "::1"},
          {"uri", "https://example.com/mock"},
          {"url", "https://example.com/mock"},
          {"uri-reference", "https://example.com/mock"},
          {"uuid", "00000000-0000-4000-8000-000000000000"},
      };
      for (const auto& [name, example] : kExamples) {
        if (format->get_string() == name) text = example;
      }
    }
    const double min_length = std::clamp(number_member(fields, "minLength").value_or(0), 0.0, kMaxLength);
    while (static_cast<double>(text.size()) < min_length) text.push_back('k');
    if (const auto max_length = number_member(fields, "maxLength"); max_length && *max_length >= 0) {
      if (static_cast<double>(text.size()) > *max_length) text.resize(static_cast<std::size_t>(*max_length));
    }
    return json::value(text);
  }

  const json::value* root_;
  bool all_properties_;
  long spent_ = 0;
};

}  // namespace

json::object args_for_schema(const json::value* schema) {
  json::value value = Generator(schema, false).generate(schema, 0);
  return value.is_object() ? std::move(value.get_object()) : json::object();
}

json::value value_for_schema(const json::value* schema) {
  return Generator(schema, true).generate(schema, 0);
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
