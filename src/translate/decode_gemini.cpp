#include "translate/decode_gemini.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

const json::value* present(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

llm::Usage usage_from(const json::object& meta) {
  llm::Usage u;
  u.known = true;
  u.prompt_tokens =
      json_count(meta.if_contains("promptTokenCount")) + json_count(meta.if_contains("toolUsePromptTokenCount"));
  const auto thoughts = json_count(meta.if_contains("thoughtsTokenCount"));
  u.completion_tokens = json_count(meta.if_contains("candidatesTokenCount")) + thoughts;
  u.reasoning_tokens = thoughts;
  u.cached_tokens = json_count(meta.if_contains("cachedContentTokenCount"));
  u.total_tokens = std::max(json_count(meta.if_contains("totalTokenCount")), u.prompt_tokens + u.completion_tokens);
  return u;
}

llm::FinishReason finish_from(std::string_view reason, bool had_function_call) {
  if (reason == "STOP") return had_function_call ? llm::FinishReason::ToolCalls : llm::FinishReason::Stop;
  if (reason == "MAX_TOKENS") return llm::FinishReason::Length;
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" || reason == "PROHIBITED_CONTENT" ||
      reason == "SPII" || reason == "LANGUAGE" || reason.starts_with("IMAGE_"))
    return llm::FinishReason::ContentFilter;
  return llm::FinishReason::Other;
}

bool is_thought(const json::object& part) {
  const auto* thought = part.if_contains("thought");
  return thought != nullptr && thought->is_bool() && thought->get_bool();
}

// One functionCall part as a whole tool call (id minted when Gemini gave none).
// `part` holds the functionCall `call`; its thoughtSignature (camelCase or snake_case) rides on
// the call.
void emit_call(const json::object& part, const json::object& call, std::uint64_t index, std::uint64_t choice,
               llm::EventSink& sink) {
  const auto given = string_or(call, "id");
  const std::string id = given.empty() ? new_id("call_") : std::string(given);
  const auto* args = call.if_contains("args");
  const std::string arguments = args != nullptr && args->is_object() ? json::serialize(*args) : std::string("{}");
  auto signature = string_or(part, "thoughtSignature");
  if (signature.empty()) signature = string_or(part, "thought_signature");
  sink.on_event(llm::ToolCallDelta{index, id, string_or(call, "name"), arguments, choice, signature});
}

std::string_view google_status_code(std::string_view status) {
  static constexpr std::string_view kStatuses[] = {
      "INVALID_ARGUMENT",   "FAILED_PRECONDITION", "OUT_OF_RANGE",      "UNAUTHENTICATED",
      "PERMISSION_DENIED",  "NOT_FOUND",           "ABORTED",           "ALREADY_EXISTS",
      "RESOURCE_EXHAUSTED", "CANCELLED",           "DATA_LOSS",         "UNKNOWN",
      "INTERNAL",           "UNAVAILABLE",         "DEADLINE_EXCEEDED", "UNIMPLEMENTED"};
  for (const auto s : kStatuses)
    if (s == status) return s;
  return "upstream_error";
}

}  // namespace

void GeminiStreamDecoder::fail(http::ApiError error, llm::EventSink& sink) {
  closed_ = true;
  failed_ = true;
  sink.on_event(llm::Error{std::move(error)});
}

bool GeminiStreamDecoder::feed(std::string_view bytes, llm::EventSink& sink) {
  if (closed_) return !failed_;
  const bool parsed = parser_.feed(bytes, [&](const SseEvent& event) {
    if (closed_ || event.data.empty() || event.data == "[DONE]") return;
    boost::system::error_code ec;
    auto value = json::parse(event.data, ec);
    if (ec || !value.is_object()) return fail(bad_upstream("Gemini stream event is not a JSON object"), sink);
    on_response(value.get_object(), sink);
  });
  if (!parsed && !closed_)
    fail(bad_upstream(std::string("Gemini stream is malformed: ") + std::string(parser_.error())), sink);
  return !failed_;
}

void GeminiStreamDecoder::end(llm::EventSink& sink) {
  if (closed_) return;
  // An event missing only its closing blank line is still delivered.
  if (!feed("\n\n", sink)) return;
  closed_ = true;
  if (!finished_) {
    failed_ = true;
    sink.on_event(llm::Error{http::ApiError{502, "server_error", "upstream_stream_truncated",
                                            "the Gemini stream ended early, before a finish reason", std::nullopt}});
    return;
  }
  sink.on_event(llm::End{});
}

void GeminiStreamDecoder::on_response(const json::object& event, llm::EventSink& sink) {
  if (const auto* err = event.if_contains("error"); err != nullptr && err->is_object()) {
    const auto status = json_count(err->get_object().if_contains("code"));
    return fail(gemini_error_to_api_error(status >= 400 && status < 600 ? static_cast<unsigned>(status) : 500,
                                          json::serialize(event)),
                sink);
  }
  if (!started_) {
    started_ = true;
    sink.on_event(llm::MessageStart{string_or(event, "responseId"), string_or(event, "modelVersion"), false});
  }
  if (const auto* meta = event.if_contains("usageMetadata"); meta != nullptr && meta->is_object())
    sink.on_event(llm::UsageEvent{usage_from(meta->get_object())});

  const auto* candidates = present(event, "candidates");
  if (candidates == nullptr || !candidates->is_array() || candidates->get_array().empty()) {
    const auto* feedback = event.if_contains("promptFeedback");
    if (!finished_ && feedback != nullptr && feedback->is_object()) {
      if (const auto reason = string_or(feedback->get_object(), "blockReason"); !reason.empty()) {
        finished_ = true;
        sink.on_event(llm::Finish{llm::FinishReason::ContentFilter, reason, 0});
      }
    }
    return;
  }
  const auto& first = candidates->get_array().front();
  if (!first.is_object()) return;
  const auto& cand = first.get_object();
  if (const auto* content = cand.if_contains("content"); content != nullptr && content->is_object()) {
    if (const auto* parts = content->get_object().if_contains("parts"); parts != nullptr && parts->is_array()) {
      for (const auto& p : parts->get_array()) {
        if (!p.is_object()) continue;
        const auto& part = p.get_object();
        if (const auto* fc = part.if_contains("functionCall"); fc != nullptr && fc->is_object()) {
          saw_function_call_ = true;
          emit_call(part, fc->get_object(), tool_index_++, 0, sink);
        } else if (const auto* t = part.if_contains("text"); t != nullptr && t->is_string()) {
          if (t->get_string().empty()) continue;
          if (is_thought(part)) {
            sink.on_event(llm::ReasoningDelta{0, t->get_string()});
          } else {
            sink.on_event(llm::TextDelta{0, t->get_string()});
          }
        }
      }
    }
  }
  const auto reason = string_or(cand, "finishReason");
  if (!reason.empty() && !finished_) {
    finished_ = true;
    sink.on_event(llm::Finish{finish_from(reason, saw_function_call_), reason, 0});
  }
}

std::optional<http::ApiError> decode_gemini_response(std::string_view upstream_body, llm::EventSink& sink) {
  boost::system::error_code ec;
  auto parsed = json::parse(upstream_body, ec);
  if (ec || !parsed.is_object()) return bad_upstream("Gemini returned a response that is not a JSON object");
  const auto& resp = parsed.get_object();
  if (const auto* err = resp.if_contains("error"); err != nullptr && err->is_object()) {
    const auto code = json_count(err->get_object().if_contains("code"));
    return gemini_error_to_api_error(code >= 400 && code < 600 ? static_cast<unsigned>(code) : 502, upstream_body);
  }
  const auto* candidates = present(resp, "candidates");
  if (candidates != nullptr && !candidates->is_array()) return bad_upstream("Gemini candidates is not an array");
  const bool none = candidates == nullptr || candidates->get_array().empty();
  std::string_view block_reason;
  if (none) {
    const auto* feedback = resp.if_contains("promptFeedback");
    if (feedback != nullptr && feedback->is_object()) block_reason = string_or(feedback->get_object(), "blockReason");
    if (block_reason.empty()) return bad_upstream("Gemini returned no candidates");
  } else {
    for (const auto& c : candidates->get_array())
      if (!c.is_object()) return bad_upstream("Gemini candidate is not an object");
  }

  sink.on_event(llm::MessageStart{string_or(resp, "responseId"), string_or(resp, "modelVersion"), false});
  if (const auto* meta = resp.if_contains("usageMetadata"); meta != nullptr && meta->is_object())
    sink.on_event(llm::UsageEvent{usage_from(meta->get_object())});
  if (none) {
    sink.on_event(llm::Finish{llm::FinishReason::ContentFilter, block_reason, 0});
    sink.on_event(llm::End{});
    return std::nullopt;
  }
  const auto& list = candidates->get_array();
  for (std::size_t c = 0; c < list.size(); ++c) {
    const auto& cand = list[c].get_object();
    std::uint64_t calls = 0;
    if (const auto* content = cand.if_contains("content"); content != nullptr && content->is_object()) {
      if (const auto* parts = content->get_object().if_contains("parts"); parts != nullptr && parts->is_array()) {
        for (const auto& p : parts->get_array()) {
          if (!p.is_object()) continue;
          const auto& part = p.get_object();
          if (const auto* fc = part.if_contains("functionCall"); fc != nullptr && fc->is_object()) {
            emit_call(part, fc->get_object(), calls++, c, sink);
          } else if (const auto* t = part.if_contains("text"); t != nullptr && t->is_string()) {
            if (is_thought(part)) {
              sink.on_event(llm::ReasoningDelta{c, t->get_string()});
            } else {
              sink.on_event(llm::TextDelta{c, t->get_string()});
            }
          }
        }
      }
    }
    const auto reason = string_or(cand, "finishReason", "STOP");
    sink.on_event(llm::Finish{finish_from(reason, calls > 0), reason, c});
  }
  sink.on_event(llm::End{});
  return std::nullopt;
}

http::ApiError gemini_error_to_api_error(unsigned status, std::string_view upstream_body) {
  boost::system::error_code ec;
  auto parsed = json::parse(upstream_body, ec);
  // Some Google endpoints wrap the error in a one-element array.
  if (!ec && parsed.is_array() && !parsed.get_array().empty()) parsed = parsed.get_array().front();
  const json::object* error = nullptr;
  if (!ec && parsed.is_object()) {
    if (const auto* e = parsed.get_object().if_contains("error"); e != nullptr && e->is_object())
      error = &e->get_object();
  }
  if (error == nullptr) {
    std::string message = "backend returned HTTP " + std::to_string(status);
    if (!upstream_body.empty()) message.append(": ").append(upstream_body.substr(0, 200));
    return http::ApiError{status, openai_error_type(status), "upstream_error", std::move(message), std::nullopt};
  }
  std::string message(string_or(*error, "message"));
  if (message.empty()) message = "backend returned HTTP " + std::to_string(status);
  const auto google_status = string_or(*error, "status");
  bool key_invalid = message.find("API key not valid") != std::string::npos;
  if (const auto* details = error->if_contains("details"); details != nullptr && details->is_array()) {
    for (const auto& d : details->get_array())
      if (d.is_object() && string_or(d.get_object(), "reason") == "API_KEY_INVALID") key_invalid = true;
  }
  unsigned mapped = status;
  std::string_view code = google_status_code(google_status);
  if (key_invalid && (status == 400 || status == 401 || status == 403)) {
    mapped = 401;
    code = "invalid_api_key";
  } else if (google_status == "RESOURCE_EXHAUSTED") {
    mapped = 429;
  }
  return http::ApiError{mapped, openai_error_type(mapped), code, std::move(message), std::nullopt};
}

}  // namespace sluice::translate
