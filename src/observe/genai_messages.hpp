// GenAiMessages: builds the JSON of the OpenTelemetry GenAI content attributes
// (gen_ai.system_instructions, gen_ai.input.messages, gen_ai.output.messages) from what a request
// or an answer says, in the conventions' shape:
//   [{"role": "user", "parts": [{"type": "text", "content": "…"}]},
//    {"role": "assistant", "parts": [{"type": "reasoning", "content": "…"},
//                                    {"type": "tool_call", "id": "…", "name": "…", "arguments": {…}}],
//     "finish_reason": "tool_call"},
//    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "…", "response": "…"}]}]
// or, for Gateway spec.telemetry.captureContent: Metadata, the same with "size" (bytes) in place
// of every "content", "arguments" and "response", and no tool names or ids.
//
// Bounded: the content kept over all parts is at most the budget given, and of one part at most
// the part limit (cut at a UTF-8 character boundary, so the attribute stays valid UTF-8 for the
// collector's protobuf decoder), and there are at most kMaxParts parts; past any of them,
// truncated() is set and the rest is dropped. A conversation may be added newest message first
// (serialize(true) writes it oldest first), so what a limit drops is its oldest messages.
// Tool-call arguments that are JSON text are kept as JSON, other (or cut) arguments as a string.
//
// One per attribute per request; not thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::observe {

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

class GenAiMessages {
 public:
  static constexpr std::size_t kMaxParts = 512;

  // `full`: content (captureContent Full) or sizes (Metadata); `budget`: content bytes kept in
  // all; `part_limit`: in one part.
  GenAiMessages(bool full, std::size_t budget, std::size_t part_limit = SIZE_MAX)
      : full_(full), left_(budget), part_limit_(part_limit) {}

  // Starts a message; the parts added next belong to it. A message left without parts is not
  // written.
  void message(std::string_view role);
  void text(std::string_view content);
  void reasoning(std::string_view content);
  // `arguments`: the arguments as the wire carries them, JSON text (OpenAI, the Responses API)
  // or a parsed value (Anthropic, Gemini; none is `{}`).
  void tool_call(std::string_view id, std::string_view name, std::string_view arguments);
  void tool_call(std::string_view id, std::string_view name, const boost::json::value* arguments);
  // `response`: a tool's result as text, or as a value (Gemini's; none is null).
  void tool_call_response(std::string_view id, std::string_view response);
  void tool_call_response(std::string_view id, const boost::json::value* response);
  // The current message's finish_reason (output messages).
  void finish_reason(std::string_view reason);

  // Parts added so far over all messages.
  std::size_t parts() const { return parts_; }
  bool truncated() const { return truncated_; }
  // Content was left out by the caller (messages past full()).
  void mark_truncated() { truncated_ = true; }
  // Whether the budget or the part limit is used up: what is added now is dropped.
  bool full() const { return left_ == 0 || parts_ >= kMaxParts; }
  // The attribute's JSON; empty when there is no message with a part. `newest_first`: the
  // messages were added in reverse order.
  std::string serialize(bool newest_first = false);
  // The parts of every message as one array (gen_ai.system_instructions); empty when none.
  std::string serialize_parts();

 private:
  // The current message's parts, or null when the part limit is reached.
  boost::json::array* add_part();
  // `content` cut to what the budget has left.
  std::string_view keep(std::string_view content);
  // A text or reasoning part.
  void content_part(std::string_view type, std::string_view content);
  // A tool_call or tool_call_response part: `text` kept under the budget, as `key`; the whole
  // as JSON (`value` when given, else `text` parsed when `parse`), a cut one as the text kept.
  void tool_part(std::string_view type, std::string_view id, std::optional<std::string_view> name, std::string_view key,
                 std::string_view text, const boost::json::value* value, bool parse);
  void close_message();

  bool full_;
  std::size_t left_;
  std::size_t part_limit_;
  std::size_t parts_ = 0;
  bool truncated_ = false;
  boost::json::array messages_;
  boost::json::object current_;
  bool open_ = false;
};

}  // namespace sluice::observe
