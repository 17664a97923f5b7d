// Decoder for Anthropic Messages replies (api.anthropic.com, Anthropic models on Vertex AI).
//
// Stream (SSE): message_start -> MessageStart (opened) and its usage; content blocks: text ->
// TextDelta, thinking -> ReasoningDelta (its signature_delta -> ReasoningSignature),
// redacted_thinking -> ReasoningSignature{redacted, data}, tool_use -> ToolCallDelta (tool calls numbered from 0
// in the order their blocks start; the first fragment carries id, name and any initial input);
// message_delta -> its usage (counters are cumulative: each field is set, never added);
// message_stop -> Finish (with the stop_reason of message_delta) and End; `error` -> Error with
// the status of its type. ping and unknown event types are ignored, and nothing after
// message_stop is decoded. The stream ending before message_stop -> Error (502
// upstream_stream_truncated).
// JSON mode: when `json_tool` is set, the tool_use block of that name is the reply text (the
// translation forces that tool for response_format), its input decoded as TextDelta, and a
// tool_use stop with no other tool call finishes as Stop.
// Complete reply: MessageStart, per thinking block a ReasoningDelta and its ReasoningSignature
// (redacted_thinking: a redacted ReasoningSignature), one TextDelta with all text (possibly
// empty), one ToolCallDelta per tool_use block (input serialized), Finish, usage, End.
// Per-stream state; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "translate/codec.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

// Anthropic's usage counters, kept raw and converted to canonical usage on demand.
struct AnthropicUsage {
  std::uint64_t input = 0;
  std::uint64_t output = 0;
  std::uint64_t cache_read = 0;
  std::uint64_t cache_creation = 0;
  std::uint64_t thinking = 0;
  bool known = false;

  void update(const boost::json::object& usage);
  llm::Usage to_usage() const;
};

class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  explicit AnthropicStreamDecoder(std::string json_tool = {}) : json_tool_(std::move(json_tool)) {}
  bool feed(std::string_view bytes, llm::EventSink& sink) override;
  void end(llm::EventSink& sink) override;

 private:
  enum class BlockKind { kIgnored, kText, kThinking, kTool, kJson };
  struct Block {
    BlockKind kind = BlockKind::kIgnored;
    std::uint64_t tool_index = 0;
  };
  void on_event(const SseEvent& event, llm::EventSink& sink);
  void fail(http::ApiError error, llm::EventSink& sink);

  std::string json_tool_;
  SseParser parser_;
  AnthropicUsage usage_;
  std::vector<std::pair<std::uint64_t, Block>> blocks_;  // Anthropic block index -> what it became
  std::uint64_t next_tool_index_ = 0;
  std::string stop_reason_;
  bool started_ = false;
  bool closed_ = false;  // message_stop seen, or an Error emitted
  bool failed_ = false;
};

// Decodes a complete Messages body; a body that is not a message gives a 502 and no event.
std::optional<http::ApiError> decode_anthropic_response(std::string_view body, std::string_view json_tool,
                                                        llm::EventSink& sink);

// Anthropic stop_reason -> canonical reason (tool_use without any real tool call -> Stop is
// applied by the decoders, which know the calls).
llm::FinishReason anthropic_finish_from(std::string_view stop_reason);

// Anthropic error type -> (HTTP status, static code literal); unknown types -> {0, "upstream_error"}.
std::pair<unsigned, std::string_view> anthropic_error_kind(std::string_view type);

}  // namespace sluice::translate
