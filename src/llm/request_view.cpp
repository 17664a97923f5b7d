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

// Gemini: the request a countTokens body wraps in `generateContentRequest`, else the body.
json::object& gemini_root(json::object& body) {
  auto* wrapped = as_object(body.if_contains("generateContentRequest"));
  return wrapped != nullptr ? *wrapped : body;
}

// A Gemini content's role as the other schemas name it.
std::string_view gemini_role(const json::object& content) {
  return str(content, "role") == "model" ? std::string_view("assistant") : std::string_view("user");
}

// A Gemini text part (a thought part is signed reasoning, not text the view reads).
bool is_gemini_text_part(const json::object& part) {
  const auto* text = part.if_contains("text");
  if (text == nullptr || !text->is_string()) return false;
  const auto* thought = part.if_contains("thought");
  return thought == nullptr || !thought->is_bool() || !thought->get_bool();
}

// A functionCall / functionResponse part's id: its `id`, else the function's name.
std::string_view gemini_call_id(const json::object& call) {
  const auto id = str(call, "id");
  return id.empty() ? str(call, "name") : id;
}

// Walks a Gemini generateContent request (see request_view.hpp).
template <typename F>
void walk_gemini(json::object& root, F&& f) {
  if (auto* system = root.if_contains("systemInstruction")) {
    if (system->is_string()) {
      f(TextSpan{TextKind::System, "system", 0, system->get_string()}, *system, Slot::String);
    } else if (auto* parts = as_object(system) != nullptr ? as_object(system)->if_contains("parts") : nullptr;
               parts != nullptr && parts->is_array()) {
      for (auto& item : parts->get_array()) {
        auto* part = as_object(&item);
        if (part != nullptr && is_gemini_text_part(*part)) {
          auto& text = (*part)["text"];
          f(TextSpan{TextKind::System, "system", 0, text.get_string()}, text, Slot::String);
        }
      }
    }
  }
  auto* contents = root.if_contains("contents");
  if (contents == nullptr || !contents->is_array()) return;
  auto& list = contents->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto* content = as_object(&list[i]);
    auto* parts = content != nullptr ? content->if_contains("parts") : nullptr;
    if (parts == nullptr || !parts->is_array()) continue;
    const auto role = gemini_role(*content);
    for (auto& item : parts->get_array()) {
      auto* part = as_object(&item);
      if (part == nullptr) continue;
      if (is_gemini_text_part(*part)) {
        auto& text = (*part)["text"];
        f(TextSpan{TextKind::Message, role, i, text.get_string()}, text, Slot::String);
      } else if (auto* call = as_object(part->if_contains("functionCall"))) {
        auto* args = call->if_contains("args");
        if (args == nullptr || !args->is_object()) continue;
        const std::string text = json::serialize(*args);
        f(TextSpan{TextKind::ToolCall, role, i, text}, *args, Slot::JsonObject);
      } else if (auto* result = as_object(part->if_contains("functionResponse"))) {
        auto* response = result->if_contains("response");
        if (response == nullptr || !response->is_object()) continue;
        const std::string text = json::serialize(*response);
        f(TextSpan{TextKind::ToolResult, "tool", i, text}, *response, Slot::JsonObject);
      }
    }
  }
}

// Walks a Gemini embedContent / batchEmbedContents request: each content's text parts.
template <typename F>
void walk_gemini_embed(json::object& body, F&& f) {
  auto content_inputs = [&f](json::value* content, std::size_t k) {
    auto* parts = as_object(content) != nullptr ? as_object(content)->if_contains("parts") : nullptr;
    if (parts == nullptr || !parts->is_array()) return;
    for (auto& item : parts->get_array()) {
      auto* part = as_object(&item);
      if (part != nullptr && is_gemini_text_part(*part)) {
        auto& text = (*part)["text"];
        f(TextSpan{TextKind::Input, {}, k, text.get_string()}, text, Slot::String);
      }
    }
  };
  if (auto* requests = body.if_contains("requests"); requests != nullptr && requests->is_array()) {
    auto& list = requests->get_array();
    for (std::size_t k = 0; k < list.size(); ++k)
      if (auto* request = as_object(&list[k])) content_inputs(request->if_contains("content"), k);
    return;
  }
  content_inputs(body.if_contains("content"), 0);
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

  if (schema == Schema::GeminiGenerate) {
    walk_gemini(gemini_root(body), f);
    return;
  }
  if (schema == Schema::GeminiEmbed) {
    walk_gemini_embed(body, f);
    return;
  }
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
  if (gemini()) return path_model_;
  return str(body_, "model");
}

void RequestView::set_model(std::string_view model) {
  if (!gemini()) {
    body_["model"] = model;
    return;
  }
  path_model_ = model;
  const std::string qualified = "models/" + std::string(model);
  const auto rename = [&qualified](json::object* request) {
    if (request == nullptr) return;
    if (auto* named = request->if_contains("model"); named != nullptr && named->is_string()) *named = qualified;
  };
  rename(as_object(body_.if_contains("generateContentRequest")));
  if (auto* requests = body_.if_contains("requests"); requests != nullptr && requests->is_array())
    for (auto& request : requests->get_array()) rename(as_object(&request));
}

bool RequestView::stream() const {
  if (gemini()) return path_stream_;
  const auto* v = body_.if_contains("stream");
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::string RequestView::system_text() const {
  if (schema_ == Schema::AnthropicMessages) return content_text(body_.if_contains("system"), nullptr);
  std::string out;
  if (schema_ == Schema::GeminiGenerate) {
    bool first = true;
    visit_text([&](const TextSpan& span) {
      if (span.kind == TextKind::System) append_joined(out, span.text, first);
    });
    return out;
  }
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
  if (schema_ == Schema::OpenAIEmbeddings || schema_ == Schema::GeminiEmbed) return out;
  if (schema_ == Schema::GeminiGenerate) {
    const auto* contents = gemini_root(body_).if_contains("contents");
    if (contents == nullptr || !contents->is_array()) return out;
    for (const auto& item : contents->get_array()) {
      const auto* content = as_object(&item);
      const auto* parts = content != nullptr ? content->if_contains("parts") : nullptr;
      if (parts == nullptr || !parts->is_array()) continue;
      Message m;
      m.role = gemini_role(*content);
      bool first = true;
      for (const auto& part_value : parts->get_array()) {
        const auto* part = as_object(&part_value);
        if (part == nullptr) continue;
        if (is_gemini_text_part(*part)) {
          append_joined(m.text, part->at("text").get_string(), first);
        } else if (const auto* call = as_object(part->if_contains("functionCall"))) {
          const auto* args = call->if_contains("args");
          m.tool_calls.push_back(ToolCall{gemini_call_id(*call), str(*call, "name"),
                                          args != nullptr && args->is_object() ? json::serialize(*args) : "{}"});
        } else if (const auto* result = as_object(part->if_contains("functionResponse"))) {
          Message tool;
          tool.role = "tool";
          tool.tool_call_id = gemini_call_id(*result);
          const auto* response = result->if_contains("response");
          tool.text = response != nullptr ? json::serialize(*response) : std::string();
          out.push_back(std::move(tool));
        } else if (!part->contains("thought") && !part->contains("text")) {
          m.other_parts.push_back(&part_value);
        }
      }
      if (!m.text.empty() || !m.tool_calls.empty() || !m.other_parts.empty()) out.push_back(std::move(m));
    }
    return out;
  }
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
  if (schema_ == Schema::OpenAIEmbeddings || schema_ == Schema::GeminiEmbed) return nullptr;
  if (schema_ == Schema::GeminiGenerate) {
    switch (param) {
      case Param::Temperature:
        return "temperature";
      case Param::TopP:
        return "topP";
      case Param::MaxTokens:
        return "maxOutputTokens";
      case Param::Stop:
        return "stopSequences";
    }
    return nullptr;
  }
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

const json::object* RequestView::params_holder() const {
  if (schema_ != Schema::GeminiGenerate) return &body_;
  return as_object(gemini_root(body_).if_contains("generationConfig"));
}

json::object* RequestView::params_holder(bool create) {
  if (schema_ != Schema::GeminiGenerate) return &body_;
  auto& root = gemini_root(body_);
  if (auto* config = as_object(root.if_contains("generationConfig"))) return config;
  if (!create || root.contains("generationConfig")) return nullptr;  // a member of another kind stays
  return &(root["generationConfig"] = json::object(root.storage())).get_object();
}

const json::value* RequestView::param(Param param) const {
  const char* key = param_key(param);
  const auto* holder = params_holder();
  if (key == nullptr || holder == nullptr) return nullptr;
  const auto* v = holder->if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

bool RequestView::set_default(Param p, const json::value& value) {
  if (param_key(p) == nullptr || param(p) != nullptr) return false;
  return set_param(p, value);
}

bool RequestView::set_param(Param p, const json::value& value) {
  const char* key = param_key(p);
  auto* holder = key != nullptr ? params_holder(true) : nullptr;
  if (holder == nullptr) return false;
  (*holder)[key] = value;
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

// A Gemini text part added first or last to the parts of `holder` (a Content object).
void insert_gemini_part(json::object& holder, std::string_view text, bool at_start) {
  auto& parts = holder["parts"];
  if (!parts.is_array()) parts = json::array(holder.storage());
  json::object part(holder.storage());
  part["text"] = text;
  auto& items = parts.get_array();
  items.insert(at_start ? items.begin() : items.end(), std::move(part));
}

}  // namespace

bool RequestView::add_message(std::string_view role, std::string_view content, bool at_start) {
  if (schema_ == Schema::OpenAIEmbeddings || schema_ == Schema::GeminiEmbed) return false;
  if (schema_ == Schema::GeminiGenerate) {
    auto& root = gemini_root(body_);
    if (role == "system") {
      auto& system = root["systemInstruction"];
      if (system.is_null()) system = json::object(root.storage());
      if (auto* instruction = system.if_object()) {
        insert_gemini_part(*instruction, content, at_start);
      } else {
        join_system_text(system, content, at_start);
      }
      return true;
    }
    auto& contents = root["contents"];
    if (!contents.is_array()) contents = json::array(root.storage());
    json::object message(root.storage());
    message["role"] = role == "assistant" ? "model" : "user";
    insert_gemini_part(message, content, false);
    auto& items = contents.get_array();
    items.insert(at_start ? items.begin() : items.end(), std::move(message));
    return true;
  }
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
  const auto* list =
      schema_ == Schema::GeminiGenerate ? gemini_root(body_).if_contains("tools") : body_.if_contains("tools");
  if (schema_ == Schema::OpenAIEmbeddings || schema_ == Schema::GeminiEmbed || list == nullptr || !list->is_array())
    return out;
  for (const auto& item : list->get_array()) {
    const auto* tool = as_object(&item);
    if (tool == nullptr) continue;
    if (schema_ == Schema::GeminiGenerate) {
      // {"functionDeclarations":[...]}; a built-in tool ({"googleSearch":{}}) is named by its key.
      for (const auto& member : *tool) {
        if (member.key() != "functionDeclarations") {
          out.push_back(ToolSpec{member.key(), {}, nullptr});
          continue;
        }
        if (!member.value().is_array()) continue;
        for (const auto& declaration_value : member.value().get_array()) {
          const auto* declaration = as_object(&declaration_value);
          if (declaration == nullptr) continue;
          const auto* parameters = declaration->if_contains("parametersJsonSchema");
          if (parameters == nullptr) parameters = declaration->if_contains("parameters");
          out.push_back(ToolSpec{str(*declaration, "name"), str(*declaration, "description"), parameters});
        }
      }
      continue;
    }
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
  static constexpr std::string_view kGeminiCanonical[] = {"contents", "systemInstruction", "tools", "content",
                                                          "requests"};
  json::object out;
  out["api"] = schema_ == Schema::OpenAIEmbeddings  ? "embeddings"
               : schema_ == Schema::OpenAIResponses ? "responses"
               : schema_ == Schema::GeminiGenerate  ? "gemini"
               : schema_ == Schema::GeminiEmbed     ? "gemini-embed"
                                                    : "chat";
  out["model"] = model();
  if (schema_ == Schema::OpenAIEmbeddings || schema_ == Schema::GeminiEmbed) {
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
  // Everything else the client sent that can change the answer, verbatim, in key order (a
  // Gemini generationConfig whole: its parameters are read in `params` too).
  const auto listed = [](const auto& list, std::string_view key) {
    return std::find(std::begin(list), std::end(list), key) != std::end(list);
  };
  const auto& root = schema_ == Schema::GeminiGenerate ? gemini_root(body_) : body_;
  std::vector<std::string_view> keys;
  for (const auto& member : root) {
    const std::string_view key = member.key();
    const bool skip = gemini() ? listed(kGeminiCanonical, key)
                               : listed(kIgnored, key) || listed(kCanonical, key) ||
                                     (schema_ == Schema::OpenAIResponses && listed(kResponsesCanonical, key));
    if (!skip) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  json::object extra;
  for (const auto key : keys) extra[key] = root.at(key);
  out["extra"] = std::move(extra);
  return json::serialize(out);
}

}  // namespace sluice::llm
