#include "gemini_api.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "openai_api.hpp"
#include "provider_common.hpp"
#include "scripted_text.hpp"
#include "text.hpp"

namespace sluice::mock::gemini {
namespace {

namespace json = boost::json;
using common::fail;
using common::Invalid;

constexpr std::string_view kModels = "/models/";
constexpr std::string_view kVertexMarker = "/publishers/google/models/";
constexpr std::string_view kAnthropicMarker = "/publishers/anthropic/models/";

std::string_view status_name(unsigned status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 500:
      return "INTERNAL";
    case 501:
      return "NOT_IMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "UNKNOWN" : "FAILED_PRECONDITION";
  }
}

unsigned status_code(std::string_view name) {
  if (name == "INVALID_ARGUMENT" || name == "FAILED_PRECONDITION") return 400;
  if (name == "UNAUTHENTICATED") return 401;
  if (name == "PERMISSION_DENIED") return 403;
  if (name == "NOT_FOUND") return 404;
  if (name == "RESOURCE_EXHAUSTED") return 429;
  if (name == "UNAVAILABLE") return 503;
  if (name == "DEADLINE_EXCEEDED") return 504;
  return 500;
}

// "functionResponse" -> "function_response".
std::string snake(std::string_view camel) {
  std::string out;
  for (const char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c + 32));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The member named `camel` or its snake_case form (proto JSON accepts both).
const json::value* field(const json::object& object, std::string_view camel) {
  if (const json::value* value = object.if_contains(camel)) return value;
  return object.if_contains(snake(camel));
}

void check_known(const json::object& object, std::initializer_list<std::string_view> known, std::string_view where) {
  for (const auto& member : object) {
    const std::string_view name = member.key();
    const bool ok = std::ranges::any_of(known, [&](std::string_view k) { return name == k || name == snake(k); });
    if (!ok) {
      std::string message = "Invalid JSON payload received. Unknown name \"";
      message.append(name).append("\"");
      if (!where.empty()) message.append(" at '").append(where).append("'");
      message.append(": Cannot find field.");
      fail(message);
    }
  }
}

std::string indexed(std::string_view prefix, std::size_t index) {
  std::string out(prefix);
  out.push_back('[');
  append_number(out, index);
  out.push_back(']');
  return out;
}

[[noreturn]] void fail_field(std::string_view where, std::string_view message) {
  fail("* GenerateContentRequest." + std::string(where) + ": " + std::string(message) + "\n");
}

[[noreturn]] void fail_value(std::string_view where, std::string_view type, const json::value& value) {
  fail("Invalid value at '" + std::string(where) + "' (" + std::string(type) + "), " + common::serialize(value));
}

const json::object& object_at(const json::value& value, std::string_view where) {
  if (!value.is_object()) {
    fail("Invalid value at '" + std::string(where) + "', " + common::serialize(value) + ": expected an object");
  }
  return value.get_object();
}

struct FunctionCall {
  std::string name;
  std::optional<std::string> signature;  // the part's thoughtSignature
};

struct Content {
  std::string role;
  std::size_t function_calls = 0;
  std::size_t function_responses = 0;
  std::string text;
  std::vector<FunctionCall> calls;  // the functionCall parts, in order
  bool has_other_parts = false;     // parts other than functionResponse (a user prompt starts a turn)
};

constexpr std::string_view kDataKinds[] = {
    "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"};

void check_part(const json::value& value, const std::string& where, Content& content) {
  const json::object& part = object_at(value, where);
  check_known(
      part,
      {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
       "thought", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata"},
      where);
  std::string_view kind;
  for (const std::string_view candidate : kDataKinds) {
    if (field(part, candidate) == nullptr) continue;
    if (!kind.empty()) {
      fail("Invalid value at '" + where + "' (oneof), oneof field 'data' is already set. Cannot set '" +
           std::string(candidate) + "'");
    }
    kind = candidate;
  }
  if (kind.empty()) fail_field(where + ".data", "required oneof field 'data' must have one initialized field");
  const json::value& data = *field(part, kind);
  const std::string here = where + "." + snake(kind);
  if (kind == "text") {
    if (!data.is_string()) fail_value(here, "TYPE_STRING", data);
    content.text.append(data.get_string());
  } else if (kind == "inlineData") {
    const json::object& blob = object_at(data, here);
    check_known(blob, {"mimeType", "data", "displayName"}, here);
    const json::value* mime = field(blob, "mimeType");
    const json::value* bytes = field(blob, "data");
    if (mime == nullptr || !mime->is_string() || mime->get_string().empty()) {
      fail_field(here + ".mime_type", "Mime type cannot be empty.");
    }
    if (bytes == nullptr || !bytes->is_string()) fail_field(here + ".data", "data cannot be empty.");
  } else if (kind == "fileData") {
    const json::object& file = object_at(data, here);
    check_known(file, {"mimeType", "fileUri", "displayName"}, here);
    const json::value* uri = field(file, "fileUri");
    if (uri == nullptr || !uri->is_string() || uri->get_string().empty()) {
      fail_field(here + ".file_uri", "File uri cannot be empty.");
    }
  } else if (kind == "functionCall") {
    const json::object& call = object_at(data, here);
    check_known(call, {"id", "name", "args", "partialArgs", "willContinue"}, here);
    const json::value* name = field(call, "name");
    if (name == nullptr || !name->is_string() || name->get_string().empty()) {
      fail_field(here + ".name", "Name cannot be empty.");
    }
    if (const json::value* args = field(call, "args"); args && !args->is_object()) {
      fail_value(here + ".args", "TYPE_MESSAGE", *args);
    }
    ++content.function_calls;
    FunctionCall entry{std::string(name->get_string()), std::nullopt};
    if (const json::value* signature = field(part, "thoughtSignature"); signature && signature->is_string()) {
      entry.signature = std::string(signature->get_string());
    }
    content.calls.push_back(std::move(entry));
  } else if (kind == "functionResponse") {
    const json::object& response = object_at(data, here);
    check_known(response, {"id", "name", "response", "parts", "willContinue", "scheduling"}, here);
    const json::value* name = field(response, "name");
    if (name == nullptr || !name->is_string() || name->get_string().empty()) {
      fail_field(here + ".name", "Name cannot be empty.");
    }
    const json::value* body = field(response, "response");
    if (body == nullptr || !body->is_object()) fail_field(here + ".response", "Response must be a JSON object.");
    ++content.function_responses;
  }
  if (kind != "functionResponse") content.has_other_parts = true;
  if (const json::value* thought = field(part, "thought"); thought && !thought->is_bool()) {
    fail_value(where + ".thought", "TYPE_BOOL", *thought);
  }
  if (const json::value* signature = field(part, "thoughtSignature"); signature && !signature->is_string()) {
    fail_value(where + ".thought_signature", "TYPE_BYTES", *signature);
  }
}

Content check_content(const json::value& value, const std::string& where, bool system) {
  const json::object& object = object_at(value, where);
  check_known(object, {"role", "parts"}, where);
  Content content;
  content.role = "user";
  if (const json::value* role = object.if_contains("role"); role && !system) {
    if (!role->is_string()) fail_value(where + ".role", "TYPE_STRING", *role);
    if (!role->get_string().empty()) content.role = role->get_string();
    if (content.role != "user" && content.role != "model") fail("Please use a valid role: user, model.");
  }
  const json::value* parts = object.if_contains("parts");
  if (parts == nullptr || !parts->is_array() || parts->get_array().empty()) {
    fail_field(where + ".parts", "contents.parts must not be empty.");
  }
  std::size_t index = 0;
  for (const json::value& part : parts->get_array()) check_part(part, indexed(where + ".parts", index++), content);
  return content;
}

void check_pairing(const std::vector<Content>& contents) {
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const Content& content = contents[i];
    if (content.role == "model" && content.function_calls > 0) {
      if (i == 0 || contents[i - 1].role != "user") {
        fail(
            "Please ensure that function call turn comes immediately after a user turn or after a "
            "function response turn.");
      }
      if (i + 1 >= contents.size() || contents[i + 1].role != "user" ||
          contents[i + 1].function_responses != content.function_calls) {
        fail(
            "Please ensure that the number of function response parts is equal to the number of "
            "function call parts of the function call turn.");
      }
    }
    if (content.function_responses > 0 && (content.role != "user" || i == 0 || contents[i - 1].function_calls == 0)) {
      fail(
          "Please ensure that function response turn comes immediately after a function call "
          "turn.");
    }
  }
}

enum class Kind { number, integer, boolean, string, string_array, object, any };

struct ConfigField {
  std::string_view name;
  Kind kind;
};

constexpr ConfigField kGenerationConfig[] = {
    {"temperature", Kind::number},
    {"topP", Kind::number},
    {"topK", Kind::number},
    {"maxOutputTokens", Kind::integer},
    {"candidateCount", Kind::integer},
    {"seed", Kind::integer},
    {"presencePenalty", Kind::number},
    {"frequencyPenalty", Kind::number},
    {"stopSequences", Kind::string_array},
    {"responseMimeType", Kind::string},
    {"responseSchema", Kind::object},
    {"responseJsonSchema", Kind::any},
    {"responseModalities", Kind::string_array},
    {"thinkingConfig", Kind::object},
    {"responseLogprobs", Kind::boolean},
    {"logprobs", Kind::integer},
    {"mediaResolution", Kind::string},
    {"speechConfig", Kind::object},
    {"imageConfig", Kind::object},
    {"routingConfig", Kind::object},
    {"enableEnhancedCivicAnswers", Kind::boolean},
    {"audioTimestamp", Kind::boolean},
    {"enableAffectiveDialog", Kind::boolean},
};

void check_kind(const json::value& value, Kind kind, const std::string& where) {
  switch (kind) {
    case Kind::number:
      if (!common::is_number(value)) fail_value(where, "TYPE_FLOAT", value);
      break;
    case Kind::integer:
      if (!common::is_integer(value)) fail_value(where, "TYPE_INT32", value);
      break;
    case Kind::boolean:
      if (!value.is_bool()) fail_value(where, "TYPE_BOOL", value);
      break;
    case Kind::string:
      if (!value.is_string()) fail_value(where, "TYPE_STRING", value);
      break;
    case Kind::string_array:
      if (!value.is_array()) fail_value(where, "TYPE_STRING", value);
      for (const json::value& item : value.get_array()) {
        if (!item.is_string()) fail_value(where, "TYPE_STRING", item);
      }
      break;
    case Kind::object:
      object_at(value, where);
      break;
    case Kind::any:
      break;
  }
}

void check_generation_config(const json::value& value) {
  const json::object& config = object_at(value, "generation_config");
  for (const auto& member : config) {
    const ConfigField* known = nullptr;
    for (const ConfigField& candidate : kGenerationConfig) {
      if (member.key() == candidate.name || member.key() == snake(candidate.name)) known = &candidate;
    }
    if (known == nullptr) {
      fail("Invalid JSON payload received. Unknown name \"" + std::string(member.key()) +
           "\" at 'generation_config': Cannot find field.");
    }
    if (member.value().is_null()) continue;
    check_kind(member.value(), known->kind, "generation_config." + snake(known->name));
  }
  if (const json::value* temperature = field(config, "temperature"); temperature && common::is_number(*temperature)) {
    const double t = common::to_double(*temperature);
    if (t < 0 || t > 2) fail_field("generation_config.temperature", "must be in the range [0.0, 2.0].");
  }
  if (const json::value* top_p = field(config, "topP"); top_p && common::is_number(*top_p)) {
    const double p = common::to_double(*top_p);
    if (p < 0 || p > 1) fail_field("generation_config.top_p", "must be in the range [0.0, 1.0].");
  }
}

// The generationConfig settings the reply depends on.
struct OutputConfig {
  bool thinking = false;                // thinkingConfig with a budget other than 0, or a level
  bool include_thoughts = false;        // thinkingConfig.includeThoughts
  bool json = false;                    // responseMimeType application/json
  bool enumeration = false;             // responseMimeType text/x.enum
  const json::value* schema = nullptr;  // responseSchema or responseJsonSchema
};

constexpr std::string_view kSchemaFields[] = {
    "type",      "format",    "title",      "description", "nullable",      "enum",
    "maxItems",  "minItems",  "properties", "required",    "minProperties", "maxProperties",
    "minLength", "maxLength", "pattern",    "example",     "anyOf",         "propertyOrdering",
    "default",   "items",     "minimum",    "maximum"};

constexpr std::string_view kSchemaTypes[] = {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER",
                                             "BOOLEAN",          "ARRAY",  "OBJECT", "NULL"};

// responseSchema is Google's OpenAPI subset: only its fields, upper-case type names.
void check_openapi_schema(const json::value& value, const std::string& where, int depth) {
  const json::object& schema = object_at(value, where);
  if (depth > 32) fail_field(where, "schema nesting is too deep.");
  for (const auto& member : schema) {
    const bool known = std::ranges::any_of(
        kSchemaFields, [&](std::string_view name) { return member.key() == name || member.key() == snake(name); });
    if (!known) {
      fail("Invalid JSON payload received. Unknown name \"" + std::string(member.key()) + "\" at '" + where +
           "': Cannot find field.");
    }
  }
  if (const json::value* type = field(schema, "type"); type && !type->is_null()) {
    const bool ok = type->is_string() && std::ranges::any_of(kSchemaTypes, [&](std::string_view name) {
                      return type->get_string() == name;
                    });
    if (!ok) {
      fail("Invalid value at '" + where + ".type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), " +
           common::serialize(*type));
    }
  }
  if (const json::value* properties = field(schema, "properties"); properties && !properties->is_null()) {
    std::size_t index = 0;
    for (const auto& property : object_at(*properties, where + ".properties")) {
      check_openapi_schema(property.value(), indexed(where + ".properties", index++) + ".value", depth + 1);
    }
  }
  if (const json::value* items = field(schema, "items"); items && !items->is_null()) {
    check_openapi_schema(*items, where + ".items", depth + 1);
  }
  if (const json::value* options = field(schema, "anyOf"); options && !options->is_null()) {
    if (!options->is_array()) fail_value(where + ".any_of", "TYPE_MESSAGE", *options);
    std::size_t index = 0;
    for (const json::value& option : options->get_array()) {
      check_openapi_schema(option, indexed(where + ".any_of", index++), depth + 1);
    }
  }
  if (const json::value* values = field(schema, "enum"); values && !values->is_null()) {
    check_kind(*values, Kind::string_array, where + ".enum");
  }
}

OutputConfig check_output_config(const json::object& config) {
  OutputConfig out;
  std::string_view mime = "text/plain";
  if (const json::value* type = field(config, "responseMimeType"); type && type->is_string()) {
    mime = type->get_string();
    if (mime != "text/plain" && mime != "application/json" && mime != "application/xml" && mime != "application/yaml" &&
        mime != "text/x.enum") {
      fail_field("generation_config.response_mime_type",
                 "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` "
                 "and `text/x.enum`.");
    }
  }
  const json::value* schema = field(config, "responseSchema");
  const json::value* json_schema = field(config, "responseJsonSchema");
  if (schema && schema->is_null()) schema = nullptr;
  if (json_schema && json_schema->is_null()) json_schema = nullptr;
  if (schema && json_schema) {
    fail_field("generation_config.response_json_schema",
               "response_schema and response_json_schema cannot both be set.");
  }
  if (schema) check_openapi_schema(*schema, "generation_config.response_schema", 0);
  if (json_schema && !json_schema->is_object()) {
    fail_value("generation_config.response_json_schema", "TYPE_MESSAGE", *json_schema);
  }
  if ((schema || json_schema) && mime != "application/json" && !(schema && mime == "text/x.enum")) {
    fail_field(schema ? "generation_config.response_schema" : "generation_config.response_json_schema",
               "response_mime_type must be set to `application/json` (or `text/x.enum` with response_schema) "
               "when a response schema is set.");
  }
  if (mime == "text/x.enum") {
    const json::value* values = schema ? field(schema->get_object(), "enum") : nullptr;
    if (values == nullptr || !values->is_array() || values->get_array().empty()) {
      fail_field("generation_config.response_schema", "a response_schema with an enum is required for text/x.enum.");
    }
  }
  out.json = mime == "application/json";
  out.enumeration = mime == "text/x.enum";
  out.schema = schema ? schema : json_schema;

  const json::value* thinking = field(config, "thinkingConfig");
  if (thinking == nullptr || thinking->is_null()) return out;
  const json::object& fields = thinking->get_object();  // an object: checked by check_generation_config
  check_known(fields, {"includeThoughts", "thinkingBudget", "thinkingLevel"}, "generation_config.thinking_config");
  const json::value* include = field(fields, "includeThoughts");
  const json::value* budget = field(fields, "thinkingBudget");
  const json::value* level = field(fields, "thinkingLevel");
  if (include && !include->is_null() && !include->is_bool()) {
    fail_value("generation_config.thinking_config.include_thoughts", "TYPE_BOOL", *include);
  }
  if (budget && budget->is_null()) budget = nullptr;
  if (level && level->is_null()) level = nullptr;
  if (budget) {
    if (!common::is_integer(*budget))
      fail_value("generation_config.thinking_config.thinking_budget", "TYPE_INT32", *budget);
    const std::int64_t tokens = common::to_int(*budget);
    if (tokens != -1 && tokens != 0 && (tokens < 128 || tokens > 32768)) {
      fail("The thinking budget " + std::to_string(tokens) +
           " is invalid. Please choose a value between 128 and 32768, 0 to disable thinking or -1 for dynamic "
           "thinking.");
    }
  }
  if (level) {
    const std::string_view name = level->is_string() ? std::string_view(level->get_string()) : "";
    constexpr std::string_view kLevels[] = {"minimal", "low", "medium", "high", "THINKING_LEVEL_UNSPECIFIED"};
    if (!std::ranges::any_of(kLevels, [&](std::string_view known) { return iequals(name, known); })) {
      fail(
          "Invalid value at 'generation_config.thinking_config.thinking_level' "
          "(type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), " +
          common::serialize(*level));
    }
  }
  if (budget && level) fail("You can only set only one of thinking budget and thinking level.");
  out.thinking = level != nullptr || budget == nullptr || common::to_int(*budget) != 0;
  out.include_thoughts = out.thinking && include && include->is_bool() && include->get_bool();
  return out;
}

// The thoughtSignature the mock puts on a function call it makes while thinking; a replayed call
// must carry it (or a documented placeholder).
std::string thought_signature(std::string_view function) {
  return common::base64("mock-thought:" + common::fnv1a_hex(function));
}

bool placeholder_signature(std::string_view signature) {
  for (const std::string_view dummy : {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}) {
    if (signature == dummy || signature == common::base64(dummy)) return true;
  }
  return false;
}

// Gemini 3 with thinking: in the current turn (the contents after the last user prompt), the first
// functionCall part of each model content carries its thoughtSignature, and every signature on a
// functionCall part is one the mock issued (or a placeholder).
void check_thought_signatures(const std::vector<Content>& contents) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < contents.size(); ++i) {
    if (contents[i].role == "user" && contents[i].has_other_parts) start = i + 1;
  }
  for (std::size_t i = start; i < contents.size(); ++i) {
    const Content& content = contents[i];
    if (content.role != "model") continue;
    for (std::size_t j = 0; j < content.calls.size(); ++j) {
      const FunctionCall& call = content.calls[j];
      if (!call.signature) {
        if (j > 0) continue;  // parallel calls: only the first carries the signature
        fail(
            "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
            "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
            "data, function call `default_api:" +
            call.name + "` , position " + std::to_string(i + 1) +
            ". Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.");
      }
      if (!placeholder_signature(*call.signature) && *call.signature != thought_signature(call.name)) {
        fail("Corrupted thought signature.");
      }
    }
  }
}

struct Declaration {
  std::string name;
  const json::value* schema = nullptr;
};

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const char first = name.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_')) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
}

std::vector<Declaration> check_tools(const json::value& value) {
  if (!value.is_array()) fail_value("tools", "TYPE_MESSAGE", value);
  std::vector<Declaration> declarations;
  std::size_t tool_index = 0;
  for (const json::value& item : value.get_array()) {
    const std::string where = indexed("tools", tool_index++);
    const json::object& tool = object_at(item, where);
    check_known(tool,
                {"functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext",
                 "retrieval", "enterpriseWebSearch", "googleMaps", "computerUse", "fileSearch"},
                where);
    const json::value* list = field(tool, "functionDeclarations");
    if (list == nullptr) continue;
    if (!list->is_array()) fail_value(where + ".function_declarations", "TYPE_MESSAGE", *list);
    std::size_t index = 0;
    for (const json::value& entry : list->get_array()) {
      const std::string here = indexed(where + ".function_declarations", index++);
      const json::object& declaration = object_at(entry, here);
      check_known(
          declaration,
          {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"},
          here);
      const json::value* name = field(declaration, "name");
      if (name == nullptr || !name->is_string() || !valid_function_name(name->get_string())) {
        fail_field(here + ".name",
                   "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
                   "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum "
                   "length of 64.");
      }
      const json::value* parameters = field(declaration, "parameters");
      const json::value* json_schema = field(declaration, "parametersJsonSchema");
      if (parameters && json_schema) {
        fail_field(here, "parameters and parameters_json_schema cannot both be set.");
      }
      if (parameters && !parameters->is_object()) fail_value(here + ".parameters", "TYPE_MESSAGE", *parameters);
      declarations.push_back({std::string(name->get_string()), json_schema ? json_schema : parameters});
    }
  }
  return declarations;
}

struct Parsed {
  std::size_t prompt_tokens = 1;
  std::size_t characters = 0;  // of the prompt's texts
  std::vector<Declaration> declarations;
  std::string mode = "AUTO";
  std::vector<std::string> allowed;
  std::string last_user_text;
  OutputConfig output;
};

Parsed parse(const json::object& body) {
  check_known(body,
              {"contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings",
               "cachedContent", "labels", "model"},
              {});
  Parsed parsed;
  const json::value* contents = field(body, "contents");
  if (contents == nullptr || !contents->is_array() || contents->get_array().empty()) {
    fail_field("contents", "contents is not specified");
  }
  std::vector<Content> list;
  std::size_t characters = 0;
  std::size_t index = 0;
  for (const json::value& item : contents->get_array()) {
    list.push_back(check_content(item, indexed("contents", index++), false));
    characters += utf8_length(list.back().text);
  }
  check_pairing(list);
  if (list.back().role == "user") parsed.last_user_text = list.back().text;

  if (const json::value* system = field(body, "systemInstruction"); system && !system->is_null()) {
    characters += utf8_length(check_content(*system, "system_instruction", true).text);
  }
  parsed.prompt_tokens = common::estimate_tokens_of_chars(characters);
  parsed.characters = characters;
  if (const json::value* config = field(body, "generationConfig"); config && !config->is_null()) {
    check_generation_config(*config);
    parsed.output = check_output_config(config->get_object());
  }
  if (parsed.output.thinking) check_thought_signatures(list);
  if (const json::value* tools = field(body, "tools"); tools && !tools->is_null()) {
    parsed.declarations = check_tools(*tools);
  }
  if (const json::value* tool_config = field(body, "toolConfig"); tool_config && !tool_config->is_null()) {
    const json::object& fields = object_at(*tool_config, "tool_config");
    check_known(fields, {"functionCallingConfig", "retrievalConfig", "includeServerSideToolInvocations"},
                "tool_config");
    if (const json::value* calling = field(fields, "functionCallingConfig"); calling && !calling->is_null()) {
      const json::object& config = object_at(*calling, "tool_config.function_calling_config");
      check_known(config, {"mode", "allowedFunctionNames", "streamFunctionCallArguments"},
                  "tool_config.function_calling_config");
      if (const json::value* mode = field(config, "mode")) {
        const std::string_view name = mode->is_string() ? std::string_view(mode->get_string()) : "";
        if (name != "AUTO" && name != "ANY" && name != "NONE" && name != "VALIDATED" && name != "MODE_UNSPECIFIED") {
          fail(
              "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/"
              "google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), " +
              common::serialize(*mode));
        }
        parsed.mode = std::string(name);
      }
      if (const json::value* allowed = field(config, "allowedFunctionNames"); allowed && !allowed->is_null()) {
        check_kind(*allowed, Kind::string_array, "tool_config.function_calling_config.allowed_function_names");
        if (parsed.mode != "ANY" && parsed.mode != "VALIDATED" && !allowed->get_array().empty()) {
          fail_field("tool_config.function_calling_config.allowed_function_names",
                     "allowed_function_names should only be set when the mode is ANY or VALIDATED.");
        }
        for (const json::value& name : allowed->get_array()) parsed.allowed.emplace_back(name.get_string());
      }
    }
  }
  if (const json::value* safety = field(body, "safetySettings"); safety && !safety->is_null()) {
    if (!safety->is_array()) fail_value("safety_settings", "TYPE_MESSAGE", *safety);
  }
  return parsed;
}

const Declaration* chosen_function(const Parsed& parsed) {
  if (parsed.declarations.empty() || parsed.mode == "NONE") return nullptr;
  if (parsed.mode == "ANY" || parsed.mode == "VALIDATED") {
    for (const std::string& name : parsed.allowed) {
      for (const Declaration& declaration : parsed.declarations) {
        if (declaration.name == name) return &declaration;
      }
    }
    if (parsed.mode == "ANY") return &parsed.declarations.front();
  }
  return common::mentions_tool(parsed.last_user_text) ? &parsed.declarations.front() : nullptr;
}

struct ReplyContext {
  std::string model;
  std::string response_id;
  std::size_t prompt_tokens = 1;
  long thoughts = -1;
  bool cut_at_max_tokens = false;  // the reply stopped at generationConfig.maxOutputTokens
};

json::object usage(const ReplyContext& context, std::size_t candidates) {
  json::object out{{"promptTokenCount", context.prompt_tokens}, {"candidatesTokenCount", candidates}};
  std::size_t total = context.prompt_tokens + candidates;
  if (context.thoughts >= 0) {
    out["thoughtsTokenCount"] = context.thoughts;
    total += static_cast<std::size_t>(context.thoughts);
  }
  out["totalTokenCount"] = total;
  return out;
}

json::object response(const ReplyContext& context, json::array parts, bool finished, std::size_t candidates) {
  json::object candidate{{"content", {{"parts", std::move(parts)}, {"role", "model"}}}};
  if (finished) candidate["finishReason"] = context.cut_at_max_tokens ? "MAX_TOKENS" : "STOP";
  candidate["index"] = 0;
  return {{"candidates", json::array{std::move(candidate)}},
          {"usageMetadata", usage(context, candidates)},
          {"modelVersion", context.model},
          {"responseId", context.response_id}};
}

json::object thought_part() {
  return {{"text", "Thinking about the question."}, {"thought", true}};
}

std::string stream_event(const json::object& chunk, bool sse, bool first) {
  if (sse) return "data: " + common::serialize(chunk) + "\r\n\r\n";
  return (first ? "[" : ",\r\n") + common::serialize(chunk);
}

const json::object& body_object(const ApiRequest& request);

ApiReply generate(const ApiRequest& original, std::string_view model, bool stream) {
  const Parsed parsed = parse(body_object(original));
  const Declaration* function = chosen_function(parsed);
  // Structured output: JSON valid against the schema (text/x.enum: the first enum value).
  std::optional<ScriptedText> structured;
  if (!function && parsed.output.enumeration && original.reply_text == nullptr) {
    const json::value& first = field(parsed.output.schema->get_object(), "enum")->get_array().front();
    structured = cut_evenly(std::string(first.get_string()), 1);
  } else if (!function && parsed.output.json) {
    structured = common::json_reply(original, parsed.output.schema);
  }
  const ApiRequest request = structured ? common::with_reply(original, *structured) : original;
  // Thoughts: x-mock-thoughts sets their token count; includeThoughts alone counts the thought text.
  const bool thoughts = request.thoughts >= 0 || parsed.output.include_thoughts;
  const long thought_tokens = request.thoughts >= 0 ? request.thoughts
                              : thoughts
                                  ? static_cast<long>(common::estimate_tokens(thought_part().at("text").get_string()))
                                  : -1;
  ReplyContext context{std::string(model), "mock-", parsed.prompt_tokens, thought_tokens,
                       !function && request.cut_at_max_tokens};
  append_number(context.response_id, common::next_id());
  const std::size_t candidates = function ? 8 : common::reply_tokens(request);
  json::object call;
  if (function) {
    call = {{"functionCall", {{"name", function->name}, {"args", common::tool_input(request, function->schema)}}}};
    if (parsed.output.thinking) call["thoughtSignature"] = thought_signature(function->name);
  }

  if (!stream) {
    json::array parts;
    if (thoughts) parts.push_back(thought_part());
    if (function) {
      parts.push_back(call);
    } else {
      parts.push_back(json::object{{"text", common::whole_reply(request)}});
    }
    FullReply full;
    full.body = common::serialize(response(context, std::move(parts), true, candidates));
    return full;
  }

  const bool sse = common::query_param(request.query, "alt") == std::optional<std::string_view>("sse");
  StreamReply reply;
  if (!sse) reply.content_type = "application/json";
  const auto push = [&](const json::object& chunk) {
    reply.events.push_back(stream_event(chunk, sse, reply.events.empty()));
  };
  const auto stream_error = [&]() {
    const unsigned code = status_code(request.stream_error);
    json::object error{
        {"error", {{"code", code}, {"message", "Injected mid-stream error"}, {"status", request.stream_error}}}};
    push(error);
  };
  if (thoughts) push(response(context, json::array{thought_part()}, false, 0));
  if (function) {
    push(response(context, json::array{call}, true, candidates));
    if (!request.stream_error.empty()) stream_error();
  } else {
    const std::size_t count = common::reply_piece_count(request);
    const std::size_t pieces = std::max<std::size_t>(count, 1);
    for (std::size_t i = 0; i < pieces; ++i) {
      const std::string text = count == 0 ? std::string() : common::reply_piece(request, i);
      const bool last = i + 1 == pieces;
      push(response(context, json::array{json::object{{"text", text}}}, last,
                    count == 0 ? 0 : common::reply_tokens_through(request, i)));
      if (!request.stream_error.empty()) {
        stream_error();
        break;
      }
    }
  }
  if (!sse) reply.events.emplace_back("]");
  return reply;
}

std::string text_of_parts(const json::value* content, const std::string& where) {
  if (content == nullptr || !content->is_object()) fail_field(where, "content must be specified.");
  const json::value* parts = content->get_object().if_contains("parts");
  if (parts == nullptr || !parts->is_array() || parts->get_array().empty()) {
    fail_field(where + ".parts", "contents.parts must not be empty.");
  }
  std::string text;
  for (const json::value& part : parts->get_array()) {
    const json::object* fields = part.if_object();
    const json::value* value = fields ? fields->if_contains("text") : nullptr;
    if (value == nullptr || !value->is_string()) fail_field(where + ".parts", "only text parts can be embedded.");
    text.append(value->get_string());
  }
  if (text.empty()) fail_field(where, "content must not be empty.");
  return text;
}

int dimensions(const json::object& fields, const ApiRequest& request, std::string_view where) {
  const json::value* value = field(fields, "outputDimensionality");
  if (value == nullptr || value->is_null()) return request.dims;
  if (!common::is_integer(*value) || common::to_int(*value) < 1 || common::to_int(*value) > 65536) {
    fail_value(std::string(where) + ".output_dimensionality", "TYPE_INT32", *value);
  }
  return static_cast<int>(common::to_int(*value));
}

const json::object& body_object(const ApiRequest& request) {
  if (request.json == nullptr || !request.json->is_object()) {
    fail("Invalid JSON payload received. Expected a JSON object.");
  }
  return request.json->get_object();
}

ApiReply embed_content(const ApiRequest& request, std::string_view model, bool batch) {
  const json::object& body = body_object(request);
  std::vector<const json::object*> items;
  if (batch) {
    check_known(body, {"requests"}, {});
    const json::value* requests = body.if_contains("requests");
    if (requests == nullptr || !requests->is_array() || requests->get_array().empty()) {
      fail("* BatchEmbedContentsRequest.requests: requests must not be empty.\n");
    }
    for (const json::value& item : requests->get_array()) {
      items.push_back(&object_at(item, "requests"));
    }
  } else {
    items.push_back(&body);
  }
  const std::string expected = "models/" + std::string(model);
  std::string out = batch ? R"({"embeddings":[)" : R"({"embedding":)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::object& item = *items[i];
    const std::string where = batch ? indexed("requests", i) : std::string("content");
    check_known(item, {"model", "content", "taskType", "title", "outputDimensionality"}, batch ? where : "");
    if (batch) {
      const json::value* name = item.if_contains("model");
      if (name == nullptr || !name->is_string() || name->get_string() != expected) {
        fail("* BatchEmbedContentsRequest." + where + ".model: the model of each request must be " + expected + "\n");
      }
    }
    const std::string text = text_of_parts(item.if_contains("content"), batch ? where + ".content" : where);
    if (i > 0) out.push_back(',');
    out.append(R"({"values":)").append(openai::embedding_array(text, dimensions(item, request, where))).append("}");
  }
  out.append(batch ? "]}" : "}");
  FullReply reply;
  reply.body = std::move(out);
  return reply;
}

ApiReply predict(const ApiRequest& request) {
  const json::object& body = body_object(request);
  check_known(body, {"instances", "parameters"}, {});
  const json::value* instances = body.if_contains("instances");
  if (instances == nullptr || !instances->is_array() || instances->get_array().empty()) {
    fail("instances must be a non-empty list.");
  }
  int dims = request.dims;
  if (const json::value* parameters = body.if_contains("parameters"); parameters && !parameters->is_null()) {
    const json::object& fields = object_at(*parameters, "parameters");
    dims = dimensions(fields, request, "parameters");
    if (const json::value* truncate = fields.if_contains("autoTruncate"); truncate && !truncate->is_bool()) {
      fail_value("parameters.autoTruncate", "TYPE_BOOL", *truncate);
    }
  }
  std::string out = R"({"predictions":[)";
  std::size_t characters = 0;
  std::size_t index = 0;
  for (const json::value& item : instances->get_array()) {
    const std::string where = indexed("instances", index);
    const json::object& instance = object_at(item, where);
    const json::value* content = instance.if_contains("content");
    if (content == nullptr || !content->is_string() || content->get_string().empty()) {
      fail(where + ".content must be a non-empty string.");
    }
    const std::string_view text = content->get_string();
    characters += text.size();
    if (index++ > 0) out.push_back(',');
    out.append(R"({"embeddings":{"values":)").append(openai::embedding_array(text, dims));
    out.append(R"(,"statistics":{"token_count":)");
    append_number(out, common::estimate_tokens(text));
    out.append(R"(,"truncated":false}}})");
  }
  out.append(R"(],"metadata":{"billableCharacterCount":)");
  append_number(out, characters);
  out.append("}}");
  FullReply reply;
  reply.body = std::move(out);
  return reply;
}

// :countTokens: {"totalTokens": N}, N the promptTokenCount generateContent reports for the same
// request. AI Studio takes {contents} or {generateContentRequest}; Vertex {contents,
// systemInstruction, tools, generationConfig} (and answers totalBillableCharacters too).
ApiReply count_tokens(const ApiRequest& request, bool vertex) {
  const json::object& body = body_object(request);
  Parsed parsed;
  if (vertex) {
    check_known(body, {"contents", "systemInstruction", "tools", "generationConfig", "model", "instances"}, {});
    json::object copy = body;
    copy.erase("instances");
    parsed = parse(copy);
  } else {
    check_known(body, {"contents", "generateContentRequest"}, {});
    const json::value* contents = field(body, "contents");
    const json::value* inner = field(body, "generateContentRequest");
    if (contents && inner) {
      fail("* CountTokensRequest: contents and generate_content_request are mutually exclusive.\n");
    }
    if (inner) {
      parsed = parse(object_at(*inner, "generate_content_request"));
    } else {
      json::object only;
      if (contents) only["contents"] = *contents;
      parsed = parse(only);
    }
  }
  json::object out{{"totalTokens", parsed.prompt_tokens}};
  if (vertex) out["totalBillableCharacters"] = parsed.characters;
  FullReply reply;
  reply.body = common::serialize(out);
  return reply;
}

FullReply invalid_api_key() {
  FullReply reply;
  reply.status = 400;
  reply.body =
      R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",)"
      R"("details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",)"
      R"("domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}})";
  return reply;
}

}  // namespace

bool matches(std::string_view path) {
  if (path.find(kAnthropicMarker) != std::string_view::npos) return false;
  const std::size_t at = path.rfind(kModels);
  if (at == std::string_view::npos) return false;
  const std::string_view rest = path.substr(at + kModels.size());
  return rest.find('/') == std::string_view::npos && rest.find(':') != std::string_view::npos;
}

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (!matches(request.path)) return std::nullopt;
  const bool vertex = request.path.find(kVertexMarker) != std::string_view::npos;
  const std::string_view rest = request.path.substr(request.path.rfind(kModels) + kModels.size());
  const std::size_t colon = rest.rfind(':');
  const std::string model = common::percent_decode(rest.substr(0, colon));
  const std::string_view action = rest.substr(colon + 1);
  const bool known = action == "generateContent" || action == "streamGenerateContent" || action == "countTokens" ||
                     (vertex ? action == "predict" : (action == "embedContent" || action == "batchEmbedContents"));
  if (!known || request.method != "POST") {
    return error(404, "Method not found or not allowed: " + std::string(request.method) + " :" + std::string(action));
  }

  const auto key = request.header("x-goog-api-key");
  const auto query_key = common::query_param(request.query, "key");
  const std::optional<std::string_view> api_key = key ? key : query_key;
  const auto token = common::bearer_token(request);
  if (vertex) {
    // Express mode (…/v1/publishers/google/models/…, no project) also takes an API key.
    const bool express = request.path.find("/projects/") == std::string_view::npos;
    const bool keyed = express && api_key && !api_key->empty();
    if ((!token || *token == "invalid") && !keyed) {
      return error(401,
                   "Request is missing required authentication credential. Expected OAuth 2 access token, "
                   "login cookie or other valid authentication credential.",
                   "UNAUTHENTICATED");
    }
  } else {
    if (!api_key || api_key->empty()) {
      return error(403,
                   "Method doesn't allow unregistered callers (callers without established "
                   "identity). Please "
                   "use API Key or other form of API consumer identity to call this API.",
                   "PERMISSION_DENIED");
    }
    if (*api_key == "invalid") return invalid_api_key();
  }

  try {
    if (action == "generateContent") return generate(request, model, false);
    if (action == "streamGenerateContent") return generate(request, model, true);
    if (action == "predict") return predict(request);
    if (action == "countTokens") return count_tokens(request, vertex);
    return embed_content(request, model, action == "batchEmbedContents");
  } catch (const Invalid& invalid) {
    return error(invalid.status, invalid.message, invalid.kind);
  }
}

namespace {

struct ListedModel {
  std::string id;
  std::string display_name;
  std::vector<std::string_view> methods;
};

// --models, else two chat models, an embedding model and one Sluice has no API for (AQA).
std::vector<ListedModel> listed_models(const ApiRequest& request) {
  if (request.models != nullptr && !request.models->empty()) {
    std::vector<ListedModel> out;
    for (const auto& id : *request.models) out.push_back({id, id, {"generateContent", "countTokens"}});
    return out;
  }
  return {{"gemini-mock-pro", "Gemini Mock Pro", {"generateContent", "countTokens"}},
          {"gemini-mock-flash", "Gemini Mock Flash", {"generateContent", "countTokens"}},
          {"gemini-mock-embedding", "Gemini Mock Embedding", {"embedContent", "countTextTokens"}},
          {"gemini-mock-aqa", "Gemini Mock AQA", {"generateAnswer"}}};
}

json::object model_object(const ListedModel& model) {
  json::array methods;
  for (const auto m : model.methods) methods.emplace_back(m);
  return json::object{{"name", "models/" + model.id},      {"version", "001"},
                      {"displayName", model.display_name}, {"inputTokenLimit", 1048576},
                      {"outputTokenLimit", 8192},          {"supportedGenerationMethods", std::move(methods)}};
}

std::string page_token(std::size_t offset) {
  return "pos/" + std::to_string(offset) + "==";
}

}  // namespace

std::optional<ApiReply> list_models(const ApiRequest& request) {
  if (request.path.find("/publishers/") != std::string_view::npos) return std::nullopt;
  const auto header_key = request.header("x-goog-api-key");
  const auto query_key = common::query_param(request.query, "key");
  const std::optional<std::string_view> api_key = header_key ? header_key : query_key;
  if (!api_key) return std::nullopt;
  std::string_view id_part;
  if (!request.path.ends_with("/models")) {
    const std::size_t at = request.path.rfind(kModels);
    if (at == std::string_view::npos) return std::nullopt;
    id_part = request.path.substr(at + kModels.size());
    if (id_part.empty() || id_part.find('/') != std::string_view::npos || id_part.find(':') != std::string_view::npos)
      return std::nullopt;
  }
  if (request.method != "GET") return error(404, "Method not found or not allowed: " + std::string(request.method));
  if (api_key->empty())
    return error(403, "Method doesn't allow unregistered callers (callers without established identity).",
                 "PERMISSION_DENIED");
  if (*api_key == "invalid") return invalid_api_key();
  const auto models = listed_models(request);
  if (!id_part.empty()) {  // GET /v1beta/models/{id}
    const std::string id = common::percent_decode(id_part);
    for (const auto& m : models)
      if (m.id == id) return FullReply{200, "application/json", common::serialize(model_object(m)), {}};
    return error(404, "models/" + id + " is not found for API version v1beta.");
  }
  std::size_t size = 50;
  if (const auto text = common::query_param(request.query, "pageSize")) {
    std::size_t value = 0;
    bool ok = !text->empty() && text->size() <= 6;
    for (const char c : *text) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!ok) return error(400, "Invalid value at 'page_size' (TYPE_INT32)");
    if (value > 0) size = std::min<std::size_t>(value, 1000);
  }
  if (request.models_page_size > 0) size = std::min(size, request.models_page_size);
  std::size_t begin = 0;
  if (const auto token = common::query_param(request.query, "pageToken"); token && !token->empty()) {
    const std::string decoded = common::percent_decode(*token);
    bool found = false;
    for (std::size_t i = 0; i <= models.size() && !found; ++i) {
      if (page_token(i) == decoded) {
        begin = i;
        found = true;
      }
    }
    if (!found) return error(400, "Invalid page token.");
  }
  const std::size_t last = std::min(models.size(), begin + size);
  json::array list;
  for (std::size_t i = begin; i < last; ++i) list.emplace_back(model_object(models[i]));
  json::object page{{"models", std::move(list)}};
  if (last < models.size()) page["nextPageToken"] = page_token(last);
  return FullReply{200, "application/json", common::serialize(page), {}};
}

FullReply error(unsigned status, std::string_view message, std::string_view name) {
  FullReply reply;
  reply.status = status;
  json::object error{{"code", status}, {"message", message}, {"status", name.empty() ? status_name(status) : name}};
  reply.body = common::serialize(json::object{{"error", std::move(error)}});
  return reply;
}

FullReply injected_error(unsigned status) {
  std::string message = "Injected error: status ";
  append_number(message, status);
  return error(status, message);
}

}  // namespace sluice::mock::gemini
