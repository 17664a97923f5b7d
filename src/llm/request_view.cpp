#include "llm/request_view.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

namespace sluice::llm {

namespace json = boost::json;

namespace {

// How a span's text is stored, so a replacement can be written back.
enum class Slot {
  String,      // the value is a JSON string: replaced by a string
  JsonObject,  // the value is a JSON object shown as its serialization: replaced when the text parses as one
};

const json::object* as_object(const json::value* v) {
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}
json::object* as_object(json::value* v) {
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::string_view str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

bool is_text_part(const json::object& part) {
  const auto* text = part.if_contains("text");
  if (text == nullptr || !text->is_string()) return false;
  const auto type = str(part, "type");
  return type == "text" || type == "input_text" || type == "output_text";
}

// Responses API input items.
enum class ItemKind { Message, FunctionCall, FunctionCallOutput, Other };

ItemKind item_kind(const json::object& item) {
  const auto type = str(item, "type");
  if (type == "function_call") return ItemKind::FunctionCall;
  if (type == "function_call_output") return ItemKind::FunctionCallOutput;
  if (type == "message" || (type.empty() && item.contains("role"))) return ItemKind::Message;
  return ItemKind::Other;
}

TextKind message_kind(std::string_view role) {
  return role == "system" || role == "developer" ? TextKind::System : TextKind::Message;
}

// Walks every text of `body` in document order; `f(span, slot_value, slot_kind)`. The walk
// itself never changes the body; `f` may change the slot it is given.
template <typename F>
void walk(Schema schema, json::object& body, F&& f) {
  auto content_spans = [&f](json::value& content, TextKind kind, std::string_view role, std::size_t i) {
    if (content.is_string()) {
      f(TextSpan{kind, role, i, content.get_string()}, content, Slot::String);
    } else if (content.is_array()) {
      for (auto& item : content.get_array()) {
        auto* part = as_object(&item);
        if (part != nullptr && is_text_part(*part)) {
          auto& text = (*part)["text"];
          f(TextSpan{kind, role, i, text.get_string()}, text, Slot::String);
        }
      }
    }
  };

  if (schema == Schema::OpenAIEmbeddings) {
    auto* input = body.if_contains("input");
    if (input == nullptr) return;
    if (input->is_string()) {
      f(TextSpan{TextKind::Input, {}, 0, input->get_string()}, *input, Slot::String);
    } else if (input->is_array()) {
      auto& items = input->get_array();
      for (std::size_t k = 0; k < items.size(); ++k)
        if (items[k].is_string()) f(TextSpan{TextKind::Input, {}, k, items[k].get_string()}, items[k], Slot::String);
    }
    return;
  }

  if (schema == Schema::OpenAIResponses) {
    if (auto* instructions = body.if_contains("instructions"); instructions != nullptr && instructions->is_string())
      f(TextSpan{TextKind::System, "system", 0, instructions->get_string()}, *instructions, Slot::String);
    auto* input = body.if_contains("input");
    if (input == nullptr) return;
    if (input->is_string()) {
      f(TextSpan{TextKind::Message, "user", 0, input->get_string()}, *input, Slot::String);
      return;
    }
    if (!input->is_array()) return;
    auto& items = input->get_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto* item = as_object(&items[i]);
      if (item == nullptr) continue;
      switch (item_kind(*item)) {
        case ItemKind::Message: {
          const std::string role(str(*item, "role"));
          if (auto* content = item->if_contains("content")) content_spans(*content, message_kind(role), role, i);
          break;
        }
        case ItemKind::FunctionCall:
          if (auto* arguments = item->if_contains("arguments"); arguments != nullptr && arguments->is_string())
            f(TextSpan{TextKind::ToolCall, "assistant", i, arguments->get_string()}, *arguments, Slot::String);
          break;
        case ItemKind::FunctionCallOutput:
          if (auto* output = item->if_contains("output")) content_spans(*output, TextKind::ToolResult, "tool", i);
          break;
        case ItemKind::Other:
          break;
      }
    }
    return;
  }
  if (schema == Schema::AnthropicMessages) {
    if (auto* system = body.if_contains("system")) content_spans(*system, TextKind::System, "system", 0);
  }
  auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return;
  auto& list = messages->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto* message = as_object(&list[i]);
    if (message == nullptr) continue;
    const std::string role(str(*message, "role"));
    auto* content = message->if_contains("content");
    if (schema == Schema::OpenAIChat) {
      TextKind kind = TextKind::Message;
      if (role == "system" || role == "developer") kind = TextKind::System;
      if (role == "tool" || role == "function") kind = TextKind::ToolResult;
      if (content != nullptr) content_spans(*content, kind, role, i);
      auto* calls = message->if_contains("tool_calls");
      if (calls == nullptr || !calls->is_array()) continue;
      for (auto& call_value : calls->get_array()) {
        auto* function =
            as_object(as_object(&call_value) != nullptr ? as_object(&call_value)->if_contains("function") : nullptr);
        auto* arguments = function != nullptr ? function->if_contains("arguments") : nullptr;
        if (arguments != nullptr && arguments->is_string())
          f(TextSpan{TextKind::ToolCall, role, i, arguments->get_string()}, *arguments, Slot::String);
      }
      continue;
    }
    // Anthropic blocks.
    if (content == nullptr) continue;
    if (content->is_string()) {
      f(TextSpan{TextKind::Message, role, i, content->get_string()}, *content, Slot::String);
      continue;
    }
    if (!content->is_array()) continue;
    for (auto& block_value : content->get_array()) {
      auto* block = as_object(&block_value);
      if (block == nullptr) continue;
      const auto type = str(*block, "type");
      if (type == "text" && is_text_part(*block)) {
        auto& text = (*block)["text"];
        f(TextSpan{TextKind::Message, role, i, text.get_string()}, text, Slot::String);
      } else if (type == "tool_use") {
        auto* input = block->if_contains("input");
        if (input == nullptr || !input->is_object()) continue;
        const std::string text = json::serialize(*input);
        f(TextSpan{TextKind::ToolCall, role, i, text}, *input, Slot::JsonObject);
      } else if (type == "tool_result") {
        if (auto* result = block->if_contains("content")) content_spans(*result, TextKind::ToolResult, "tool", i);
      }
    }
  }
}

void append_joined(std::string& out, std::string_view text, bool& first) {
  if (!first) out.push_back('\n');
  out.append(text);
  first = false;
}

// Text parts of an OpenAI / Anthropic content value joined with "\n"; counts other parts.
std::string content_text(const json::value* content, std::vector<const json::value*>* other_parts) {
  std::string out;
  if (content == nullptr) return out;
  if (content->is_string()) return std::string(content->get_string());
  if (!content->is_array()) return out;
  bool first = true;
  for (const auto& item : content->get_array()) {
    const auto* part = as_object(&item);
    if (part != nullptr && is_text_part(*part)) {
      append_joined(out, part->at("text").get_string(), first);
    } else if (other_parts != nullptr) {
      other_parts->push_back(&item);
    }
  }
  return out;
}

}  // namespace

std::string_view RequestView::model() const {
  return str(body_, "model");
}

void RequestView::set_model(std::string_view model) {
  body_["model"] = model;
}

bool RequestView::stream() const {
  const auto* v = body_.if_contains("stream");
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::string RequestView::system_text() const {
  if (schema_ == Schema::AnthropicMessages) return content_text(body_.if_contains("system"), nullptr);
  std::string out;
  if (schema_ == Schema::OpenAIResponses) {
    bool first = true;
    if (const auto* instructions = body_.if_contains("instructions");
        instructions != nullptr && instructions->is_string() && !instructions->get_string().empty())
      append_joined(out, instructions->get_string(), first);
    for (const auto& m : messages())
      if (m.role == "system" || m.role == "developer") append_joined(out, m.text, first);
    return out;
  }
  if (schema_ != Schema::OpenAIChat) return out;
  const auto* messages = body_.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return out;
  bool first = true;
  for (const auto& item : messages->get_array()) {
    const auto* message = as_object(&item);
    if (message == nullptr) continue;
    const auto role = str(*message, "role");
    if (role != "system" && role != "developer") continue;
    append_joined(out, content_text(message->if_contains("content"), nullptr), first);
  }
  return out;
}

std::vector<Message> RequestView::messages() const {
  std::vector<Message> out;
  if (schema_ == Schema::OpenAIEmbeddings) return out;
  if (schema_ == Schema::OpenAIResponses) {
    const auto* input = body_.if_contains("input");
    if (input != nullptr && input->is_string()) {
      Message m;
      m.role = "user";
      m.text = input->get_string();
      out.push_back(std::move(m));
      return out;
    }
    if (input == nullptr || !input->is_array()) return out;
    bool calls_open = false;  // the last message holds function calls that follow one another
    for (const auto& value : input->get_array()) {
      const auto* item = as_object(&value);
      if (item == nullptr) continue;
      const auto kind = item_kind(*item);
      if (kind == ItemKind::FunctionCall) {
        if (!calls_open) {
          Message m;
          m.role = "assistant";
          out.push_back(std::move(m));
          calls_open = true;
        }
        out.back().tool_calls.push_back(
            ToolCall{str(*item, "call_id"), str(*item, "name"), std::string(str(*item, "arguments"))});
        continue;
      }
      calls_open = false;
      if (kind == ItemKind::FunctionCallOutput) {
        Message m;
        m.role = "tool";
        m.tool_call_id = str(*item, "call_id");
        m.text = content_text(item->if_contains("output"), &m.other_parts);
        out.push_back(std::move(m));
      } else if (kind == ItemKind::Message) {
        Message m;
        m.role = str(*item, "role");
        m.text = content_text(item->if_contains("content"), &m.other_parts);
        out.push_back(std::move(m));
      }
    }
    return out;
  }
  const auto* list = body_.if_contains("messages");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : list->get_array()) {
    const auto* message = as_object(&item);
    if (message == nullptr) continue;
    Message m;
    m.role = str(*message, "role");
    const auto* content = message->if_contains("content");
    if (schema_ == Schema::OpenAIChat) {
      m.text = content_text(content, &m.other_parts);
      m.tool_call_id = str(*message, "tool_call_id");
      if (const auto* calls = message->if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
        for (const auto& call_value : calls->get_array()) {
          const auto* call = as_object(&call_value);
          const auto* function = call != nullptr ? as_object(call->if_contains("function")) : nullptr;
          if (function == nullptr) continue;
          m.tool_calls.push_back(
              ToolCall{str(*call, "id"), str(*function, "name"), std::string(str(*function, "arguments"))});
        }
      }
      out.push_back(std::move(m));
      continue;
    }
    // Anthropic: tool_result blocks become "tool" messages ahead of the rest of the turn.
    if (content != nullptr && content->is_string()) {
      m.text = content->get_string();
      out.push_back(std::move(m));
      continue;
    }
    bool first = true;
    if (content != nullptr && content->is_array()) {
      for (const auto& block_value : content->get_array()) {
        const auto* block = as_object(&block_value);
        if (block == nullptr) continue;
        const auto type = str(*block, "type");
        if (type == "text" && is_text_part(*block)) {
          append_joined(m.text, block->at("text").get_string(), first);
        } else if (type == "tool_use") {
          const auto* input = block->if_contains("input");
          m.tool_calls.push_back(ToolCall{str(*block, "id"), str(*block, "name"),
                                          input != nullptr && input->is_object() ? json::serialize(*input) : "{}"});
        } else if (type == "tool_result") {
          Message result;
          result.role = "tool";
          result.tool_call_id = str(*block, "tool_use_id");
          result.text = content_text(block->if_contains("content"), &result.other_parts);
          out.push_back(std::move(result));
        } else if (type != "thinking" && type != "redacted_thinking") {
          m.other_parts.push_back(&block_value);
        }
      }
    }
    if (!m.text.empty() || !m.tool_calls.empty() || !m.other_parts.empty()) out.push_back(std::move(m));
  }
  return out;
}

std::size_t RequestView::for_each_text(const TextVisitor& visit) {
  std::size_t replaced = 0;
  walk(schema_, body_, [&](const TextSpan& span, json::value& slot, Slot kind) {
    auto replacement = visit(span);
    if (!replacement) return;
    if (kind == Slot::String) {
      slot = json::string(*replacement);
      ++replaced;
      return;
    }
    boost::system::error_code ec;
    auto parsed = json::parse(*replacement, ec);
    if (ec || !parsed.is_object()) return;
    slot = std::move(parsed);
    ++replaced;
  });
  return replaced;
}

void RequestView::visit_text(const std::function<void(const TextSpan&)>& visit) const {
  // The walk does not modify the body and this callback gets no slot to write to.
  walk(schema_, const_cast<json::object&>(body_), [&](const TextSpan& span, json::value&, Slot) { visit(span); });
}

const char* RequestView::param_key(Param param) const {
  if (schema_ == Schema::OpenAIEmbeddings) return nullptr;
  if (schema_ == Schema::OpenAIResponses) {
    switch (param) {
      case Param::Temperature:
        return "temperature";
      case Param::TopP:
        return "top_p";
      case Param::MaxTokens:
        return "max_output_tokens";
      case Param::Stop:
        return nullptr;
    }
    return nullptr;
  }
  const bool anthropic = schema_ == Schema::AnthropicMessages;
  switch (param) {
    case Param::Temperature:
      return "temperature";
    case Param::TopP:
      return "top_p";
    case Param::MaxTokens:
      if (anthropic) return "max_tokens";
      if (const auto* v = body_.if_contains("max_completion_tokens"); v != nullptr && !v->is_null())
        return "max_completion_tokens";
      return "max_tokens";
    case Param::Stop:
      return anthropic ? "stop_sequences" : "stop";
  }
  return nullptr;
}

const json::value* RequestView::param(Param param) const {
  const char* key = param_key(param);
  if (key == nullptr) return nullptr;
  const auto* v = body_.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

bool RequestView::set_default(Param p, const json::value& value) {
  if (param_key(p) == nullptr || param(p) != nullptr) return false;
  return set_param(p, value);
}

bool RequestView::set_param(Param p, const json::value& value) {
  const char* key = param_key(p);
  if (key == nullptr) return false;
  body_[key] = value;
  return true;
}

namespace {

// A system prompt kept as one string (Anthropic `system`, Responses `instructions`): `content`
// joined before or after what is there.
void join_system_text(json::value& slot, std::string_view content, bool at_start) {
  if (slot.is_string() && !slot.get_string().empty()) {
    const std::string existing(slot.get_string());
    slot = at_start ? std::string(content) + "\n\n" + existing : existing + "\n\n" + std::string(content);
  } else {
    slot = content;
  }
}

// A {role, content} message added first or last to `list` (made an array when it is not one).
void insert_message(json::value& list, std::string_view role, std::string_view content, bool at_start) {
  if (!list.is_array()) list = json::array(list.storage());
  json::object message(list.storage());
  message["role"] = role;
  message["content"] = content;
  auto& items = list.get_array();
  items.insert(at_start ? items.begin() : items.end(), std::move(message));
}

}  // namespace

bool RequestView::add_message(std::string_view role, std::string_view content, bool at_start) {
  if (schema_ == Schema::OpenAIEmbeddings) return false;
  if (schema_ == Schema::OpenAIResponses) {
    if (role == "system") {
      join_system_text(body_["instructions"], content, at_start);
      return true;
    }
    auto& input = body_["input"];
    if (input.is_string()) {
      // A string input is one user message: it becomes the first item of a list.
      const std::string text(input.get_string());
      input = json::array(input.storage());
      insert_message(input, "user", text, false);
    }
    insert_message(input, role, content, at_start);
    return true;
  }
  if (schema_ == Schema::AnthropicMessages && role == "system") {
    auto& system = body_["system"];
    if (system.is_array()) {
      json::object block(system.storage());
      block["type"] = "text";
      block["text"] = content;
      auto& blocks = system.get_array();
      blocks.insert(at_start ? blocks.begin() : blocks.end(), std::move(block));
    } else {
      join_system_text(system, content, at_start);
    }
    return true;
  }
  insert_message(body_["messages"], role, content, at_start);
  return true;
}

std::vector<ToolSpec> RequestView::tools() const {
  std::vector<ToolSpec> out;
  const auto* list = body_.if_contains("tools");
  if (schema_ == Schema::OpenAIEmbeddings || list == nullptr || !list->is_array()) return out;
  for (const auto& item : list->get_array()) {
    const auto* tool = as_object(&item);
    if (tool == nullptr) continue;
    if (schema_ == Schema::AnthropicMessages) {
      out.push_back(ToolSpec{str(*tool, "name"), str(*tool, "description"), tool->if_contains("input_schema")});
      continue;
    }
    if (schema_ == Schema::OpenAIResponses) {
      // {"type":"function","name",...} at the top; a built-in tool is named by its type.
      if (str(*tool, "type") == "function") {
        out.push_back(ToolSpec{str(*tool, "name"), str(*tool, "description"), tool->if_contains("parameters")});
      } else {
        out.push_back(ToolSpec{str(*tool, "type"), {}, nullptr});
      }
      continue;
    }
    const auto* function = as_object(tool->if_contains("function"));
    if (function == nullptr) {
      out.push_back(ToolSpec{str(*tool, "type"), {}, nullptr});  // a built-in tool: its type names it
      continue;
    }
    out.push_back(ToolSpec{str(*function, "name"), str(*function, "description"), function->if_contains("parameters")});
  }
  return out;
}

std::string RequestView::canonical_form() const {
  static constexpr std::string_view kIgnored[] = {"stream", "stream_options", "user", "metadata"};
  static constexpr std::string_view kCanonical[] = {
      "model", "system",         "messages", "input", "temperature", "top_p", "max_tokens", "max_completion_tokens",
      "stop",  "stop_sequences", "tools"};
  static constexpr std::string_view kResponsesCanonical[] = {"instructions", "max_output_tokens"};
  json::object out;
  out["api"] = schema_ == Schema::OpenAIEmbeddings  ? "embeddings"
               : schema_ == Schema::OpenAIResponses ? "responses"
                                                    : "chat";
  out["model"] = model();
  if (schema_ == Schema::OpenAIEmbeddings) {
    json::array inputs;
    visit_text([&inputs](const TextSpan& span) { inputs.push_back(json::string(span.text)); });
    out["input"] = std::move(inputs);
    if (const auto* input = body_.if_contains("input"); input != nullptr && !input->is_string()) {
      // Token-id inputs are not text: kept verbatim.
      out["input_raw"] = *input;
    }
  } else {
    out["system"] = schema_ == Schema::OpenAIChat ? std::string() : system_text();
    json::array messages;
    for (const auto& m : this->messages()) {
      json::object message{{"role", m.role}, {"text", m.text}};
      json::array calls;
      for (const auto& call : m.tool_calls)
        calls.push_back(json::object{{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
      message["tool_calls"] = std::move(calls);
      message["tool_call_id"] = m.tool_call_id;
      json::array parts;
      for (const auto* part : m.other_parts) parts.push_back(*part);
      message["parts"] = std::move(parts);
      messages.push_back(std::move(message));
    }
    out["messages"] = std::move(messages);
    json::object params;
    static constexpr std::pair<Param, std::string_view> kParams[] = {{Param::Temperature, "temperature"},
                                                                     {Param::TopP, "top_p"},
                                                                     {Param::MaxTokens, "max_tokens"},
                                                                     {Param::Stop, "stop"}};
    for (const auto& [p, name] : kParams) {
      const auto* v = param(p);
      if (v == nullptr) continue;
      if (p == Param::Stop && v->is_string()) {
        params[name] = json::array{*v};
      } else if (v->is_number()) {
        params[name] = v->to_number<double>();
      } else {
        params[name] = *v;
      }
    }
    out["params"] = std::move(params);
    json::array tools;
    for (const auto& tool : this->tools()) {
      tools.push_back(json::object{{"name", tool.name},
                                   {"description", tool.description},
                                   {"parameters", tool.parameters != nullptr ? *tool.parameters : json::value()}});
    }
    out["tools"] = std::move(tools);
  }
  // Everything else the client sent that can change the answer, verbatim, in key order.
  std::vector<std::string_view> keys;
  for (const auto& member : body_) {
    const std::string_view key = member.key();
    const bool skip =
        std::find(std::begin(kIgnored), std::end(kIgnored), key) != std::end(kIgnored) ||
        std::find(std::begin(kCanonical), std::end(kCanonical), key) != std::end(kCanonical) ||
        (schema_ == Schema::OpenAIResponses && std::find(std::begin(kResponsesCanonical), std::end(kResponsesCanonical),
                                                         key) != std::end(kResponsesCanonical));
    if (!skip) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  json::object extra;
  for (const auto key : keys) extra[key] = body_.at(key);
  out["extra"] = std::move(extra);
  return json::serialize(out);
}

}  // namespace sluice::llm
