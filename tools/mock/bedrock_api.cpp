#include "bedrock_api.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "openai_api.hpp"
#include "provider/aws_sigv4.hpp"
#include "provider_common.hpp"
#include "scripted_text.hpp"
#include "text.hpp"
#include "translate/aws_eventstream.hpp"

namespace sluice::mock::bedrock {
namespace {

namespace json = boost::json;
using common::fail;
using common::Invalid;
using translate::EventStreamHeader;

constexpr std::string_view kModel = "/model/";
constexpr std::string_view kBedrockNamespace = "http://internal.amazon.com/coral/com.amazon.bedrock/";
constexpr std::string_view kCoralNamespace = "http://internal.amazon.com/coral/com.amazon.coral.service/";

FullReply typed_error(unsigned status, std::string_view type, std::string_view message, std::string_view ns) {
  FullReply reply;
  reply.status = status;
  reply.body = common::serialize(json::object{{"message", message}});
  std::string value(type);
  value.append(":").append(ns);
  common::add_header(reply.headers, "x-amzn-errortype", value);
  std::string request_id = "mock-";
  append_number(request_id, common::next_id());
  common::add_header(reply.headers, "x-amzn-requestid", request_id);
  return reply;
}

FullReply auth_error(std::string_view type, std::string_view message) {
  return typed_error(403, type, message, kCoralNamespace);
}

// ---- SigV4 ------------------------------------------------------------------------------------

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t at = text.find(separator);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";

// nullopt when the request is authenticated, else the 403 to send.
std::optional<FullReply> verify_sigv4(const ApiRequest& request, std::string_view authorization) {
  constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256 ";
  if (!authorization.starts_with(kAlgorithm)) {
    return auth_error("IncompleteSignatureException",
                      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
                      "with algorithm AWS4-HMAC-SHA256.");
  }
  std::string_view credential;
  std::string_view signed_headers;
  std::string_view signature;
  for (const std::string_view item : split(authorization.substr(kAlgorithm.size()), ',')) {
    const std::string_view part = trim(item);
    if (part.starts_with("Credential=")) credential = part.substr(11);
    if (part.starts_with("SignedHeaders=")) signed_headers = part.substr(14);
    if (part.starts_with("Signature=")) signature = part.substr(10);
  }
  const std::vector<std::string_view> scope = split(credential, '/');
  if (signed_headers.empty() || signature.empty() || scope.size() != 5) {
    return auth_error("IncompleteSignatureException",
                      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
  }
  if (scope[0] != request.aws_access_key_id) {
    return auth_error("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  const auto amz_date = request.header("x-amz-date");
  if (!amz_date || amz_date->size() != 16) {
    return auth_error("IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (scope[1] != amz_date->substr(0, 8) || scope[3] != "bedrock" || scope[4] != "aws4_request") {
    return auth_error("InvalidSignatureException",
                      "Credential should be scoped to a valid date, the service 'bedrock' and 'aws4_request'.");
  }

  provider::SigV4Options options;
  std::string session_token;
  provider::SigV4Request signed_request{
      .method = request.method,
      .host = request.header("host").value_or(""),
      .path = request.path,
      .query = request.query,
      .headers = {},
      .payload = request.body,
  };
  for (const std::string_view name : split(signed_headers, ';')) {
    if (name == "x-amz-security-token") {
      session_token = std::string(request.header(name).value_or(""));
      continue;
    }
    if (name == "host" || name == "x-amz-date" || name == "x-amz-content-sha256" || name == "authorization") continue;
    std::string value;
    bool present = false;
    if (request.headers) {
      const auto range = request.headers->equal_range(name);
      for (auto it = range.first; it != range.second; ++it) {
        if (present) value.push_back(',');
        value.append(it->value());
        present = true;
      }
    }
    if (!present) return auth_error("InvalidSignatureException", kSignatureMismatch);
    signed_request.headers.emplace_back(std::string(name), std::move(value));
  }
  options.sign_content_sha256 = signed_headers.find("x-amz-content-sha256") != std::string_view::npos;

  const std::string payload_hash = provider::sha256_hex(request.body);
  const provider::CanonicalRequest canonical =
      provider::canonical_request(signed_request, *amz_date, session_token, payload_hash, options);
  const std::string scope_text = provider::credential_scope(*amz_date, scope[2], scope[3]);
  const std::string to_sign = provider::string_to_sign(*amz_date, scope_text, canonical.text);
  const std::string expected =
      provider::sigv4_signature(request.aws_secret_access_key, *amz_date, scope[2], scope[3], to_sign);
  if (canonical.signed_headers != signed_headers || expected != signature) {
    std::string message(kSignatureMismatch);
    message.append("\n\nThe Canonical String for this request should have been\n'")
        .append(canonical.text)
        .append("'\n\nThe String-to-Sign should have been\n'")
        .append(to_sign)
        .append("'\n");
    return auth_error("InvalidSignatureException", message);
  }
  return std::nullopt;
}

std::optional<FullReply> authenticate(const ApiRequest& request) {
  const auto authorization = request.header("authorization");
  if (!authorization || authorization->empty()) {
    return auth_error("MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  if (common::bearer_token(request)) return std::nullopt;  // a Bedrock API key
  try {
    return verify_sigv4(request, *authorization);
  } catch (const std::exception&) {
    return auth_error("InvalidSignatureException", kSignatureMismatch);
  }
}

// ---- Converse validation ------------------------------------------------------------------------

std::string at(std::string_view prefix, std::size_t index) {
  std::string out(prefix);
  out.push_back('.');
  append_number(out, index);
  return out;
}

[[noreturn]] void fail_constraint(std::string_view value, std::string_view where, std::string_view constraint) {
  fail("1 validation error detected: Value '" + std::string(value) + "' at '" + std::string(where) +
       "' failed to satisfy constraint: " + std::string(constraint));
}

const json::object& object_at(const json::value& value, const std::string& where) {
  if (!value.is_object()) fail("The value at " + where + " must be an object.");
  return value.get_object();
}

bool valid_id(std::string_view id, std::size_t max) {
  return !id.empty() && id.size() <= max && std::ranges::all_of(id, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void check_only(const json::object& object, std::initializer_list<std::string_view> known, const std::string& where) {
  for (const auto& member : object) {
    const std::string_view key = member.key();
    if (std::ranges::find(known, key) == known.end()) {
      fail("Unknown field '" + std::string(member.key()) + "' at " + where + ".");
    }
  }
}

// The single member of a content block; fails unless there is exactly one.
std::string_view block_kind(const json::object& block, const std::string& where) {
  if (block.size() != 1) fail("The content block at " + where + " must have exactly one member.");
  return block.begin()->key();
}

void check_text(const json::value& text, const std::string& where) {
  if (!text.is_string()) fail("The text field in the ContentBlock object at " + where + " must be a string.");
  if (text.get_string().empty()) {
    fail("The text field in the ContentBlock object at " + where +
         " is blank. Add text to the text field, and "
         "try again.");
  }
}

void check_image(const json::value& value, const std::string& where) {
  const json::object& image = object_at(value, where + ".image");
  const json::value* format = image.if_contains("format");
  const std::string_view name = format && format->is_string() ? std::string_view(format->get_string()) : "";
  if (name != "png" && name != "jpeg" && name != "gif" && name != "webp") {
    fail_constraint(name, where + ".member.image.format", "Member must satisfy enum value set: [png, jpeg, gif, webp]");
  }
  const json::value* source = image.if_contains("source");
  if (source == nullptr) fail("The image source at " + where + " is missing.");
  const json::object& fields = object_at(*source, where + ".image.source");
  const json::value* bytes = fields.if_contains("bytes");
  if ((bytes == nullptr || !bytes->is_string() || bytes->get_string().empty()) && !fields.contains("s3Location")) {
    fail("The image source at " + where + " must contain bytes.");
  }
}

struct Reasoning {
  std::string where;
  std::string text;
  std::string signature;
};

struct Turn {
  std::string role;
  std::vector<std::string> tool_uses;
  std::vector<std::string> tool_results;
  std::string text;
  std::vector<Reasoning> reasoning;  // reasoningContent.reasoningText blocks
};

Turn check_message(const json::value& value, std::size_t index) {
  const std::string where = at("messages", index);
  const json::object& message = object_at(value, where);
  check_only(message, {"role", "content"}, where);
  const json::value* role = message.if_contains("role");
  const std::string_view name = role && role->is_string() ? std::string_view(role->get_string()) : "";
  if (name != "user" && name != "assistant") {
    fail_constraint(name, where + ".member.role", "Member must satisfy enum value set: [user, assistant]");
  }
  Turn turn;
  turn.role = std::string(name);
  const json::value* content = message.if_contains("content");
  if (content == nullptr || !content->is_array()) {
    fail_constraint("null", where + ".member.content", "Member must not be null");
  }
  if (content->get_array().empty()) {
    fail("The content field in the Message object at " + where +
         " is empty. Add a ContentBlock object to the "
         "content field and try again.");
  }
  std::size_t block_index = 0;
  for (const json::value& item : content->get_array()) {
    const std::string here = at(where + ".content", block_index++);
    const json::object& block = object_at(item, here);
    const std::string_view kind = block_kind(block, here);
    const json::value& data = block.begin()->value();
    if (kind == "text") {
      check_text(data, here);
      turn.text.append(data.get_string());
    } else if (kind == "image") {
      check_image(data, here);
    } else if (kind == "toolUse") {
      if (turn.role != "assistant") fail("toolUse blocks are only allowed in assistant messages (" + here + ").");
      const json::object& use = object_at(data, here + ".toolUse");
      check_only(use, {"toolUseId", "name", "input", "type"}, here + ".toolUse");
      const json::value* id = use.if_contains("toolUseId");
      if (id == nullptr || !id->is_string() || !valid_id(id->get_string(), 64)) {
        fail_constraint(id && id->is_string() ? std::string_view(id->get_string()) : "null",
                        here + ".member.toolUse.toolUseId",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+");
      }
      const json::value* tool = use.if_contains("name");
      if (tool == nullptr || !tool->is_string() || tool->get_string().empty()) {
        fail_constraint("null", here + ".member.toolUse.name", "Member must not be null");
      }
      const json::value* input = use.if_contains("input");
      if (input == nullptr || !input->is_object()) {
        fail("The toolUse input at " + here + " must be a JSON object.");
      }
      turn.tool_uses.emplace_back(id->get_string());
    } else if (kind == "toolResult") {
      if (turn.role != "user") fail("toolResult blocks are only allowed in user messages (" + here + ").");
      const json::object& result = object_at(data, here + ".toolResult");
      check_only(result, {"toolUseId", "content", "status", "type"}, here + ".toolResult");
      const json::value* id = result.if_contains("toolUseId");
      if (id == nullptr || !id->is_string() || !valid_id(id->get_string(), 64)) {
        fail_constraint(id && id->is_string() ? std::string_view(id->get_string()) : "null",
                        here + ".member.toolResult.toolUseId",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+");
      }
      const json::value* parts = result.if_contains("content");
      if (parts == nullptr || !parts->is_array() || parts->get_array().empty()) {
        fail("The toolResult content at " + here + " must be a non-empty list.");
      }
      std::size_t part_index = 0;
      for (const json::value& part : parts->get_array()) {
        const std::string part_where = at(here + ".toolResult.content", part_index++);
        const json::object& fields = object_at(part, part_where);
        const std::string_view part_kind = block_kind(fields, part_where);
        if (part_kind == "text") {
          check_text(fields.begin()->value(), part_where);
        } else if (part_kind == "image") {
          check_image(fields.begin()->value(), part_where);
        } else if (part_kind != "json" && part_kind != "document" && part_kind != "video") {
          fail("Unknown toolResult content type '" + std::string(part_kind) + "' at " + part_where + ".");
        }
      }
      if (const json::value* status = result.if_contains("status")) {
        if (!status->is_string() || (status->get_string() != "success" && status->get_string() != "error")) {
          fail_constraint(status->is_string() ? std::string_view(status->get_string()) : "?",
                          here + ".member.toolResult.status", "Member must satisfy enum value set: [success, error]");
        }
      }
      turn.tool_results.emplace_back(id->get_string());
    } else if (kind == "reasoningContent") {
      const json::object& reasoning = object_at(data, here + ".reasoningContent");
      if (const json::value* text = reasoning.if_contains("reasoningText"); text && !text->is_null()) {
        const json::object& fields = object_at(*text, here + ".reasoningContent.reasoningText");
        const json::value* value = fields.if_contains("text");
        const json::value* signature = fields.if_contains("signature");
        turn.reasoning.push_back({here, value && value->is_string() ? std::string(value->get_string()) : "",
                                  signature && signature->is_string() ? std::string(signature->get_string()) : ""});
      }
    } else if (kind != "document" && kind != "video" && kind != "guardContent" && kind != "cachePoint" &&
               kind != "citationsContent" && kind != "searchResult") {
      fail("Unknown content block type '" + std::string(kind) + "' at " + here + ".");
    }
  }
  return turn;
}

void check_pairing(const std::vector<Turn>& turns) {
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const Turn& turn = turns[i];
    if (!turn.tool_uses.empty() && i + 1 < turns.size()) {
      std::vector<std::string> missing;
      for (const auto& id : turn.tool_uses) {
        if (std::ranges::find(turns[i + 1].tool_results, id) == turns[i + 1].tool_results.end()) missing.push_back(id);
      }
      if (!missing.empty()) {
        fail("Expected toolResult blocks at " + at("messages", i + 1) +
             ".content for the following Ids: " + common::join(missing));
      }
    }
    if (!turn.tool_results.empty()) {
      const std::vector<std::string> empty;
      const auto& uses = i > 0 ? turns[i - 1].tool_uses : empty;
      if (turn.tool_results.size() > uses.size()) {
        fail("The number of toolResult blocks at " + at("messages", i) +
             ".content exceeds the number of toolUse blocks of previous turn.");
      }
      for (const auto& id : turn.tool_results) {
        if (std::ranges::find(uses, id) == uses.end()) {
          fail("The toolResult block at " + at("messages", i) + ".content refers to toolUseId " + id +
               ", which is not a toolUse of the previous turn.");
        }
      }
    }
  }
}

struct ToolSpec {
  std::string name;
  const json::value* schema = nullptr;
};

struct Parsed {
  std::size_t input_tokens = 1;
  std::vector<ToolSpec> tools;
  std::string choice = "auto";
  std::string forced;
  std::string last_user_text;
  bool reasoning = false;  // a Claude model with thinking / reasoning_config enabled
};

bool is_claude(std::string_view model) {
  return model.find("anthropic") != std::string_view::npos || model.find("claude") != std::string_view::npos;
}

void check_number(const json::object& config, std::string_view name, double min, double max, bool integer) {
  const json::value* value = config.if_contains(name);
  if (value == nullptr || value->is_null()) return;
  const bool ok = integer ? common::is_integer(*value) : common::is_number(*value);
  if (!ok)
    fail("The value at inferenceConfig." + std::string(name) + " must be a " + (integer ? "integer." : "number."));
  const double number = common::to_double(*value);
  if (number < min || number > max) {
    std::string text;
    append_number(text, number);
    std::string constraint = "Member must have value ";
    if (integer) {
      constraint.append("greater than or equal to 1");
    } else {
      constraint.append("less than or equal to 1");
    }
    fail_constraint(text, "inferenceConfig." + std::string(name), constraint);
  }
}

Parsed parse_converse(const ApiRequest& request, std::string_view model) {
  if (request.json == nullptr || !request.json->is_object())
    fail("Malformed input request, please reformat your input and try again.");
  const json::object& body = request.json->get_object();
  check_only(body,
             {"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
              "additionalModelResponseFieldPaths", "promptVariables", "requestMetadata", "performanceConfig"},
             "the request body");
  Parsed parsed;
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) fail_constraint("null", "messages", "Member must not be null");
  const json::array& list = messages->get_array();
  if (list.empty()) fail_constraint("[]", "messages", "Member must have length greater than or equal to 1");
  std::vector<Turn> turns;
  std::size_t characters = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    turns.push_back(check_message(list[i], i));
    characters += utf8_length(turns.back().text);
  }
  if (turns.front().role != "user") {
    fail(
        "A conversation must start with a user message. Try again with a conversation that starts "
        "with a user "
        "message.");
  }
  for (std::size_t i = 1; i < turns.size(); ++i) {
    if (turns[i].role == turns[i - 1].role) {
      fail(
          "A conversation must alternate between user and assistant roles. Make sure the "
          "conversation "
          "alternates between user and assistant roles and try again.");
    }
  }
  if (turns.back().role == "user") parsed.last_user_text = turns.back().text;

  if (const json::value* system = body.if_contains("system"); system && !system->is_null()) {
    if (!system->is_array()) fail("The system field must be a list of SystemContentBlock objects.");
    std::size_t index = 0;
    for (const json::value& item : system->get_array()) {
      const std::string where = at("system", index++);
      const json::object& block = object_at(item, where);
      const std::string_view kind = block_kind(block, where);
      if (kind == "text") {
        check_text(block.begin()->value(), where);
        characters += utf8_length(block.begin()->value().get_string());
      } else if (kind != "cachePoint" && kind != "guardContent") {
        fail("Unknown system content block type '" + std::string(kind) + "' at " + where + ".");
      }
    }
  }
  parsed.input_tokens = common::estimate_tokens_of_chars(characters);

  if (const json::value* config = body.if_contains("inferenceConfig"); config && !config->is_null()) {
    const json::object& fields = object_at(*config, "inferenceConfig");
    check_only(fields, {"maxTokens", "temperature", "topP", "stopSequences"}, "inferenceConfig");
    check_number(fields, "maxTokens", 1, 1e9, true);
    check_number(fields, "temperature", 0, 1, false);
    check_number(fields, "topP", 0, 1, false);
    if (const json::value* stops = fields.if_contains("stopSequences"); stops && !stops->is_null()) {
      if (!stops->is_array() ||
          !std::ranges::all_of(stops->get_array(), [](const json::value& v) { return v.is_string(); })) {
        fail("The value at inferenceConfig.stopSequences must be a list of strings.");
      }
    }
  }

  const bool uses_tools = std::ranges::any_of(
      turns, [](const Turn& turn) { return !turn.tool_uses.empty() || !turn.tool_results.empty(); });
  const json::value* tool_config = body.if_contains("toolConfig");
  if (tool_config && !tool_config->is_null()) {
    const json::object& fields = object_at(*tool_config, "toolConfig");
    check_only(fields, {"tools", "toolChoice"}, "toolConfig");
    const json::value* tools = fields.if_contains("tools");
    if (tools == nullptr || !tools->is_array() || tools->get_array().empty()) {
      fail_constraint("[]", "toolConfig.tools", "Member must have length greater than or equal to 1");
    }
    std::set<std::string> names;
    std::size_t index = 0;
    for (const json::value& item : tools->get_array()) {
      const std::string where = at("toolConfig.tools", index++);
      const json::object& tool = object_at(item, where);
      const std::string_view kind = block_kind(tool, where);
      if (kind == "cachePoint" || kind == "systemTool") continue;
      if (kind != "toolSpec") fail("Unknown tool type '" + std::string(kind) + "' at " + where + ".");
      const json::object& spec = object_at(tool.begin()->value(), where + ".toolSpec");
      check_only(spec, {"name", "description", "inputSchema", "strict"}, where + ".toolSpec");
      const json::value* name = spec.if_contains("name");
      if (name == nullptr || !name->is_string() || !valid_id(name->get_string(), 64)) {
        fail_constraint(name && name->is_string() ? std::string_view(name->get_string()) : "null",
                        where + ".member.toolSpec.name",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+");
      }
      if (!names.emplace(name->get_string()).second) fail("The toolConfig field contains duplicate tool names.");
      const json::value* schema = spec.if_contains("inputSchema");
      const json::object* schema_fields = schema ? schema->if_object() : nullptr;
      const json::value* json_schema = schema_fields ? schema_fields->if_contains("json") : nullptr;
      if (json_schema == nullptr || !json_schema->is_object()) {
        fail("The inputSchema of " + where + ".toolSpec must be {\"json\": <JSON Schema object>}.");
      }
      parsed.tools.push_back({std::string(name->get_string()), json_schema});
    }
    if (const json::value* choice = fields.if_contains("toolChoice"); choice && !choice->is_null()) {
      const json::object& options = object_at(*choice, "toolConfig.toolChoice");
      const std::string_view kind = block_kind(options, "toolConfig.toolChoice");
      if (kind != "auto" && kind != "any" && kind != "tool") {
        fail("Unknown toolChoice '" + std::string(kind) + "'; expected auto, any or tool.");
      }
      object_at(options.begin()->value(), "toolConfig.toolChoice." + std::string(kind));
      parsed.choice = std::string(kind);
      if (kind == "tool") {
        const json::value* name = options.begin()->value().get_object().if_contains("name");
        if (name == nullptr || !name->is_string())
          fail_constraint("null", "toolConfig.toolChoice.tool.name", "Member must not be null");
        parsed.forced = std::string(name->get_string());
        if (!names.contains(parsed.forced)) {
          fail("The tool " + parsed.forced + " in toolChoice is not one of the tools in toolConfig.");
        }
      }
    }
    if (parsed.tools.empty() && uses_tools) {
      fail("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
    }
  } else if (uses_tools) {
    fail("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
  }
  check_pairing(turns);
  const std::string kModelErrors = "The model returned the following errors: ";
  if (const json::value* extra = body.if_contains("additionalModelRequestFields"); extra && !extra->is_null()) {
    const json::object& fields = object_at(*extra, "additionalModelRequestFields");
    for (const char* name : {"reasoning_config", "thinking"}) {
      const json::value* thinking = fields.if_contains(name);
      if (thinking == nullptr || thinking->is_null() || !is_claude(model)) continue;
      const std::string where = std::string(name);
      const json::object& config = object_at(*thinking, "additionalModelRequestFields." + where);
      const json::value* type = config.if_contains("type");
      const std::string_view kind = type && type->is_string() ? std::string_view(type->get_string()) : "";
      if (kind == "enabled") {
        const json::value* budget = config.if_contains("budget_tokens");
        if (budget == nullptr || !common::is_integer(*budget))
          fail(kModelErrors + "thinking.enabled.budget_tokens: Field required");
        if (common::to_int(*budget) < 1024) {
          fail(kModelErrors + "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
        }
        const json::value* config_fields = body.if_contains("inferenceConfig");
        const json::object* inference = config_fields ? config_fields->if_object() : nullptr;
        const json::value* max_tokens = inference ? inference->if_contains("maxTokens") : nullptr;
        if (max_tokens && common::is_integer(*max_tokens) && common::to_int(*budget) >= common::to_int(*max_tokens)) {
          fail(kModelErrors + "`max_tokens` must be greater than `thinking.budget_tokens`.");
        }
        parsed.reasoning = true;
      } else if (kind == "adaptive") {
        parsed.reasoning = true;
      } else if (kind != "disabled") {
        fail(kModelErrors + "thinking: Input tag '" + std::string(kind) +
             "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'");
      }
    }
  }
  if (is_claude(model)) {
    for (const Turn& turn : turns) {
      for (const Reasoning& block : turn.reasoning) {
        if (!common::valid_thinking_signature(block.text, block.signature)) {
          fail(kModelErrors + block.where + ": Invalid `signature` in `thinking` block");
        }
      }
    }
  }
  return parsed;
}

const ToolSpec* chosen_tool(const Parsed& parsed) {
  if (parsed.tools.empty()) return nullptr;
  if (parsed.choice == "tool") {
    for (const ToolSpec& tool : parsed.tools) {
      if (tool.name == parsed.forced) return &tool;
    }
  }
  if (parsed.choice == "any" || common::mentions_tool(parsed.last_user_text)) return &parsed.tools.front();
  return nullptr;
}

std::string frame(std::string_view event_type, const json::object& payload) {
  return translate::encode_event_stream_message({EventStreamHeader::string(":event-type", std::string(event_type)),
                                                 EventStreamHeader::string(":content-type", "application/json"),
                                                 EventStreamHeader::string(":message-type", "event")},
                                                common::serialize(payload));
}

std::string exception_frame(std::string_view type) {
  return translate::encode_event_stream_message(
      {EventStreamHeader::string(":exception-type", std::string(type)),
       EventStreamHeader::string(":content-type", "application/json"),
       EventStreamHeader::string(":message-type", "exception")},
      common::serialize(json::object{{"message", "Injected mid-stream exception"}}));
}

ApiReply converse(const ApiRequest& request, std::string_view model, bool stream) {
  const Parsed parsed = parse_converse(request, model);
  const ToolSpec* tool = chosen_tool(parsed);
  const std::string_view thinking = common::thinking_text();
  const std::size_t thinking_tokens = parsed.reasoning ? common::estimate_tokens(thinking) : 0;
  const std::size_t output_tokens = (tool ? 8 : common::reply_tokens(request)) + thinking_tokens;
  const std::size_t pieces = common::reply_piece_count(request);
  const std::string_view stop_reason = tool ? "tool_use" : "end_turn";
  std::string tool_id = "tooluse_mock";
  append_number(tool_id, common::next_id());
  const json::object input = tool ? common::tool_input(request, tool->schema) : json::object();
  const json::object usage{{"inputTokens", parsed.input_tokens},
                           {"outputTokens", output_tokens},
                           {"totalTokens", parsed.input_tokens + output_tokens}};
  const json::object metrics{{"latencyMs", 1}};

  if (!stream) {
    json::array content;
    if (parsed.reasoning) {
      content.push_back(json::object{
          {"reasoningContent",
           {{"reasoningText", {{"text", thinking}, {"signature", common::thinking_signature(thinking)}}}}}});
    }
    if (tool) {
      content.push_back(json::object{{"toolUse", {{"toolUseId", tool_id}, {"name", tool->name}, {"input", input}}}});
    } else {
      content.push_back(json::object{{"text", common::whole_reply(request)}});
    }
    json::object reply{{"output", {{"message", {{"role", "assistant"}, {"content", std::move(content)}}}}},
                       {"stopReason", stop_reason},
                       {"usage", usage},
                       {"metrics", metrics}};
    FullReply full;
    full.body = common::serialize(reply);
    return full;
  }

  StreamReply reply;
  reply.content_type = "application/vnd.amazon.eventstream";
  reply.events.push_back(frame("messageStart", {{"role", "assistant"}}));
  std::size_t index = 0;
  if (parsed.reasoning) {
    const ScriptedText thought = cut_evenly(std::string(thinking), 3);
    for (std::size_t i = 0; i < thought.pieces(); ++i) {
      reply.events.push_back(
          frame("contentBlockDelta",
                {{"delta", {{"reasoningContent", {{"text", thought.piece(i)}}}}}, {"contentBlockIndex", index}}));
    }
    reply.events.push_back(frame(
        "contentBlockDelta", {{"delta", {{"reasoningContent", {{"signature", common::thinking_signature(thinking)}}}}},
                              {"contentBlockIndex", index}}));
    reply.events.push_back(frame("contentBlockStop", {{"contentBlockIndex", index}}));
    ++index;
  }
  if (tool) {
    reply.events.push_back(frame(
        "contentBlockStart",
        {{"start", {{"toolUse", {{"toolUseId", tool_id}, {"name", tool->name}}}}}, {"contentBlockIndex", index}}));
    for (auto& fragment : common::tool_input_pieces(request, common::serialize(input))) {
      reply.events.push_back(
          frame("contentBlockDelta", {{"delta", {{"toolUse", {{"input", fragment}}}}}, {"contentBlockIndex", index}}));
      if (!request.stream_error.empty()) {
        reply.events.push_back(exception_frame(request.stream_error));
        return reply;
      }
    }
  } else {
    for (std::size_t i = 0; i < pieces; ++i) {
      reply.events.push_back(frame(
          "contentBlockDelta", {{"delta", {{"text", common::reply_piece(request, i)}}}, {"contentBlockIndex", index}}));
      if (!request.stream_error.empty()) {
        reply.events.push_back(exception_frame(request.stream_error));
        return reply;
      }
    }
  }
  if (!request.stream_error.empty()) {
    reply.events.push_back(exception_frame(request.stream_error));
    return reply;
  }
  if (tool || pieces > 0) reply.events.push_back(frame("contentBlockStop", {{"contentBlockIndex", index}}));
  reply.events.push_back(frame("messageStop", {{"stopReason", stop_reason}}));
  reply.events.push_back(frame("metadata", {{"usage", usage}, {"metrics", metrics}}));
  return reply;
}

// ---- InvokeModel embeddings
// -----------------------------------------------------------------------

// An embeddings input containing this marker gets the error of a throttled call, so a test
// can fail one call among several (a Titan list Sluice sends as one call per text).
constexpr std::string_view kFailMarker = "FAILME";

ApiReply invoke(const ApiRequest& request, std::string_view model) {
  if (request.json == nullptr || !request.json->is_object()) {
    fail("Malformed input request, please reformat your input and try again.");
  }
  const json::object& body = request.json->get_object();
  std::string out;
  if (model.find("titan-embed") != std::string_view::npos) {
    check_only(body, {"inputText", "dimensions", "normalize", "embeddingTypes"}, "the request body");
    const json::value* text = body.if_contains("inputText");
    if (text == nullptr || !text->is_string() || text->get_string().empty()) {
      fail(
          "Malformed input request: #: required key [inputText] not found, please reformat your "
          "input and try again.");
    }
    if (std::string_view(text->get_string()).find(kFailMarker) != std::string_view::npos) return injected_error(429);
    int dims = request.dims;
    if (const json::value* requested = body.if_contains("dimensions")) {
      if (!common::is_integer(*requested) || common::to_int(*requested) < 1 || common::to_int(*requested) > 65536) {
        fail(
            "Malformed input request: #/dimensions: expected an integer, please reformat your "
            "input and try again.");
      }
      dims = static_cast<int>(common::to_int(*requested));
    }
    out = R"({"embedding":)" + openai::embedding_array(text->get_string(), dims) + R"(,"inputTextTokenCount":)";
    append_number(out, common::estimate_tokens(text->get_string()));
    out.push_back('}');
  } else if (model.find("cohere.embed") != std::string_view::npos) {
    check_only(body, {"texts", "images", "input_type", "truncate", "embedding_types", "output_dimension", "max_tokens"},
               "the request body");
    const json::value* texts = body.if_contains("texts");
    if (texts == nullptr || !texts->is_array() || texts->get_array().empty() ||
        !std::ranges::all_of(texts->get_array(), [](const json::value& v) { return v.is_string(); })) {
      fail(
          "Malformed input request: #/texts: expected a non-empty array of strings, please "
          "reformat your input and "
          "try again.");
    }
    if (std::ranges::any_of(texts->get_array(), [](const json::value& v) {
          return std::string_view(v.get_string()).find(kFailMarker) != std::string_view::npos;
        }))
      return injected_error(429);
    const json::value* input_type = body.if_contains("input_type");
    const std::string_view type =
        input_type && input_type->is_string() ? std::string_view(input_type->get_string()) : "";
    if (type != "search_document" && type != "search_query" && type != "classification" && type != "clustering" &&
        type != "image") {
      fail(
          "Malformed input request: #/input_type: must be one of search_document, search_query, "
          "classification, "
          "clustering, image, please reformat your input and try again.");
    }
    std::string id = "mock-";
    append_number(id, common::next_id());
    out = R"({"id":")" + id + R"(","embeddings":[)";
    bool first = true;
    for (const json::value& text : texts->get_array()) {
      if (!first) out.push_back(',');
      first = false;
      out.append(openai::embedding_array(text.get_string(), request.dims));
    }
    out.append(R"(],"response_type":"embeddings_floats","texts":)").append(common::serialize(*texts)).append("}");
  } else {
    fail(
        "The provided model identifier is invalid (sluice-mock's /invoke serves titan-embed and "
        "cohere.embed models).");
  }
  FullReply reply;
  reply.body = std::move(out);
  return reply;
}

// POST /model/{id}/count-tokens (CountTokens): {"input":{"converse":{messages, system, toolConfig,
// additionalModelRequestFields}}} -> {"inputTokens": N}, N the inputTokens Converse reports for
// the same messages; {"input":{"invokeModel":{"body"}}} counts the body's text. Claude models only,
// as Bedrock (another model: 400 ValidationException).
ApiReply count_tokens(const ApiRequest& request, std::string_view model) {
  if (!is_claude(model)) fail("The provided model doesn't support counting tokens.");
  if (request.json == nullptr || !request.json->is_object())
    fail("Malformed input request, please reformat your input and try again.");
  const json::object& body = request.json->get_object();
  check_only(body, {"input"}, "the request body");
  const json::value* input = body.if_contains("input");
  if (input == nullptr) fail_constraint("null", "input", "Member must not be null");
  const json::object& union_value = object_at(*input, "input");
  if (union_value.size() != 1) fail("input must set exactly one of converse and invokeModel.");
  std::size_t tokens = 0;
  if (const json::value* converse = union_value.if_contains("converse")) {
    const json::object& fields = object_at(*converse, "input.converse");
    check_only(fields, {"messages", "system", "toolConfig", "additionalModelRequestFields"}, "input.converse");
    ApiRequest inner = request;
    inner.json = converse;
    tokens = parse_converse(inner, model).input_tokens;
  } else if (const json::value* invoke = union_value.if_contains("invokeModel")) {
    const json::object& fields = object_at(*invoke, "input.invokeModel");
    check_only(fields, {"body"}, "input.invokeModel");
    const json::value* text = fields.if_contains("body");
    if (text == nullptr || !text->is_string()) fail("input.invokeModel.body must be a blob.");
    tokens = common::estimate_tokens(text->get_string());
  } else {
    fail("Unknown member of input: expected converse or invokeModel.");
  }
  FullReply reply;
  reply.body = common::serialize(json::object{{"inputTokens", tokens}});
  return reply;
}

}  // namespace

bool matches(std::string_view path) {
  const std::size_t at = path.rfind(kModel);
  if (at == std::string_view::npos) return false;
  const std::string_view rest = path.substr(at + kModel.size());
  const std::size_t slash = rest.find('/');
  return slash != std::string_view::npos && slash > 0 && rest.find('/', slash + 1) == std::string_view::npos;
}

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (!matches(request.path)) return std::nullopt;
  const std::string_view rest = request.path.substr(request.path.rfind(kModel) + kModel.size());
  const std::size_t slash = rest.find('/');
  const std::string model = common::percent_decode(rest.substr(0, slash));
  const std::string_view action = rest.substr(slash + 1);
  if (action != "converse" && action != "converse-stream" && action != "invoke" && action != "count-tokens") {
    return typed_error(404, "UnknownOperationException", "Unknown operation " + std::string(action), kCoralNamespace);
  }
  if (request.method != "POST") {
    return typed_error(405, "UnknownOperationException", "Method not allowed", kCoralNamespace);
  }
  if (auto failure = authenticate(request)) return std::move(*failure);
  try {
    if (action == "invoke") return invoke(request, model);
    if (action == "count-tokens") return count_tokens(request, model);
    return converse(request, model, action == "converse-stream");
  } catch (const Invalid& invalid) {
    return error(invalid.status, invalid.kind.empty() ? "ValidationException" : invalid.kind, invalid.message);
  } catch (const std::exception& e) {
    return error(500, "InternalServerException", e.what());
  }
}

FullReply error(unsigned status, std::string_view type, std::string_view message) {
  return typed_error(status, type, message, kBedrockNamespace);
}

FullReply injected_error(unsigned status) {
  std::string message = "Injected error: status ";
  append_number(message, status);
  std::string_view type = status >= 500 ? "InternalServerException" : "ValidationException";
  switch (status) {
    case 403:
      type = "AccessDeniedException";
      break;
    case 404:
      type = "ResourceNotFoundException";
      break;
    case 408:
      type = "ModelTimeoutException";
      break;
    case 424:
      type = "ModelErrorException";
      break;
    case 429:
      type = "ThrottlingException";
      break;
    case 503:
      type = "ServiceUnavailableException";
      break;
    default:
      break;
  }
  return error(status, type, message);
}

}  // namespace sluice::mock::bedrock
