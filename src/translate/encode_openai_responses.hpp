// Encoder for OpenAI Responses API clients (POST /v1/responses: the openai SDKs'
// `responses.create`, the OpenAI Agents SDK, the Vercel AI SDK's default OpenAI model,
// LangChain's useResponsesApi): canonical events -> Responses stream events, or a complete
// `response` object.
//
// The response object names the response (a minted resp_ id), the model (EncoderOptions), its
// status and output items, usage, and echoes what the request said (ResponseEcho: instructions,
// tools, tool_choice, text, reasoning, metadata, sampling and limits; defaults where the request
// was silent). store and previous_response_id are echoed when the request carries them (the
// response store, policy/response_store.hpp, puts what the client sent in the echo); else store
// is false and previous_response_id null.
//
// Stream, every event `event: <type>` + `data: {"type", "sequence_number" (0, 1, ...), ...}`:
//   response.created, response.in_progress (at MessageStart, or the first event that needs them);
//   reasoning -> a `reasoning` item: output_item.added, reasoning_summary_part.added,
//     reasoning_summary_text.delta ..., reasoning_summary_text.done, reasoning_summary_part.done,
//     output_item.done (summary [{type summary_text, text}]);
//   text -> a `message` item: output_item.added, content_part.added (output_text),
//     output_text.delta ..., output_text.done, content_part.done, output_item.done;
//   each tool call -> a `function_call` item (id fc_..., call_id: the provider's call id, else a
//     minted call_ id): output_item.added, function_call_arguments.delta ...,
//     function_call_arguments.done, output_item.done;
//   End -> response.completed (Stop, ToolCalls, Other) or response.incomplete (Length:
//     incomplete_details.reason max_output_tokens; ContentFilter: content_filter), the response
//     with every output item and usage (zeros when the provider reported none);
//   Error -> response.failed (status failed, error {code, message}); nothing follows it.
// One item is open at a time: a new kind of content, a new tool call or the Finish closes it.
// Only choice 0 is encoded; text and tool fragments after the Finish are ignored; a fragment for
// a tool call whose item was already closed (interleaved parallel calls) is ignored. Text deltas
// are written without building a JSON document. Signatures travel in a reasoning item's
// encrypted_content, sealed (translate/reasoning_item.hpp), so a client that sends the item back
// gives the provider its signed reasoning again: a ReasoningSignature closes the open reasoning
// item with its signed block (a redacted block, or a signature with no reasoning open, is a
// reasoning item of its own with an empty summary); a tool call's signature (Gemini) seals the
// open reasoning item, else a reasoning item of its own, just before the call's item.
// Complete reply: the reasoning items (one per signed block, else one for all the reasoning),
// a message item (when there was text), one function_call item per call, status and usage as
// above.
// One object per response; not thread-safe; never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "translate/codec.hpp"

namespace sluice::translate {

// What the response object repeats from the request (members of the Responses request: absent
// ones take the API's defaults in the response).
struct ResponseEcho {
  boost::json::object fields;
};

// Responses API usage: input/output tokens with cached and reasoning details.
boost::json::object responses_usage_json(const llm::Usage& usage);

class ResponsesStreamEncoder final : public StreamEncoder {
 public:
  ResponsesStreamEncoder(EncoderOptions options, ResponseEcho echo);
  void encode(const llm::Event& event, std::string& out) override;
  bool closed() const override { return done_ || failed_; }
  bool failed() const { return failed_; }
  const std::string& response_id() const { return response_id_; }

 private:
  enum class Item { kNone, kReasoning, kMessage, kFunctionCall };
  void start(std::string_view model, std::string& out);
  void emit(std::string_view type, boost::json::object data, std::string& out);
  void open_item(Item kind, std::string& out);
  void close_item(std::string& out);
  void on_text(std::string_view text, Item kind, std::string& out);
  void on_tool_call(const llm::ToolCallDelta& call, std::string& out);
  void on_signature(const llm::ReasoningSignature& signature, std::string& out);
  // A reasoning item with no summary and `sealed` as its encrypted_content, added and done.
  void sealed_item(std::string sealed, std::string& out);
  void finish(std::string& out);
  boost::json::object response(std::string_view status) const;

  EncoderOptions options_;
  ResponseEcho echo_;
  std::string response_id_;
  std::string model_;
  std::int64_t created_at_;
  std::uint64_t sequence_ = 0;
  bool started_ = false;
  bool done_ = false;
  bool failed_ = false;
  std::optional<llm::FinishReason> finish_;
  llm::Usage usage_;
  boost::json::array output_;  // the closed items

  Item open_ = Item::kNone;
  std::string item_id_;
  std::string item_text_;  // the open item's text, or its arguments
  std::string sealed_;     // the encrypted_content of the reasoning item being closed
  std::string call_id_;
  std::string call_name_;
  std::uint64_t open_tool_index_ = 0;
  std::uint64_t seen_tool_indexes_ = 0;  // 1 + the highest tool index seen
};

class ResponsesResponseEncoder final : public ResponseEncoder {
 public:
  ResponsesResponseEncoder(EncoderOptions options, ResponseEcho echo)
      : options_(std::move(options)), echo_(std::move(echo)) {}
  void on_event(const llm::Event& event) override;
  std::string body() const override;

 private:
  struct Call {
    std::string id;
    std::string name;
    std::string arguments;
  };
  EncoderOptions options_;
  ResponseEcho echo_;
  std::string model_;
  std::string text_;
  struct Reasoning {
    std::string text;
    std::string sealed;  // encrypted_content; empty while the item is open
  };
  std::vector<Reasoning> reasoning_;
  std::vector<Call> calls_;
  llm::FinishReason reason_ = llm::FinishReason::Stop;
  llm::Usage usage_;
};

// The Responses `response` object around `output` (shared by both encoders and by tests):
// status "completed" | "incomplete" | "failed" | "in_progress". `storage`: where the object's
// nodes are allocated (an arena when it is only serialized).
boost::json::object responses_object(std::string_view id, std::int64_t created_at, std::string_view model,
                                     std::string_view status, const ResponseEcho& echo, boost::json::array output,
                                     const llm::Usage* usage, std::optional<llm::FinishReason> finish,
                                     boost::json::storage_ptr storage = {});

}  // namespace sluice::translate
