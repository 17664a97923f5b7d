#include "proxy/output_capture.hpp"

#include <boost/json.hpp>

#include "observe/genai_messages.hpp"
#include "proxy/capture_json.hpp"

namespace sluice::proxy {

namespace json = boost::json;
using capture_json::at;
using capture_json::first;
using capture_json::is_true;
using capture_json::str;

namespace {

std::int64_t index_of(const json::value* v) {
  return v != nullptr && v->is_int64() ? v->get_int64() : -1;
}

// Arguments given as a JSON value (Anthropic's input, Gemini's args), as JSON text.
std::string arguments_text(const json::value* v) {
  if (v == nullptr) return "{}";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

}  // namespace

void OutputCapture::begin(unsigned status, std::string_view content_type) {
  if (inner_ != nullptr) inner_->begin(status, content_type);
  // A later answer (a failover after a relay that never reached the client) starts over.
  ok_ = status >= 200 && status < 300;
  stream_ = content_type.starts_with("text/event-stream");
  gave_up_ = false;
  pending_.clear();
  text_.clear();
  reasoning_.clear();
  calls_.clear();
  captured_ = 0;
  finish_reason_.clear();
  truncated_ = false;
}

void OutputCapture::keep_pending(std::string_view bytes) {
  if (pending_.size() + bytes.size() > kMaxCapturedReply) {
    gave_up_ = true;
    truncated_ = true;
    pending_.clear();
    return;
  }
  pending_.append(bytes);
}

void OutputCapture::body(std::string_view bytes) {
  if (inner_ != nullptr) inner_->body(bytes);
  if (!ok_ || gave_up_) return;
  if (!stream_) {
    keep_pending(bytes);
    return;
  }
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      keep_pending(bytes);
      return;
    }
    if (pending_.empty()) {
      read_event_line(bytes.substr(0, newline));
    } else {
      pending_.append(bytes.substr(0, newline));
      read_event_line(pending_);
      pending_.clear();
    }
    bytes.remove_prefix(newline + 1);
  }
}

void OutputCapture::end(bool complete) {
  if (inner_ != nullptr) inner_->end(complete);
  if (!ok_) return;
  if (!stream_ && !gave_up_ && !pending_.empty()) read_object(pending_, false);
  pending_.clear();
  pending_.shrink_to_fit();
  observe::GenAiMessages out(trace_.capture == config::CaptureContent::Full, kMaxCapturedText);
  out.message("assistant");
  if (!reasoning_.empty()) out.reasoning(reasoning_);
  if (!text_.empty() || (reasoning_.empty() && calls_.empty())) out.text(text_);
  for (const auto& call : calls_) out.tool_call(call.id, call.name, call.arguments);
  if (!finish_reason_.empty()) out.finish_reason(finish_reason_);
  trace_.output_messages = out.serialize();
  trace_.output_truncated = truncated_ || out.truncated();
}

void OutputCapture::add(std::string& into, std::string_view bytes) {
  if (truncated_) return;
  if (captured_ + bytes.size() > kMaxCapturedText) {
    bytes = observe::utf8_prefix(bytes, kMaxCapturedText - captured_);
    truncated_ = true;
  }
  captured_ += bytes.size();
  into.append(bytes);
}

OutputCapture::ToolCall* OutputCapture::new_call(std::int64_t index) {
  if (truncated_ || calls_.size() >= observe::GenAiMessages::kMaxParts) {
    truncated_ = true;
    return nullptr;
  }
  return &calls_.emplace_back(ToolCall{index, {}, {}, {}});
}

OutputCapture::ToolCall* OutputCapture::call_at(std::int64_t index) {
  for (auto& call : calls_)
    if (call.index == index) return &call;
  return new_call(index);
}

void OutputCapture::add_call(std::string_view id, std::string_view name, std::string_view arguments) {
  auto* call = new_call(-1);
  if (call == nullptr) return;
  add(call->id, id);
  add(call->name, name);
  add(call->arguments, arguments);
}

void OutputCapture::read_event_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with("data:")) return;
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (line.empty() || line.front() != '{') return;  // [DONE], keep-alives
  read_object(line, true);
}

void OutputCapture::read_object(std::string_view text, bool event) {
  boost::system::error_code ec;
  const auto doc = json::parse(text, ec);
  if (ec) return;
  // Gemini's streamGenerateContent without alt=sse: one JSON array of chunks.
  if (const auto* chunks = doc.if_array(); chunks != nullptr && api_ == route::ApiKind::GeminiGenerate) {
    for (const auto& chunk : *chunks) read_value(chunk, true);
    return;
  }
  read_value(doc, event);
}

void OutputCapture::read_value(const json::value& doc, bool event) {
  const json::value* v = &doc;
  switch (api_) {
    case route::ApiKind::ChatCompletions: {
      const auto* choice = first(at(v, "choices"));
      const auto* message = at(choice, event ? "delta" : "message");
      add(reasoning_, str(at(message, "reasoning_content")));
      const auto* content = at(message, "content");
      if (const auto* parts = content != nullptr ? content->if_array() : nullptr) {
        for (const auto& p : *parts) add_text(str(at(&p, "text")));
      } else {
        add_text(str(content));
      }
      if (const auto* calls = at(message, "tool_calls"); calls != nullptr && calls->is_array()) {
        for (const auto& c : calls->get_array()) {
          const auto* function = at(&c, "function");
          if (!event) {
            add_call(str(at(&c, "id")), str(at(function, "name")), str(at(function, "arguments")));
            continue;
          }
          // A stream names a call by its index: the id and name come first, the arguments in pieces.
          auto* call = call_at(index_of(at(&c, "index")));
          if (call == nullptr) continue;
          add(call->id, str(at(&c, "id")));
          add(call->name, str(at(function, "name")));
          add(call->arguments, str(at(function, "arguments")));
        }
      }
      if (const auto reason = str(at(choice, "finish_reason")); !reason.empty()) finish_reason_ = reason;
      break;
    }
    case route::ApiKind::Messages: {
      if (!event) {
        if (const auto* blocks = at(v, "content"); blocks != nullptr && blocks->is_array())
          for (const auto& b : blocks->get_array()) {
            const auto type = str(at(&b, "type"));
            if (type == "text") add_text(str(at(&b, "text")));
            if (type == "thinking") add(reasoning_, str(at(&b, "thinking")));
            if (type == "tool_use") add_call(str(at(&b, "id")), str(at(&b, "name")), arguments_text(at(&b, "input")));
          }
        finish_reason_ = str(at(v, "stop_reason"));
        break;
      }
      const auto type = str(at(v, "type"));
      if (type == "content_block_start") {
        const auto* block = at(v, "content_block");
        if (str(at(block, "type")) == "tool_use")
          if (auto* call = call_at(index_of(at(v, "index")))) {
            add(call->id, str(at(block, "id")));
            add(call->name, str(at(block, "name")));
          }
      } else if (type == "content_block_delta") {
        const auto* delta = at(v, "delta");
        const auto delta_type = str(at(delta, "type"));
        if (delta_type == "text_delta") add_text(str(at(delta, "text")));
        if (delta_type == "thinking_delta") add(reasoning_, str(at(delta, "thinking")));
        if (delta_type == "input_json_delta")
          if (auto* call = call_at(index_of(at(v, "index")))) add(call->arguments, str(at(delta, "partial_json")));
      } else if (type == "message_delta") {
        if (const auto reason = str(at(at(v, "delta"), "stop_reason")); !reason.empty()) finish_reason_ = reason;
      }
      break;
    }
    case route::ApiKind::Responses: {
      const json::value* response = v;
      if (event) {
        const auto type = str(at(v, "type"));
        if (type == "response.output_text.delta") add_text(str(at(v, "delta")));
        if (type == "response.reasoning_summary_text.delta") add(reasoning_, str(at(v, "delta")));
        if (type == "response.output_item.done") {
          const auto* item = at(v, "item");
          if (str(at(item, "type")) == "function_call")
            add_call(str(at(item, "call_id")), str(at(item, "name")), str(at(item, "arguments")));
        }
        if (type != "response.completed" && type != "response.incomplete") break;
        response = at(v, "response");
      } else if (const auto* output = at(v, "output"); output != nullptr && output->is_array()) {
        for (const auto& item : output->get_array()) {
          const auto type = str(at(&item, "type"));
          if (type == "function_call") {
            add_call(str(at(&item, "call_id")), str(at(&item, "name")), str(at(&item, "arguments")));
          } else if (type == "reasoning") {
            if (const auto* summary = at(&item, "summary"); summary != nullptr && summary->is_array())
              for (const auto& part : summary->get_array()) add(reasoning_, str(at(&part, "text")));
          } else if (const auto* content = at(&item, "content"); content != nullptr && content->is_array()) {
            for (const auto& c : content->get_array())
              if (str(at(&c, "type")) == "output_text") add_text(str(at(&c, "text")));
          }
        }
      }
      if (const auto status = str(at(response, "status")); !status.empty()) finish_reason_ = status;
      break;
    }
    case route::ApiKind::GeminiGenerate: {
      const auto* candidate = first(at(v, "candidates"));
      if (const auto* parts = at(at(candidate, "content"), "parts"); parts != nullptr && parts->is_array())
        for (const auto& p : parts->get_array()) {
          if (const auto* call = at(&p, "functionCall")) {
            add_call(str(at(call, "id")), str(at(call, "name")), arguments_text(at(call, "args")));
          } else if (is_true(at(&p, "thought"))) {
            add(reasoning_, str(at(&p, "text")));
          } else {
            add_text(str(at(&p, "text")));
          }
        }
      if (const auto reason = str(at(candidate, "finishReason")); !reason.empty()) finish_reason_ = reason;
      break;
    }
    default:
      break;
  }
}

}  // namespace sluice::proxy
