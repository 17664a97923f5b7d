// Decoder for AWS Bedrock Converse replies: ConverseStream's binary event stream
// (application/vnd.amazon.eventstream) and Converse's JSON body.
//
// Stream: messageStart -> MessageStart (opened; Bedrock names neither id nor model);
// contentBlockStart with toolUse -> the first ToolCallDelta of a call (calls numbered from 0 in
// start order, arguments empty); contentBlockDelta: text -> TextDelta, toolUse.input ->
// ToolCallDelta fragments, reasoningContent.text -> ReasoningDelta, reasoningContent.signature ->
// ReasoningSignature, reasoningContent.redactedContent -> a redacted ReasoningSignature; messageStop -> Finish
// (end_turn / stop_sequence -> Stop, max_tokens -> Length, tool_use -> ToolCalls,
// guardrail_intervened / content_filtered -> ContentFilter); metadata.usage -> UsageEvent;
// exception messages -> Error with the status of the exception type. The stream ending after
// messageStop gives End; inside a message, before messageStop or after a malformed message,
// an Error (502). contentBlockStop and unknown events give nothing.
// JSON mode: the toolUse block named `json_tool` is the reply text (its input as TextDelta),
// and a tool_use stop with no other call finishes as Stop.
// Complete reply: MessageStart, per reasoningContent block a ReasoningDelta and its
// ReasoningSignature (redactedContent: a redacted one), one TextDelta with all text (possibly
// empty), one ToolCallDelta per toolUse block, Finish, usage, End.
// Per-stream state; not thread-safe; never throws.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "translate/aws_eventstream.hpp"
#include "translate/codec.hpp"

namespace sluice::translate {

class BedrockStreamDecoder final : public StreamDecoder {
 public:
  explicit BedrockStreamDecoder(std::string json_tool = {}) : json_tool_(std::move(json_tool)) {}
  bool feed(std::string_view bytes, llm::EventSink& sink) override;
  void end(llm::EventSink& sink) override;

 private:
  void on_message(const EventStreamMessage& message, llm::EventSink& sink);
  void fail(http::ApiError error, llm::EventSink& sink);

  std::string json_tool_;
  EventStreamDecoder decoder_;
  bool started_ = false;
  bool saw_stop_ = false;
  bool closed_ = false;
  bool failed_ = false;
  std::uint64_t tool_count_ = 0;
  std::map<std::uint64_t, std::uint64_t> tool_index_by_block_;
  std::set<std::uint64_t> json_blocks_;
};

std::optional<http::ApiError> decode_bedrock_response(std::string_view body, std::string_view json_tool,
                                                      llm::EventSink& sink);

namespace bedrock_detail {

// Status for a Bedrock exception type ("ThrottlingException", "throttlingException", with or
// without a ":<namespace>" suffix); nullopt for a type Sluice does not map. `code` receives a
// static literal naming the type.
std::optional<unsigned> exception_status(std::string_view type, std::string_view& code);

// A non-2xx Bedrock response (body {"message":...}, type from x-amzn-errortype or "__type") as
// an OpenAI-shaped ApiError.
http::ApiError translate_error(unsigned status, std::string_view error_type_header, std::string_view body);

}  // namespace bedrock_detail

}  // namespace sluice::translate
