// Incremental Server-Sent Events parser following the WHATWG EventSource rules: fed the bytes of
// an upstream `text/event-stream` body in any chunking (a chunk may end inside a CRLF or a UTF-8
// sequence), it yields each complete event as soon as its terminating blank line arrives.
// It never holds more than one pending event: bytes of lines already parsed are dropped, and an
// event (plus the line being read) larger than the configured maximum puts the parser in a sticky
// error state instead of growing. Comment lines are skipped without being buffered.
// A plain value type: one parser per stream, not thread-safe, no exceptions thrown by feed().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sluice::translate {

struct SseEvent {
  std::string event;                   // the `event:` field; empty means the default type "message"
  std::string data;                    // `data:` lines joined with '\n'
  std::string id;                      // the last event ID: persists across events until another `id:` line
  std::optional<std::uint64_t> retry;  // a valid `retry:` value given within this event
  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 1024 * 1024;

  enum class End {
    kClean,         // the stream ended on an event boundary
    kPartialEvent,  // fields of an event (or an unterminated line) were left undispatched
    kError,         // the parser had failed earlier; see error()
  };

  // max_event_bytes bounds the bytes held for one pending event (its fields and the line being
  // read), which bounds this parser's memory.
  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses `bytes` and calls sink(const SseEvent&) for each event completed by them, in order.
  // The event reference is valid only during the call. Returns false once the parser has failed
  // (before or during this call); events completed before the failure were still delivered.
  template <class Sink>
  bool feed(std::string_view bytes, Sink&& sink) {
    using SinkType = std::remove_reference_t<Sink>;
    return feed_impl(bytes,
                     EventSink{&sink, [](void* ctx, const SseEvent& event) { (*static_cast<SinkType*>(ctx))(event); }});
  }
  // Same, appending copies of the completed events to `out`.
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);

  // Ends the stream: reports how it ended and resets the parser for a new stream (same limit).
  End finish();

  bool failed() const { return !error_.empty(); }
  std::string_view error() const { return error_; }
  // The stream's reconnection time from the latest valid `retry:` line, if any.
  std::optional<std::uint64_t> reconnection_time() const { return reconnection_time_; }
  // Bytes currently held for the pending event and line; never above max_event_bytes.
  std::size_t buffered_bytes() const;

 private:
  struct EventSink {
    void* context;
    void (*deliver)(void*, const SseEvent&);
  };

  bool feed_impl(std::string_view bytes, EventSink sink);
  void feed_lines(std::string_view bytes, EventSink sink);
  void process_line(std::string_view line, EventSink sink);
  bool fits(std::size_t extra_line_bytes);

  std::size_t max_event_bytes_;
  SseEvent pending_;               // event being assembled; its strings keep their capacity
  bool has_data_ = false;          // a data line was seen (an empty `data:` still dispatches)
  bool has_fields_ = false;        // any non-comment line since the last dispatch point
  std::string line_;               // the unterminated line carried over from a previous chunk
  bool in_line_ = false;           // bytes of an unterminated line were seen (line_ may be empty)
  bool skipping_comment_ = false;  // the unterminated line is a comment: its bytes are dropped
  bool after_cr_ = false;          // the previous chunk ended with CR: a leading LF belongs to it
  std::size_t bom_matched_ = 0;    // bytes of a leading UTF-8 BOM matched so far
  bool bom_done_ = false;
  std::optional<std::uint64_t> reconnection_time_;
  std::string error_;
};

}  // namespace sluice::translate
