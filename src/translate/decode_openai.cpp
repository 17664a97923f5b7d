#include "translate/decode_openai.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

std::uint64_t count_at(const json::object& object, std::string_view key) {
  return json_count(object.if_contains(key));
}

const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

// A tool call's Gemini thought signature as Google's OpenAI-compatible endpoint carries it:
// extra_content.google.thought_signature; empty when absent.
std::string_view call_signature(const json::object& call) {
  const auto* extra = object_or_null(call.if_contains("extra_content"));
  const auto* google = extra != nullptr ? object_or_null(extra->if_contains("google")) : nullptr;
  return google != nullptr ? string_or(*google, "thought_signature") : std::string_view{};
}

// The signatures of a delta's or message's thinking_blocks (LiteLLM's form, which Sluice's own
// OpenAI encoder writes): a signed thinking block -> ReasoningSignature (its text came as
// reasoning_content), a redacted one -> a redacted ReasoningSignature. With `with_text`, each
// signed block's text is emitted first (complete replies); returns the bytes of text emitted.
std::size_t decode_thinking_blocks(const json::object& holder, bool with_text, llm::EventSink& sink) {
  const auto* blocks = array_or_null(holder.if_contains("thinking_blocks"));
  if (blocks == nullptr) return 0;
  std::size_t text_bytes = 0;
  for (const auto& b : *blocks) {
    const auto* block = object_or_null(&b);
    if (block == nullptr) continue;
    const auto type = string_or(*block, "type");
    if (type == "thinking") {
      const auto signature = string_or(*block, "signature");
      if (signature.empty()) continue;
      if (with_text) {
        const auto text = string_or(*block, "thinking");
        if (!text.empty()) sink.on_event(llm::ReasoningDelta{0, text});
        text_bytes += text.size();
      }
      sink.on_event(llm::ReasoningSignature{0, signature, false});
    } else if (type == "redacted_thinking") {
      if (const auto data = string_or(*block, "data"); !data.empty())
        sink.on_event(llm::ReasoningSignature{0, data, true});
    }
  }
  return text_bytes;
}

// The events of one chunk's choice 0 delta.
void decode_delta(const json::object& delta, llm::EventSink& sink) {
  if (const auto* text = string_at(delta, "content"); text != nullptr && !text->empty())
    sink.on_event(llm::TextDelta{0, *text});
  if (const auto* text = string_at(delta, "reasoning_content"); text != nullptr && !text->empty())
    sink.on_event(llm::ReasoningDelta{0, *text});
  decode_thinking_blocks(delta, false, sink);
  const auto* calls = delta.if_contains("tool_calls");
  if (calls == nullptr || !calls->is_array()) return;
  const auto& list = calls->get_array();
  for (std::size_t k = 0; k < list.size(); ++k) {
    if (!list[k].is_object()) continue;
    const auto& call = list[k].get_object();
    llm::ToolCallDelta event;
    event.index = call.contains("index") ? count_at(call, "index") : k;
    event.id = string_or(call, "id");
    if (const auto* f = call.if_contains("function"); f != nullptr && f->is_object()) {
      event.name = string_or(f->get_object(), "name");
      event.arguments = string_or(f->get_object(), "arguments");
    }
    event.signature = call_signature(call);
    sink.on_event(event);
  }
}

}  // namespace

llm::FinishReason openai_finish_from(std::string_view reason) {
  if (reason == "stop") return llm::FinishReason::Stop;
  if (reason == "length") return llm::FinishReason::Length;
  if (reason == "tool_calls" || reason == "function_call") return llm::FinishReason::ToolCalls;
  if (reason == "content_filter") return llm::FinishReason::ContentFilter;
  return llm::FinishReason::Other;
}

llm::Usage openai_usage_from(const json::object& object) {
  llm::Usage usage;
  usage.prompt_tokens = count_at(object, "prompt_tokens");
  usage.completion_tokens = count_at(object, "completion_tokens");
  usage.total_tokens = std::max(count_at(object, "total_tokens"), usage.prompt_tokens + usage.completion_tokens);
  if (const auto* details = object.if_contains("prompt_tokens_details"); details != nullptr && details->is_object()) {
    usage.cached_tokens = count_at(details->get_object(), "cached_tokens");
    usage.cache_creation_tokens = count_at(details->get_object(), "cache_write_tokens");
  }
  if (const auto* details = object.if_contains("completion_tokens_details"); details != nullptr && details->is_object())
    usage.reasoning_tokens = count_at(details->get_object(), "reasoning_tokens");
  usage.known = true;
  return usage;
}

http::ApiError openai_stream_error(const json::value& error_value) {
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
  // An OpenAI-form translator's error event keeps the provider's error kind in `code`: it is
  // more precise than the OpenAI type (server_error covers 500, 503 and 529 alike).
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

void OpenAiStreamDecoder::fail(http::ApiError error, llm::EventSink& sink) {
  closed_ = true;
  failed_ = true;
  sink.on_event(llm::Error{std::move(error)});
}

bool OpenAiStreamDecoder::feed(std::string_view bytes, llm::EventSink& sink) {
  if (closed_) return !failed_;
  parser_.feed(bytes, [&](const SseEvent& event) {
    if (!closed_) on_event(event, sink);
  });
  if (parser_.failed() && !closed_)
    fail(bad_upstream("malformed upstream stream: " + std::string(parser_.error())), sink);
  return !failed_;
}

void OpenAiStreamDecoder::end(llm::EventSink& sink) {
  if (closed_) return;
  parser_.finish();
  closed_ = true;
  if (finished_) {
    sink.on_event(llm::End{});
  } else {
    fail(bad_upstream("stream ended early"), sink);
  }
}

void OpenAiStreamDecoder::on_event(const SseEvent& event, llm::EventSink& sink) {
  if (event.data.empty()) return;
  if (event.data == "[DONE]") {
    closed_ = true;
    sink.on_event(llm::End{});
    return;
  }
  boost::system::error_code ec;
  // The chunk's document lives on the stack unless it is large: nothing of it outlives the call.
  unsigned char arena[4096];
  json::monotonic_resource resource(arena, sizeof arena);
  const auto value = json::parse(event.data, ec, &resource);
  if (ec || !value.is_object()) return fail(bad_upstream("malformed upstream stream event"), sink);
  const auto& chunk = value.get_object();
  if (const auto* error = chunk.if_contains("error"); error != nullptr && !error->is_null())
    return fail(openai_stream_error(*error), sink);
  if (event.event == "error") return fail(openai_stream_error(value), sink);
  if (!started_) {
    started_ = true;
    sink.on_event(llm::MessageStart{string_or(chunk, "id"), string_or(chunk, "model")});
  }
  if (const auto* choices = chunk.if_contains("choices"); choices != nullptr && choices->is_array()) {
    for (const auto& choice_value : choices->get_array()) {
      if (!choice_value.is_object()) continue;
      const auto& choice = choice_value.get_object();
      if (count_at(choice, "index") != 0) continue;  // a single-choice conversation
      if (const auto* delta = choice.if_contains("delta"); delta != nullptr && delta->is_object())
        decode_delta(delta->get_object(), sink);
      if (const auto* reason = string_at(choice, "finish_reason")) {
        finished_ = true;
        sink.on_event(llm::Finish{openai_finish_from(*reason), *reason});
      }
    }
  }
  if (const auto* usage = chunk.if_contains("usage"); usage != nullptr && usage->is_object())
    sink.on_event(llm::UsageEvent{openai_usage_from(usage->get_object())});
}

std::optional<http::ApiError> decode_openai_response(std::string_view text, llm::EventSink& sink) {
  boost::system::error_code ec;
  const auto value = json::parse(text, ec);
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

  sink.on_event(llm::MessageStart{string_or(body, "id"), string_or(body, "model")});
  std::string content;
  if (const auto* text_value = message.if_contains("content"); text_value != nullptr)
    content = content_text(*text_value);
  if (content.empty()) content = string_or(message, "refusal");
  if (!content.empty()) sink.on_event(llm::TextDelta{0, content});
  // Signed blocks first (their text and signature), then the reasoning they do not cover.
  const auto signed_bytes = decode_thinking_blocks(message, true, sink);
  if (const auto reasoning = string_or(message, "reasoning_content"); reasoning.size() > signed_bytes)
    sink.on_event(llm::ReasoningDelta{0, reasoning.substr(signed_bytes)});
  if (const auto* calls = message.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
    std::uint64_t index = 0;
    for (const auto& call_value : calls->get_array()) {
      if (!call_value.is_object()) continue;
      const auto& call = call_value.get_object();
      const auto* function = call.if_contains("function");
      if (function == nullptr || !function->is_object()) continue;
      sink.on_event(llm::ToolCallDelta{index++, string_or(call, "id"), string_or(function->get_object(), "name"),
                                       string_or(function->get_object(), "arguments"), 0, call_signature(call)});
    }
  }
  const auto reason = string_or(choice, "finish_reason");
  sink.on_event(llm::Finish{openai_finish_from(reason), reason});
  if (const auto* usage = body.if_contains("usage"); usage != nullptr && usage->is_object())
    sink.on_event(llm::UsageEvent{openai_usage_from(usage->get_object())});
  sink.on_event(llm::End{});
  return std::nullopt;
}

}  // namespace sluice::translate
