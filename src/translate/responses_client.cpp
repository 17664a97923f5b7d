#include "translate/responses_client.hpp"

#include <boost/json.hpp>
#include <string>
#include <utility>

#include "translate/chained_client.hpp"
#include "translate/common.hpp"
#include "translate/encode_openai_responses.hpp"
#include "translate/reasoning_item.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

using Error = std::optional<http::ApiError>;

http::ApiError bad_request(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "invalid_request");
}

http::ApiError not_carried(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

const json::value* present(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

constexpr std::string_view kServedByOpenAi =
    " is served by OpenAI-format backends only (OpenAI, Azure OpenAI); this route's backend is another provider";

// Content parts of a message item -> OpenAI chat parts (user) or text (assistant).
Error message_content(const json::value& content, const std::string& path, bool assistant, json::value& out) {
  if (content.is_string()) {
    out = content.get_string();
    return std::nullopt;
  }
  if (!content.is_array()) return bad_request(path + ": expected a string or a list of content parts", path);
  json::array parts;
  std::string text;
  const auto& list = content.get_array();
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto part_path = indexed(path, k);
    if (!list[k].is_object()) return bad_request(part_path + ": expected a content part", part_path);
    const auto& part = list[k].get_object();
    const auto type = string_or(part, "type");
    if (type == "input_text" || type == "output_text" || type == "text") {
      if (assistant) {
        text.append(string_or(part, "text"));
      } else {
        parts.push_back(json::object{{"type", "text"}, {"text", string_or(part, "text")}});
      }
    } else if (type == "refusal") {
      text.append(string_or(part, "refusal"));
    } else if (type == "input_image" && !assistant) {
      const auto* url = string_at(part, "image_url");
      if (url == nullptr) {
        return not_carried(part_path + ": images by file_id" + std::string(kServedByOpenAi) +
                               "; send the image as image_url (a URL or a data: URI)",
                           part_path + ".file_id");
      }
      json::object image_url{{"url", *url}};
      if (const auto* detail = string_at(part, "detail")) image_url["detail"] = *detail;
      parts.push_back(json::object{{"type", "image_url"}, {"image_url", std::move(image_url)}});
    } else {
      return not_carried(
          part_path + ".type: content part type '" + std::string(type) + "'" + std::string(kServedByOpenAi),
          part_path + ".type");
    }
  }
  if (assistant) {
    out = std::move(text);
  } else {
    if (!text.empty()) parts.push_back(json::object{{"type", "text"}, {"text", std::move(text)}});
    out = std::move(parts);
  }
  return std::nullopt;
}

// The signed reasoning of reasoning items (their encrypted_content sealed by Sluice,
// translate/reasoning_item.hpp) on its way to the assistant turn it belongs to.
struct Reasoning {
  json::array blocks;  // Anthropic thinking blocks waiting for the next assistant message
  std::vector<std::pair<std::string, std::string>> signatures;  // call_id -> Gemini thought signature
};

// A reasoning item: its sealed content joins what the next assistant turn carries. The summary
// is not read (the provider verifies only what it signed). An item without encrypted_content,
// or with one Sluice did not write (OpenAI's own, another gateway's), is dropped: the provider
// reasons afresh. Content with Sluice's prefix that does not read back is a 400.
Error reasoning_item(const json::object& item, const std::string& path, Reasoning& reasoning) {
  const auto* content = string_at(item, "encrypted_content");
  if (content == nullptr || !is_sealed_reasoning(*content)) return std::nullopt;
  auto sealed = unseal_reasoning(*content);
  if (!sealed)
    return bad_request(path +
                           ".encrypted_content: not the encrypted_content Sluice wrote for this reasoning item "
                           "(it was altered); send the reasoning item as it was received, or leave it out",
                       path + ".encrypted_content");
  if (!sealed->thinking_block.empty()) {
    reasoning.blocks.push_back(std::move(sealed->thinking_block));
  } else {
    reasoning.signatures.emplace_back(std::move(sealed->call_id), std::move(sealed->thought_signature));
  }
  return std::nullopt;
}

// The waiting thinking blocks go to `message` (an assistant message), after any it has.
void attach_blocks(json::object& message, Reasoning& reasoning) {
  if (reasoning.blocks.empty()) return;
  auto& blocks = message[kPivotThinkingBlocks];
  if (!blocks.is_array()) blocks = json::array{};
  for (auto& block : reasoning.blocks) blocks.as_array().push_back(std::move(block));
  reasoning.blocks.clear();
}

// A function_call item joins the assistant message just before it (text then calls), else
// opens a new one.
Error function_call(const json::object& item, const std::string& path, json::array& messages, Reasoning& reasoning) {
  const auto* call_id = string_at(item, "call_id");
  const auto* name = string_at(item, "name");
  if (call_id == nullptr) return bad_request(path + ".call_id: Field required", path + ".call_id");
  if (name == nullptr) return bad_request(path + ".name: Field required", path + ".name");
  const auto* arguments = string_at(item, "arguments");
  json::object call{{"id", *call_id},
                    {"type", "function"},
                    {"function", json::object{{"name", *name}, {"arguments", arguments ? *arguments : "{}"}}}};
  for (const auto& [id, signature] : reasoning.signatures) {
    if (id != *call_id) continue;
    call["extra_content"] = json::object{{"google", json::object{{"thought_signature", signature}}}};
    break;
  }
  json::object* last = messages.empty() ? nullptr : messages.back().if_object();
  if (last == nullptr || string_or(*last, "role") != "assistant") {
    messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array{}}});
    last = &messages.back().as_object();
  }
  attach_blocks(*last, reasoning);
  auto& calls = (*last)["tool_calls"];
  if (!calls.is_array()) calls = json::array{};
  calls.as_array().push_back(std::move(call));
  return std::nullopt;
}

Error function_call_output(const json::object& item, const std::string& path, json::array& messages) {
  const auto* call_id = string_at(item, "call_id");
  if (call_id == nullptr) return bad_request(path + ".call_id: Field required", path + ".call_id");
  const auto* output = item.if_contains("output");
  if (output == nullptr) return bad_request(path + ".output: Field required", path + ".output");
  std::string text;
  if (output->is_string()) {
    text = output->get_string();
  } else if (output->is_array()) {
    const auto& parts = output->get_array();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const auto part_path = indexed(path + ".output", k);
      const auto* part = parts[k].if_object();
      if (part == nullptr) return bad_request(part_path + ": expected a content part", part_path);
      const auto type = string_or(*part, "type");
      if (type != "input_text" && type != "output_text")
        return not_carried(part_path + ".type: function_call_output part type '" + std::string(type) +
                               "' is not carried to this backend (tool results carry text only)",
                           part_path + ".type");
      if (!text.empty()) text.push_back('\n');
      text.append(string_or(*part, "text"));
    }
  } else {
    return bad_request(path + ".output: expected a string or a list of content parts", path + ".output");
  }
  messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", *call_id}, {"content", std::move(text)}});
  return std::nullopt;
}

Error convert_input(const json::value& input, json::array& messages) {
  if (input.is_string()) {
    messages.push_back(json::object{{"role", "user"}, {"content", input.get_string()}});
    return std::nullopt;
  }
  if (!input.is_array()) return bad_request("input: expected a string or a list of input items", "input");
  const auto& items = input.get_array();
  Reasoning reasoning;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto path = indexed("input", i);
    const auto* item = items[i].if_object();
    if (item == nullptr) return bad_request(path + ": expected an input item", path);
    auto type = string_or(*item, "type");
    if (type.empty() && item->contains("role")) type = "message";
    if (type == "message") {
      auto role = string_or(*item, "role");
      if (role == "developer") role = "system";
      if (role != "user" && role != "system" && role != "assistant")
        return bad_request(path + ".role: expected 'user', 'system', 'developer' or 'assistant'", path + ".role");
      const auto* content = item->if_contains("content");
      if (content == nullptr) return bad_request(path + ".content: Field required", path + ".content");
      json::value converted;
      if (auto error = message_content(*content, path + ".content", role != "user", converted)) return error;
      messages.push_back(json::object{{"role", role}, {"content", std::move(converted)}});
      if (role == "assistant") {
        attach_blocks(messages.back().as_object(), reasoning);
      } else {
        reasoning.blocks.clear();  // reasoning of a turn that had no assistant item
      }
    } else if (type == "function_call") {
      if (auto error = function_call(*item, path, messages, reasoning)) return error;
    } else if (type == "function_call_output") {
      if (auto error = function_call_output(*item, path, messages)) return error;
    } else if (type == "reasoning") {
      if (auto error = reasoning_item(*item, path, reasoning)) return error;
    } else if (type == "item_reference") {
      return not_carried(path +
                             ": item_reference needs stored responses, which Sluice does not keep; send the "
                             "items themselves",
                         path + ".type");
    } else {
      return not_carried(path + ".type: input item type '" + std::string(type) + "'" + std::string(kServedByOpenAi),
                         path + ".type");
    }
  }
  return std::nullopt;
}

Error convert_tools(const json::object& in, json::object& out) {
  if (const auto* tools_value = present(in, "tools")) {
    const auto* list = tools_value->if_array();
    if (list == nullptr) return bad_request("tools: expected a list", "tools");
    json::array tools;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto path = indexed("tools", i);
      const auto* tool = (*list)[i].if_object();
      if (tool == nullptr) return bad_request(path + ": expected a tool object", path);
      const auto type = string_or(*tool, "type");
      if (type != "function")
        return not_carried(path + ".type: the built-in tool '" + std::string(type) + "'" + std::string(kServedByOpenAi),
                           path + ".type");
      const auto* name = string_at(*tool, "name");
      if (name == nullptr) return bad_request(path + ".name: Field required", path + ".name");
      json::object function{{"name", *name}};
      if (const auto* description = string_at(*tool, "description")) function["description"] = *description;
      if (const auto* parameters = present(*tool, "parameters")) function["parameters"] = *parameters;
      if (const auto* strict = tool->if_contains("strict"); strict != nullptr && strict->is_bool())
        function["strict"] = strict->get_bool();
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
    if (!tools.empty()) out["tools"] = std::move(tools);
  }
  const auto* choice = present(in, "tool_choice");
  if (choice == nullptr) return std::nullopt;
  if (choice->is_string()) {
    const auto& word = choice->get_string();
    if (word != "auto" && word != "none" && word != "required")
      return bad_request("tool_choice: expected 'auto', 'none', 'required' or an object", "tool_choice");
    out["tool_choice"] = word;
    return std::nullopt;
  }
  const auto* object = choice->if_object();
  if (object == nullptr) return bad_request("tool_choice: expected a string or an object", "tool_choice");
  const auto type = string_or(*object, "type");
  if (type != "function")
    return not_carried("tool_choice.type: '" + std::string(type) + "'" + std::string(kServedByOpenAi),
                       "tool_choice.type");
  const auto* name = string_at(*object, "name");
  if (name == nullptr) return bad_request("tool_choice.name: Field required", "tool_choice.name");
  out["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}};
  return std::nullopt;
}

Error convert_text_format(const json::object& in, json::object& out) {
  const auto* text = present(in, "text");
  if (text == nullptr) return std::nullopt;
  if (!text->is_object()) return bad_request("text: expected an object", "text");
  const auto* format_value = present(text->get_object(), "format");
  if (format_value == nullptr) return std::nullopt;
  const auto* format = format_value->if_object();
  if (format == nullptr) return bad_request("text.format: expected an object", "text.format");
  const auto type = string_or(*format, "type");
  if (type == "text") return std::nullopt;
  if (type == "json_object") {
    out["response_format"] = json::object{{"type", "json_object"}};
    return std::nullopt;
  }
  if (type != "json_schema")
    return bad_request("text.format.type: expected 'text', 'json_object' or 'json_schema'", "text.format.type");
  const auto* name = string_at(*format, "name");
  if (name == nullptr) return bad_request("text.format.name: Field required", "text.format.name");
  const auto* schema = present(*format, "schema");
  if (schema == nullptr || !schema->is_object())
    return bad_request("text.format.schema: Field required", "text.format.schema");
  json::object json_schema{{"name", *name}, {"schema", *schema}};
  if (const auto* description = string_at(*format, "description")) json_schema["description"] = *description;
  if (const auto* strict = format->if_contains("strict"); strict != nullptr && strict->is_bool())
    json_schema["strict"] = strict->get_bool();
  out["response_format"] = json::object{{"type", "json_schema"}, {"json_schema", std::move(json_schema)}};
  return std::nullopt;
}

Error convert_request(const json::object& in, const RequestContext& context, json::object& out) {
  if (present(in, "previous_response_id") != nullptr)
    return not_carried(
        "previous_response_id: continuing a stored response needs a response store, and this "
        "gateway keeps none; send the conversation's items in input",
        "previous_response_id");
  if (present(in, "conversation") != nullptr)
    return not_carried("conversation: conversations are kept by OpenAI only; send the conversation's items in input",
                       "conversation");
  if (const auto* store = in.if_contains("store"); store != nullptr && store->is_bool() && store->get_bool())
    return not_carried(
        "store: true needs a response store, and this gateway keeps none for this backend; send "
        "store: false",
        "store");
  if (const auto* background = in.if_contains("background");
      background != nullptr && background->is_bool() && background->get_bool())
    return not_carried("background: background responses" + std::string(kServedByOpenAi), "background");
  if (present(in, "prompt") != nullptr)
    return not_carried("prompt: prompt templates" + std::string(kServedByOpenAi), "prompt");

  if (!context.model.empty()) {
    out["model"] = context.model;
  } else if (const auto* model = string_at(in, "model")) {
    out["model"] = *model;
  }

  json::array messages;
  if (const auto* instructions = present(in, "instructions")) {
    if (!instructions->is_string()) return bad_request("instructions: expected a string", "instructions");
    messages.push_back(json::object{{"role", "system"}, {"content", instructions->get_string()}});
  }
  const auto* input = present(in, "input");
  if (input == nullptr) return bad_request("input: Field required", "input");
  if (auto error = convert_input(*input, messages)) return error;
  out["messages"] = std::move(messages);

  if (auto error = convert_tools(in, out)) return error;
  if (auto error = convert_text_format(in, out)) return error;

  if (const auto* max = present(in, "max_output_tokens")) {
    if (!max->is_int64() && !max->is_uint64())
      return bad_request("max_output_tokens: Input should be a valid integer", "max_output_tokens");
    out["max_completion_tokens"] = *max;
  }
  for (const std::string_view key : {"temperature", "top_p"}) {
    const auto* value = present(in, key);
    if (value == nullptr) continue;
    if (!value->is_number())
      return bad_request(std::string(key) + ": Input should be a valid number", std::string(key));
    out[key] = *value;
  }
  if (const auto* parallel = present(in, "parallel_tool_calls")) {
    if (!parallel->is_bool()) return bad_request("parallel_tool_calls: expected a boolean", "parallel_tool_calls");
    if (out.contains("tools")) out["parallel_tool_calls"] = *parallel;
  }
  if (const auto* reasoning = present(in, "reasoning")) {
    if (!reasoning->is_object()) return bad_request("reasoning: expected an object", "reasoning");
    if (const auto* effort = present(reasoning->get_object(), "effort")) {
      if (!effort->is_string()) return bad_request("reasoning.effort: expected a string", "reasoning.effort");
      out["reasoning_effort"] = *effort;
    }
  }
  if (const auto* user = string_at(in, "user")) out["user"] = *user;
  if (const auto* stream = in.if_contains("stream"); stream != nullptr && stream->is_bool() && stream->get_bool()) {
    out["stream"] = true;
    out["stream_options"] = json::object{{"include_usage", true}};
  }
  return std::nullopt;
}

// The request members a response object repeats.
ResponseEcho echo_of(const json::object& in) {
  ResponseEcho echo;
  for (const std::string_view key : {"instructions", "max_output_tokens", "parallel_tool_calls", "reasoning",
                                     "temperature", "text", "tool_choice", "tools", "top_p", "user", "metadata"}) {
    if (const auto* value = present(in, key)) echo.fields[key] = *value;
  }
  return echo;
}

// A pivot field named as the Responses request names it.
std::string responses_field(std::string_view pivot) {
  static constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
      {"max_completion_tokens", "max_output_tokens"}, {"max_tokens", "max_output_tokens"},
      {"response_format.json_schema", "text.format"}, {"response_format", "text.format"},
      {"reasoning_effort", "reasoning.effort"},       {"messages", "input"},
  };
  for (const auto& [from, to] : kRenames) {
    if (pivot.starts_with(from)) return std::string(to) + std::string(pivot.substr(from.size()));
  }
  return std::string(pivot);
}

// The Responses API schema of a ChainedClient.
class ResponsesSchema {
 public:
  Error to_openai(const json::object& in, const RequestContext& context, json::object& out) {
    echo_ = echo_of(in);
    if (context.responses_stored) echo_.fields["store"] = true;
    if (!context.responses_previous_id.empty()) echo_.fields["previous_response_id"] = context.responses_previous_id;
    return convert_request(in, context, out);
  }
  ResponsesStreamEncoder stream_encoder(const EncoderOptions& options) const {
    return ResponsesStreamEncoder(options, echo_);
  }
  ResponsesResponseEncoder response_encoder(const EncoderOptions& options) const {
    return ResponsesResponseEncoder(options, echo_);
  }
  http::ApiError rename_fields(http::ApiError error) const {
    if (error.param) {
      const auto renamed = responses_field(*error.param);
      // A chat message index is not an input item index: name the list.
      error.param = renamed.starts_with("input[") ? std::string("input") : renamed;
    }
    return error;
  }
  http::ApiError upstream_error(unsigned, http::ApiError error) const { return error; }

 private:
  ResponseEcho echo_;
};

}  // namespace

std::unique_ptr<Translator> make_responses_client(RequestContext context, std::unique_ptr<Translator> inner) {
  return std::make_unique<ChainedClient<ResponsesSchema>>(std::move(context), std::move(inner));
}

}  // namespace sluice::translate
