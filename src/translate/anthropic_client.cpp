#include "translate/anthropic_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <utility>
#include <variant>

#include "translate/chained_client.hpp"
#include "translate/common.hpp"
#include "translate/encode_anthropic_messages.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

using Error = std::optional<http::ApiError>;

http::ApiError bad_request(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "invalid_request");
}

const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Request: Anthropic Messages -> OpenAI Chat Completions.

// Anthropic image block -> OpenAI image_url part.
Error image_part(const json::object& block, const std::string& path, json::array& parts) {
  const auto* source_value = block.if_contains("source");
  if (source_value == nullptr || !source_value->is_object())
    return bad_request(path + ".source: Field required", path + ".source");
  const auto& source = source_value->get_object();
  const auto type = string_or(source, "type");
  std::string url;
  if (type == "base64") {
    url = "data:" + std::string(string_or(source, "media_type", "image/jpeg")) + ";base64," +
          std::string(string_or(source, "data"));
  } else if (type == "url") {
    url = string_or(source, "url");
  } else {
    return bad_request(path + ".source.type: image source type '" + std::string(type) +
                           "' is not supported by this backend (base64 and url are)",
                       path + ".source.type");
  }
  parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", std::move(url)}}}});
  return std::nullopt;
}

// A tool_result block -> an OpenAI `tool` message (appended to `messages`); image blocks inside
// it go to `user_parts` (tool messages carry text only).
Error tool_message(const json::object& block, const std::string& path, json::array& messages, json::array& user_parts) {
  const auto* id = string_at(block, "tool_use_id");
  if (id == nullptr) return bad_request(path + ".tool_use_id: Field required", path + ".tool_use_id");
  std::string text;
  if (const auto* content = block.if_contains("content"); content != nullptr && !content->is_null()) {
    if (content->is_string()) {
      text = content->get_string();
    } else if (content->is_array()) {
      bool first = true;
      const auto& items = content->get_array();
      for (std::size_t k = 0; k < items.size(); ++k) {
        const auto item_path = indexed(path + ".content", k);
        if (!items[k].is_object()) return bad_request(item_path + ": expected a content block", item_path);
        const auto& item = items[k].get_object();
        const auto type = string_or(item, "type");
        if (type == "text") {
          if (!first) text.push_back('\n');
          text.append(string_or(item, "text"));
          first = false;
        } else if (type == "image") {
          if (auto error = image_part(item, item_path, user_parts)) return error;
        } else {
          return bad_request(item_path + ".type: tool_result content type '" + std::string(type) +
                                 "' is not supported by this backend",
                             item_path + ".type");
        }
      }
    } else {
      return bad_request(path + ".content: expected a string or a list of content blocks", path + ".content");
    }
  }
  if (const auto* is_error = block.if_contains("is_error");
      is_error != nullptr && is_error->is_bool() && is_error->get_bool())
    text.insert(0, "Error: ");
  messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", *id}, {"content", std::move(text)}});
  return std::nullopt;
}

Error convert_user(const json::value& content, const std::string& path, json::array& messages) {
  if (content.is_string()) {
    messages.push_back(json::object{{"role", "user"}, {"content", content.get_string()}});
    return std::nullopt;
  }
  if (!content.is_array()) return bad_request(path + ": expected a string or a list of content blocks", path);
  json::array parts;
  bool any_tool_result = false;
  const auto& blocks = content.get_array();
  for (std::size_t j = 0; j < blocks.size(); ++j) {
    const auto block_path = indexed(path, j);
    if (!blocks[j].is_object()) return bad_request(block_path + ": expected a content block", block_path);
    const auto& block = blocks[j].get_object();
    const auto type = string_or(block, "type");
    if (type == "text") {
      parts.push_back(json::object{{"type", "text"}, {"text", string_or(block, "text")}});
    } else if (type == "image") {
      if (auto error = image_part(block, block_path, parts)) return error;
    } else if (type == "tool_result") {
      any_tool_result = true;
      if (auto error = tool_message(block, block_path, messages, parts)) return error;
    } else if (type == "thinking" || type == "redacted_thinking") {
      continue;
    } else {
      return bad_request(
          block_path + ".type: content block type '" + std::string(type) + "' is not supported by this backend",
          block_path + ".type");
    }
  }
  if (!parts.empty()) {
    messages.push_back(json::object{{"role", "user"}, {"content", std::move(parts)}});
  } else if (!any_tool_result) {
    messages.push_back(json::object{{"role", "user"}, {"content", ""}});
  }
  return std::nullopt;
}

Error convert_assistant(const json::value& content, const std::string& path, json::array& messages) {
  if (content.is_string()) {
    messages.push_back(json::object{{"role", "assistant"}, {"content", content.get_string()}});
    return std::nullopt;
  }
  if (!content.is_array()) return bad_request(path + ": expected a string or a list of content blocks", path);
  std::string text;
  json::array tool_calls;
  json::array thinking;
  const auto& blocks = content.get_array();
  for (std::size_t j = 0; j < blocks.size(); ++j) {
    const auto block_path = indexed(path, j);
    if (!blocks[j].is_object()) return bad_request(block_path + ": expected a content block", block_path);
    const auto& block = blocks[j].get_object();
    const auto type = string_or(block, "type");
    if (type == "text") {
      text.append(string_or(block, "text"));
    } else if (type == "tool_use") {
      const auto* id = string_at(block, "id");
      const auto* name = string_at(block, "name");
      if (id == nullptr) return bad_request(block_path + ".id: Field required", block_path + ".id");
      if (name == nullptr) return bad_request(block_path + ".name: Field required", block_path + ".name");
      const auto* input = block.if_contains("input");
      std::string arguments = input == nullptr || input->is_null() ? "{}" : json::serialize(*input);
      tool_calls.push_back(
          json::object{{"id", *id},
                       {"type", "function"},
                       {"function", json::object{{"name", *name}, {"arguments", std::move(arguments)}}}});
    } else if (type == "thinking") {
      // Kept for Anthropic-format providers (the signature lets them verify it); others drop it.
      thinking.push_back(json::object{{"type", "thinking"},
                                      {"thinking", string_or(block, "thinking")},
                                      {"signature", string_or(block, "signature")}});
    } else if (type == "redacted_thinking") {
      thinking.push_back(json::object{{"type", "redacted_thinking"}, {"data", string_or(block, "data")}});
    } else {
      return bad_request(
          block_path + ".type: content block type '" + std::string(type) + "' is not supported by this backend",
          block_path + ".type");
    }
  }
  json::object message{{"role", "assistant"}};
  if (!thinking.empty()) message[kPivotThinkingBlocks] = std::move(thinking);
  if (text.empty() && !tool_calls.empty()) {
    message["content"] = nullptr;
  } else {
    message["content"] = std::move(text);
  }
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  messages.push_back(std::move(message));
  return std::nullopt;
}

Error convert_tools(const json::object& in, json::object& out) {
  const auto* tools_value = in.if_contains("tools");
  if (tools_value == nullptr || tools_value->is_null()) return std::nullopt;
  if (!tools_value->is_array()) return bad_request("tools: expected a list", "tools");
  json::array tools;
  const auto& list = tools_value->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto path = indexed("tools", i);
    if (!list[i].is_object()) return bad_request(path + ": expected a tool object", path);
    const auto& tool = list[i].get_object();
    const auto* schema = tool.if_contains("input_schema");
    if (schema == nullptr || !schema->is_object()) {
      return bad_request(path + ": tool type '" + std::string(string_or(tool, "type", "(none)")) +
                             "' without input_schema (a server tool) is not supported by this backend",
                         path);
    }
    const auto* name = string_at(tool, "name");
    if (name == nullptr) return bad_request(path + ".name: Field required", path + ".name");
    json::object function{{"name", *name}};
    if (const auto* description = string_at(tool, "description")) function["description"] = *description;
    function["parameters"] = *schema;
    if (const auto* strict = tool.if_contains("strict"); strict != nullptr && strict->is_bool())
      function["strict"] = strict->get_bool();
    tools.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
  }
  if (tools.empty()) return std::nullopt;
  out["tools"] = std::move(tools);

  const auto* choice_value = in.if_contains("tool_choice");
  if (choice_value == nullptr || choice_value->is_null()) return std::nullopt;
  if (!choice_value->is_object()) return bad_request("tool_choice: expected an object", "tool_choice");
  const auto& choice = choice_value->get_object();
  const auto type = string_or(choice, "type");
  if (type == "auto") {
    out["tool_choice"] = "auto";
  } else if (type == "any") {
    out["tool_choice"] = "required";
  } else if (type == "none") {
    out["tool_choice"] = "none";
  } else if (type == "tool") {
    const auto* name = string_at(choice, "name");
    if (name == nullptr) return bad_request("tool_choice.name: Field required", "tool_choice.name");
    out["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}};
  } else {
    return bad_request("tool_choice.type: unknown tool_choice type '" + std::string(type) + "'", "tool_choice.type");
  }
  if (const auto* disable = choice.if_contains("disable_parallel_tool_use");
      disable != nullptr && disable->is_bool() && disable->get_bool() && type != "none")
    out["parallel_tool_calls"] = false;
  return std::nullopt;
}

// thinking -> reasoning_effort (+ the exact budget); output_config.format / output_format ->
// response_format.
Error convert_reasoning_and_format(const json::object& in, json::object& out) {
  const json::object* config = nullptr;
  if (const auto* value = in.if_contains("output_config"); value != nullptr && !value->is_null()) {
    if (!value->is_object()) return bad_request("output_config: expected an object", "output_config");
    config = &value->get_object();
  }
  if (const auto* thinking_value = in.if_contains("thinking");
      thinking_value != nullptr && !thinking_value->is_null()) {
    if (!thinking_value->is_object()) return bad_request("thinking: expected an object", "thinking");
    const auto& thinking = thinking_value->get_object();
    const auto type = string_or(thinking, "type");
    if (type == "enabled") {
      const auto* budget = thinking.if_contains("budget_tokens");
      if (budget == nullptr || !(budget->is_int64() || budget->is_uint64()) || json_count(budget) == 0)
        return bad_request("thinking.budget_tokens: Input should be a positive integer", "thinking.budget_tokens");
      const auto tokens = json_count(budget);
      out["reasoning_effort"] = tokens <= 2048 ? "low" : tokens <= 8192 ? "medium" : "high";
      out[kPivotThinkingBudget] = tokens;
    } else if (type == "disabled") {
      out["reasoning_effort"] = "none";
    } else if (type == "adaptive") {
      // The model decides how much to think; output_config.effort says how hard.
      // Without an effort the ask is dynamic: reasoning_effort medium and the pivot's dynamic
      // budget (-1), which budget-based providers send as their own dynamic thinking.
      const auto effort = config != nullptr ? string_or(*config, "effort") : std::string_view();
      if (effort.empty()) {
        out["reasoning_effort"] = "medium";
        out[kPivotThinkingBudget] = -1;
      } else if (effort != "low" && effort != "medium" && effort != "high" && effort != "max") {
        return bad_request("output_config.effort: expected low, medium, high or max", "output_config.effort");
      } else {
        out["reasoning_effort"] = effort == "max" ? "xhigh" : effort;
      }
    } else {
      return bad_request("thinking.type: expected 'enabled', 'disabled' or 'adaptive'", "thinking.type");
    }
  }
  // Structured output: output_config.format, or the older beta's output_format.
  const json::value* format_value = config != nullptr ? config->if_contains("format") : nullptr;
  std::string path = "output_config.format";
  if (format_value == nullptr || format_value->is_null()) {
    format_value = in.if_contains("output_format");
    path = "output_format";
  }
  if (format_value == nullptr || format_value->is_null()) return std::nullopt;
  if (!format_value->is_object()) return bad_request(path + ": expected an object", path);
  const auto& format = format_value->get_object();
  if (string_or(format, "type") != "json_schema")
    return bad_request(path + ".type: expected 'json_schema'", path + ".type");
  const auto* schema = format.if_contains("schema");
  if (schema == nullptr || !schema->is_object()) return bad_request(path + ".schema: Field required", path + ".schema");
  out["response_format"] =
      json::object{{"type", "json_schema"}, {"json_schema", json::object{{"name", "response"}, {"schema", *schema}}}};
  return std::nullopt;
}

Error convert_request(const json::object& in, const RequestContext& context, json::object& out) {
  // A server-kept thread (the SDK's tool runner by default) holds history only Anthropic has.
  if (const auto* thread = in.if_contains("thread");
      thread != nullptr && !thread->is_null() && !(thread->is_bool() && !thread->get_bool()))
    return invalid_request(
        "thread: conversations kept by Anthropic are served by Anthropic backends only; send "
        "the whole conversation in messages (the SDK's tool runner: thread: false)",
        "thread", "unsupported_parameter");
  const auto* max_tokens = in.if_contains("max_tokens");
  if (max_tokens == nullptr || max_tokens->is_null()) return bad_request("max_tokens: Field required", "max_tokens");
  if (!max_tokens->is_int64() && !max_tokens->is_uint64())
    return bad_request("max_tokens: Input should be a valid integer", "max_tokens");
  const auto* messages_value = in.if_contains("messages");
  if (messages_value == nullptr || !messages_value->is_array())
    return bad_request("messages: Field required", "messages");

  if (!context.model.empty()) {
    out["model"] = context.model;
  } else if (const auto* model = string_at(in, "model")) {
    out["model"] = *model;
  }

  json::array messages;
  if (const auto* system = in.if_contains("system"); system != nullptr && !system->is_null()) {
    std::string text;
    if (system->is_string()) {
      text = system->get_string();
    } else if (system->is_array()) {
      bool first = true;
      const auto& blocks = system->get_array();
      for (std::size_t j = 0; j < blocks.size(); ++j) {
        const auto path = indexed("system", j);
        if (!blocks[j].is_object() || string_or(blocks[j].get_object(), "type") != "text")
          return bad_request(path + ": system blocks must be text blocks", path);
        if (!first) text.push_back('\n');
        text.append(string_or(blocks[j].get_object(), "text"));
        first = false;
      }
    } else {
      return bad_request("system: expected a string or a list of text blocks", "system");
    }
    messages.push_back(json::object{{"role", "system"}, {"content", std::move(text)}});
  }

  const auto& list = messages_value->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto path = indexed("messages", i);
    if (!list[i].is_object()) return bad_request(path + ": expected a message object", path);
    const auto& message = list[i].get_object();
    const auto role = string_or(message, "role");
    const auto* content = message.if_contains("content");
    if (content == nullptr) return bad_request(path + ".content: Field required", path + ".content");
    Error error;
    if (role == "user") {
      error = convert_user(*content, path + ".content", messages);
    } else if (role == "assistant") {
      error = convert_assistant(*content, path + ".content", messages);
    } else {
      return bad_request(path + ".role: expected 'user' or 'assistant'", path + ".role");
    }
    if (error) return error;
  }
  out["messages"] = std::move(messages);

  if (auto error = convert_tools(in, out)) return error;
  if (auto error = convert_reasoning_and_format(in, out)) return error;

  out["max_tokens"] = *max_tokens;
  if (const auto* stop = in.if_contains("stop_sequences"); stop != nullptr && !stop->is_null()) {
    if (!stop->is_array()) return bad_request("stop_sequences: expected a list of strings", "stop_sequences");
    for (const auto& item : stop->get_array())
      if (!item.is_string()) return bad_request("stop_sequences: expected a list of strings", "stop_sequences");
    if (!stop->get_array().empty()) out["stop"] = *stop;
  }
  for (const std::string_view key : {"temperature", "top_p"}) {
    const auto* value = in.if_contains(key);
    if (value == nullptr || value->is_null()) continue;
    if (!value->is_number())
      return bad_request(std::string(key) + ": Input should be a valid number", std::string(key));
    out[key] = *value;
  }
  if (const auto* metadata = in.if_contains("metadata"); metadata != nullptr && metadata->is_object()) {
    if (const auto* user = string_at(metadata->get_object(), "user_id")) out["user"] = *user;
  }
  if (const auto* stream = in.if_contains("stream"); stream != nullptr && stream->is_bool() && stream->get_bool()) {
    out["stream"] = true;
    out["stream_options"] = json::object{{"include_usage", true}};
  }
  return std::nullopt;
}

// The Anthropic Messages schema of a ChainedClient: the request decoder above and the Anthropic
// Messages encoders.
struct AnthropicMessagesSchema {
  Error to_openai(const json::object& in, const RequestContext& context, json::object& out) const {
    return convert_request(in, context, out);
  }
  AnthropicStreamEncoder stream_encoder(const EncoderOptions& options) const { return AnthropicStreamEncoder(options); }
  AnthropicResponseEncoder response_encoder(const EncoderOptions& options) const {
    return AnthropicResponseEncoder(options);
  }
  // A pivot field named as the Anthropic request names it.
  http::ApiError rename_fields(http::ApiError error) const {
    if (!error.param) return error;
    static constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
        {"reasoning_effort", "thinking"},
        {"response_format", "output_config.format"},
        {"max_completion_tokens", "max_tokens"},
        {"stop", "stop_sequences"},
    };
    for (const auto& [from, to] : kRenames) {
      if (error.param->starts_with(from)) {
        error.param = std::string(to) + error.param->substr(from.size());
        break;
      }
    }
    return error;
  }
  // A provider's 529 (Anthropic on Vertex AI) stays 529 overloaded_error for an Anthropic
  // client, where an OpenAI client is told 503.
  http::ApiError upstream_error(unsigned status, http::ApiError error) const {
    if (status == 529) error.status = 529;
    return error;
  }
};

}  // namespace

TokenEstimate estimate_anthropic_count_tokens(std::string_view body) {
  TokenEstimate out;
  boost::system::error_code ec;
  const auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    out.error = bad_request("the count_tokens body is not a JSON object", "");
    return out;
  }
  const auto& in = value.get_object();
  const auto* messages = in.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) {
    out.error = bad_request("messages: Field required", "messages");
    return out;
  }
  std::size_t bytes = 0;
  // Text of a content value: a string, or text / tool blocks (tool input and results serialized).
  const auto content_bytes = [](const json::value& content) -> std::size_t {
    if (content.is_string()) return content.get_string().size();
    if (!content.is_array()) return 0;
    std::size_t total = 0;
    for (const auto& block : content.get_array()) {
      const auto* b = block.if_object();
      if (b == nullptr) continue;
      if (const auto* text = b->if_contains("text"); text != nullptr && text->is_string()) {
        total += text->get_string().size();
      } else if (const auto* input = b->if_contains("input")) {
        total += json::serialize(*input).size();
      } else if (const auto* result = b->if_contains("content")) {
        total += result->is_string() ? result->get_string().size() : json::serialize(*result).size();
      }
    }
    return total;
  };
  if (const auto* system = in.if_contains("system")) bytes += content_bytes(*system);
  for (const auto& message : messages->get_array())
    if (const auto* m = message.if_object())
      if (const auto* content = m->if_contains("content")) bytes += content_bytes(*content);
  if (const auto* tools = in.if_contains("tools"); tools != nullptr && tools->is_array())
    bytes += json::serialize(*tools).size();
  out.body = json::serialize(json::object{{"input_tokens", (bytes + 3) / 4}});
  return out;
}

std::unique_ptr<Translator> make_anthropic_client(RequestContext context, std::unique_ptr<Translator> inner) {
  return std::make_unique<ChainedClient<AnthropicMessagesSchema>>(std::move(context), std::move(inner));
}

}  // namespace sluice::translate
