// RequestView: one read/write view of a client's LLM request, whatever schema the client spoke
// (OpenAI chat completions, OpenAI embeddings, Anthropic Messages, the OpenAI Responses API,
// Gemini generateContent / countTokens and embedContent / batchEmbedContents). Guards, defaults and
// cache keys are written once against it instead of once per schema:
//   - a guard walks every text of the request with for_each_text() and may rewrite spans;
//   - a default fills a missing sampling parameter with set_default();
//   - a cache key hashes canonical_form(), which is equal for requests that ask the same thing.
//
// Ownership: the view holds a reference to the parsed body (boost::json::object) owned by the
// caller and must not outlive it; mutators change that body in place, in the client's own
// schema, so the body can be serialized or handed to a translator afterwards. Accessors return
// views or copies; a string_view returned by an accessor is valid until the body is modified.
// Not thread-safe (one request, one worker). Never throws on any body shape: members of the
// wrong kind read as absent, and mutators leave them untouched.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::llm {

enum class Schema {
  OpenAIChat,
  OpenAIEmbeddings,
  AnthropicMessages,
  OpenAIResponses,
  GeminiGenerate,  // generateContent, streamGenerateContent and countTokens
  GeminiEmbed,     // embedContent and batchEmbedContents
};

// What a Gemini call says in its path rather than its body (models/{model}:{action}): the
// view of a Gemini request reads the model and the stream flag from here. Ignored by the other
// schemas, whose body says both.
struct PathFacts {
  std::string_view model;
  bool stream = false;
};

// Where a text lives in the request.
enum class TextKind {
  System,      // system prompt (Anthropic `system`, OpenAI system / developer messages)
  Message,     // text of a user or assistant message
  ToolCall,    // arguments of a tool call the assistant made (JSON text)
  ToolResult,  // text a tool returned (OpenAI `tool` messages, Anthropic tool_result blocks)
  Input,       // an embeddings input
};

struct TextSpan {
  TextKind kind = TextKind::Message;
  std::string_view role;    // "system", "developer", "user", "assistant", "tool"; empty for Input
  std::size_t message = 0;  // index in `messages` (or in `input`); 0 for Anthropic `system`
  std::string_view text;
};

// Sampling parameters every chat schema has. The member each maps to:
//   OpenAI chat: temperature, top_p, max_completion_tokens (read; max_tokens when absent;
//                set_default writes max_tokens, which every OpenAI-compatible server reads), stop;
//   Anthropic:   temperature, top_p, max_tokens, stop_sequences;
//   Responses:   temperature, top_p, max_output_tokens (no stop).
// Embeddings have none.
//
// The Responses API's request, read as a conversation: `instructions` is the system prompt;
// `input` is one user message (a string) or a list of items: messages ({role, content} with
// or without "type":"message"; content a string or input_text / output_text parts),
// function_call items (an assistant tool call: call_id, name, arguments) and
// function_call_output items (a tool result: call_id, output). Other items (reasoning, built-in
// tool calls) carry no text the view reads.
//
// A Gemini request, read as a conversation: `systemInstruction` (a Content's text parts, or a
// string) is the system prompt; each of `contents` is a message whose role "model" reads as
// "assistant"; its text parts are its text (thought parts are the model's signed reasoning
// and are left out, as Anthropic thinking blocks are), a functionCall part is a tool call (its
// `args` object shown as JSON text, id = the part's `id`, else its name) and a functionResponse
// part a "tool" message (its `response` object as JSON text) placed before the rest of its
// turn; other parts (inlineData, fileData, ...) are non-text parts. Sampling parameters live in
// `generationConfig` (temperature, topP, maxOutputTokens, stopSequences). A countTokens body
// that wraps the request in `generateContentRequest` is read through it. Embeddings: the text
// parts of `content` (embedContent) or of each `requests[k].content` (batchEmbedContents, k the
// span's `message`) are Input spans.
enum class Param { Temperature, TopP, MaxTokens, Stop };

struct ToolCall {
  std::string_view id;
  std::string_view name;
  std::string arguments;  // JSON text (Anthropic `input` serialized)
};

struct Message {
  std::string_view role;  // as the client wrote it; Anthropic tool_result blocks appear as "tool"
  std::string text;       // the message's text parts joined with "\n"
  std::vector<ToolCall> tool_calls;
  std::string_view tool_call_id;  // for tool results: the call answered
  // Images, documents and other non-text parts, as the client wrote them (point into the body).
  std::vector<const boost::json::value*> other_parts;
};

struct ToolSpec {
  std::string_view name;
  std::string_view description;
  const boost::json::value* parameters = nullptr;  // the JSON schema; null when absent
};

class RequestView {
 public:
  RequestView(Schema schema, boost::json::object& body, PathFacts path = {})
      : schema_(schema), body_(body), path_model_(path.model), path_stream_(path.stream) {}

  Schema schema() const { return schema_; }
  const boost::json::object& body() const { return body_; }

  // The model asked for: the body's `model`, or the path's for Gemini.
  std::string_view model() const;
  // A Gemini call's model is its path's: the view keeps the new name (the caller routes with
  // it) and rewrites the `models/...` names the body repeats (batchEmbedContents requests, a
  // countTokens generateContentRequest).
  void set_model(std::string_view model);
  bool stream() const;

  // The system prompt: Anthropic `system` (string or text blocks joined with "\n"), or the
  // OpenAI system / developer messages' text joined with "\n". Empty when there is none.
  std::string system_text() const;

  // The conversation in canonical form (system messages included for OpenAI, where they are
  // messages). Anthropic: one Message per message, plus one "tool" Message per tool_result
  // block, placed before the rest of its user message. Embeddings: none.
  std::vector<Message> messages() const;

  // Every text of the request in document order (System, Message, ToolCall, ToolResult; or
  // Input for embeddings). `visit` returns a replacement for the span, or nullopt to keep it.
  // A ToolCall replacement must be JSON text when the schema keeps arguments as an object
  // (Anthropic tool_use.input); one that does not parse as an object is not applied. Returns
  // the number of spans replaced.
  using TextVisitor = std::function<std::optional<std::string>(const TextSpan&)>;
  std::size_t for_each_text(const TextVisitor& visit);
  // Read-only walk.
  void visit_text(const std::function<void(const TextSpan&)>& visit) const;

  // A sampling parameter as the client sent it (null when absent or the schema has none).
  const boost::json::value* param(Param param) const;
  // Sets `param` to `value` when the client did not send it (absent or null). Returns whether
  // it was set; false also when the schema has no such parameter.
  bool set_default(Param param, const boost::json::value& value);
  // Sets `param` unconditionally (false when the schema has no such parameter).
  bool set_param(Param param, const boost::json::value& value);

  // Adds a text message before the conversation (`at_start`) or after it. A "system" message
  // goes where the schema keeps the system prompt: an OpenAI system message first (at_start) or
  // last, the Anthropic `system` (text joined before or after what is there, blocks kept as
  // blocks). Other roles become messages. Returns false for embeddings (no conversation).
  bool add_message(std::string_view role, std::string_view content, bool at_start);

  std::vector<ToolSpec> tools() const;

  // A canonical JSON text of what determines the reply: schema family, model, system,
  // messages (role, text, tool calls, tool results, non-text parts verbatim), sampling
  // parameters, tools, tool choice and the response format, with member order fixed. Two
  // requests with the same canonical form ask the same question; the stream flag and fields
  // that do not change the answer (user, metadata, stream_options) are left out.
  std::string canonical_form() const;

 private:
  const char* param_key(Param param) const;
  bool gemini() const { return schema_ == Schema::GeminiGenerate || schema_ == Schema::GeminiEmbed; }
  // The object that holds the sampling parameters (null when absent; `create` makes it).
  const boost::json::object* params_holder() const;
  boost::json::object* params_holder(bool create);

  Schema schema_;
  boost::json::object& body_;
  std::string path_model_;  // Gemini: the model named by the path, or set_model's
  bool path_stream_ = false;
};

}  // namespace sluice::llm
