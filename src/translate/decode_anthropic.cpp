#include "translate/decode_anthropic.hpp"

#include <boost/json.hpp>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// A non-negative integer count from Anthropic usage fields (anything else, including doubles
// beyond the uint64 range, nullopt).
std::optional<std::uint64_t> count(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() >= 0 ? std::optional<std::uint64_t>(v->get_int64()) : std::nullopt;
  if (v->is_double() && v->get_double() >= 0 && v->get_double() < 18446744073709551616.0)
    return static_cast<std::uint64_t>(v->get_double());
  return std::nullopt;
}

llm::FinishReason finish_for(std::string_view stop_reason, bool any_tool_call) {
  auto reason = anthropic_finish_from(stop_reason);
  if (reason == llm::FinishReason::ToolCalls && !any_tool_call) reason = llm::FinishReason::Stop;  // json tool only
  return reason;
}

}  // namespace

void AnthropicUsage::update(const json::object& usage) {
  if (auto n = count(usage.if_contains("input_tokens"))) input = *n, known = true;
  if (auto n = count(usage.if_contains("output_tokens"))) output = *n, known = true;
  if (auto n = count(usage.if_contains("cache_read_input_tokens"))) cache_read = *n, known = true;
  if (auto n = count(usage.if_contains("cache_creation_input_tokens"))) cache_creation = *n, known = true;
  if (const auto* details = object_or_null(usage.if_contains("output_tokens_details")))
    if (auto n = count(details->if_contains("thinking_tokens"))) thinking = *n;
}

llm::Usage AnthropicUsage::to_usage() const {
  llm::Usage u;
  u.prompt_tokens = input + cache_read + cache_creation;
  u.completion_tokens = output;
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.cached_tokens = cache_read;
  u.cache_creation_tokens = cache_creation;
  u.reasoning_tokens = thinking;
  u.known = known;
  return u;
}

llm::FinishReason anthropic_finish_from(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return llm::FinishReason::Length;
  if (stop_reason == "tool_use") return llm::FinishReason::ToolCalls;
  if (stop_reason == "refusal") return llm::FinishReason::ContentFilter;
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return llm::FinishReason::Stop;
  return llm::FinishReason::Other;  // pause_turn and anything unknown
}

std::pair<unsigned, std::string_view> anthropic_error_kind(std::string_view type) {
  if (type == "invalid_request_error") return {400, "invalid_request_error"};
  if (type == "authentication_error") return {401, "authentication_error"};
  if (type == "billing_error") return {402, "billing_error"};
  if (type == "permission_error") return {403, "permission_error"};
  if (type == "not_found_error") return {404, "not_found_error"};
  if (type == "request_too_large") return {413, "request_too_large"};
  if (type == "rate_limit_error") return {429, "rate_limit_error"};
  if (type == "timeout_error") return {504, "timeout_error"};
  if (type == "overloaded_error") return {503, "overloaded_error"};
  if (type == "api_error") return {500, "api_error"};
  return {0, "upstream_error"};
}

void AnthropicStreamDecoder::fail(http::ApiError error, llm::EventSink& sink) {
  closed_ = true;
  failed_ = true;
  sink.on_event(llm::Error{std::move(error)});
}

bool AnthropicStreamDecoder::feed(std::string_view bytes, llm::EventSink& sink) {
  if (closed_) return !failed_;
  const bool parsed = parser_.feed(bytes, [&](const SseEvent& event) {
    if (!closed_) on_event(event, sink);
  });
  if (!parsed && !closed_) fail(bad_upstream("Anthropic stream is malformed: " + std::string(parser_.error())), sink);
  return !failed_;
}

void AnthropicStreamDecoder::end(llm::EventSink& sink) {
  if (closed_) return;
  fail(http::ApiError{502, "server_error", "upstream_stream_truncated",
                      "the Anthropic stream ended early, before message_stop", std::nullopt},
       sink);
}

void AnthropicStreamDecoder::on_event(const SseEvent& event, llm::EventSink& sink) {
  boost::system::error_code ec;
  // The event's document lives on the stack unless it is large: nothing of it outlives the call.
  unsigned char arena[4096];
  json::monotonic_resource resource(arena, sizeof arena);
  json::value parsed = json::parse(event.data, ec, &resource);
  const auto* data = ec ? nullptr : object_or_null(&parsed);
  std::string_view type = event.event;
  if (type.empty() && data != nullptr) type = string_or_empty(data->if_contains("type"));

  static constexpr std::string_view kKnown[] = {"message_start",
                                                "content_block_start",
                                                "content_block_delta",
                                                "content_block_stop",
                                                "message_delta",
                                                "message_stop",
                                                "error"};
  bool known = false;
  for (const auto k : kKnown) known = known || type == k;
  if (!known) return;  // ping and unknown event types are ignored
  if (data == nullptr)
    return fail(bad_upstream("Anthropic stream event '" + std::string(type) + "' is not a JSON object"), sink);

  auto block_for = [this](const json::object& d) -> Block* {
    const auto index = count(d.if_contains("index"));
    if (!index) return nullptr;
    for (auto& [i, b] : blocks_)
      if (i == *index) return &b;
    return nullptr;
  };

  if (type == "message_start") {
    const auto* message = object_or_null(data->if_contains("message"));
    if (!started_) {
      started_ = true;
      llm::MessageStart start;
      if (message != nullptr) {
        start.id = string_or_empty(message->if_contains("id"));
        start.model = string_or_empty(message->if_contains("model"));
      }
      start.opened = true;
      sink.on_event(start);
    }
    if (const auto* u = message != nullptr ? object_or_null(message->if_contains("usage")) : nullptr) {
      usage_.update(*u);
      sink.on_event(llm::UsageEvent{usage_.to_usage()});
    }
  } else if (type == "content_block_start") {
    const auto index = count(data->if_contains("index"));
    const auto* cb = object_or_null(data->if_contains("content_block"));
    if (!index || cb == nullptr)
      return fail(bad_upstream("Anthropic content_block_start without index or content_block"), sink);
    Block block;
    const auto block_type = string_or_empty(cb->if_contains("type"));
    if (block_type == "text") {
      block.kind = BlockKind::kText;
      if (const auto text = string_or_empty(cb->if_contains("text")); !text.empty())
        sink.on_event(llm::TextDelta{0, text});
    } else if (block_type == "thinking") {
      block.kind = BlockKind::kThinking;
      if (const auto text = string_or_empty(cb->if_contains("thinking")); !text.empty())
        sink.on_event(llm::ReasoningDelta{0, text});
      if (const auto signature = string_or_empty(cb->if_contains("signature")); !signature.empty())
        sink.on_event(llm::ReasoningSignature{0, signature, false});
    } else if (block_type == "redacted_thinking") {
      if (const auto data = string_or_empty(cb->if_contains("data")); !data.empty())
        sink.on_event(llm::ReasoningSignature{0, data, true});
    } else if (block_type == "tool_use") {
      const auto name = string_or_empty(cb->if_contains("name"));
      const auto* input = object_or_null(cb->if_contains("input"));
      const std::string initial = input != nullptr && !input->empty() ? json::serialize(*input) : std::string();
      if (!json_tool_.empty() && name == json_tool_) {
        block.kind = BlockKind::kJson;
        if (!initial.empty()) sink.on_event(llm::TextDelta{0, initial});
      } else {
        block.kind = BlockKind::kTool;
        block.tool_index = next_tool_index_++;
        sink.on_event(llm::ToolCallDelta{.index = block.tool_index,
                                         .id = string_or_empty(cb->if_contains("id")),
                                         .name = name,
                                         .arguments = initial});
      }
    }
    blocks_.emplace_back(*index, block);
  } else if (type == "content_block_delta") {
    const auto* delta = object_or_null(data->if_contains("delta"));
    const Block* block = block_for(*data);
    if (delta == nullptr || block == nullptr) return;  // a delta for a block we never saw: nothing to say
    const auto delta_type = string_or_empty(delta->if_contains("type"));
    if (delta_type == "text_delta" && block->kind == BlockKind::kText) {
      if (const auto text = string_or_empty(delta->if_contains("text")); !text.empty())
        sink.on_event(llm::TextDelta{0, text});
    } else if (delta_type == "thinking_delta" && block->kind == BlockKind::kThinking) {
      if (const auto text = string_or_empty(delta->if_contains("thinking")); !text.empty())
        sink.on_event(llm::ReasoningDelta{0, text});
    } else if (delta_type == "signature_delta" && block->kind == BlockKind::kThinking) {
      if (const auto signature = string_or_empty(delta->if_contains("signature")); !signature.empty())
        sink.on_event(llm::ReasoningSignature{0, signature, false});
    } else if (delta_type == "input_json_delta") {
      const auto partial = string_or_empty(delta->if_contains("partial_json"));
      if (partial.empty()) return;
      if (block->kind == BlockKind::kJson) {
        sink.on_event(llm::TextDelta{0, partial});
      } else if (block->kind == BlockKind::kTool) {
        sink.on_event(llm::ToolCallDelta{block->tool_index, {}, {}, partial, 0, {}});
      }
    }
  } else if (type == "message_delta") {
    if (const auto* delta = object_or_null(data->if_contains("delta")))
      if (const auto reason = string_or_empty(delta->if_contains("stop_reason")); !reason.empty())
        stop_reason_ = reason;
    if (const auto* u = object_or_null(data->if_contains("usage"))) {
      usage_.update(*u);
      sink.on_event(llm::UsageEvent{usage_.to_usage()});
    }
  } else if (type == "message_stop") {
    closed_ = true;
    sink.on_event(llm::Finish{.reason = finish_for(stop_reason_, next_tool_index_ > 0), .raw = stop_reason_});
    sink.on_event(llm::End{});
  } else if (type == "error") {
    const auto* inner = object_or_null(data->if_contains("error"));
    const auto err_type = inner != nullptr ? string_or_empty(inner->if_contains("type")) : std::string_view{};
    auto [status, code] = anthropic_error_kind(err_type);
    if (status == 0) status = 500;
    std::string message(inner != nullptr ? string_or_empty(inner->if_contains("message")) : std::string_view{});
    if (message.empty()) message = "Anthropic stream reported an error";
    fail(http::ApiError{status, openai_error_type(status), code, std::move(message), std::nullopt}, sink);
  }
}

std::optional<http::ApiError> decode_anthropic_response(std::string_view body, std::string_view json_tool,
                                                        llm::EventSink& sink) {
  boost::system::error_code ec;
  // The reply's document lives on the stack unless it is large: nothing of it outlives the call.
  unsigned char arena[8192];
  json::monotonic_resource resource(arena, sizeof arena);
  const json::value parsed = json::parse(body, ec, &resource);
  const auto* msg = ec ? nullptr : object_or_null(&parsed);
  const json::value* content = msg != nullptr ? msg->if_contains("content") : nullptr;
  if (content == nullptr || !content->is_array()) return bad_upstream("Anthropic response is not a message object");

  sink.on_event(llm::MessageStart{.id = string_or_empty(msg->if_contains("id")),
                                  .model = string_or_empty(msg->if_contains("model"))});
  std::string text;
  struct Call {
    std::string_view id;
    std::string_view name;
    std::string arguments;
  };
  std::vector<Call> calls;
  for (const auto& item : content->get_array()) {
    const auto* block = object_or_null(&item);
    if (block == nullptr) continue;
    const auto type = string_or_empty(block->if_contains("type"));
    if (type == "text") {
      text.append(string_or_empty(block->if_contains("text")));
    } else if (type == "thinking") {
      // Each thinking block: its text, then its signature (which closes it).
      if (const auto thinking = string_or_empty(block->if_contains("thinking")); !thinking.empty())
        sink.on_event(llm::ReasoningDelta{0, thinking});
      if (const auto signature = string_or_empty(block->if_contains("signature")); !signature.empty())
        sink.on_event(llm::ReasoningSignature{0, signature, false});
    } else if (type == "redacted_thinking") {
      if (const auto data = string_or_empty(block->if_contains("data")); !data.empty())
        sink.on_event(llm::ReasoningSignature{0, data, true});
    } else if (type == "tool_use") {
      const json::value* input = block->if_contains("input");
      std::string args = input != nullptr && !input->is_null() ? json::serialize(*input) : std::string("{}");
      const auto name = string_or_empty(block->if_contains("name"));
      if (!json_tool.empty() && name == json_tool) {
        text.append(args);
        continue;
      }
      calls.push_back(Call{string_or_empty(block->if_contains("id")), name, std::move(args)});
    }
  }
  sink.on_event(llm::TextDelta{0, text});
  for (std::size_t k = 0; k < calls.size(); ++k)
    sink.on_event(
        llm::ToolCallDelta{.index = k, .id = calls[k].id, .name = calls[k].name, .arguments = calls[k].arguments});
  const auto stop_reason = string_or_empty(msg->if_contains("stop_reason"));
  sink.on_event(llm::Finish{.reason = finish_for(stop_reason, !calls.empty()), .raw = stop_reason});
  if (const auto* u = object_or_null(msg->if_contains("usage"))) {
    AnthropicUsage usage;
    usage.update(*u);
    sink.on_event(llm::UsageEvent{usage.to_usage()});
  }
  sink.on_event(llm::End{});
  return std::nullopt;
}

}  // namespace sluice::translate
