#include "anthropic_api.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "provider_common.hpp"
#include "scripted_text.hpp"
#include "text.hpp"

namespace sluice::mock::anthropic {
namespace {

namespace json = boost::json;
using common::fail;
using common::Invalid;

constexpr std::string_view kVertexMarker = "/publishers/anthropic/models/";

std::string_view default_type(unsigned status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
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
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string at(std::string_view prefix, std::size_t index) {
  std::string out(prefix);
  out.push_back('.');
  append_number(out, index);
  return out;
}

bool valid_tool_id(std::string_view id) {
  return !id.empty() && std::ranges::all_of(id, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

const json::object& object_at(const json::value& value, const std::string& where) {
  if (!value.is_object()) fail(where + ": Input should be a valid dictionary");
  return value.get_object();
}

const json::string& string_field(const json::object& object, std::string_view name, const std::string& where) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) fail(where + "." + std::string(name) + ": Field required");
  if (!value->is_string()) fail(where + "." + std::string(name) + ": Input should be a valid string");
  return value->get_string();
}

void check_text_block(const json::object& block, const std::string& where) {
  if (string_field(block, "text", where).empty()) {
    fail("messages: text content blocks must be non-empty");
  }
}

void check_image_block(const json::object& block, const std::string& where) {
  const json::value* source = block.if_contains("source");
  if (source == nullptr) fail(where + ".source: Field required");
  const json::object& fields = object_at(*source, where + ".source");
  const json::value* type = fields.if_contains("type");
  const std::string_view kind = type && type->is_string() ? std::string_view(type->get_string()) : "";
  if (kind == "base64") {
    const std::string_view media = string_field(fields, "media_type", where + ".source");
    if (media != "image/jpeg" && media != "image/png" && media != "image/gif" && media != "image/webp") {
      fail(where +
           ".source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or "
           "'image/webp'");
    }
    string_field(fields, "data", where + ".source");
  } else if (kind == "url") {
    string_field(fields, "url", where + ".source");
  } else if (kind != "file") {
    fail(where + ".source: Input tag '" + std::string(kind) +
         "' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'");
  }
}

// The content of a tool_result: a string or an array of text/image/document/search_result blocks.
void check_tool_result_content(const json::value& content, const std::string& where) {
  if (content.is_string()) return;
  if (!content.is_array()) fail(where + ": Input should be a valid string or list");
  std::size_t index = 0;
  for (const json::value& item : content.get_array()) {
    const std::string here = at(where, index++);
    const json::object& block = object_at(item, here);
    const std::string_view type = string_field(block, "type", here);
    if (type == "text") {
      check_text_block(block, here);
    } else if (type == "image") {
      check_image_block(block, here);
    } else if (type != "document" && type != "search_result") {
      fail(here + ": Input tag '" + std::string(type) +
           "' found using 'type' does not match any of the expected tags: 'text', 'image', "
           "'document', 'search_result'");
    }
  }
}

struct Turn {
  std::string role;
  std::vector<std::string> tool_use_ids;
  std::vector<std::string> tool_result_ids;
  std::string text;         // the concatenated text blocks
  std::string first_block;  // the type of the first content block ("text" for a string content)
};

constexpr std::string_view kKnownBlocks =
    "'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', 'tool_use', "
    "'tool_result', 'server_tool_use', 'web_search_tool_result'";

// Members outside `known` get "<where>.<name>: Extra inputs are not permitted".
void check_extra(const json::object& object, std::initializer_list<std::string_view> known, const std::string& where) {
  for (const auto& member : object) {
    const std::string_view key = member.key();
    if (std::ranges::find(known, key) == known.end()) {
      fail((where.empty() ? std::string() : where + ".") + std::string(key) + ": Extra inputs are not permitted");
    }
  }
}

Turn check_message(const json::value& value, std::size_t index, std::size_t count) {
  const std::string where = at("messages", index);
  const json::object& message = object_at(value, where);
  check_extra(message, {"role", "content"}, where);
  Turn turn;
  const json::value* role = message.if_contains("role");
  if (role == nullptr) fail(where + ".role: Field required");
  if (!role->is_string() || (role->get_string() != "user" && role->get_string() != "assistant")) {
    fail(where + ".role: Input should be 'user' or 'assistant'");
  }
  turn.role = role->get_string();
  const bool final_assistant = turn.role == "assistant" && index + 1 == count;
  const json::value* content = message.if_contains("content");
  if (content == nullptr) fail(where + ".content: Field required");
  if (content->is_string()) {
    if (content->get_string().empty() && !final_assistant) {
      fail(where +
           ": all messages must have non-empty content except for the optional final "
           "assistant message");
    }
    turn.text = content->get_string();
    turn.first_block = "text";
    return turn;
  }
  if (!content->is_array()) fail(where + ".content: Input should be a valid list");
  if (content->get_array().empty() && !final_assistant) {
    fail(where +
         ": all messages must have non-empty content except for the optional final "
         "assistant message");
  }
  std::size_t block_index = 0;
  for (const json::value& item : content->get_array()) {
    const std::string here = at(where + ".content", block_index++);
    const json::object& block = object_at(item, here);
    const std::string_view type = string_field(block, "type", here);
    if (block_index == 1) turn.first_block = type;
    if (type == "text") {
      check_text_block(block, here);
      turn.text.append(block.at("text").get_string());
    } else if (type == "image") {
      check_image_block(block, here);
    } else if (type == "tool_use") {
      if (turn.role != "assistant") fail(here + ": tool_use blocks are only allowed in assistant messages");
      const std::string_view id = string_field(block, "id", here);
      if (!valid_tool_id(id)) fail(here + ".id: String should match pattern '^[a-zA-Z0-9_-]+$'");
      if (string_field(block, "name", here).empty()) fail(here + ".name: String should have at least 1 character");
      const json::value* input = block.if_contains("input");
      if (input == nullptr) fail(here + ".input: Field required");
      if (!input->is_object()) fail(here + ".input: Input should be a valid dictionary");
      turn.tool_use_ids.emplace_back(id);
    } else if (type == "tool_result") {
      if (turn.role != "user") fail(here + ": tool_result blocks are only allowed in user messages");
      const std::string_view id = string_field(block, "tool_use_id", here);
      if (!valid_tool_id(id)) {
        fail(here + ".tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'");
      }
      if (const json::value* result = block.if_contains("content")) {
        check_tool_result_content(*result, here + ".content");
      }
      if (const json::value* is_error = block.if_contains("is_error"); is_error && !is_error->is_bool()) {
        fail(here + ".is_error: Input should be a valid boolean");
      }
      turn.tool_result_ids.emplace_back(id);
    } else if (type == "thinking") {
      if (turn.role != "assistant") fail(here + ": thinking blocks are only allowed in assistant messages");
      const std::string_view thinking = string_field(block, "thinking", here);
      const std::string_view signature = string_field(block, "signature", here);
      // Only signatures the mock issued verify (see common::thinking_signature).
      if (!common::valid_thinking_signature(thinking, signature)) {
        fail(here + ": Invalid `signature` in `thinking` block");
      }
    } else if (type == "redacted_thinking") {
      string_field(block, "data", here);
    } else if (type != "document" && type != "search_result" && type != "server_tool_use" &&
               type != "web_search_tool_result") {
      fail(here + ": Input tag '" + std::string(type) +
           "' found using 'type' does not match any of the expected tags: " + std::string(kKnownBlocks));
    }
  }
  return turn;
}

void check_pairing(const std::vector<Turn>& turns) {
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const Turn& turn = turns[i];
    if (turn.role == "assistant" && !turn.tool_use_ids.empty()) {
      std::vector<std::string> missing;
      for (const auto& id : turn.tool_use_ids) {
        const bool answered = i + 1 < turns.size() &&
                              std::ranges::find(turns[i + 1].tool_result_ids, id) != turns[i + 1].tool_result_ids.end();
        if (!answered) missing.push_back(id);
      }
      if (!missing.empty()) {
        fail(at("messages", i) +
             ": `tool_use` ids were found without `tool_result` blocks immediately after: " + common::join(missing) +
             ". Each `tool_use` block must have a corresponding `tool_result` block in the next "
             "message.");
      }
    }
    if (turn.role == "user" && !turn.tool_result_ids.empty()) {
      std::vector<std::string> unexpected;
      for (const auto& id : turn.tool_result_ids) {
        const bool known = i > 0 && std::ranges::find(turns[i - 1].tool_use_ids, id) != turns[i - 1].tool_use_ids.end();
        if (!known) unexpected.push_back(id);
      }
      if (!unexpected.empty()) {
        fail(at("messages", i) +
             ".content.0: unexpected `tool_use_id` found in `tool_result` blocks: " + common::join(unexpected) +
             ". Each `tool_result` block must have a corresponding `tool_use` block in the previous "
             "message.");
      }
    }
  }
}

struct Tool {
  std::string name;
  const json::value* schema = nullptr;
};

std::vector<Tool> check_tools(const json::value& value) {
  if (!value.is_array()) fail("tools: Input should be a valid list");
  std::vector<Tool> tools;
  std::set<std::string> names;
  std::size_t index = 0;
  for (const json::value& item : value.get_array()) {
    const std::string where = at("tools", index++);
    const json::object& tool = object_at(item, where);
    const json::value* type = tool.if_contains("type");
    const bool custom = type == nullptr || type->is_null() || (type->is_string() && type->get_string() == "custom");
    const std::string_view name = string_field(tool, "name", where);
    const bool name_ok = !name.empty() && name.size() <= 128 && std::ranges::all_of(name, [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!name_ok) fail(where + ".name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'");
    if (!names.emplace(name).second) fail("tools: Tool names must be unique.");
    Tool entry{std::string(name), nullptr};
    if (custom) {
      const json::value* schema = tool.if_contains("input_schema");
      if (schema == nullptr) fail(where + ".custom.input_schema: Field required");
      if (!schema->is_object()) fail(where + ".custom.input_schema: Input should be a valid dictionary");
      const json::value* schema_type = schema->get_object().if_contains("type");
      if (schema_type == nullptr || !schema_type->is_string() || schema_type->get_string() != "object") {
        fail(where + ".custom.input_schema.type: Input should be 'object'");
      }
      entry.schema = schema;
    }
    tools.push_back(std::move(entry));
  }
  return tools;
}

void check_range(const json::object& body, std::string_view name, double min, double max) {
  const json::value* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return;
  if (!common::is_number(*value)) fail(std::string(name) + ": Input should be a valid number");
  const double number = common::to_double(*value);
  if (number < min || number > max) {
    std::string message(name);
    message.append(": range: ");
    append_number(message, min);
    message.append("..");
    append_number(message, max);
    fail(message);
  }
}

struct Parsed {
  std::string model;
  bool stream = false;
  std::size_t input_tokens = 1;
  std::vector<Tool> tools;
  std::string choice = "auto";  // auto, any, tool, none
  std::string forced;           // the tool of {"type":"tool","name"}
  std::string last_user_text;
  bool thinking = false;                // thinking enabled or adaptive: the reply starts with a thinking block
  bool json = false;                    // output_config.format / output_format: the text is JSON
  const json::value* schema = nullptr;  // its schema
};

// output_config.format or the older output_format: {"type":"json_schema","schema":{…}}.
const json::value* check_output_format(const json::value& value, const std::string& where) {
  const json::object& format = object_at(value, where);
  check_extra(format, {"type", "schema"}, where);
  const std::string_view type = string_field(format, "type", where);
  if (type != "json_schema") {
    fail(where + ": Input tag '" + std::string(type) +
         "' found using 'type' does not match any of the expected tags: 'json_schema'");
  }
  const json::value* schema = format.if_contains("schema");
  if (schema == nullptr) fail(where + ".schema: Field required");
  if (!schema->is_object()) fail(where + ".schema: Input should be a valid dictionary");
  return schema;
}

constexpr std::string_view kThinkingDocs =
    "Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking";

// `counting`: a count_tokens body (no max_tokens, stream or sampling fields); on Vertex AI
// (count-tokens:rawPredict) it names the model in the body, beside anthropic_version.
Parsed parse(const ApiRequest& request, bool vertex, std::string_view path_model, bool counting = false) {
  if (request.json == nullptr || !request.json->is_object()) {
    fail("There was an error parsing the body of your request: expected a JSON object.");
  }
  const json::object& body = request.json->get_object();
  Parsed parsed;
  const bool model_in_body = !vertex || counting;
  if (!model_in_body && body.contains("model")) fail("model: Extra inputs are not permitted");
  if (counting) {
    check_extra(body,
                {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "output_config",
                 "output_format", "context_management", "cache_control", vertex ? "anthropic_version" : "model"},
                {});
  }
  check_extra(body,
              {"model",
               "messages",
               "max_tokens",
               "system",
               "metadata",
               "stop_sequences",
               "stream",
               "temperature",
               "top_p",
               "top_k",
               "tools",
               "tool_choice",
               "thinking",
               "service_tier",
               "container",
               "mcp_servers",
               "output_config",
               "output_format",
               "context_management",
               "cache_control",
               "inference_geo",
               vertex ? "anthropic_version" : "model"},
              {});
  if (vertex) {
    const json::value* version = body.if_contains("anthropic_version");
    if (version == nullptr) fail("anthropic_version: Field required");
    if (!version->is_string() || version->get_string().empty()) {
      fail("anthropic_version: Input should be a valid string");
    }
  }
  if (!model_in_body) {
    parsed.model = std::string(path_model);
  } else {
    const json::value* model = body.if_contains("model");
    if (model == nullptr) fail("model: Field required");
    if (!model->is_string() || model->get_string().empty()) fail("model: Input should be a non-empty string");
    parsed.model = model->get_string();
  }

  const json::value* max_tokens = body.if_contains("max_tokens");
  if (!counting) {
    if (max_tokens == nullptr) fail("max_tokens: Field required");
    if (!common::is_integer(*max_tokens)) fail("max_tokens: Input should be a valid integer");
    if (common::to_int(*max_tokens) < 1) fail("max_tokens: Input should be greater than or equal to 1");
  }

  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr) fail("messages: Field required");
  if (!messages->is_array()) fail("messages: Input should be a valid list");
  const json::array& list = messages->get_array();
  if (list.empty()) fail("messages: at least one message is required");
  std::vector<Turn> turns;
  std::size_t characters = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    turns.push_back(check_message(list[i], i, list.size()));
    characters += utf8_length(turns.back().text);
  }
  if (turns.front().role != "user") fail("messages: first message must use the \"user\" role");
  for (std::size_t i = 1; i < turns.size(); ++i) {
    if (turns[i].role == turns[i - 1].role) {
      fail(
          "messages: roles must alternate between \"user\" and \"assistant\", but found multiple "
          "\"" +
          turns[i].role + "\" roles in a row");
    }
  }
  check_pairing(turns);
  const bool uses_tools = std::ranges::any_of(
      turns, [](const Turn& turn) { return !turn.tool_use_ids.empty() || !turn.tool_result_ids.empty(); });
  if (turns.back().role == "user") parsed.last_user_text = turns.back().text;

  if (const json::value* system = body.if_contains("system"); system && !system->is_null()) {
    if (system->is_string()) {
      characters += utf8_length(system->get_string());
    } else if (system->is_array()) {
      std::size_t index = 0;
      for (const json::value& item : system->get_array()) {
        const std::string where = at("system", index++);
        const json::object& block = object_at(item, where);
        if (string_field(block, "type", where) != "text") fail(where + ".type: Input should be 'text'");
        check_text_block(block, where);
        characters += utf8_length(block.at("text").get_string());
      }
    } else {
      fail("system: Input should be a valid string or list of text blocks");
    }
  }
  parsed.input_tokens = common::estimate_tokens_of_chars(characters);

  const json::value* tools = body.if_contains("tools");
  if (tools && !tools->is_null()) parsed.tools = check_tools(*tools);
  if (uses_tools && parsed.tools.empty()) {
    fail("Requests which include `tool_use` or `tool_result` blocks must define tools.");
  }
  if (const json::value* choice = body.if_contains("tool_choice"); choice && !choice->is_null()) {
    const json::object& fields = object_at(*choice, "tool_choice");
    const std::string_view type = string_field(fields, "type", "tool_choice");
    if (type != "auto" && type != "any" && type != "tool" && type != "none") {
      fail("tool_choice: Input tag '" + std::string(type) +
           "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', "
           "'none'");
    }
    if (const json::value* disable = fields.if_contains("disable_parallel_tool_use"); disable && !disable->is_bool()) {
      fail("tool_choice.disable_parallel_tool_use: Input should be a valid boolean");
    }
    if (parsed.tools.empty() && type != "none") {
      fail("tool_choice may only be specified while providing tools.");
    }
    parsed.choice = std::string(type);
    if (type == "tool") {
      parsed.forced = std::string(string_field(fields, "name", "tool_choice"));
      const bool known = std::ranges::any_of(parsed.tools, [&](const Tool& t) { return t.name == parsed.forced; });
      if (!known) fail("tool_choice.name: Tool '" + parsed.forced + "' not found in tools");
    }
  }

  check_range(body, "temperature", 0, 1);
  check_range(body, "top_p", 0, 1);
  if (const json::value* top_k = body.if_contains("top_k"); top_k && !top_k->is_null()) {
    if (!common::is_integer(*top_k) || common::to_int(*top_k) < 0) {
      fail("top_k: Input should be a non-negative integer");
    }
  }
  if (const json::value* stops = body.if_contains("stop_sequences"); stops && !stops->is_null()) {
    if (!stops->is_array() ||
        !std::ranges::all_of(stops->get_array(), [](const json::value& v) { return v.is_string(); })) {
      fail("stop_sequences: Input should be a valid list of strings");
    }
  }
  if (const json::value* metadata = body.if_contains("metadata"); metadata && !metadata->is_null()) {
    object_at(*metadata, "metadata");
  }
  if (const json::value* thinking = body.if_contains("thinking"); thinking && !thinking->is_null()) {
    const json::object& fields = object_at(*thinking, "thinking");
    const std::string_view type = string_field(fields, "type", "thinking");
    if (type == "enabled") {
      const json::value* budget = fields.if_contains("budget_tokens");
      if (budget == nullptr || !common::is_integer(*budget)) fail("thinking.enabled.budget_tokens: Field required");
      if (common::to_int(*budget) < 1024) {
        fail("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
      }
      if (max_tokens && common::to_int(*budget) >= common::to_int(*max_tokens)) {
        fail("`max_tokens` must be greater than `thinking.budget_tokens`. " + std::string(kThinkingDocs));
      }
      parsed.thinking = true;
    } else if (type == "adaptive") {
      parsed.thinking = true;
    } else if (type != "disabled") {
      fail("thinking: Input tag '" + std::string(type) +
           "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', "
           "'adaptive'");
    }
  }
  if (parsed.thinking) {
    if (const json::value* t = body.if_contains("temperature");
        t && common::is_number(*t) && common::to_double(*t) != 1) {
      fail("`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. " +
           std::string(kThinkingDocs));
    }
    if (const json::value* k = body.if_contains("top_k"); k && !k->is_null()) {
      fail("`top_k` must be unset when thinking is enabled or in adaptive mode. " + std::string(kThinkingDocs));
    }
    if (parsed.choice == "any" || parsed.choice == "tool") {
      fail("Thinking may not be enabled when tool_choice forces tool use.");
    }
    // The assistant turn whose tool calls the last user turn answers must start with its thinking.
    const Turn& last = turns.back();
    if (turns.size() >= 2 && last.role == "user" && !last.tool_result_ids.empty()) {
      const Turn& calls = turns[turns.size() - 2];
      if (calls.first_block != "thinking" && calls.first_block != "redacted_thinking") {
        fail(at("messages", turns.size() - 2) +
             ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `" + calls.first_block +
             "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding "
             "the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
             "previous turns. To avoid this requirement, disable `thinking`. " +
             std::string(kThinkingDocs));
      }
    }
  }
  const json::value* config = body.if_contains("output_config");
  if (config && !config->is_null()) {
    const json::object& fields = object_at(*config, "output_config");
    check_extra(fields, {"format", "effort"}, "output_config");
    if (const json::value* effort = fields.if_contains("effort"); effort && !effort->is_null()) {
      const std::string_view level = effort->is_string() ? std::string_view(effort->get_string()) : "";
      if (level != "low" && level != "medium" && level != "high" && level != "max") {
        fail("output_config.effort: Input should be 'low', 'medium', 'high' or 'max'");
      }
    }
    if (const json::value* format = fields.if_contains("format"); format && !format->is_null()) {
      parsed.schema = check_output_format(*format, "output_config.format");
      parsed.json = true;
    }
  }
  if (const json::value* format = body.if_contains("output_format"); format && !format->is_null()) {
    if (parsed.json) fail("output_format: cannot be used together with output_config.format; use output_config.format");
    parsed.schema = check_output_format(*format, "output_format");
    parsed.json = true;
  }
  if (const json::value* stream = body.if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) fail("stream: Input should be a valid boolean");
    parsed.stream = stream->get_bool();
  }
  return parsed;
}

// The tool to call, or nullptr for a text reply.
const Tool* chosen_tool(const Parsed& parsed) {
  if (parsed.tools.empty() || parsed.choice == "none") return nullptr;
  if (parsed.choice == "tool") {
    for (const Tool& tool : parsed.tools) {
      if (tool.name == parsed.forced) return &tool;
    }
  }
  if (parsed.choice == "any" || common::mentions_tool(parsed.last_user_text)) return &parsed.tools.front();
  return nullptr;
}

json::object usage(const Parsed& parsed, const ApiRequest& request, std::size_t output_tokens) {
  json::object out;
  out["input_tokens"] = parsed.input_tokens;
  if (request.cache_read >= 0) {
    out["cache_creation_input_tokens"] = 0;
    out["cache_read_input_tokens"] = request.cache_read;
  }
  out["output_tokens"] = output_tokens;
  return out;
}

std::string event(std::string_view name, const json::object& data) {
  std::string out = "event: ";
  out.append(name).append("\ndata: ").append(common::serialize(data)).append("\n\n");
  return out;
}

std::string mid_stream_error(std::string_view type) {
  json::object error{{"type", type}, {"message", "Injected mid-stream error"}};
  return event("error", json::object{{"type", "error"}, {"error", std::move(error)}});
}

ApiReply reply(const Parsed& parsed, const ApiRequest& original) {
  const Tool* tool = chosen_tool(parsed);
  // Structured output: the text is a JSON document valid against output_config.format.schema.
  std::optional<ScriptedText> structured;
  if (parsed.json && !tool) structured = common::json_reply(original, parsed.schema);
  const ApiRequest request = structured ? common::with_reply(original, *structured) : original;

  std::string message_id = "msg_mock";
  append_number(message_id, common::next_id());
  std::string tool_id = "toolu_mock";
  json::object input;
  if (tool) {
    append_number(tool_id, common::next_id());
    input = common::tool_input(request, tool->schema);
  }
  const std::string_view thinking = common::thinking_text();
  const std::size_t thinking_tokens = parsed.thinking ? common::estimate_tokens(thinking) : 0;
  const std::size_t output_tokens = (tool ? 8 : common::reply_tokens(request)) + thinking_tokens;
  const std::size_t pieces = common::reply_piece_count(request);
  const std::string_view stop_reason = tool ? "tool_use" : request.cut_at_max_tokens ? "max_tokens" : "end_turn";

  if (!parsed.stream) {
    json::array content;
    if (parsed.thinking) {
      content.push_back(json::object{
          {"type", "thinking"}, {"thinking", thinking}, {"signature", common::thinking_signature(thinking)}});
    }
    if (tool) {
      content.push_back(json::object{{"type", "tool_use"}, {"id", tool_id}, {"name", tool->name}, {"input", input}});
    } else if (pieces > 0) {
      content.push_back(json::object{{"type", "text"}, {"text", common::whole_reply(request)}});
    }
    json::object message{{"id", message_id},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", parsed.model},
                         {"content", std::move(content)},
                         {"stop_reason", stop_reason},
                         {"stop_sequence", nullptr},
                         {"usage", usage(parsed, request, output_tokens)}};
    FullReply full;
    full.body = common::serialize(message);
    return full;
  }

  StreamReply stream;
  json::object start{{"id", message_id},         {"type", "message"},
                     {"role", "assistant"},      {"model", parsed.model},
                     {"content", json::array()}, {"stop_reason", nullptr},
                     {"stop_sequence", nullptr}, {"usage", usage(parsed, request, 1)}};
  stream.events.push_back(event("message_start", {{"type", "message_start"}, {"message", std::move(start)}}));
  std::size_t index = 0;
  const auto block_start = [&](json::object block) {
    stream.events.push_back(
        event("content_block_start",
              {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(block)}}));
    if (index == 0) stream.events.push_back(event("ping", {{"type", "ping"}}));
  };
  const auto delta = [&](json::object body) {
    stream.events.push_back(
        event("content_block_delta", {{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(body)}}));
  };
  const auto block_stop = [&]() {
    stream.events.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  };
  if (parsed.thinking) {
    block_start({{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
    const ScriptedText thought = cut_evenly(std::string(thinking), 3);
    for (std::size_t i = 0; i < thought.pieces(); ++i) {
      delta({{"type", "thinking_delta"}, {"thinking", thought.piece(i)}});
    }
    delta({{"type", "signature_delta"}, {"signature", common::thinking_signature(thinking)}});
    block_stop();
  }
  bool has_block = false;
  if (tool) {
    block_start({{"type", "tool_use"}, {"id", tool_id}, {"name", tool->name}, {"input", json::object()}});
    delta({{"type", "input_json_delta"}, {"partial_json", ""}});
    for (auto& fragment : common::tool_input_pieces(request, common::serialize(input))) {
      delta({{"type", "input_json_delta"}, {"partial_json", fragment}});
      if (!request.stream_error.empty()) {
        stream.events.push_back(mid_stream_error(request.stream_error));
        return stream;
      }
    }
    has_block = true;
  } else if (pieces > 0) {
    block_start({{"type", "text"}, {"text", ""}});
    for (std::size_t i = 0; i < pieces; ++i) {
      delta({{"type", "text_delta"}, {"text", common::reply_piece(request, i)}});
      if (!request.stream_error.empty()) {
        stream.events.push_back(mid_stream_error(request.stream_error));
        return stream;
      }
    }
    has_block = true;
  } else {
    if (index == 0) stream.events.push_back(event("ping", {{"type", "ping"}}));
    if (!request.stream_error.empty()) {
      stream.events.push_back(mid_stream_error(request.stream_error));
      return stream;
    }
  }
  if (has_block) block_stop();
  json::object final_usage{{"output_tokens", output_tokens}};
  if (request.cache_read >= 0) {
    final_usage["input_tokens"] = parsed.input_tokens;
    final_usage["cache_read_input_tokens"] = request.cache_read;
  }
  stream.events.push_back(event("message_delta", {{"type", "message_delta"},
                                                  {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                                                  {"usage", std::move(final_usage)}}));
  stream.events.push_back(event("message_stop", {{"type", "message_stop"}}));
  return stream;
}

// POST …/v1/messages/count_tokens (Vertex AI: …/publishers/anthropic/models/count-tokens:rawPredict):
// {"input_tokens": N}, N as /v1/messages would report it.
FullReply count_tokens(const ApiRequest& request, bool vertex = false) {
  const Parsed parsed = parse(request, vertex, {}, true);
  FullReply full;
  full.body = common::serialize(json::object{{"input_tokens", parsed.input_tokens}});
  return full;
}

FullReply from_invalid(const Invalid& invalid) {
  const std::string_view type = invalid.kind.empty() ? default_type(invalid.status) : std::string_view(invalid.kind);
  return error(invalid.status, type, invalid.message);
}

// 401 in Google's shape, as Vertex answers a request without a usable token.
FullReply vertex_unauthenticated() {
  FullReply reply;
  reply.status = 401;
  reply.body = R"({"error":{"code":401,"message":"Request had invalid authentication credentials. )"
               R"(Expected OAuth 2 access token, login cookie or other valid authentication credential.",)"
               R"("status":"UNAUTHENTICATED"}})";
  return reply;
}

ApiReply handle_vertex(const ApiRequest& request) {
  const std::size_t marker = request.path.find(kVertexMarker);
  std::string_view rest = request.path.substr(marker + kVertexMarker.size());
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return error(404, "not_found_error", "Not found");
  const std::string_view action = rest.substr(colon + 1);
  const std::string model = common::percent_decode(rest.substr(0, colon));
  if (action != "rawPredict" && action != "streamRawPredict") {
    return error(404, "not_found_error", "Unknown action: " + std::string(action));
  }
  if (request.method != "POST") return error(405, "invalid_request_error", "Method Not Allowed");
  if (!common::bearer_token(request)) return vertex_unauthenticated();
  try {
    if (model == "count-tokens") {
      if (action != "rawPredict") return error(404, "not_found_error", "Unknown action: " + std::string(action));
      return count_tokens(request, true);
    }
    Parsed parsed = parse(request, true, model);
    if (action == "streamRawPredict") parsed.stream = true;
    return reply(parsed, request);
  } catch (const Invalid& invalid) {
    return from_invalid(invalid);
  }
}

}  // namespace

bool matches(std::string_view path) {
  return path.ends_with("/v1/messages") || path.ends_with("/v1/messages/count_tokens") ||
         path.find(kVertexMarker) != std::string_view::npos;
}

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (request.path.find(kVertexMarker) != std::string_view::npos) return handle_vertex(request);
  const bool counting = request.path.ends_with("/v1/messages/count_tokens");
  if (!request.path.ends_with("/v1/messages") && !counting) return std::nullopt;
  if (request.method != "POST") return error(405, "invalid_request_error", "Method Not Allowed");
  const auto api_key = request.header("x-api-key");
  if ((!api_key || api_key->empty()) && !common::bearer_token(request)) {
    return error(401, "authentication_error", "x-api-key header is required");
  }
  const auto version = request.header("anthropic-version");
  if (!version || version->empty()) {
    return error(400, "invalid_request_error", "anthropic-version: header is required");
  }
  try {
    if (counting) return count_tokens(request);
    return reply(parse(request, false, {}), request);
  } catch (const Invalid& invalid) {
    return from_invalid(invalid);
  }
}

namespace {

struct ListedModel {
  std::string id;
  std::string display_name;
  std::string created_at;
};

// --models, else three Claude-like models.
std::vector<ListedModel> listed_models(const ApiRequest& request) {
  if (request.models != nullptr && !request.models->empty()) {
    std::vector<ListedModel> out;
    for (const auto& id : *request.models) out.push_back({id, id, "2025-01-01T00:00:00Z"});
    return out;
  }
  return {{"claude-mock-opus-1", "Claude Mock Opus 1", "2025-05-14T00:00:00Z"},
          {"claude-mock-sonnet-1", "Claude Mock Sonnet 1", "2025-05-14T00:00:00Z"},
          {"claude-mock-haiku-1", "Claude Mock Haiku 1", "2024-10-22T00:00:00Z"}};
}

json::object model_object(const ListedModel& model) {
  return json::object{
      {"type", "model"}, {"id", model.id}, {"display_name", model.display_name}, {"created_at", model.created_at}};
}

}  // namespace

std::optional<ApiReply> list_models(const ApiRequest& request) {
  const auto version = request.header("anthropic-version");
  if (!version) return std::nullopt;
  const std::size_t at = request.path.rfind("/v1/models");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = request.path.substr(at + 10);
  if (!rest.empty() && (rest.front() != '/' || rest.size() == 1)) return std::nullopt;
  if (request.method != "GET") return error(405, "invalid_request_error", "Method Not Allowed");
  const auto api_key = request.header("x-api-key");
  if ((!api_key || api_key->empty()) && !common::bearer_token(request))
    return error(401, "authentication_error", "x-api-key header is required");
  const auto models = listed_models(request);
  if (!rest.empty()) {  // GET /v1/models/{id}
    const std::string id = common::percent_decode(rest.substr(1));
    for (const auto& m : models)
      if (m.id == id) return FullReply{200, "application/json", common::serialize(model_object(m)), {}};
    return error(404, "not_found_error", "model: " + id);
  }
  std::size_t limit = 20;
  if (const auto text = common::query_param(request.query, "limit")) {
    std::size_t value = 0;
    bool ok = !text->empty() && text->size() <= 4;
    for (const char c : *text) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!ok || value < 1 || value > 1000)
      return error(400, "invalid_request_error", "limit: Input should be between 1 and 1000");
    limit = value;
  }
  if (request.models_page_size > 0) limit = std::min(limit, request.models_page_size);
  std::size_t begin = 0;
  std::size_t end = models.size();
  const auto find = [&models](std::string_view id) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < models.size(); ++i)
      if (models[i].id == id) return i;
    return std::nullopt;
  };
  if (const auto after = common::query_param(request.query, "after_id")) {
    const auto i = find(common::percent_decode(*after));
    if (!i) return error(400, "invalid_request_error", "after_id: no such model");
    begin = *i + 1;
  }
  if (const auto before = common::query_param(request.query, "before_id")) {
    const auto i = find(common::percent_decode(*before));
    if (!i) return error(400, "invalid_request_error", "before_id: no such model");
    end = *i;
    begin = end > limit ? end - limit : 0;
  }
  const std::size_t last = std::min(end, begin + limit);
  json::array data;
  for (std::size_t i = begin; i < last; ++i) data.emplace_back(model_object(models[i]));
  json::object page{{"data", std::move(data)}, {"has_more", last < end}};
  page["first_id"] = begin < last ? json::value(models[begin].id) : json::value(nullptr);
  page["last_id"] = begin < last ? json::value(models[last - 1].id) : json::value(nullptr);
  return FullReply{200, "application/json", common::serialize(page), {}};
}

FullReply error(unsigned status, std::string_view type, std::string_view message) {
  FullReply reply;
  reply.status = status;
  json::object error{{"type", type}, {"message", message}};
  reply.body = common::serialize(json::object{{"type", "error"}, {"error", std::move(error)}});
  return reply;
}

FullReply injected_error(unsigned status) {
  std::string message = "Injected error: status ";
  append_number(message, status);
  return error(status, default_type(status), message);
}

}  // namespace sluice::mock::anthropic
