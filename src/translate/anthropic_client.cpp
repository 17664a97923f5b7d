#include "translate/anthropic_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <utility>

#include "translate/common.hpp"
#include "translate/sse_parser.hpp"

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

std::uint64_t count_at(const json::object& object, std::string_view key) { return json_count(object.if_contains(key)); }

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
Error tool_message(const json::object& block, const std::string& path, json::array& messages,
                   json::array& user_parts) {
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
      return bad_request(block_path + ".type: content block type '" + std::string(type) +
                             "' is not supported by this backend",
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
      tool_calls.push_back(json::object{
          {"id", *id},
          {"type", "function"},
          {"function", json::object{{"name", *name}, {"arguments", std::move(arguments)}}}});
    } else if (type == "thinking" || type == "redacted_thinking") {
      continue;
    } else {
      return bad_request(block_path + ".type: content block type '" + std::string(type) +
                             "' is not supported by this backend",
                         block_path + ".type");
    }
  }
  json::object message{{"role", "assistant"}};
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

Error convert_request(const json::object& in, const RequestContext& context, json::object& out) {
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
    if (!value->is_number()) return bad_request(std::string(key) + ": Input should be a valid number", std::string(key));
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

// ---------------------------------------------------------------------------------------------
// Response: OpenAI -> Anthropic.

std::string_view stop_reason(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

// Sets `usage` from an OpenAI usage object (cumulative: set, never add).
void read_usage(const json::object& object, Usage& usage) {
  usage.prompt_tokens = count_at(object, "prompt_tokens");
  usage.completion_tokens = count_at(object, "completion_tokens");
  usage.total_tokens = std::max(count_at(object, "total_tokens"), usage.prompt_tokens + usage.completion_tokens);
  usage.cached_tokens = 0;
  usage.cache_creation_tokens = 0;
  usage.reasoning_tokens = 0;
  if (const auto* details = object.if_contains("prompt_tokens_details"); details != nullptr && details->is_object()) {
    usage.cached_tokens = count_at(details->get_object(), "cached_tokens");
    usage.cache_creation_tokens = count_at(details->get_object(), "cache_write_tokens");
  }
  if (const auto* details = object.if_contains("completion_tokens_details");
      details != nullptr && details->is_object())
    usage.reasoning_tokens = count_at(details->get_object(), "reasoning_tokens");
  usage.known = true;
}

json::object anthropic_usage(const Usage& usage) {
  const auto cached = usage.cached_tokens + usage.cache_creation_tokens;
  const auto input = usage.prompt_tokens > cached ? usage.prompt_tokens - cached : 0;
  return json::object{{"input_tokens", input},
                      {"output_tokens", usage.completion_tokens},
                      {"cache_read_input_tokens", usage.cached_tokens},
                      {"cache_creation_input_tokens", usage.cache_creation_tokens}};
}

json::object parse_arguments(std::string_view arguments) {
  boost::system::error_code ec;
  auto value = json::parse(arguments, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.get_object());
}

// OpenAI stream error object {"error":{...}} -> ApiError (status guessed from the error type).
http::ApiError stream_error(const json::value& error_value) {
  http::ApiError error;
  error.status = 500;
  error.code = "upstream_error";
  std::string_view type;
  std::string_view code;
  if (error_value.is_object()) {
    const auto& object = error_value.get_object();
    error.message = string_or(object, "message");
    type = string_or(object, "type");
    code = string_or(object, "code");
    if (type.empty()) type = code;
  } else if (error_value.is_string()) {
    error.message = error_value.get_string();
  }
  // An inner translator's error event keeps the provider's error kind in `code`: it is more
  // precise than the OpenAI type (server_error covers 500, 503 and 529 alike).
  if (code == "overloaded_error" || code == "UNAVAILABLE" || code == "ServiceUnavailableException") {
    type = "overloaded_error";
  } else if (code == "rate_limit_error" || code == "RESOURCE_EXHAUSTED" || code == "ThrottlingException") {
    type = "rate_limit_error";
  } else if (code == "timeout_error" || code == "DEADLINE_EXCEEDED" || code == "ModelTimeoutException") {
    error.status = 504;
  }
  if (type == "invalid_request_error") {
    error.status = 400;
  } else if (type == "authentication_error") {
    error.status = 401;
  } else if (type == "permission_error") {
    error.status = 403;
  } else if (type == "rate_limit_error" || type == "rate_limit_exceeded" || type == "insufficient_quota") {
    error.status = 429;
  } else if (type == "overloaded_error") {
    error.status = 529;
  }
  if (error.message.empty()) error.message = "upstream stream error";
  error.type = openai_error_type(error.status);
  return error;
}

class AnthropicClient final : public Translator {
 public:
  AnthropicClient(RequestContext context, std::unique_ptr<Translator> inner)
      : context_(std::move(context)), inner_(std::move(inner)) {}

  std::optional<http::ApiError> translate_request(const json::object& client_body, std::string& upstream_body) override {
    json::object openai;
    if (auto error = convert_request(client_body, context_, openai)) return error;
    if (inner_) return inner_->translate_request(openai, upstream_body);
    upstream_body = json::serialize(openai);
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    if (!inner_) return convert_response(upstream_body, client_body);
    std::string openai;
    if (auto error = inner_->translate_response(upstream_body, openai)) return error;
    return convert_response(openai, client_body);
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    if (inner_) return inner_->translate_error(status, error_type_header, upstream_body);
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

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    if (failed_) return false;
    if (done_) return true;
    if (!inner_) {
      parse_openai(upstream_bytes, out);
      return !failed_;
    }
    std::string openai;
    const bool ok = inner_->stream_feed(upstream_bytes, openai);
    parse_openai(openai, out);
    if (!ok && !failed_ && !done_) fail(bad_upstream("upstream stream error"), out);
    return !failed_;
  }

  void stream_end(std::string& out) override {
    if (failed_ || done_) return;
    if (inner_) {
      std::string openai;
      inner_->stream_end(openai);
      parse_openai(openai, out);
      if (failed_ || done_) return;
    }
    parser_.finish();
    if (finish_reason_) {
      finish(out);
    } else {
      fail(bad_upstream("stream ended early"), out);
    }
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (failed_ || done_) return;
    fail(error, out);
  }

  Usage usage() const override { return usage_; }

 private:
  std::optional<http::ApiError> convert_response(std::string_view openai, std::string& client_body) {
    boost::system::error_code ec;
    const auto value = json::parse(openai, ec);
    if (ec || !value.is_object()) return bad_upstream("backend response is not a JSON object");
    const auto& body = value.get_object();
    const auto* choices = body.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty() ||
        !choices->get_array()[0].is_object())
      return bad_upstream("backend response has no choices");
    const auto& choice = choices->get_array()[0].get_object();
    const auto* message_value = choice.if_contains("message");
    if (message_value == nullptr || !message_value->is_object()) return bad_upstream("backend response has no message");
    const auto& message = message_value->get_object();

    json::array content;
    std::string text;
    if (const auto* text_value = message.if_contains("content"); text_value != nullptr) text = content_text(*text_value);
    if (text.empty()) text = string_or(message, "refusal");
    if (!text.empty()) content.push_back(json::object{{"type", "text"}, {"text", std::move(text)}});
    if (const auto* calls = message.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
      for (const auto& call_value : calls->get_array()) {
        if (!call_value.is_object()) continue;
        const auto& call = call_value.get_object();
        const auto* function = call.if_contains("function");
        if (function == nullptr || !function->is_object()) continue;
        const auto id = string_or(call, "id");
        content.push_back(json::object{{"type", "tool_use"},
                                       {"id", id.empty() ? new_id("toolu_") : std::string(id)},
                                       {"name", string_or(function->get_object(), "name")},
                                       {"input", parse_arguments(string_or(function->get_object(), "arguments"))}});
      }
    }
    if (const auto* usage = body.if_contains("usage"); usage != nullptr && usage->is_object())
      read_usage(usage->get_object(), usage_);

    json::object out{{"id", new_id("msg_")},
                     {"type", "message"},
                     {"role", "assistant"},
                     {"model", response_model(body)},
                     {"content", std::move(content)},
                     {"stop_reason", stop_reason(string_or(choice, "finish_reason"))},
                     {"stop_sequence", nullptr},
                     {"usage", anthropic_usage(usage_)}};
    client_body = json::serialize(out);
    return std::nullopt;
  }

  std::string response_model(const json::object& body) const {
    if (!context_.client_model.empty()) return context_.client_model;
    if (const auto* model = string_at(body, "model"); model != nullptr && !model->empty()) return std::string(*model);
    return context_.model;
  }

  // --- stream ---------------------------------------------------------------------------------

  void parse_openai(std::string_view bytes, std::string& out) {
    if (bytes.empty()) return;
    parser_.feed(bytes, [&](const SseEvent& event) {
      if (!failed_ && !done_) on_event(event, out);
    });
    if (parser_.failed() && !failed_ && !done_)
      fail(bad_upstream("malformed upstream stream: " + std::string(parser_.error())), out);
  }

  void on_event(const SseEvent& event, std::string& out) {
    if (event.data.empty()) return;
    if (event.data == "[DONE]") {
      start(nullptr, out);
      if (!finish_reason_) finish_reason_ = any_tool_ ? "tool_use" : "end_turn";
      finish(out);
      return;
    }
    boost::system::error_code ec;
    const auto value = json::parse(event.data, ec);
    if (ec || !value.is_object()) return fail(bad_upstream("malformed upstream stream event"), out);
    const auto& chunk = value.get_object();
    if (const auto* error = chunk.if_contains("error"); error != nullptr && !error->is_null())
      return fail(stream_error(*error), out);
    if (event.event == "error") return fail(stream_error(value), out);
    start(&chunk, out);

    const json::object* usage = nullptr;
    if (const auto* usage_value = chunk.if_contains("usage"); usage_value != nullptr && usage_value->is_object()) {
      usage = &usage_value->get_object();
      read_usage(*usage, usage_);
    }
    if (const auto* choices = chunk.if_contains("choices"); choices != nullptr && choices->is_array()) {
      for (const auto& choice_value : choices->get_array()) {
        if (!choice_value.is_object()) continue;
        const auto& choice = choice_value.get_object();
        if (count_at(choice, "index") != 0) continue;  // a single-choice conversation
        if (const auto* delta = choice.if_contains("delta"); delta != nullptr && delta->is_object())
          on_delta(delta->get_object(), out);
        if (const auto* reason = string_at(choice, "finish_reason"); reason != nullptr && !finish_reason_) {
          close_block(out);
          finish_reason_ = std::string(stop_reason(*reason));
        }
      }
    }
    if (finish_reason_ && usage != nullptr) finish(out);
  }

  void on_delta(const json::object& delta, std::string& out) {
    if (finish_reason_) return;
    if (const auto* text = string_at(delta, "content"); text != nullptr && !text->empty()) {
      if (open_kind_ != Block::kText) {
        close_block(out);
        open_block(json::object{{"type", "text"}, {"text", ""}}, Block::kText, out);
      }
      emit_delta(json::object{{"type", "text_delta"}, {"text", *text}}, out);
    }
    const auto* calls = delta.if_contains("tool_calls");
    if (calls == nullptr || !calls->is_array()) return;
    const auto& list = calls->get_array();
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (!list[k].is_object()) continue;
      const auto& call = list[k].get_object();
      const auto tool_index = call.contains("index") ? count_at(call, "index") : k;
      const auto id = string_or(call, "id");
      const json::object* function = nullptr;
      if (const auto* f = call.if_contains("function"); f != nullptr && f->is_object()) function = &f->get_object();
      const bool is_open_tool = open_kind_ == Block::kTool && tool_index == open_tool_index_ &&
                                (id.empty() || id == open_tool_id_);
      if (!is_open_tool) {
        if (seen_tool_indexes_ > 0 && tool_index < seen_tool_indexes_ && id.empty()) continue;  // closed already
        close_block(out);
        open_tool_index_ = tool_index;
        open_tool_id_ = id.empty() ? new_id("toolu_") : std::string(id);
        seen_tool_indexes_ = std::max(seen_tool_indexes_, tool_index + 1);
        any_tool_ = true;
        open_block(json::object{{"type", "tool_use"},
                                {"id", open_tool_id_},
                                {"name", function != nullptr ? string_or(*function, "name") : std::string_view{}},
                                {"input", json::object{}}},
                   Block::kTool, out);
      }
      if (function == nullptr) continue;
      if (const auto* arguments = string_at(*function, "arguments"); arguments != nullptr && !arguments->empty())
        emit_delta(json::object{{"type", "input_json_delta"}, {"partial_json", *arguments}}, out);
    }
  }

  enum class Block { kNone, kText, kTool };

  void start(const json::object* chunk, std::string& out) {
    if (started_) return;
    started_ = true;
    json::object empty;
    json::object message{{"id", new_id("msg_")},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", response_model(chunk != nullptr ? *chunk : empty)},
                         {"content", json::array{}},
                         {"stop_reason", nullptr},
                         {"stop_sequence", nullptr},
                         {"usage", json::object{{"input_tokens", 0}, {"output_tokens", 0}}}};
    append_sse_event(out, "message_start",
                     json::serialize(json::object{{"type", "message_start"}, {"message", std::move(message)}}));
  }

  void open_block(json::object content_block, Block kind, std::string& out) {
    open_kind_ = kind;
    append_sse_event(out, "content_block_start",
                     json::serialize(json::object{{"type", "content_block_start"},
                                                  {"index", next_block_index_},
                                                  {"content_block", std::move(content_block)}}));
  }

  void emit_delta(json::object delta, std::string& out) {
    append_sse_event(out, "content_block_delta",
                     json::serialize(json::object{
                         {"type", "content_block_delta"}, {"index", next_block_index_}, {"delta", std::move(delta)}}));
  }

  void close_block(std::string& out) {
    if (open_kind_ == Block::kNone) return;
    append_sse_event(out, "content_block_stop",
                     json::serialize(json::object{{"type", "content_block_stop"}, {"index", next_block_index_}}));
    open_kind_ = Block::kNone;
    ++next_block_index_;
  }

  void finish(std::string& out) {
    if (done_) return;
    close_block(out);
    const std::string reason = finish_reason_.value_or("end_turn");
    append_sse_event(out, "message_delta",
                     json::serialize(json::object{
                         {"type", "message_delta"},
                         {"delta", json::object{{"stop_reason", reason}, {"stop_sequence", nullptr}}},
                         {"usage", anthropic_usage(usage_)}}));
    append_sse_event(out, "message_stop", R"({"type":"message_stop"})");
    done_ = true;
  }

  void fail(const http::ApiError& error, std::string& out) {
    append_anthropic_error_event(out, error);
    failed_ = true;
  }

  RequestContext context_;
  std::unique_ptr<Translator> inner_;
  Usage usage_;
  SseParser parser_;
  bool started_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool any_tool_ = false;
  std::optional<std::string> finish_reason_;  // the Anthropic stop_reason once the finish chunk came
  Block open_kind_ = Block::kNone;
  std::uint64_t next_block_index_ = 0;  // index of the open block, or of the next one
  std::uint64_t open_tool_index_ = 0;
  std::uint64_t seen_tool_indexes_ = 0;  // 1 + the highest OpenAI tool index seen
  std::string open_tool_id_;
};

}  // namespace

std::unique_ptr<Translator> make_anthropic_client(RequestContext context, std::unique_ptr<Translator> inner) {
  return std::make_unique<AnthropicClient>(std::move(context), std::move(inner));
}

}  // namespace sluice::translate
