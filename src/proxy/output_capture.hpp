// OutputCapture: the answer's text for the SERVER span (Gateway spec.telemetry.captureContent),
// read from what the client receives — after translation, response filters and the response
// guard's masking — through the pipeline's ResponseTap (pipeline/response_tap.hpp). Installed by
// the exchange only for a sampled GenAI request with captureContent Metadata or Full, in front of
// any tap a stage set (which it feeds unchanged); otherwise nothing is read or kept.
//
// A complete reply (JSON) is kept up to kMaxCapturedReply bytes and read at its end; a stream
// (text/event-stream) is read event by event as it passes, only the text deltas kept: nothing of
// the stream is buffered besides the event being read (at most kMaxCapturedReply) and the text.
// The client's API decides the shape read: OpenAI chat (choices[0]), Anthropic Messages (text
// blocks, stop_reason), the Responses API (output_text), Gemini (candidates[0] parts). At most
// kMaxCapturedText bytes of text are kept; past it the rest is dropped and `truncated` set.
// end() writes the span attribute's JSON into RequestTrace::output_messages: Full, the
// OpenTelemetry GenAI shape [{role, parts: [{type: "text", content}], finish_reason}]; Metadata,
// roles and sizes only ({type: "text", size}).
//
// Per request, on the request's worker thread; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

  // The text read so far, its finish reason, whether text was dropped (tests).
  const std::string& text() const { return text_; }
  const std::string& finish_reason() const { return finish_reason_; }
  bool truncated() const { return truncated_; }

 private:
  void add_text(std::string_view text);
  void read_object(std::string_view json, bool event);
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
  std::string finish_reason_;
  bool truncated_ = false;
};

}  // namespace sluice::proxy
