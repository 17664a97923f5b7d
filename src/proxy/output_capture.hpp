// OutputCapture: the answer's text for the SERVER span (Gateway spec.telemetry.captureContent),
// read from what the client receives — after translation, response filters and the response
// guard's masking — through the pipeline's ResponseTap (pipeline/response_tap.hpp). Installed by
// the exchange only for a sampled GenAI request with captureContent Metadata or Full, in front of
// any tap a stage set (which it feeds unchanged); otherwise nothing is read or kept.
//
// A complete reply (JSON) is kept up to kMaxCapturedReply bytes and read at its end; a stream
// (text/event-stream) is read event by event as it passes, only its content kept: nothing of
// the stream is buffered besides the event being read (at most kMaxCapturedReply) and the
// content. The client's API decides the shape read:
// - OpenAI chat: choices[0]'s content, reasoning_content and tool_calls (streamed: assembled by
//   their index), finish_reason;
// - Anthropic Messages: text, thinking and tool_use blocks (streamed: text, thinking and
//   input_json deltas by block index), stop_reason;
// - the Responses API: output_text, reasoning summaries and function_call items (streamed: the
//   text and summary deltas, the function calls of output_item.done), the status;
// - Gemini: candidates[0]'s text, thought and functionCall parts, finishReason (an SSE stream or
//   a JSON array of chunks).
// At most kMaxCapturedText bytes of content (text, reasoning and tool arguments together) are
// kept; past it the rest is dropped and `truncated` set. end() writes the span attribute's JSON
// into RequestTrace::output_messages (observe/genai_messages.hpp): Full, the OpenTelemetry GenAI
// shape [{role: "assistant", parts: [reasoning, text, tool_call…], finish_reason}]; Metadata,
// the part types and their sizes only. An answer with no content at all has one empty text part.
//
// Per request, on the request's worker thread; not thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "observe/request_trace.hpp"
#include "pipeline/response_tap.hpp"
#include "route/api_path.hpp"

namespace sluice::proxy {

class OutputCapture final : public pipeline::ResponseTap {
 public:
  static constexpr std::size_t kMaxCapturedText = 64 * 1024;
  static constexpr std::size_t kMaxCapturedReply = 1024 * 1024;

  // `trace`: where end() writes (outlives the request's answer); `inner`: a stage's tap, fed
  // the same calls (null: none).
  OutputCapture(observe::RequestTrace& trace, route::ApiKind api, pipeline::ResponseTap* inner)
      : trace_(trace), api_(api), inner_(inner) {}

  void begin(unsigned status, std::string_view content_type) override;
  void body(std::string_view bytes) override;
  void end(bool complete) override;

  // The text read so far, its finish reason, whether content was dropped (tests).
  const std::string& text() const { return text_; }
  const std::string& finish_reason() const { return finish_reason_; }
  bool truncated() const { return truncated_; }

 private:
  struct ToolCall {
    std::int64_t index = -1;  // the stream's index (OpenAI tool_calls, Anthropic content blocks)
    std::string id;
    std::string name;
    std::string arguments;
  };

  // Appends `bytes` to `into` as far as kMaxCapturedText allows over all content.
  void add(std::string& into, std::string_view bytes);
  void add_text(std::string_view text) { add(text_, text); }
  // A new call; null past the limits (truncated_ set).
  ToolCall* new_call(std::int64_t index);
  // The call the stream's `index` names, added when it is new; null past the limits.
  ToolCall* call_at(std::int64_t index);
  void add_call(std::string_view id, std::string_view name, std::string_view arguments);
  void read_object(std::string_view json, bool event);
  void read_value(const boost::json::value& v, bool event);
  // Keeps `bytes` for later (a reply read whole, a stream's unfinished line); past
  // kMaxCapturedReply the capture gives up, marked truncated.
  void keep_pending(std::string_view bytes);
  void read_event_line(std::string_view line);

  observe::RequestTrace& trace_;
  route::ApiKind api_;
  pipeline::ResponseTap* inner_;
  bool ok_ = false;      // a 2xx answer
  bool stream_ = false;  // text/event-stream
  bool gave_up_ = false;
  std::string pending_;  // a reply, or the stream's unfinished line
  std::string text_;
  std::string reasoning_;
  std::vector<ToolCall> calls_;
  std::size_t captured_ = 0;  // content bytes kept
  std::string finish_reason_;
  bool truncated_ = false;
};

}  // namespace sluice::proxy
