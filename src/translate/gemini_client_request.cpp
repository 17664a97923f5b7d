// Gemini generateContent request -> OpenAI Chat Completions request (see gemini_client_request.hpp).
#include "translate/gemini_client_request.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

using Error = std::optional<http::ApiError>;

http::ApiError bad_request(const std::string& path, std::string_view message) {
  return invalid_request(path + ": " + std::string(message), path, "invalid_request");
}

http::ApiError gemini_only(const std::string& path) {
  return bad_request(path, path + " is served by Gemini backends only");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "maxOutputTokens" -> "max_output_tokens".
std::string snake(std::string_view camel) {
  std::string out;
  for (const char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// "max_items" -> "maxItems".
std::string camel(std::string_view snake_name) {
  std::string out;
  bool upper = false;
  for (const char c : snake_name) {
    if (c == '_' && !out.empty()) {
      upper = true;
    } else {
      out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
      upper = false;
    }
  }
  return out;
}

// The member `name` (camelCase) or its snake_case spelling; null counts as absent.
const json::value* field(const json::object& o, std::string_view name) {
  if (const auto* v = o.if_contains(name); v != nullptr && !v->is_null()) return v;
  const auto alias = snake(name);
  if (alias == name) return nullptr;
  if (const auto* v = o.if_contains(alias); v != nullptr && !v->is_null()) return v;
  return nullptr;
}

std::string at(const std::string& base, std::string_view name) {
  return base.empty() ? std::string(name) : base + "." + std::string(name);
}

// Typed members: absent -> nullptr (no error); present with the wrong kind -> a 400.
Error object_field(const json::object& o, std::string_view name, const std::string& path, const json::object*& out) {
  out = nullptr;
  const auto* v = field(o, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) return bad_request(path, "expected an object");
  out = &v->get_object();
  return std::nullopt;
}

Error array_field(const json::object& o, std::string_view name, const std::string& path, const json::array*& out) {
  out = nullptr;
  const auto* v = field(o, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) return bad_request(path, "expected a list");
  out = &v->get_array();
  return std::nullopt;
}

Error string_field(const json::object& o, std::string_view name, const std::string& path,
                   std::optional<std::string_view>& out) {
  out.reset();
  const auto* v = field(o, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) return bad_request(path, "expected a string");
  out = v->get_string();
  return std::nullopt;
}

// Integers as JSON numbers; JavaScript clients may send 1024.0, so a double without a fraction
// (within the int64 range) counts.
bool is_integer(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  if (!v.is_double()) return false;
  const double d = v.get_double();
  return d >= -9.0e18 && d <= 9.0e18 && std::trunc(d) == d;
}

std::int64_t integer_value(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(v.get_uint64(), INT64_MAX));
  return static_cast<std::int64_t>(v.get_double());  // only after is_integer
}

bool is_true(const json::object& o, std::string_view name) {
  const auto* v = field(o, name);
  return v != nullptr && v->is_bool() && v->get_bool();
}

// ---------------------------------------------------------------------------------------------
// Schemas: Gemini's OpenAPI-subset Schema -> JSON Schema.

json::value json_schema(const json::value& schema);

json::object json_schema_object(const json::object& in) {
  json::object out;
  bool nullable = false;
  for (const auto& [json_key, value] : in) {
    const std::string_view raw_key = json_key;
    const std::string key =
        raw_key.find('_') == std::string_view::npos || raw_key.starts_with("$") ? std::string(raw_key) : camel(raw_key);
    if (key == "type") {
      if (value.is_string()) {
        auto type = lower(value.get_string());
        if (type != "type_unspecified") out["type"] = std::move(type);
      } else if (value.is_array()) {
        json::array types;
        for (const auto& t : value.get_array()) types.push_back(t.is_string() ? json::value(lower(t.get_string())) : t);
        out["type"] = std::move(types);
      } else {
        out["type"] = value;
      }
    } else if (key == "nullable") {
      nullable = value.is_bool() && value.get_bool();
    } else if (key == "propertyOrdering") {
      continue;
    } else if ((key == "properties" || key == "$defs" || key == "definitions" || key == "patternProperties") &&
               value.is_object()) {
      json::object members;
      for (const auto& [name, member] : value.get_object()) members[name] = json_schema(member);
      out[key] = std::move(members);
    } else if ((key == "anyOf" || key == "oneOf" || key == "allOf" || key == "prefixItems") && value.is_array()) {
      json::array items;
      for (const auto& item : value.get_array()) items.push_back(json_schema(item));
      out[key] = std::move(items);
    } else if (key == "items" || key == "additionalProperties" || key == "not") {
      out[key] = json_schema(value);
    } else {
      out[key] = value;
    }
  }
  if (nullable) {
    if (const auto* type = out.if_contains("type"); type != nullptr && type->is_string()) {
      out["type"] = json::array{type->get_string(), "null"};
    }
  }
  return out;
}

json::value json_schema(const json::value& schema) {
  if (!schema.is_object()) return schema;
  return json_schema_object(schema.get_object());
}

// ---------------------------------------------------------------------------------------------
// Contents

struct IssuedCall {
  std::string id;
  std::string name;
  bool answered = false;
};

class Conversation {
 public:
  Error add_content(const json::value& value, std::size_t index) {
    const auto path = indexed("contents", index);
    if (!value.is_object()) return bad_request(path, "expected a Content object");
    const auto& content = value.get_object();
    std::optional<std::string_view> role;
    if (auto error = string_field(content, "role", path + ".role", role)) return error;
    const json::array* parts = nullptr;
    if (auto error = array_field(content, "parts", path + ".parts", parts)) return error;
    if (parts == nullptr || parts->empty()) return bad_request(path + ".parts", "a Content needs at least one part");
    if (!role || role->empty() || *role == "user") return add_user(*parts, path + ".parts");
    if (*role == "model") return add_model(*parts, index, path + ".parts");
    return bad_request(path + ".role", "expected 'user' or 'model'");
  }

  json::array& messages() { return messages_; }

 private:
  // The kind of data a part holds (its oneof member), or an error for one no backend but
  // Gemini serves. Empty: the part is dropped (a thought, or only a thoughtSignature).
  static Error part_kind(const json::object& part, const std::string& path, std::string_view& kind) {
    kind = {};
    if (is_true(part, "thought")) return std::nullopt;
    for (const std::string_view name : {"text", "inlineData", "fileData", "functionCall", "functionResponse"}) {
      if (field(part, name) != nullptr) {
        kind = name;
        return std::nullopt;
      }
    }
    for (const std::string_view name : {"executableCode", "codeExecutionResult"}) {
      if (field(part, name) != nullptr) return gemini_only(at(path, name));
    }
    if (field(part, "thoughtSignature") != nullptr) return std::nullopt;
    return bad_request(path, "a part needs one of text, inlineData, fileData, functionCall, functionResponse");
  }

  static Error text_of(const json::object& part, const std::string& path, std::string_view& text) {
    const auto* v = field(part, "text");
    if (!v->is_string()) return bad_request(path + ".text", "expected a string");
    text = v->get_string();
    return std::nullopt;
  }

  static Error image_part(const json::object& part, std::string_view kind, const std::string& path,
                          json::array& parts) {
    const json::object* data = nullptr;
    if (auto error = object_field(part, kind, at(path, kind), data)) return error;
    const auto base = at(path, kind);
    std::optional<std::string_view> mime;
    if (auto error = string_field(*data, "mimeType", base + ".mimeType", mime)) return error;
    std::string url;
    if (kind == "inlineData") {
      if (!mime || mime->empty()) return bad_request(base + ".mimeType", "Field required");
      if (!mime->starts_with("image/")) {
        return bad_request(base + ".mimeType",
                           "only images can be sent inline to this backend (got '" + std::string(*mime) + "')");
      }
      std::optional<std::string_view> payload;
      if (auto error = string_field(*data, "data", base + ".data", payload)) return error;
      if (!payload) return bad_request(base + ".data", "Field required");
      url = "data:" + std::string(*mime) + ";base64," + std::string(*payload);
    } else {
      std::optional<std::string_view> uri;
      if (auto error = string_field(*data, "fileUri", base + ".fileUri", uri)) return error;
      if (!uri || uri->empty()) return bad_request(base + ".fileUri", "Field required");
      if (mime && !mime->empty() && !mime->starts_with("image/")) {
        return bad_request(base + ".mimeType",
                           "only image files can be sent to this backend (got '" + std::string(*mime) + "')");
      }
      if (!uri->starts_with("https://") && !uri->starts_with("http://")) {
        return bad_request(base + ".fileUri", "this backend reads http(s) image URLs only");
      }
      if (uri->find("generativelanguage.googleapis.com/") != std::string_view::npos) {
        return bad_request(base + ".fileUri", "files of the Gemini Files API are served by Gemini backends only");
      }
      url = *uri;
    }
    parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", std::move(url)}}}});
    return std::nullopt;
  }

  Error function_response(const json::object& part, const std::string& path) {
    const auto base = path + ".functionResponse";
    const json::object* response = nullptr;
    if (auto error = object_field(part, "functionResponse", base, response)) return error;
    std::optional<std::string_view> name;
    std::optional<std::string_view> id;
    if (auto error = string_field(*response, "name", base + ".name", name)) return error;
    if (auto error = string_field(*response, "id", base + ".id", id)) return error;
    const json::array* media = nullptr;
    if (auto error = array_field(*response, "parts", base + ".parts", media)) return error;
    if (media != nullptr && !media->empty())
      return bad_request(base + ".parts", "multimodal function responses are served by Gemini backends only");
    const json::object* output = nullptr;
    if (auto error = object_field(*response, "response", base + ".response", output)) return error;

    IssuedCall* call = nullptr;
    if (id && !id->empty()) {
      for (auto& c : calls_)
        if (!c.answered && c.id == *id) {
          call = &c;
          break;
        }
      if (call == nullptr)
        return bad_request(base + ".id", "'" + std::string(*id) +
                                             "' does not answer an unanswered functionCall of an earlier model turn");
    } else {
      if (!name || name->empty()) return bad_request(base + ".name", "Field required");
      for (auto& c : calls_)
        if (!c.answered && c.name == *name) {
          call = &c;
          break;
        }
      if (call == nullptr)
        return bad_request(base + ".name", "'" + std::string(*name) +
                                               "' does not answer an unanswered functionCall of an earlier model turn");
    }
    call->answered = true;
    messages_.push_back(json::object{{"role", "tool"},
                                     {"tool_call_id", call->id},
                                     {"content", output == nullptr ? std::string("{}") : json::serialize(*output)}});
    return std::nullopt;
  }

  Error add_user(const json::array& parts, const std::string& path) {
    json::array content;
    for (std::size_t j = 0; j < parts.size(); ++j) {
      const auto part_path = indexed(path, j);
      if (!parts[j].is_object()) return bad_request(part_path, "expected a Part object");
      const auto& part = parts[j].get_object();
      std::string_view kind;
      if (auto error = part_kind(part, part_path, kind)) return error;
      if (kind.empty()) continue;
      if (kind == "text") {
        std::string_view text;
        if (auto error = text_of(part, part_path, text)) return error;
        content.push_back(json::object{{"type", "text"}, {"text", text}});
      } else if (kind == "inlineData" || kind == "fileData") {
        if (auto error = image_part(part, kind, part_path, content)) return error;
      } else if (kind == "functionResponse") {
        if (auto error = function_response(part, part_path)) return error;
      } else {
        return bad_request(part_path + ".functionCall", "functionCall parts belong in a model turn");
      }
    }
    if (content.empty()) return std::nullopt;
    if (content.size() == 1 && string_or(content[0].get_object(), "type") == "text") {
      messages_.push_back(json::object{{"role", "user"}, {"content", content[0].get_object().at("text")}});
    } else {
      messages_.push_back(json::object{{"role", "user"}, {"content", std::move(content)}});
    }
    return std::nullopt;
  }

  Error add_model(const json::array& parts, std::size_t content_index, const std::string& path) {
    std::string text;
    json::array tool_calls;
    for (std::size_t j = 0; j < parts.size(); ++j) {
      const auto part_path = indexed(path, j);
      if (!parts[j].is_object()) return bad_request(part_path, "expected a Part object");
      const auto& part = parts[j].get_object();
      std::string_view kind;
      if (auto error = part_kind(part, part_path, kind)) return error;
      if (kind.empty()) continue;
      if (kind == "text") {
        std::string_view piece;
        if (auto error = text_of(part, part_path, piece)) return error;
        text.append(piece);
      } else if (kind == "functionCall") {
        const auto base = part_path + ".functionCall";
        const json::object* call = nullptr;
        if (auto error = object_field(part, "functionCall", base, call)) return error;
        std::optional<std::string_view> name;
        std::optional<std::string_view> id;
        if (auto error = string_field(*call, "name", base + ".name", name)) return error;
        if (!name || name->empty()) return bad_request(base + ".name", "Field required");
        if (auto error = string_field(*call, "id", base + ".id", id)) return error;
        const json::object* args = nullptr;
        if (auto error = object_field(*call, "args", base + ".args", args)) return error;
        std::string call_id =
            id && !id->empty() ? std::string(*id) : "call_" + std::to_string(content_index) + "_" + std::to_string(j);
        std::optional<std::string_view> signature;
        if (auto error = string_field(part, "thoughtSignature", part_path + ".thoughtSignature", signature))
          return error;
        calls_.push_back(IssuedCall{call_id, std::string(*name), false});
        json::object tool_call{
            {"id", std::move(call_id)},
            {"type", "function"},
            {"function", json::object{{"name", *name},
                                      {"arguments", args == nullptr ? std::string("{}") : json::serialize(*args)}}}};
        // The call's thought signature, in Google's OpenAI-compatible form (openai_gemini replays it).
        if (signature && !signature->empty())
          tool_call["extra_content"] = json::object{{"google", json::object{{"thought_signature", *signature}}}};
        tool_calls.push_back(std::move(tool_call));
      } else if (kind == "functionResponse") {
        return bad_request(part_path + ".functionResponse", "functionResponse parts belong in a user turn");
      } else {
        return bad_request(part_path + "." + std::string(kind),
                           "a model turn can carry text and functionCall parts only on this backend");
      }
    }
    if (text.empty() && tool_calls.empty()) return std::nullopt;
    json::object message{{"role", "assistant"}};
    message["content"] = text.empty() && !tool_calls.empty() ? json::value(nullptr) : json::value(std::move(text));
    if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
    messages_.push_back(std::move(message));
    return std::nullopt;
  }

  json::array messages_;
  std::vector<IssuedCall> calls_;
};

Error system_message(const json::object& in, json::array& messages) {
  const auto* system = field(in, "systemInstruction");
  if (system == nullptr) return std::nullopt;
  std::string text;
  if (system->is_string()) {
    text = system->get_string();
  } else if (system->is_object()) {
    const json::array* parts = nullptr;
    if (auto error = array_field(system->get_object(), "parts", "systemInstruction.parts", parts)) return error;
    bool first = true;
    for (std::size_t j = 0; parts != nullptr && j < parts->size(); ++j) {
      const auto path = indexed("systemInstruction.parts", j);
      const auto* part = (*parts)[j].is_object() ? &(*parts)[j].get_object() : nullptr;
      const auto* piece = part != nullptr ? field(*part, "text") : nullptr;
      if (piece == nullptr || !piece->is_string()) return bad_request(path, "system instruction parts must be text");
      if (is_true(*part, "thought")) continue;
      if (!first) text.push_back('\n');
      text.append(piece->get_string());
      first = false;
    }
  } else {
    return bad_request("systemInstruction", "expected a Content object");
  }
  if (!text.empty()) messages.push_back(json::object{{"role", "system"}, {"content", std::move(text)}});
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Tools

Error convert_tools(const json::object& in, json::object& out) {
  const json::array* tools = nullptr;
  if (auto error = array_field(in, "tools", "tools", tools)) return error;
  json::array functions;
  for (std::size_t i = 0; tools != nullptr && i < tools->size(); ++i) {
    const auto path = indexed("tools", i);
    if (!(*tools)[i].is_object()) return bad_request(path, "expected a Tool object");
    const auto& tool = (*tools)[i].get_object();
    for (const auto& [key, value] : tool) {
      if (value.is_null()) continue;
      if (key != "functionDeclarations" && key != "function_declarations") return gemini_only(at(path, key));
    }
    const json::array* declarations = nullptr;
    if (auto error = array_field(tool, "functionDeclarations", path + ".functionDeclarations", declarations))
      return error;
    for (std::size_t k = 0; declarations != nullptr && k < declarations->size(); ++k) {
      const auto decl_path = indexed(path + ".functionDeclarations", k);
      if (!(*declarations)[k].is_object()) return bad_request(decl_path, "expected a FunctionDeclaration object");
      const auto& decl = (*declarations)[k].get_object();
      std::optional<std::string_view> name;
      std::optional<std::string_view> description;
      if (auto error = string_field(decl, "name", decl_path + ".name", name)) return error;
      if (!name || name->empty()) return bad_request(decl_path + ".name", "Field required");
      if (auto error = string_field(decl, "description", decl_path + ".description", description)) return error;
      json::object function{{"name", *name}};
      if (description) function["description"] = *description;
      const json::object* json_params = nullptr;
      const json::object* params = nullptr;
      if (auto error = object_field(decl, "parametersJsonSchema", decl_path + ".parametersJsonSchema", json_params))
        return error;
      if (auto error = object_field(decl, "parameters", decl_path + ".parameters", params)) return error;
      if (json_params != nullptr) {
        function["parameters"] = *json_params;
      } else if (params != nullptr) {
        function["parameters"] = json_schema_object(*params);
      }
      functions.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
  }

  const json::object* config = nullptr;
  if (auto error = object_field(in, "toolConfig", "toolConfig", config)) return error;
  std::optional<json::value> choice;
  if (config != nullptr) {
    if (field(*config, "retrievalConfig") != nullptr) return gemini_only("toolConfig.retrievalConfig");
    const json::object* calling = nullptr;
    const std::string base = "toolConfig.functionCallingConfig";
    if (auto error = object_field(*config, "functionCallingConfig", base, calling)) return error;
    if (calling != nullptr) {
      std::optional<std::string_view> mode;
      if (auto error = string_field(*calling, "mode", base + ".mode", mode)) return error;
      const json::array* names = nullptr;
      if (auto error = array_field(*calling, "allowedFunctionNames", base + ".allowedFunctionNames", names))
        return error;
      for (std::size_t k = 0; names != nullptr && k < names->size(); ++k)
        if (!(*names)[k].is_string())
          return bad_request(indexed(base + ".allowedFunctionNames", k), "expected a string");
      const bool restricted = names != nullptr && !names->empty();
      const std::string_view m = mode.value_or("");
      if (restricted && m != "ANY")
        return bad_request(base + ".allowedFunctionNames", "allowedFunctionNames requires mode ANY");
      if (m == "AUTO" || m == "VALIDATED") {
        choice = json::value("auto");
      } else if (m == "NONE") {
        choice = json::value("none");
      } else if (m == "ANY") {
        if (!restricted) {
          choice = json::value("required");
        } else if (names->size() == 1) {
          choice = json::object{{"type", "function"}, {"function", json::object{{"name", (*names)[0].get_string()}}}};
        } else {
          return bad_request(
              base + ".allowedFunctionNames",
              "this backend can restrict mode ANY to one function only (got " + std::to_string(names->size()) + ")");
        }
      } else if (!m.empty() && m != "MODE_UNSPECIFIED") {
        return bad_request(base + ".mode", "expected AUTO, ANY, NONE or VALIDATED");
      }
    }
  }
  if (functions.empty()) return std::nullopt;
  out["tools"] = std::move(functions);
  if (choice) out["tool_choice"] = std::move(*choice);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// generationConfig

Error reasoning_effort(const json::object& config, json::object& out) {
  const std::string base = "generationConfig.thinkingConfig";
  const json::object* thinking = nullptr;
  if (auto error = object_field(config, "thinkingConfig", base, thinking)) return error;
  if (thinking == nullptr) return std::nullopt;
  std::optional<std::string_view> level;
  if (auto error = string_field(*thinking, "thinkingLevel", base + ".thinkingLevel", level)) return error;
  if (level && *level != "THINKING_LEVEL_UNSPECIFIED") {
    if (*level != "MINIMAL" && *level != "LOW" && *level != "MEDIUM" && *level != "HIGH")
      return bad_request(base + ".thinkingLevel", "expected MINIMAL, LOW, MEDIUM or HIGH");
    out["reasoning_effort"] = lower(*level);
    return std::nullopt;
  }
  const auto* budget = field(*thinking, "thinkingBudget");
  if (budget == nullptr) return std::nullopt;
  if (!is_integer(*budget)) return bad_request(base + ".thinkingBudget", "expected an integer");
  const auto tokens = integer_value(*budget);
  if (tokens < -1) return bad_request(base + ".thinkingBudget", "expected -1 (dynamic), 0 (off) or a token count");
  if (tokens == 0) return std::nullopt;
  if (tokens == -1) {  // dynamic: the model decides
    out["reasoning_effort"] = "medium";
    out[kPivotThinkingBudget] = -1;
    return std::nullopt;
  }
  out["reasoning_effort"] = tokens <= 1024 ? "low" : tokens <= 8192 ? "medium" : "high";
  out[kPivotThinkingBudget] = tokens;  // the exact budget, for budget-based providers
  return std::nullopt;
}

Error convert_generation_config(const json::object& in, bool stream, json::object& out) {
  const std::string base = "generationConfig";
  const json::object* config = nullptr;
  if (auto error = object_field(in, "generationConfig", base, config)) return error;
  if (config == nullptr) return std::nullopt;

  for (const std::string_view key :
       {"speechConfig", "imageConfig", "mediaResolution", "audioTimestamp", "enableAffectiveDialog", "routingConfig",
        "modelSelectionConfig", "logprobs", "enableEnhancedCivicAnswers"}) {
    if (field(*config, key) != nullptr) return gemini_only(at(base, key));
  }
  if (is_true(*config, "responseLogprobs")) return gemini_only(base + ".responseLogprobs");
  const json::array* modalities = nullptr;
  if (auto error = array_field(*config, "responseModalities", base + ".responseModalities", modalities)) return error;
  for (std::size_t k = 0; modalities != nullptr && k < modalities->size(); ++k) {
    const auto& m = (*modalities)[k];
    if (!m.is_string() || m.get_string() != "TEXT") return gemini_only(indexed(base + ".responseModalities", k));
  }

  const auto integer = [&](std::string_view from, std::string_view to, std::int64_t min) -> Error {
    const auto* v = field(*config, from);
    if (v == nullptr) return std::nullopt;
    if (!is_integer(*v) || integer_value(*v) < min)
      return bad_request(at(base, from), min > 0    ? "expected a positive integer"
                                         : min == 0 ? "expected a non-negative integer"
                                                    : "expected an integer");
    out[to] = integer_value(*v);
    return std::nullopt;
  };
  const auto number = [&](std::string_view from, std::string_view to) -> Error {
    const auto* v = field(*config, from);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) return bad_request(at(base, from), "expected a number");
    out[to] = *v;
    return std::nullopt;
  };
  if (auto error = integer("maxOutputTokens", "max_completion_tokens", 1)) return error;
  if (auto error = number("temperature", "temperature")) return error;
  if (auto error = number("topP", "top_p")) return error;
  if (const auto* top_k = field(*config, "topK"); top_k != nullptr && !top_k->is_number())
    return bad_request(base + ".topK", "expected a number");

  const json::array* stop = nullptr;
  if (auto error = array_field(*config, "stopSequences", base + ".stopSequences", stop)) return error;
  if (stop != nullptr) {
    for (std::size_t k = 0; k < stop->size(); ++k)
      if (!(*stop)[k].is_string()) return bad_request(indexed(base + ".stopSequences", k), "expected a string");
    if (!stop->empty()) out["stop"] = *stop;
  }

  if (const auto* count = field(*config, "candidateCount")) {
    if (!is_integer(*count) || integer_value(*count) < 1)
      return bad_request(base + ".candidateCount", "expected a positive integer");
    if (integer_value(*count) > 1) {
      if (stream) return bad_request(base + ".candidateCount", "a stream from this backend carries one candidate only");
      out["n"] = integer_value(*count);
    }
  }
  if (auto error = number("presencePenalty", "presence_penalty")) return error;
  if (auto error = number("frequencyPenalty", "frequency_penalty")) return error;
  if (auto error = integer("seed", "seed", INT64_MIN)) return error;

  std::optional<std::string_view> mime;
  if (auto error = string_field(*config, "responseMimeType", base + ".responseMimeType", mime)) return error;
  const json::object* schema = nullptr;
  const json::object* json_schema_given = nullptr;
  if (auto error = object_field(*config, "responseSchema", base + ".responseSchema", schema)) return error;
  if (auto error = object_field(*config, "responseJsonSchema", base + ".responseJsonSchema", json_schema_given))
    return error;
  const bool json_mode = mime && *mime == "application/json";
  if (mime && !json_mode && !mime->empty() && *mime != "text/plain") {
    return bad_request(base + ".responseMimeType",
                       "this backend answers text/plain or application/json only (got '" + std::string(*mime) + "')");
  }
  if (schema != nullptr && json_schema_given != nullptr)
    return bad_request(base + ".responseSchema", "set responseSchema or responseJsonSchema, not both");
  if (!json_mode && (schema != nullptr || json_schema_given != nullptr)) {
    return bad_request(base + (schema != nullptr ? ".responseSchema" : ".responseJsonSchema"),
                       "a response schema requires responseMimeType application/json");
  }
  if (json_mode) {
    if (schema != nullptr || json_schema_given != nullptr) {
      json::value converted =
          json_schema_given != nullptr ? json::value(*json_schema_given) : json::value(json_schema_object(*schema));
      out["response_format"] =
          json::object{{"type", "json_schema"},
                       {"json_schema", json::object{{"name", "response"}, {"schema", std::move(converted)}}}};
    } else {
      out["response_format"] = json::object{{"type", "json_object"}};
    }
  }
  return reasoning_effort(*config, out);
}

}  // namespace

std::optional<http::ApiError> gemini_request_to_openai(const json::object& in, const RequestContext& context,
                                                       bool stream, json::object& out) {
  out = json::object{};
  if (const auto* safety = field(in, "safetySettings")) {
    if (!safety->is_array()) return bad_request("safetySettings", "expected a list");
    if (!safety->get_array().empty()) return gemini_only("safetySettings");
  }
  if (const auto* cached = field(in, "cachedContent")) {
    if (!cached->is_string()) return bad_request("cachedContent", "expected a string");
    if (!cached->get_string().empty()) return gemini_only("cachedContent");
  }
  const json::array* contents = nullptr;
  if (auto error = array_field(in, "contents", "contents", contents)) return error;
  if (contents == nullptr || contents->empty()) return bad_request("contents", "at least one Content is required");

  out["model"] = context.model;
  json::array system;
  if (auto error = system_message(in, system)) return error;
  Conversation conversation;
  for (std::size_t i = 0; i < contents->size(); ++i)
    if (auto error = conversation.add_content((*contents)[i], i)) return error;
  if (conversation.messages().empty())
    return bad_request("contents", "no content left to send (thought parts are not sent to this backend)");
  json::array messages = std::move(system);
  for (auto& message : conversation.messages()) messages.push_back(std::move(message));
  out["messages"] = std::move(messages);

  if (auto error = convert_tools(in, out)) return error;
  if (auto error = convert_generation_config(in, stream, out)) return error;
  if (stream) {
    out["stream"] = true;
    out["stream_options"] = json::object{{"include_usage", true}};
  }
  return std::nullopt;
}

}  // namespace sluice::translate
