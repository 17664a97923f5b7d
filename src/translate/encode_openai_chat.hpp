// Encoder for OpenAI Chat Completions clients: canonical events -> chat.completion.chunk SSE
// events, or a complete chat.completion body. The one encoder behind every provider an OpenAI
// client reaches through a translation (Anthropic, Gemini, Vertex AI, Bedrock).
//
// Stream: one chunk per event, choice 0. The id is the provider's (MessageStart) or a minted
// chatcmpl- id, the same on every chunk; `created` is the encoder's creation time; the model is
// EncoderOptions::client_model, else the provider's, else fallback_model. The first chunk
// carries role "assistant" (an opened MessageStart gives its own chunk with content ""; a Finish
// as the first chunk carries content null). Text -> delta.content, reasoning ->
// delta.reasoning_content, the first fragment of tool call i -> {index, id, type, function
// {name, arguments}}, later fragments -> {index, function {arguments}} (empty ones dropped).
// A tool call's signature (Gemini thoughtSignature) -> extra_content.google.thought_signature on
// its first fragment (Google's OpenAI-compatible form, read back by openai_gemini). A reasoning
// signature (Anthropic, Claude on Bedrock) -> a delta {"thinking_blocks":[{"type":"thinking",
// "thinking":<the block's reasoning text>,"signature"}]} (redacted: {"type":"redacted_thinking",
// "data"}), LiteLLM's form, read back by openai_anthropic / openai_bedrock from an assistant
// message's thinking_blocks. Finish -> an empty delta with finish_reason. With include_usage every chunk has
// "usage":null and End writes a usage chunk (choices []) before `data: [DONE]`; without it End writes only [DONE].
// Error -> one `data: {"error":{...}}` event. Nothing is written after End or Error. Text chunks after the first are
// written directly, without building a JSON document. Complete reply: one choice per choice index seen (at least one);
// content null when there is no text and either tool calls or no text at all was reported; refusal null;
// reasoning_content when there was reasoning; thinking_blocks when the reasoning was signed; tool calls with their
// extra_content as in streams; usage always present.
// One object per response; not thread-safe; never throws.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "translate/codec.hpp"

namespace sluice::translate {

class OpenAiChatStreamEncoder final : public StreamEncoder {
 public:
  explicit OpenAiChatStreamEncoder(EncoderOptions options);
  void encode(const llm::Event& event, std::string& out) override;
  bool closed() const override { return closed_; }
  bool failed() const { return failed_; }

 private:
  void ensure_id();
  void emit(boost::json::object delta, std::string& out, std::string_view finish = {});
  void emit_text(std::string_view field, std::string_view text, std::string& out);
  std::string_view model() const;

  EncoderOptions options_;
  std::int64_t created_;
  std::string id_;
  std::string model_;
  std::string chunk_prefix_;  // "data: {...,"delta":{" of this stream's chunks, built once
  bool role_sent_ = false;
  std::uint64_t tools_seen_ = 0;  // 1 + the highest tool index started
  std::string reasoning_block_;   // choice 0's reasoning since its last signature
  llm::Usage usage_;
  bool closed_ = false;
  bool failed_ = false;
};

class OpenAiChatResponseEncoder final : public ResponseEncoder {
 public:
  explicit OpenAiChatResponseEncoder(EncoderOptions options);
  void on_event(const llm::Event& event) override;
  std::string body() const override;

 private:
  struct Call {
    std::string id;
    std::string name;
    std::string arguments;
    std::string signature;
  };
  struct Choice {
    std::string text;
    bool any_text = false;
    std::string reasoning;
    std::size_t block_start = 0;         // where the reasoning of the next thinking block starts
    boost::json::array thinking_blocks;  // signed blocks, LiteLLM's form
    std::vector<Call> calls;
    llm::FinishReason reason = llm::FinishReason::Stop;
  };
  Choice& choice(std::uint64_t index);

  EncoderOptions options_;
  std::int64_t created_;
  std::string id_;
  std::string model_;
  std::map<std::uint64_t, Choice> choices_;
  llm::Usage usage_;
};

}  // namespace sluice::translate
