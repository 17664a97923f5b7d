#include "translate/encode_openai_responses.hpp"

#include <boost/json.hpp>
#include <utility>

#include "translate/common.hpp"
#include "translate/reasoning_item.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// The echoed member, or the API's default for it.
json::value echoed(const ResponseEcho& echo, std::string_view key, json::value fallback) {
  const auto* value = echo.fields.if_contains(key);
  return value != nullptr && !value->is_null() ? *value : fallback;
}

bool incomplete(std::optional<llm::FinishReason> finish) {
  return finish == llm::FinishReason::Length || finish == llm::FinishReason::ContentFilter;
}

json::object message_item(std::string_view id, std::string_view status, std::string_view text) {
  json::array content;
  content.push_back(json::object{
      {"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", text}});
  return json::object{
      {"id", id}, {"type", "message"}, {"status", status}, {"role", "assistant"}, {"content", std::move(content)}};
}

// A reasoning item: its text as one summary part (none when empty), and the provider's
// signature sealed in encrypted_content when it gave one (translate/reasoning_item.hpp).
json::object reasoning_item(std::string_view id, std::string_view text, std::string_view sealed = {}) {
  json::array summary;
  if (!text.empty()) summary.push_back(json::object{{"type", "summary_text"}, {"text", text}});
  json::object item{{"id", id}, {"type", "reasoning"}, {"summary", std::move(summary)}};
  if (!sealed.empty()) item["encrypted_content"] = sealed;
  return item;
}

// The Anthropic-shaped block a ReasoningSignature closes, `text` being the reasoning it signs.
json::object signed_block(std::string_view text, const llm::ReasoningSignature& signature) {
  if (signature.redacted) return json::object{{"type", "redacted_thinking"}, {"data", signature.signature}};
  return json::object{{"type", "thinking"}, {"thinking", text}, {"signature", signature.signature}};
}

json::object function_call_item(std::string_view id, std::string_view status, std::string_view call_id,
                                std::string_view name, std::string_view arguments) {
  return json::object{{"id", id},           {"type", "function_call"},
                      {"status", status},   {"arguments", arguments},
                      {"call_id", call_id}, {"name", name}};
}

}  // namespace

json::object responses_usage_json(const llm::Usage& usage) {
  return json::object{
      {"input_tokens", usage.prompt_tokens},
      {"input_tokens_details", json::object{{"cached_tokens", usage.cached_tokens}}},
      {"output_tokens", usage.completion_tokens},
      {"output_tokens_details", json::object{{"reasoning_tokens", usage.reasoning_tokens}}},
      {"total_tokens", usage.total_tokens != 0 ? usage.total_tokens : usage.prompt_tokens + usage.completion_tokens}};
}

json::object responses_object(std::string_view id, std::int64_t created_at, std::string_view model,
                              std::string_view status, const ResponseEcho& echo, json::array output,
                              const llm::Usage* usage, std::optional<llm::FinishReason> finish,
                              json::storage_ptr storage) {
  json::value incomplete_details = nullptr;
  if (status == "incomplete")
    incomplete_details =
        json::object{{"reason", finish == llm::FinishReason::ContentFilter ? "content_filter" : "max_output_tokens"}};
  json::object reasoning({{"effort", nullptr}, {"summary", nullptr}}, storage);
  if (const auto* asked = echo.fields.if_contains("reasoning"); asked != nullptr && asked->is_object()) {
    if (const auto* effort = asked->get_object().if_contains("effort")) reasoning["effort"] = *effort;
    if (const auto* summary = asked->get_object().if_contains("summary")) reasoning["summary"] = *summary;
  }
  return json::object(
      {
          {"id", id},
          {"object", "response"},
          {"created_at", created_at},
          {"status", status},
          {"background", false},
          {"error", nullptr},
          {"incomplete_details", std::move(incomplete_details)},
          {"instructions", echoed(echo, "instructions", nullptr)},
          {"max_output_tokens", echoed(echo, "max_output_tokens", nullptr)},
          {"model", model},
          {"output", std::move(output)},
          {"parallel_tool_calls", echoed(echo, "parallel_tool_calls", true)},
          {"previous_response_id", echoed(echo, "previous_response_id", nullptr)},
          {"reasoning", std::move(reasoning)},
          {"store", echoed(echo, "store", false)},
          {"temperature", echoed(echo, "temperature", 1.0)},
          {"text", echoed(echo, "text", json::object{{"format", json::object{{"type", "text"}}}})},
          {"tool_choice", echoed(echo, "tool_choice", "auto")},
          {"tools", echoed(echo, "tools", json::array{})},
          {"top_p", echoed(echo, "top_p", 1.0)},
          {"truncation", "disabled"},
          {"usage", usage != nullptr ? json::value(responses_usage_json(*usage)) : json::value(nullptr)},
          {"user", echoed(echo, "user", nullptr)},
          {"metadata", echoed(echo, "metadata", json::object{})},
      },
      std::move(storage));
}

// ---------------------------------------------------------------------------------------------
// Stream

ResponsesStreamEncoder::ResponsesStreamEncoder(EncoderOptions options, ResponseEcho echo)
    : options_(std::move(options)), echo_(std::move(echo)), response_id_(new_id("resp_")), created_at_(unix_now()) {}

void ResponsesStreamEncoder::encode(const llm::Event& event, std::string& out) {
  if (closed()) return;
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) { start(e.model, out); },
                 [&](const llm::TextDelta& e) {
                   if (finish_ || e.text.empty() || e.index != 0) return;
                   on_text(e.text, Item::kMessage, out);
                 },
                 [&](const llm::ReasoningDelta& e) {
                   if (finish_ || e.text.empty() || e.index != 0) return;
                   on_text(e.text, Item::kReasoning, out);
                 },
                 [&](const llm::ReasoningSignature& e) {
                   if (e.index != 0 || e.signature.empty()) return;
                   on_signature(e, out);
                 },
                 [&](const llm::ToolCallDelta& e) {
                   if (finish_ || e.choice != 0) return;
                   start({}, out);
                   on_tool_call(e, out);
                 },
                 [&](const llm::UsageEvent& e) { usage_ = e.usage; },
                 [&](const llm::Finish& e) {
                   if (finish_ || e.choice != 0) return;
                   start({}, out);
                   finish_ = e.reason;
                   close_item(out);
                 },
                 [&](const llm::End&) { finish(out); },
                 [&](const llm::Error& e) {
                   start({}, out);
                   close_item(out);
                   auto response = this->response("failed");
                   response["error"] = json::object{{"code", e.error.code.empty() ? e.error.type : e.error.code},
                                                    {"message", e.error.message}};
                   emit("response.failed", json::object{{"response", std::move(response)}}, out);
                   failed_ = true;
                 },
             },
             event);
}

json::object ResponsesStreamEncoder::response(std::string_view status) const {
  const bool final = status == "completed" || status == "incomplete";
  return responses_object(response_id_, created_at_, model_, status, echo_, final ? output_ : json::array{},
                          final ? &usage_ : nullptr, finish_);
}

void ResponsesStreamEncoder::emit(std::string_view type, json::object data, std::string& out) {
  json::object event;
  event.reserve(data.size() + 2);
  event["type"] = type;
  event["sequence_number"] = sequence_++;
  for (auto& member : data) event.emplace(member.key(), std::move(member.value()));
  append_sse_json_event(out, type, event);
}

void ResponsesStreamEncoder::start(std::string_view model, std::string& out) {
  if (started_) return;
  started_ = true;
  model_ = options_.model_named(model);
  emit("response.created", json::object{{"response", response("in_progress")}}, out);
  emit("response.in_progress", json::object{{"response", response("in_progress")}}, out);
}

void ResponsesStreamEncoder::on_text(std::string_view text, Item kind, std::string& out) {
  start({}, out);
  if (open_ != kind) {
    close_item(out);
    open_item(kind, out);
  }
  item_text_.append(text);
  // The hot path: one delta per upstream event, written without a JSON document.
  const std::string_view type =
      kind == Item::kMessage ? "response.output_text.delta" : "response.reasoning_summary_text.delta";
  out.append("event: ").append(type).append("\ndata: {\"type\":\"").append(type);
  out.append("\",\"sequence_number\":").append(std::to_string(sequence_++));
  out.append(",\"item_id\":\"").append(item_id_).append("\",\"output_index\":");
  out.append(std::to_string(output_.size()));
  out.append(kind == Item::kMessage ? ",\"content_index\":0,\"delta\":" : ",\"summary_index\":0,\"delta\":");
  append_json_string(out, text);
  out.append(kind == Item::kMessage ? ",\"logprobs\":[]}\n\n" : "}\n\n");
}

void ResponsesStreamEncoder::on_signature(const llm::ReasoningSignature& signature, std::string& out) {
  start({}, out);
  if (open_ == Item::kReasoning && !signature.redacted) {
    sealed_ = seal_thinking_block(signed_block(item_text_, signature));
    close_item(out);
    return;
  }
  close_item(out);
  sealed_item(seal_thinking_block(signed_block({}, signature)), out);
}

void ResponsesStreamEncoder::sealed_item(std::string sealed, std::string& out) {
  const auto index = output_.size();
  auto item = reasoning_item(new_id("rs_"), {}, sealed);
  emit("response.output_item.added", json::object{{"output_index", index}, {"item", item}}, out);
  emit("response.output_item.done", json::object{{"output_index", index}, {"item", item}}, out);
  output_.push_back(std::move(item));
}

void ResponsesStreamEncoder::open_item(Item kind, std::string& out) {
  open_ = kind;
  item_text_.clear();
  const auto index = output_.size();
  json::object item;
  switch (kind) {
    case Item::kReasoning:
      item_id_ = new_id("rs_");
      item = json::object{{"id", item_id_}, {"type", "reasoning"}, {"summary", json::array{}}};
      break;
    case Item::kMessage:
      item_id_ = new_id("msg_");
      item = json::object{{"id", item_id_},
                          {"type", "message"},
                          {"status", "in_progress"},
                          {"role", "assistant"},
                          {"content", json::array{}}};
      break;
    case Item::kFunctionCall:
      item_id_ = new_id("fc_");
      item = function_call_item(item_id_, "in_progress", call_id_, call_name_, "");
      break;
    case Item::kNone:
      return;
  }
  emit("response.output_item.added", json::object{{"output_index", index}, {"item", std::move(item)}}, out);
  if (kind == Item::kMessage) {
    emit("response.content_part.added",
         json::object{
             {"item_id", item_id_},
             {"output_index", index},
             {"content_index", 0},
             {"part",
              json::object{
                  {"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", ""}}}},
         out);
  } else if (kind == Item::kReasoning) {
    emit("response.reasoning_summary_part.added",
         json::object{{"item_id", item_id_},
                      {"output_index", index},
                      {"summary_index", 0},
                      {"part", json::object{{"type", "summary_text"}, {"text", ""}}}},
         out);
  }
}

void ResponsesStreamEncoder::close_item(std::string& out) {
  if (open_ == Item::kNone) return;
  const auto index = output_.size();
  json::object item;
  switch (open_) {
    case Item::kReasoning:
      emit("response.reasoning_summary_text.done",
           json::object{{"item_id", item_id_}, {"output_index", index}, {"summary_index", 0}, {"text", item_text_}},
           out);
      emit("response.reasoning_summary_part.done",
           json::object{{"item_id", item_id_},
                        {"output_index", index},
                        {"summary_index", 0},
                        {"part", json::object{{"type", "summary_text"}, {"text", item_text_}}}},
           out);
      item = reasoning_item(item_id_, item_text_, sealed_);
      sealed_.clear();
      break;
    case Item::kMessage: {
      const std::string_view status = incomplete(finish_) ? "incomplete" : "completed";
      item = message_item(item_id_, status, item_text_);
      emit("response.output_text.done",
           json::object{{"item_id", item_id_},
                        {"output_index", index},
                        {"content_index", 0},
                        {"text", item_text_},
                        {"logprobs", json::array{}}},
           out);
      emit("response.content_part.done",
           json::object{{"item_id", item_id_},
                        {"output_index", index},
                        {"content_index", 0},
                        {"part", item["content"].as_array().front()}},
           out);
      break;
    }
    case Item::kFunctionCall:
      emit(
          "response.function_call_arguments.done",
          json::object{{"item_id", item_id_}, {"output_index", index}, {"name", call_name_}, {"arguments", item_text_}},
          out);
      item = function_call_item(item_id_, "completed", call_id_, call_name_, item_text_);
      break;
    case Item::kNone:
      return;
  }
  emit("response.output_item.done", json::object{{"output_index", index}, {"item", item}}, out);
  output_.push_back(std::move(item));
  open_ = Item::kNone;
  item_text_.clear();
}

void ResponsesStreamEncoder::on_tool_call(const llm::ToolCallDelta& call, std::string& out) {
  const bool is_open_call =
      open_ == Item::kFunctionCall && call.index == open_tool_index_ && (call.id.empty() || call.id == call_id_);
  if (!is_open_call) {
    if (seen_tool_indexes_ > 0 && call.index < seen_tool_indexes_ && call.id.empty()) return;  // closed already
    auto call_id = call.id.empty() ? new_id("call_") : std::string(call.id);
    if (!call.signature.empty()) {
      // The thought signature travels in a reasoning item just before the call: the open one
      // (the thoughts that led to it), else one of its own.
      auto sealed = seal_thought_signature(call_id, call.signature);
      if (open_ == Item::kReasoning) {
        sealed_ = std::move(sealed);
        close_item(out);
      } else {
        close_item(out);
        sealed_item(std::move(sealed), out);
      }
    }
    close_item(out);
    open_tool_index_ = call.index;
    seen_tool_indexes_ = std::max(seen_tool_indexes_, call.index + 1);
    call_id_ = std::move(call_id);
    call_name_ = call.name;
    open_item(Item::kFunctionCall, out);
  }
  if (call.arguments.empty()) return;
  item_text_.append(call.arguments);
  out.append(
      "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\"");
  out.append(",\"sequence_number\":").append(std::to_string(sequence_++));
  out.append(",\"item_id\":\"").append(item_id_).append("\",\"output_index\":");
  out.append(std::to_string(output_.size())).append(",\"delta\":");
  append_json_string(out, call.arguments);
  out.append("}\n\n");
}

void ResponsesStreamEncoder::finish(std::string& out) {
  if (done_) return;
  start({}, out);
  close_item(out);
  const bool cut = incomplete(finish_);
  emit(cut ? "response.incomplete" : "response.completed",
       json::object{{"response", response(cut ? "incomplete" : "completed")}}, out);
  done_ = true;
}

// ---------------------------------------------------------------------------------------------
// Complete reply

void ResponsesResponseEncoder::on_event(const llm::Event& event) {
  std::visit(
      Overloaded{
          [&](const llm::MessageStart& e) { model_ = e.model; },
          [&](const llm::TextDelta& e) {
            if (e.index == 0) text_.append(e.text);
          },
          [&](const llm::ReasoningDelta& e) {
            if (e.index != 0 || e.text.empty()) return;
            if (reasoning_.empty() || !reasoning_.back().sealed.empty()) reasoning_.emplace_back();
            reasoning_.back().text.append(e.text);
          },
          [&](const llm::ReasoningSignature& e) {
            if (e.index != 0 || e.signature.empty()) return;
            const bool open = !reasoning_.empty() && reasoning_.back().sealed.empty();
            if (e.redacted || !open) reasoning_.emplace_back();
            reasoning_.back().sealed = seal_thinking_block(signed_block(reasoning_.back().text, e));
          },
          [&](const llm::ToolCallDelta& e) {
            if (e.choice != 0) return;
            if (calls_.empty() || e.index >= calls_.size()) {
              calls_.push_back(Call{e.id.empty() ? new_id("call_") : std::string(e.id), std::string(e.name), {}});
              if (!e.signature.empty()) {
                if (reasoning_.empty() || !reasoning_.back().sealed.empty()) reasoning_.emplace_back();
                reasoning_.back().sealed = seal_thought_signature(calls_.back().id, e.signature);
              }
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

std::string ResponsesResponseEncoder::body() const {
  const bool cut = incomplete(reason_);
  // The response object lives only to be serialized: its nodes come from one arena.
  unsigned char arena[8192];
  json::monotonic_resource resource(arena, sizeof arena);
  json::array output(&resource);
  for (const auto& reasoning : reasoning_)
    output.push_back(reasoning_item(new_id("rs_"), reasoning.text, reasoning.sealed));
  if (!text_.empty()) output.push_back(message_item(new_id("msg_"), cut ? "incomplete" : "completed", text_));
  for (const auto& call : calls_)
    output.push_back(function_call_item(new_id("fc_"), "completed", call.id, call.name,
                                        call.arguments.empty() ? "{}" : call.arguments));
  return json::serialize(responses_object(new_id("resp_"), unix_now(), options_.model_named(model_),
                                          cut ? "incomplete" : "completed", echo_, std::move(output), &usage_, reason_,
                                          &resource));
}

}  // namespace sluice::translate
