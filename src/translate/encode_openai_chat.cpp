#include "translate/encode_openai_chat.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>
#include <variant>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// A signed reasoning block in LiteLLM's thinking_blocks form (Anthropic's block shape).
json::object thinking_block(std::string_view text, const llm::ReasoningSignature& signature) {
  if (signature.redacted) return json::object{{"type", "redacted_thinking"}, {"data", signature.signature}};
  return json::object{{"type", "thinking"}, {"thinking", text}, {"signature", signature.signature}};
}

// Google's OpenAI-compatible carrier of a Gemini thought signature on a tool call.
json::object google_signature(std::string_view signature) {
  return json::object{{"google", json::object{{"thought_signature", signature}}}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Stream

OpenAiChatStreamEncoder::OpenAiChatStreamEncoder(EncoderOptions options)
    : options_(std::move(options)), created_(unix_now()) {}

std::string_view OpenAiChatStreamEncoder::model() const {
  return options_.model_named(model_);
}

void OpenAiChatStreamEncoder::ensure_id() {
  if (id_.empty()) id_ = new_id("chatcmpl-");
}

void OpenAiChatStreamEncoder::encode(const llm::Event& event, std::string& out) {
  if (closed_) return;
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) {
                   if (id_.empty() && !e.id.empty()) id_ = e.id;
                   model_ = e.model;
                   chunk_prefix_.clear();
                   if (e.opened && !role_sent_) emit(json::object{{"content", ""}}, out);
                 },
                 [&](const llm::TextDelta& e) {
                   if (!e.text.empty()) emit_text("content", e.text, out);
                 },
                 [&](const llm::ReasoningDelta& e) {
                   if (e.text.empty()) return;
                   reasoning_block_.append(e.text);
                   emit_text("reasoning_content", e.text, out);
                 },
                 [&](const llm::ReasoningSignature& e) {
                   if (e.signature.empty()) return;
                   emit(json::object{{"thinking_blocks", json::array{thinking_block(reasoning_block_, e)}}}, out);
                   reasoning_block_.clear();
                 },
                 [&](const llm::ToolCallDelta& e) {
                   if (e.index >= tools_seen_) {
                     tools_seen_ = e.index + 1;
                     json::object call{{"index", e.index},
                                       {"id", e.id},
                                       {"type", "function"},
                                       {"function", json::object{{"name", e.name}, {"arguments", e.arguments}}}};
                     if (!e.signature.empty()) call["extra_content"] = google_signature(e.signature);
                     emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
                   } else if (!e.arguments.empty()) {
                     json::object call{{"index", e.index}, {"function", json::object{{"arguments", e.arguments}}}};
                     emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
                   }
                 },
                 [&](const llm::UsageEvent& e) { usage_ = e.usage; },
                 [&](const llm::Finish& e) {
                   json::object delta;
                   if (!role_sent_) delta["content"] = nullptr;
                   emit(std::move(delta), out, llm::openai_finish_reason(e.reason));
                 },
                 [&](const llm::End&) {
                   if (options_.include_usage) {
                     ensure_id();
                     json::object chunk{
                         {"id", id_},        {"object", "chat.completion.chunk"}, {"created", created_},
                         {"model", model()}, {"choices", json::array{}},          {"usage", openai_usage(usage_)},
                     };
                     append_sse_data(out, json::serialize(chunk));
                   }
                   append_sse_done(out);
                   closed_ = true;
                 },
                 [&](const llm::Error& e) {
                   append_openai_error_event(out, e.error);
                   closed_ = true;
                   failed_ = true;
                 },
             },
             event);
}

void OpenAiChatStreamEncoder::emit(json::object delta, std::string& out, std::string_view finish) {
  ensure_id();
  if (!role_sent_) {
    json::object with_role{{"role", "assistant"}};
    for (auto& [k, v] : delta) with_role[k] = std::move(v);
    delta = std::move(with_role);
    role_sent_ = true;
  }
  json::object chunk{
      {"id", id_},
      {"object", "chat.completion.chunk"},
      {"created", created_},
      {"model", model()},
      {"choices",
       json::array{json::object{{"index", 0},
                                {"delta", std::move(delta)},
                                {"logprobs", nullptr},
                                {"finish_reason", finish.empty() ? json::value(nullptr) : json::value(finish)}}}},
  };
  if (options_.include_usage) chunk["usage"] = nullptr;
  append_sse_data(out, json::serialize(chunk));
}

// The chunk nearly every event becomes (one text delta after the first chunk), written directly:
// no document is built or serialized on the hot path.
void OpenAiChatStreamEncoder::emit_text(std::string_view field, std::string_view text, std::string& out) {
  if (!role_sent_) {
    emit(json::object{{field, text}}, out);
    return;
  }
  if (chunk_prefix_.empty()) {
    ensure_id();
    chunk_prefix_ = "data: {\"id\":";
    append_json_string(chunk_prefix_, id_);
    chunk_prefix_ += ",\"object\":\"chat.completion.chunk\",\"created\":" + std::to_string(created_) + ",\"model\":";
    append_json_string(chunk_prefix_, model());
    chunk_prefix_ += ",\"choices\":[{\"index\":0,\"delta\":{";
  }
  out += chunk_prefix_;
  append_json_string(out, field);
  out += ':';
  append_json_string(out, text);
  out += "},\"logprobs\":null,\"finish_reason\":null}]";
  if (options_.include_usage) out += ",\"usage\":null";
  out += "}\n\n";
}

// ---------------------------------------------------------------------------------------------
// Complete reply

OpenAiChatResponseEncoder::OpenAiChatResponseEncoder(EncoderOptions options)
    : options_(std::move(options)), created_(unix_now()) {}

OpenAiChatResponseEncoder::Choice& OpenAiChatResponseEncoder::choice(std::uint64_t index) {
  return choices_[index];
}

void OpenAiChatResponseEncoder::on_event(const llm::Event& event) {
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) {
                   id_ = e.id;
                   model_ = e.model;
                 },
                 [&](const llm::TextDelta& e) {
                   auto& c = choice(e.index);
                   c.text.append(e.text);
                   c.any_text = true;
                 },
                 [&](const llm::ReasoningDelta& e) { choice(e.index).reasoning.append(e.text); },
                 [&](const llm::ReasoningSignature& e) {
                   if (e.signature.empty()) return;
                   auto& c = choice(e.index);
                   c.thinking_blocks.push_back(thinking_block(
                       std::string_view(c.reasoning).substr(std::min(c.block_start, c.reasoning.size())), e));
                   c.block_start = c.reasoning.size();
                 },
                 [&](const llm::ToolCallDelta& e) {
                   auto& c = choice(e.choice);
                   if (c.calls.empty() || e.index >= c.calls.size())
                     c.calls.push_back(Call{std::string(e.id), std::string(e.name), {}, std::string(e.signature)});
                   c.calls.back().arguments.append(e.arguments);
                 },
                 [&](const llm::UsageEvent& e) { usage_ = e.usage; },
                 [&](const llm::Finish& e) { choice(e.choice).reason = e.reason; },
                 [&](const llm::End&) {},
                 [&](const llm::Error&) {},
             },
             event);
}

std::string OpenAiChatResponseEncoder::body() const {
  json::array choices;
  static const Choice kEmpty;
  std::map<std::uint64_t, Choice> all = choices_;
  if (all.empty()) all.emplace(0, kEmpty);
  for (const auto& [index, c] : all) {
    json::object message{{"role", "assistant"}};
    const bool null_content = c.text.empty() && (!c.calls.empty() || !c.any_text);
    message["content"] = null_content ? json::value(nullptr) : json::value(c.text);
    if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
    if (!c.thinking_blocks.empty()) message["thinking_blocks"] = c.thinking_blocks;
    message["refusal"] = nullptr;
    if (!c.calls.empty()) {
      json::array calls;
      for (const auto& call : c.calls) {
        json::object out_call{{"id", call.id},
                              {"type", "function"},
                              {"function", json::object{{"name", call.name}, {"arguments", call.arguments}}}};
        if (!call.signature.empty()) out_call["extra_content"] = google_signature(call.signature);
        calls.push_back(std::move(out_call));
      }
      message["tool_calls"] = std::move(calls);
    }
    choices.push_back(json::object{{"index", index},
                                   {"message", std::move(message)},
                                   {"logprobs", nullptr},
                                   {"finish_reason", llm::openai_finish_reason(c.reason)}});
  }
  json::object out{{"id", id_.empty() ? new_id("chatcmpl-") : id_},
                   {"object", "chat.completion"},
                   {"created", created_},
                   {"model", options_.model_named(model_)},
                   {"choices", std::move(choices)},
                   {"usage", openai_usage(usage_)}};
  return json::serialize(out);
}

}  // namespace sluice::translate
