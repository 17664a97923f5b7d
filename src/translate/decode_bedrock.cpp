#include "translate/decode_bedrock.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <vector>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// Bedrock usage -> canonical usage: prompt includes cache reads and writes.
llm::Usage parse_usage(const json::object& u) {
  llm::Usage usage;
  const auto input = json_count(u.if_contains("inputTokens"));
  usage.cached_tokens = json_count(u.if_contains("cacheReadInputTokens"));
  usage.cache_creation_tokens = json_count(u.if_contains("cacheWriteInputTokens"));
  usage.prompt_tokens = input + usage.cached_tokens + usage.cache_creation_tokens;
  usage.completion_tokens = json_count(u.if_contains("outputTokens"));
  usage.total_tokens =
      std::max(usage.prompt_tokens + usage.completion_tokens, json_count(u.if_contains("totalTokens")));
  usage.known = true;
  return usage;
}

llm::FinishReason finish_from(std::string_view stop_reason, bool any_tool_call) {
  if (stop_reason == "max_tokens") return llm::FinishReason::Length;
  if (stop_reason == "tool_use") return any_tool_call ? llm::FinishReason::ToolCalls : llm::FinishReason::Stop;
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered")
    return llm::FinishReason::ContentFilter;
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return llm::FinishReason::Stop;
  return llm::FinishReason::Other;
}

// Case-insensitive equality for ASCII.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

void BedrockStreamDecoder::fail(http::ApiError error, llm::EventSink& sink) {
  closed_ = true;
  failed_ = true;
  sink.on_event(llm::Error{std::move(error)});
}

bool BedrockStreamDecoder::feed(std::string_view bytes, llm::EventSink& sink) {
  if (closed_) return !failed_;
  const bool ok = decoder_.feed(bytes, [&](const EventStreamMessage& m) {
    if (!closed_) on_message(m, sink);
  });
  if (closed_) return !failed_;
  if (!ok) fail(bad_upstream("malformed Bedrock event stream: " + std::string(decoder_.error())), sink);
  return !failed_;
}

void BedrockStreamDecoder::end(llm::EventSink& sink) {
  if (closed_) return;
  const auto end = decoder_.finish();
  if (end == EventStreamDecoder::End::kPartialMessage) {
    fail(bad_upstream("Bedrock stream ended early, in the middle of an event-stream message"), sink);
  } else if (end == EventStreamDecoder::End::kError) {
    fail(bad_upstream("malformed Bedrock event stream"), sink);
  } else if (!saw_stop_) {
    fail(bad_upstream("Bedrock stream ended early, before messageStop"), sink);
  } else {
    closed_ = true;
    sink.on_event(llm::End{});
  }
}

void BedrockStreamDecoder::on_message(const EventStreamMessage& m, llm::EventSink& sink) {
  const auto message_type = m.string_header(":message-type");
  if (message_type == "exception" || message_type == "error") {
    auto type = m.string_header(":exception-type");
    if (type.empty()) type = m.string_header(":error-code");
    http::ApiError error;
    error.code = "upstream_error";
    error.status = bedrock_detail::exception_status(type, error.code).value_or(502);
    if (type == "internalServerException" || type == "InternalServerException") error.status = 500;
    error.type = openai_error_type(error.status);
    boost::system::error_code ec;
    const auto payload = json::parse(m.payload, ec);
    std::string_view text;
    if (const auto* obj = ec ? nullptr : object_or_null(&payload)) {
      text = string_or_empty(obj->if_contains("message"));
      if (text.empty()) text = string_or_empty(obj->if_contains("Message"));
    }
    if (text.empty()) text = m.string_header(":error-message");
    error.message = text.empty() ? "Bedrock stream error " + std::string(type) : std::string(text);
    return fail(std::move(error), sink);
  }
  if (message_type != "event") return;
  const auto event = m.string_header(":event-type");
  boost::system::error_code ec;
  const auto payload = json::parse(m.payload, ec);
  const auto* obj = ec ? nullptr : object_or_null(&payload);
  if (obj == nullptr)
    return fail(bad_upstream("Bedrock stream event '" + std::string(event) + "' is not a JSON object"), sink);
  const auto block_index = json_count(obj->if_contains("contentBlockIndex"));
  if (event == "messageStart") {
    if (!started_) {
      started_ = true;
      sink.on_event(llm::MessageStart{{}, {}, true});
    }
  } else if (event == "contentBlockStart") {
    const auto* start = object_or_null(obj->if_contains("start"));
    const auto* tool = start == nullptr ? nullptr : object_or_null(start->if_contains("toolUse"));
    if (tool == nullptr) return;
    const auto name = string_or_empty(tool->if_contains("name"));
    if (!json_tool_.empty() && name == json_tool_) {
      json_blocks_.insert(block_index);
      return;
    }
    const auto tool_index = tool_count_++;
    tool_index_by_block_[block_index] = tool_index;
    sink.on_event(llm::ToolCallDelta{tool_index, string_or_empty(tool->if_contains("toolUseId")), name, {}, 0, {}});
  } else if (event == "contentBlockDelta") {
    const auto* delta = object_or_null(obj->if_contains("delta"));
    if (delta == nullptr) return;
    if (const auto* t = delta->if_contains("text"); t != nullptr && t->is_string()) {
      if (!t->get_string().empty()) sink.on_event(llm::TextDelta{0, t->get_string()});
    } else if (const auto* tool = object_or_null(delta->if_contains("toolUse"))) {
      const auto input = string_or_empty(tool->if_contains("input"));
      if (input.empty()) return;
      if (json_blocks_.count(block_index) != 0) {
        sink.on_event(llm::TextDelta{0, input});
      } else if (const auto it = tool_index_by_block_.find(block_index); it != tool_index_by_block_.end()) {
        sink.on_event(llm::ToolCallDelta{it->second, {}, {}, input, 0, {}});
      }
    } else if (const auto* rc = object_or_null(delta->if_contains("reasoningContent"))) {
      if (const auto text = string_or_empty(rc->if_contains("text")); !text.empty())
        sink.on_event(llm::ReasoningDelta{0, text});
      if (const auto signature = string_or_empty(rc->if_contains("signature")); !signature.empty())
        sink.on_event(llm::ReasoningSignature{0, signature, false});
      if (const auto redacted = string_or_empty(rc->if_contains("redactedContent")); !redacted.empty())
        sink.on_event(llm::ReasoningSignature{0, redacted, true});
    }
  } else if (event == "messageStop") {
    const auto reason = string_or_empty(obj->if_contains("stopReason"));
    saw_stop_ = true;
    sink.on_event(llm::Finish{finish_from(reason, tool_count_ > 0), reason, 0});
  } else if (event == "metadata") {
    if (const auto* u = object_or_null(obj->if_contains("usage"))) sink.on_event(llm::UsageEvent{parse_usage(*u)});
  }
  // contentBlockStop and unknown events produce nothing.
}

std::optional<http::ApiError> decode_bedrock_response(std::string_view body, std::string_view json_tool,
                                                      llm::EventSink& sink) {
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  const auto* root = ec ? nullptr : object_or_null(&parsed);
  const auto* output = root == nullptr ? nullptr : object_or_null(root->if_contains("output"));
  const auto* message = output == nullptr ? nullptr : object_or_null(output->if_contains("message"));
  const auto* content = message == nullptr ? nullptr : array_or_null(message->if_contains("content"));
  if (content == nullptr) return bad_upstream("Bedrock returned a response without output.message.content");

  sink.on_event(llm::MessageStart{{}, {}, false});
  std::string text;
  struct Call {
    std::string_view id;
    std::string_view name;
    std::string arguments;
  };
  std::vector<Call> calls;
  for (const auto& block_value : *content) {
    const auto* block = object_or_null(&block_value);
    if (block == nullptr) continue;
    if (const auto* t = block->if_contains("text"); t != nullptr && t->is_string()) {
      text.append(t->get_string());
    } else if (const auto* tool = object_or_null(block->if_contains("toolUse"))) {
      const auto name = string_or_empty(tool->if_contains("name"));
      const auto* input = tool->if_contains("input");
      std::string arguments = input == nullptr ? std::string("{}") : json::serialize(*input);
      if (!json_tool.empty() && name == json_tool) {
        text.append(arguments);
        continue;
      }
      calls.push_back(Call{string_or_empty(tool->if_contains("toolUseId")), name, std::move(arguments)});
    } else if (const auto* rc = object_or_null(block->if_contains("reasoningContent"))) {
      // Each reasoning block: its text, then its signature (which closes it).
      if (const auto* rt = object_or_null(rc->if_contains("reasoningText"))) {
        if (const auto reasoning = string_or_empty(rt->if_contains("text")); !reasoning.empty())
          sink.on_event(llm::ReasoningDelta{0, reasoning});
        if (const auto signature = string_or_empty(rt->if_contains("signature")); !signature.empty())
          sink.on_event(llm::ReasoningSignature{0, signature, false});
      }
      if (const auto redacted = string_or_empty(rc->if_contains("redactedContent")); !redacted.empty())
        sink.on_event(llm::ReasoningSignature{0, redacted, true});
    }
  }
  sink.on_event(llm::TextDelta{0, text});
  for (std::size_t k = 0; k < calls.size(); ++k)
    sink.on_event(llm::ToolCallDelta{k, calls[k].id, calls[k].name, calls[k].arguments, 0, {}});
  const auto stop_reason = string_or_empty(root->if_contains("stopReason"));
  sink.on_event(llm::Finish{finish_from(stop_reason, !calls.empty()), stop_reason, 0});
  if (const auto* u = object_or_null(root->if_contains("usage"))) sink.on_event(llm::UsageEvent{parse_usage(*u)});
  sink.on_event(llm::End{});
  return std::nullopt;
}

namespace bedrock_detail {

std::optional<unsigned> exception_status(std::string_view type, std::string_view& code) {
  if (const auto colon = type.find(':'); colon != std::string_view::npos) type = type.substr(0, colon);
  if (const auto hash = type.rfind('#'); hash != std::string_view::npos) type = type.substr(hash + 1);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  struct Entry {
    std::string_view name;
    unsigned status;
  };
  static constexpr Entry kMap[] = {
      {"ThrottlingException", 429},         {"ValidationException", 400},       {"AccessDeniedException", 403},
      {"ResourceNotFoundException", 404},   {"ModelTimeoutException", 504},     {"ServiceUnavailableException", 503},
      {"UnrecognizedClientException", 401}, {"InvalidSignatureException", 401},
  };
  for (const auto& entry : kMap) {
    if (iequals(entry.name, type)) {
      code = entry.name;
      return entry.status;
    }
  }
  return std::nullopt;
}

http::ApiError translate_error(unsigned status, std::string_view error_type_header, std::string_view body) {
  http::ApiError error;
  error.code = "upstream_error";
  std::string_view type = error_type_header;
  boost::system::error_code ec;
  const auto parsed = json::parse(body, ec);
  std::string_view message;
  if (const auto* obj = ec ? nullptr : object_or_null(&parsed)) {
    message = string_or_empty(obj->if_contains("message"));
    if (message.empty()) message = string_or_empty(obj->if_contains("Message"));
    if (type.empty()) type = string_or_empty(obj->if_contains("__type"));
  }
  if (!message.empty()) {
    error.message = std::string(message);
  } else {
    error.message = "backend returned HTTP " + std::to_string(status);
    if (!body.empty()) error.message.append(": ").append(body.substr(0, 200));
  }
  error.status = exception_status(type, error.code).value_or(status);
  error.type = openai_error_type(error.status);
  return error;
}

}  // namespace bedrock_detail

}  // namespace sluice::translate
