#include "proxy/input_capture.hpp"

#include <boost/json.hpp>

#include "observe/genai_messages.hpp"
#include "proxy/capture_json.hpp"

namespace sluice::proxy {

namespace json = boost::json;
using capture_json::at;
using capture_json::is_true;
using capture_json::str;
using observe::GenAiMessages;

namespace {

// A content that is a string, or a list of parts of which those with a "text" are text.
void add_text_content(GenAiMessages& out, const json::value& content) {
  if (content.is_string()) {
    out.text(content.get_string());
    return;
  }
  if (const auto* parts = content.if_array())
    for (const auto& part : *parts)
      if (const auto* text = at(&part, "text"); text != nullptr && text->is_string()) out.text(text->get_string());
}

// The text of such a content as one string (a tool's result).
std::string joined_text(const json::value* content) {
  if (content == nullptr) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string out;
  if (const auto* parts = content->if_array())
    for (const auto& part : *parts) out += str(at(&part, "text"));
  return out;
}

std::string_view chat_role(std::string_view role) {
  if (role == "developer") return "system";
  return role.empty() ? std::string_view("user") : role;
}

void openai_chat(const json::object& body, GenAiMessages& out) {
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return;
  const auto& list = messages->get_array();
  auto it = list.rbegin();
  for (; it != list.rend() && !out.full(); ++it) {
    const auto& m = *it;
    const auto role = str(at(&m, "role"));
    const auto* content = at(&m, "content");
    if (role == "tool") {
      out.message("tool");
      out.tool_call_response(str(at(&m, "tool_call_id")), joined_text(content));
      continue;
    }
    out.message(chat_role(role));
    if (const auto reasoning = str(at(&m, "reasoning_content")); !reasoning.empty()) out.reasoning(reasoning);
    if (content != nullptr) add_text_content(out, *content);
    if (const auto* calls = at(&m, "tool_calls"); calls != nullptr && calls->is_array()) {
      for (const auto& call : calls->get_array()) {
        const auto* function = at(&call, "function");
        if (function == nullptr) continue;
        out.tool_call(str(at(&call, "id")), str(at(function, "name")), str(at(function, "arguments")));
      }
    }
  }
  if (it != list.rend()) out.mark_truncated();
}

void anthropic_messages(const json::object& body, GenAiMessages& system, GenAiMessages& out) {
  if (const auto* instructions = body.if_contains("system")) {
    system.message("system");
    add_text_content(system, *instructions);
  }
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return;
  const auto& list = messages->get_array();
  auto it = list.rbegin();
  for (; it != list.rend() && !out.full(); ++it) {
    const auto& m = *it;
    out.message(chat_role(str(at(&m, "role"))));
    const auto* content = at(&m, "content");
    if (content == nullptr) continue;
    if (content->is_string()) {
      out.text(content->get_string());
      continue;
    }
    if (!content->is_array()) continue;
    for (const auto& block : content->get_array()) {
      const auto type = str(at(&block, "type"));
      if (type == "text") {
        out.text(str(at(&block, "text")));
      } else if (type == "thinking") {
        out.reasoning(str(at(&block, "thinking")));
      } else if (type == "tool_use") {
        out.tool_call(str(at(&block, "id")), str(at(&block, "name")), at(&block, "input"));
      } else if (type == "tool_result") {
        out.tool_call_response(str(at(&block, "tool_use_id")), joined_text(at(&block, "content")));
      }
    }
  }
  if (it != list.rend()) out.mark_truncated();
}

void responses_input(const json::object& body, GenAiMessages& system, GenAiMessages& out) {
  if (const auto instructions = str(body.if_contains("instructions")); !instructions.empty()) {
    system.message("system");
    system.text(instructions);
  }
  const auto* input = body.if_contains("input");
  if (input == nullptr) return;
  if (input->is_string()) {
    out.message("user");
    out.text(input->get_string());
    return;
  }
  if (!input->is_array()) return;
  const auto& items = input->get_array();
  auto it = items.rbegin();
  for (; it != items.rend() && !out.full(); ++it) {
    const auto& item = *it;
    const auto type = str(at(&item, "type"));
    if (type == "function_call") {
      out.message("assistant");
      out.tool_call(str(at(&item, "call_id")), str(at(&item, "name")), str(at(&item, "arguments")));
    } else if (type == "function_call_output") {
      out.message("tool");
      const auto* output = at(&item, "output");
      out.tool_call_response(str(at(&item, "call_id")), joined_text(output));
    } else if (type == "reasoning") {
      out.message("assistant");
      if (const auto* summary = at(&item, "summary"); summary != nullptr && summary->is_array())
        for (const auto& s : summary->get_array()) out.reasoning(str(at(&s, "text")));
    } else if (type.empty() || type == "message") {
      out.message(chat_role(str(at(&item, "role"))));
      if (const auto* content = at(&item, "content")) add_text_content(out, *content);
    }
  }
  if (it != items.rend()) out.mark_truncated();
}

void gemini_contents(const json::object& body, GenAiMessages& system, GenAiMessages& out) {
  if (const auto* instruction = body.if_contains("systemInstruction")) {
    system.message("system");
    if (instruction->is_string()) {
      system.text(instruction->get_string());
    } else if (const auto* parts = at(instruction, "parts")) {
      add_text_content(system, *parts);
    }
  }
  const auto* contents = body.if_contains("contents");
  if (contents == nullptr || !contents->is_array()) return;
  const auto& list = contents->get_array();
  auto it = list.rbegin();
  for (; it != list.rend() && !out.full(); ++it) {
    const auto role = str(at(&*it, "role"));
    out.message(role == "model" ? std::string_view("assistant") : chat_role(role));
    const auto* parts = at(&*it, "parts");
    if (parts == nullptr || !parts->is_array()) continue;
    for (const auto& part : parts->get_array()) {
      if (const auto* text = at(&part, "text"); text != nullptr && text->is_string()) {
        if (is_true(at(&part, "thought")))
          out.reasoning(text->get_string());
        else
          out.text(text->get_string());
      } else if (const auto* call = at(&part, "functionCall")) {
        out.tool_call(str(at(call, "id")), str(at(call, "name")), at(call, "args"));
      } else if (const auto* response = at(&part, "functionResponse")) {
        out.tool_call_response(str(at(response, "id")), at(response, "response"));
      }
    }
  }
  if (it != list.rend()) out.mark_truncated();
}

void embeddings_input(const json::object& body, GenAiMessages& out) {
  const auto* input = body.if_contains("input");
  if (input == nullptr) return;
  out.message("user");
  if (input->is_string()) {
    out.text(input->get_string());
  } else if (const auto* list = input->if_array()) {
    for (const auto& item : *list)
      if (item.is_string()) out.text(item.get_string());
  }
}

}  // namespace

CapturedInput capture_input(const json::object& body, route::ApiKind api, bool full) {
  GenAiMessages system(full, kMaxCapturedPart, kMaxCapturedPart);
  GenAiMessages messages(full, kMaxCapturedInput, kMaxCapturedPart);
  switch (api) {
    case route::ApiKind::ChatCompletions:
      openai_chat(body, messages);
      break;
    case route::ApiKind::Messages:
      anthropic_messages(body, system, messages);
      break;
    case route::ApiKind::Responses:
      responses_input(body, system, messages);
      break;
    case route::ApiKind::GeminiGenerate:
      gemini_contents(body, system, messages);
      break;
    case route::ApiKind::Embeddings:
      embeddings_input(body, messages);
      break;
    default:
      break;
  }
  CapturedInput out;
  out.system_instructions = system.serialize_parts();
  out.messages = messages.serialize(true);
  out.truncated = system.truncated() || messages.truncated();
  return out;
}

}  // namespace sluice::proxy
