#include "translate/encode_anthropic_messages.hpp"

#include <boost/json.hpp>
#include <utility>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

json::object anthropic_usage_json(const llm::Usage& usage) {
  const auto cached = usage.cached_tokens + usage.cache_creation_tokens;
  const auto input = usage.prompt_tokens > cached ? usage.prompt_tokens - cached : 0;
  return json::object{{"input_tokens", input},
                      {"output_tokens", usage.completion_tokens},
                      {"cache_read_input_tokens", usage.cached_tokens},
                      {"cache_creation_input_tokens", usage.cache_creation_tokens}};
}

// ---------------------------------------------------------------------------------------------
// Stream

void AnthropicStreamEncoder::encode(const llm::Event& event, std::string& out) {
  if (closed()) return;
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) { start(e.model, out); },
                 [&](const llm::TextDelta& e) {
                   if (stop_reason_ || e.text.empty() || e.index != 0) return;
                   start({}, out);
                   if (open_kind_ != Block::kText) {
                     close_block(out);
                     open_block(R"({"type":"text","text":""})", Block::kText, out);
                   }
                   std::string delta = R"({"type":"text_delta","text":)";
                   append_json_string(delta, e.text);
                   delta += '}';
                   emit_delta(delta, out);
                 },
                 [&](const llm::ReasoningDelta& e) {
                   if (stop_reason_ || e.text.empty() || e.index != 0) return;
                   start({}, out);
                   open_thinking(out);
                   std::string delta = R"({"type":"thinking_delta","thinking":)";
                   append_json_string(delta, e.text);
                   delta += '}';
                   emit_delta(delta, out);
                 },
                 [&](const llm::ReasoningSignature& e) {
                   if (stop_reason_ || e.signature.empty() || e.index != 0) return;
                   start({}, out);
                   if (e.redacted) {
                     close_block(out);
                     std::string block = R"({"type":"redacted_thinking","data":)";
                     append_json_string(block, e.signature);
                     block += '}';
                     open_block(block, Block::kRedacted, out);
                   } else {
                     open_thinking(out);
                     std::string delta = R"({"type":"signature_delta","signature":)";
                     append_json_string(delta, e.signature);
                     delta += '}';
                     emit_delta(delta, out);
                   }
                   close_block(out);  // a signature ends its thinking block
                 },
                 [&](const llm::ToolCallDelta& e) {
                   if (stop_reason_ || e.choice != 0) return;
                   start({}, out);
                   on_tool_call(e, out);
                 },
                 [&](const llm::UsageEvent& e) {
                   usage_ = e.usage;
                   if (stop_reason_) finish(out);
                 },
                 [&](const llm::Finish& e) {
                   if (stop_reason_ || e.choice != 0) return;
                   start({}, out);
                   close_block(out);
                   stop_reason_ = llm::anthropic_stop_reason(e.reason);
                 },
                 [&](const llm::End&) {
                   start({}, out);
                   if (!stop_reason_) stop_reason_ = any_tool_ ? "tool_use" : "end_turn";
                   finish(out);
                 },
                 [&](const llm::Error& e) {
                   append_anthropic_error_event(out, e.error);
                   failed_ = true;
                 },
             },
             event);
}

void AnthropicStreamEncoder::on_tool_call(const llm::ToolCallDelta& call, std::string& out) {
  const bool is_open_tool =
      open_kind_ == Block::kTool && call.index == open_tool_index_ && (call.id.empty() || call.id == open_tool_id_);
  if (!is_open_tool) {
    if (seen_tool_indexes_ > 0 && call.index < seen_tool_indexes_ && call.id.empty()) return;  // closed already
    close_block(out);
    open_tool_index_ = call.index;
    open_tool_id_ = call.id.empty() ? new_id("toolu_") : std::string(call.id);
    seen_tool_indexes_ = std::max(seen_tool_indexes_, call.index + 1);
    any_tool_ = true;
    std::string block = R"({"type":"tool_use","id":)";
    append_json_string(block, open_tool_id_);
    block += R"(,"name":)";
    append_json_string(block, call.name);
    block += R"(,"input":{}})";
    open_block(block, Block::kTool, out);
  }
  if (call.arguments.empty()) return;
  std::string delta = R"({"type":"input_json_delta","partial_json":)";
  append_json_string(delta, call.arguments);
  delta += '}';
  emit_delta(delta, out);
}

void AnthropicStreamEncoder::open_thinking(std::string& out) {
  if (open_kind_ == Block::kThinking) return;
  close_block(out);
  open_block(R"({"type":"thinking","thinking":"","signature":""})", Block::kThinking, out);
}

void AnthropicStreamEncoder::start(std::string_view model, std::string& out) {
  if (started_) return;
  started_ = true;
  json::object message{{"id", new_id("msg_")},     {"type", "message"},
                       {"role", "assistant"},      {"model", options_.model_named(model)},
                       {"content", json::array{}}, {"stop_reason", nullptr},
                       {"stop_sequence", nullptr}, {"usage", json::object{{"input_tokens", 0}, {"output_tokens", 0}}}};
  append_sse_event(out, "message_start",
                   json::serialize(json::object{{"type", "message_start"}, {"message", std::move(message)}}));
}

void AnthropicStreamEncoder::open_block(std::string_view content_block_json, Block kind, std::string& out) {
  open_kind_ = kind;
  std::string data =
      R"({"type":"content_block_start","index":)" + std::to_string(next_block_index_) + R"(,"content_block":)";
  data.append(content_block_json);
  data += '}';
  append_sse_event(out, "content_block_start", data);
}

void AnthropicStreamEncoder::emit_delta(std::string_view delta_json, std::string& out) {
  std::string data = R"({"type":"content_block_delta","index":)" + std::to_string(next_block_index_) + R"(,"delta":)";
  data.append(delta_json);
  data += '}';
  append_sse_event(out, "content_block_delta", data);
}

void AnthropicStreamEncoder::close_block(std::string& out) {
  if (open_kind_ == Block::kNone) return;
  append_sse_event(out, "content_block_stop",
                   R"({"type":"content_block_stop","index":)" + std::to_string(next_block_index_) + "}");
  open_kind_ = Block::kNone;
  ++next_block_index_;
}

void AnthropicStreamEncoder::finish(std::string& out) {
  if (done_) return;
  close_block(out);
  const std::string_view reason = stop_reason_.value_or("end_turn");
  append_sse_event(
      out, "message_delta",
      json::serialize(json::object{{"type", "message_delta"},
                                   {"delta", json::object{{"stop_reason", reason}, {"stop_sequence", nullptr}}},
                                   {"usage", anthropic_usage_json(usage_)}}));
  append_sse_event(out, "message_stop", R"({"type":"message_stop"})");
  done_ = true;
}

// ---------------------------------------------------------------------------------------------
// Complete reply

void AnthropicResponseEncoder::on_event(const llm::Event& event) {
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) { model_ = e.model; },
                 [&](const llm::TextDelta& e) {
                   if (e.index == 0) text_.append(e.text);
                 },
                 [&](const llm::ReasoningDelta& e) {
                   if (e.index != 0 || e.text.empty()) return;
                   if (thinking_.empty() || thinking_.back().closed) thinking_.push_back(Thinking{});
                   thinking_.back().text.append(e.text);
                 },
                 [&](const llm::ReasoningSignature& e) {
                   if (e.index != 0 || e.signature.empty()) return;
                   if (e.redacted || thinking_.empty() || thinking_.back().closed) thinking_.push_back(Thinking{});
                   auto& block = thinking_.back();
                   block.signature = e.signature;
                   block.redacted = e.redacted;
                   block.closed = true;
                 },
                 [&](const llm::ToolCallDelta& e) {
                   if (e.choice != 0) return;
                   if (calls_.empty() || e.index >= calls_.size()) {
                     calls_.push_back(Call{std::string(e.id), std::string(e.name), {}});
                   }
                   calls_.back().arguments.append(e.arguments);
                 },
                 [&](const llm::UsageEvent& e) { usage_ = e.usage; },
                 [&](const llm::Finish& e) {
                   if (e.choice == 0) reason_ = e.reason;
                 },
                 [&](const llm::End&) {},
                 [&](const llm::Error&) {},
             },
             event);
}

std::string AnthropicResponseEncoder::body() const {
  json::array content;
  for (const auto& block : thinking_) {
    if (block.redacted) {
      content.push_back(json::object{{"type", "redacted_thinking"}, {"data", block.signature}});
    } else {
      content.push_back(json::object{{"type", "thinking"}, {"thinking", block.text}, {"signature", block.signature}});
    }
  }
  if (!text_.empty()) content.push_back(json::object{{"type", "text"}, {"text", text_}});
  for (const auto& call : calls_) {
    boost::system::error_code ec;
    auto input = json::parse(call.arguments, ec);
    if (ec || !input.is_object()) input = json::object{};
    content.push_back(json::object{{"type", "tool_use"},
                                   {"id", call.id.empty() ? new_id("toolu_") : call.id},
                                   {"name", call.name},
                                   {"input", std::move(input)}});
  }
  json::object out{{"id", new_id("msg_")},          {"type", "message"},
                   {"role", "assistant"},           {"model", options_.model_named(model_)},
                   {"content", std::move(content)}, {"stop_reason", llm::anthropic_stop_reason(reason_)},
                   {"stop_sequence", nullptr},      {"usage", anthropic_usage_json(usage_)}};
  return json::serialize(out);
}

}  // namespace sluice::translate
