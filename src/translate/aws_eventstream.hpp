// AWS event-stream (`application/vnd.amazon.eventstream`) framing, as used by Bedrock
// ConverseStream and InvokeModelWithResponseStream. Each message on the wire is
//   [total_len u32][headers_len u32][prelude CRC32 u32][headers][payload][message CRC32 u32]
// (big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything before it).
// EventStreamDecoder is fed the response body in any chunking and yields each message once its
// last byte arrives, after checking both CRCs, every length and every header's bounds; it holds
// at most one partial message, and any violation (or a message above the configured maximum)
// puts it in a sticky error state with a message. encode_event_stream_message() builds frames
// for tests and for sluice-mock. Plain value types, not thread-safe; the decoder never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sluice::translate {

// The wire value types; the numbers are the type bytes.
enum class EventStreamHeaderType : std::uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kByte = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kBytes = 6,
  kString = 7,
  kTimestamp = 8,  // milliseconds since the Unix epoch
  kUuid = 9,
};

struct EventStreamHeader {
  std::string name;
  EventStreamHeaderType type = EventStreamHeaderType::kString;
  std::int64_t number = 0;  // bool (0 or 1), byte, int16, int32, int64 and timestamp values
  std::string bytes;        // bytes and string values, and the 16 raw bytes of a uuid

  bool is_string() const { return type == EventStreamHeaderType::kString; }
  bool operator==(const EventStreamHeader&) const = default;

  static EventStreamHeader boolean(std::string name, bool value);
  static EventStreamHeader byte(std::string name, std::int8_t value);
  static EventStreamHeader int16(std::string name, std::int16_t value);
  static EventStreamHeader int32(std::string name, std::int32_t value);
  static EventStreamHeader int64(std::string name, std::int64_t value);
  static EventStreamHeader binary(std::string name, std::string value);
  static EventStreamHeader string(std::string name, std::string value);
  static EventStreamHeader timestamp(std::string name, std::int64_t millis);
  static EventStreamHeader uuid(std::string name, std::string raw16);
};

struct EventStreamMessage {
  std::vector<EventStreamHeader> headers;  // in wire order; names may repeat
  std::string payload;

  // The first header with this name, or nullptr.
  const EventStreamHeader* find(std::string_view name) const;
  // The value of the first string header with this name; empty when absent or not a string.
  std::string_view string_header(std::string_view name) const;
  bool operator==(const EventStreamMessage&) const = default;
};

// Prelude (12 bytes) plus the trailing message CRC (4 bytes).
inline constexpr std::size_t kEventStreamOverhead = 16;

class EventStreamDecoder {
 public:
  static constexpr std::size_t kDefaultMaxMessageBytes = 16 * 1024 * 1024;

  enum class End {
    kClean,           // the stream ended between messages
    kPartialMessage,  // bytes of an incomplete message were left
    kError,           // the decoder had failed earlier; see error()
  };

  explicit EventStreamDecoder(std::size_t max_message_bytes = kDefaultMaxMessageBytes);

  // Decodes `bytes` and calls sink(const EventStreamMessage&) for each message completed by
  // them, in order; the reference is valid only during the call. Returns false once the decoder
  // has failed (before or during this call); messages completed before the failure were delivered.
  template <class Sink>
  bool feed(std::string_view bytes, Sink&& sink) {
    using SinkType = std::remove_reference_t<Sink>;
    return feed_impl(bytes, MessageSink{&sink, [](void* ctx, const EventStreamMessage& message) {
                                          (*static_cast<SinkType*>(ctx))(message);
                                        }});
  }
  // Same, appending copies of the completed messages to `out`.
  bool feed(std::string_view bytes, std::vector<EventStreamMessage>& out);

  // Ends the stream: reports how it ended and resets the decoder for a new stream.
  End finish();

  bool failed() const { return !error_.empty(); }
  std::string_view error() const { return error_; }
  // Bytes held for the partial message; never above max_message_bytes.
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  struct MessageSink {
    void* context;
    void (*deliver)(void*, const EventStreamMessage&);
  };

  bool feed_impl(std::string_view bytes, MessageSink sink);
  // Validates a prelude (12 bytes) and returns the message's total length, or 0 on error.
  std::size_t check_prelude(std::string_view prelude);
  // Validates and delivers one whole message of the length check_prelude() returned.
  void decode_message(std::string_view frame, MessageSink sink);
  void fail(std::string message);

  std::size_t max_message_bytes_;
  std::string buffer_;          // the partial message carried over between chunks
  std::size_t expected_ = 0;    // total length of the buffered message once its prelude is known
  EventStreamMessage message_;  // reused so decoding keeps its allocations
  std::string error_;
};

// One wire frame. Throws std::invalid_argument when a header name is empty or longer than 255
// bytes, a string or bytes value is longer than 65535 bytes, or a uuid is not 16 bytes.
std::string encode_event_stream_message(const std::vector<EventStreamHeader>& headers, std::string_view payload);

}  // namespace sluice::translate
