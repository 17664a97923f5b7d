// Encoder for Anthropic Messages clients (POST /v1/messages: the @anthropic-ai/sdk, Claude
// Code): canonical events -> Anthropic SSE events, or a complete `message` body.
//
// Stream: message_start (at MessageStart, or at the first event that needs it); text becomes a
// text block, each tool call a tool_use block (content_block_start / _delta / _stop, blocks
// numbered from 0, one open at a time); Finish closes the open block and records the
// stop_reason; message_delta (stop_reason, usage) and message_stop follow once the usage that
// comes with or after the finish arrived, or at End. A stream that ends without a Finish gets
// stop_reason tool_use when a tool call was seen, else end_turn. Error -> one `event: error`.
// Reasoning: ReasoningDelta text -> a thinking block ({"type":"thinking","thinking":"",
// "signature":""} then thinking_delta); a ReasoningSignature -> its signature_delta and the
// block's content_block_stop (a signature without text before it gets an empty thinking block);
// a redacted one -> a redacted_thinking block {data}. Reasoning the provider did not sign (every
// provider but Anthropic and Claude on Bedrock) stays a thinking block with an empty signature:
// the client sees the reasoning; sent back, it is dropped again by anthropic_client (the
// provider reasons afresh), and a real Anthropic would reject it (see docs/providers.md).
// Choices: only choice 0 is encoded (a message has one); text and tool fragments after the Finish are ignored; a
// fragment for a tool call whose block was already closed (interleaved parallel calls) is ignored; a tool call without
// an id gets a toolu_ id. Complete reply: the thinking / redacted_thinking blocks in order (text and signature, empty
// when unsigned), one text block (the text, when not empty), one tool_use block per call
// (arguments parsed; not an object -> {}), stop_reason, usage.
// One object per response; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "translate/codec.hpp"

namespace sluice::translate {

class AnthropicStreamEncoder final : public StreamEncoder {
 public:
  explicit AnthropicStreamEncoder(EncoderOptions options) : options_(std::move(options)) {}
  void encode(const llm::Event& event, std::string& out) override;
  bool closed() const override { return done_ || failed_; }
  // The stream ended with an error event.
  bool failed() const { return failed_; }

 private:
  enum class Block { kNone, kText, kThinking, kRedacted, kTool };
  void start(std::string_view model, std::string& out);
  void open_block(std::string_view content_block_json, Block kind, std::string& out);
  void emit_delta(std::string_view delta_json, std::string& out);
  void close_block(std::string& out);
  void open_thinking(std::string& out);
  void finish(std::string& out);
  void on_tool_call(const llm::ToolCallDelta& call, std::string& out);

  EncoderOptions options_;
  llm::Usage usage_;
  bool started_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool any_tool_ = false;
  std::optional<std::string_view> stop_reason_;  // once the Finish came (static literals)
  Block open_kind_ = Block::kNone;
  std::uint64_t next_block_index_ = 0;  // index of the open block, or of the next one
  std::uint64_t open_tool_index_ = 0;
  std::uint64_t seen_tool_indexes_ = 0;  // 1 + the highest tool index seen
  std::string open_tool_id_;
};

class AnthropicResponseEncoder final : public ResponseEncoder {
 public:
  explicit AnthropicResponseEncoder(EncoderOptions options) : options_(std::move(options)) {}
  void on_event(const llm::Event& event) override;
  std::string body() const override;

 private:
  struct Call {
    std::string id;
    std::string name;
    std::string arguments;
  };
  struct Thinking {
    std::string text;
    std::string signature;  // redacted: the encrypted data
    bool redacted = false;
    bool closed = false;  // signed: later reasoning starts another block
  };
  EncoderOptions options_;
  std::string model_;
  std::vector<Thinking> thinking_;
  std::string text_;
  std::vector<Call> calls_;
  llm::FinishReason reason_ = llm::FinishReason::Stop;
  llm::Usage usage_;
};

// Anthropic's usage object for canonical usage (input excludes cache reads and writes).
boost::json::object anthropic_usage_json(const llm::Usage& usage);

}  // namespace sluice::translate
