#include "translate/aws_eventstream.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace sluice::translate {
namespace {

constexpr std::size_t kPreludeBytes = 12;
constexpr std::size_t kCrcBytes = 4;
// Buffers that grew past this for one large message are released instead of kept for reuse.
constexpr std::size_t kRetainedCapacity = 64 * 1024;

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::uint64_t read_be(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

void write_be(std::string& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i > 0; --i) out.push_back(static_cast<char>((value >> (8 * (i - 1))) & 0xFF));
}

// Sign-extends the low `width` bytes of `raw`.
std::int64_t to_signed(std::uint64_t raw, std::size_t width) {
  if (width == 8) return static_cast<std::int64_t>(raw);
  const std::uint64_t sign = std::uint64_t{1} << (8 * width - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

std::size_t fixed_width(EventStreamHeaderType type) {
  switch (type) {
    case EventStreamHeaderType::kByte:
      return 1;
    case EventStreamHeaderType::kInt16:
      return 2;
    case EventStreamHeaderType::kInt32:
      return 4;
    case EventStreamHeaderType::kInt64:
    case EventStreamHeaderType::kTimestamp:
      return 8;
    case EventStreamHeaderType::kUuid:
      return 16;
    default:
      return 0;
  }
}

void release_if_large(std::string& s) {
  if (s.capacity() > kRetainedCapacity) std::string().swap(s);
}

// Parses the headers block into `headers` (reusing its elements). Returns an error or "".
std::string parse_headers(std::string_view block, std::vector<EventStreamHeader>& headers) {
  std::size_t count = 0;
  std::size_t p = 0;
  while (p < block.size()) {
    const std::size_t name_len = static_cast<unsigned char>(block[p++]);
    if (name_len == 0) return "empty header name";
    if (block.size() - p < name_len + 1) return "header name overruns the headers block";
    if (count == headers.size()) headers.emplace_back();
    EventStreamHeader& h = headers[count++];
    h.name.assign(block.substr(p, name_len));
    p += name_len;
    const auto type_byte = static_cast<unsigned char>(block[p++]);
    if (type_byte > static_cast<unsigned char>(EventStreamHeaderType::kUuid)) {
      return "unknown header value type " + std::to_string(type_byte);
    }
    h.type = static_cast<EventStreamHeaderType>(type_byte);
    h.number = 0;
    h.bytes.clear();
    switch (h.type) {
      case EventStreamHeaderType::kBoolTrue:
        h.number = 1;
        break;
      case EventStreamHeaderType::kBoolFalse:
        break;
      case EventStreamHeaderType::kBytes:
      case EventStreamHeaderType::kString: {
        if (block.size() - p < 2) return "header value length overruns the headers block";
        const std::size_t len = read_be(block, p, 2);
        p += 2;
        if (block.size() - p < len) return "header value overruns the headers block";
        h.bytes.assign(block.substr(p, len));
        p += len;
        break;
      }
      case EventStreamHeaderType::kUuid:
        if (block.size() - p < 16) return "header value overruns the headers block";
        h.bytes.assign(block.substr(p, 16));
        p += 16;
        break;
      default: {
        const std::size_t width = fixed_width(h.type);
        if (block.size() - p < width) return "header value overruns the headers block";
        h.number = to_signed(read_be(block, p, width), width);
        p += width;
      }
    }
  }
  headers.resize(count);
  return {};
}

}  // namespace

EventStreamHeader EventStreamHeader::boolean(std::string name, bool value) {
  return {
      std::move(name), value ? EventStreamHeaderType::kBoolTrue : EventStreamHeaderType::kBoolFalse, value ? 1 : 0, {}};
}
EventStreamHeader EventStreamHeader::byte(std::string name, std::int8_t value) {
  return {std::move(name), EventStreamHeaderType::kByte, value, {}};
}
EventStreamHeader EventStreamHeader::int16(std::string name, std::int16_t value) {
  return {std::move(name), EventStreamHeaderType::kInt16, value, {}};
}
EventStreamHeader EventStreamHeader::int32(std::string name, std::int32_t value) {
  return {std::move(name), EventStreamHeaderType::kInt32, value, {}};
}
EventStreamHeader EventStreamHeader::int64(std::string name, std::int64_t value) {
  return {std::move(name), EventStreamHeaderType::kInt64, value, {}};
}
EventStreamHeader EventStreamHeader::binary(std::string name, std::string value) {
  return {std::move(name), EventStreamHeaderType::kBytes, 0, std::move(value)};
}
EventStreamHeader EventStreamHeader::string(std::string name, std::string value) {
  return {std::move(name), EventStreamHeaderType::kString, 0, std::move(value)};
}
EventStreamHeader EventStreamHeader::timestamp(std::string name, std::int64_t millis) {
  return {std::move(name), EventStreamHeaderType::kTimestamp, millis, {}};
}
EventStreamHeader EventStreamHeader::uuid(std::string name, std::string raw16) {
  return {std::move(name), EventStreamHeaderType::kUuid, 0, std::move(raw16)};
}

const EventStreamHeader* EventStreamMessage::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::string_view EventStreamMessage::string_header(std::string_view name) const {
  const EventStreamHeader* h = find(name);
  return h != nullptr && h->is_string() ? std::string_view(h->bytes) : std::string_view();
}

EventStreamDecoder::EventStreamDecoder(std::size_t max_message_bytes)
    : max_message_bytes_(std::min<std::size_t>(max_message_bytes, std::numeric_limits<std::uint32_t>::max())) {}

bool EventStreamDecoder::feed(std::string_view bytes, std::vector<EventStreamMessage>& out) {
  return feed(bytes, [&out](const EventStreamMessage& message) { out.push_back(message); });
}

void EventStreamDecoder::fail(std::string message) {
  error_ = "event-stream: " + std::move(message);
  buffer_.clear();
  release_if_large(buffer_);
  expected_ = 0;
}

std::size_t EventStreamDecoder::check_prelude(std::string_view prelude) {
  const std::size_t total = read_be(prelude, 0, 4);
  const std::size_t headers_len = read_be(prelude, 4, 4);
  const auto prelude_crc = static_cast<std::uint32_t>(read_be(prelude, 8, 4));
  if (crc_of(prelude.substr(0, 8)) != prelude_crc) {
    fail("prelude CRC mismatch");
  } else if (total < kEventStreamOverhead) {
    fail("message length " + std::to_string(total) + " is below the 16-byte minimum");
  } else if (total > max_message_bytes_) {
    fail("message length " + std::to_string(total) + " exceeds the " + std::to_string(max_message_bytes_) +
         "-byte limit");
  } else if (headers_len > total - kEventStreamOverhead) {
    fail("headers length " + std::to_string(headers_len) + " overruns message length " + std::to_string(total));
  } else {
    return total;
  }
  return 0;
}

void EventStreamDecoder::decode_message(std::string_view frame, MessageSink sink) {
  const std::size_t body_end = frame.size() - kCrcBytes;
  const auto message_crc = static_cast<std::uint32_t>(read_be(frame, body_end, 4));
  if (crc_of(frame.substr(0, body_end)) != message_crc) {
    fail("message CRC mismatch");
    return;
  }
  const std::size_t headers_len = read_be(frame, 4, 4);
  if (std::string problem = parse_headers(frame.substr(kPreludeBytes, headers_len), message_.headers);
      !problem.empty()) {
    fail(std::move(problem));
    return;
  }
  message_.payload.assign(frame.substr(kPreludeBytes + headers_len, body_end - kPreludeBytes - headers_len));
  sink.deliver(sink.context, message_);
  release_if_large(message_.payload);
}

bool EventStreamDecoder::feed_impl(std::string_view bytes, MessageSink sink) {
  while (!bytes.empty() && !failed()) {
    if (buffer_.empty()) {
      // Decode straight from the caller's bytes while whole messages are available.
      if (bytes.size() < kPreludeBytes) {
        buffer_.assign(bytes);
        return true;
      }
      const std::size_t total = check_prelude(bytes.substr(0, kPreludeBytes));
      if (total == 0) break;
      if (bytes.size() >= total) {
        decode_message(bytes.substr(0, total), sink);
        bytes.remove_prefix(total);
        continue;
      }
      buffer_.reserve(total);
      buffer_.assign(bytes);
      expected_ = total;
      return true;
    }
    if (expected_ == 0) {
      const std::size_t take = std::min(kPreludeBytes - buffer_.size(), bytes.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() < kPreludeBytes) return true;
      expected_ = check_prelude(buffer_);
      if (expected_ == 0) break;
      buffer_.reserve(expected_);
    }
    const std::size_t take = std::min(expected_ - buffer_.size(), bytes.size());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (buffer_.size() == expected_) {
      decode_message(buffer_, sink);
      if (failed()) break;
      buffer_.clear();
      release_if_large(buffer_);
      expected_ = 0;
    }
  }
  return !failed();
}

EventStreamDecoder::End EventStreamDecoder::finish() {
  const End end = failed() ? End::kError : buffer_.empty() ? End::kClean : End::kPartialMessage;
  *this = EventStreamDecoder(max_message_bytes_);
  return end;
}

std::string encode_event_stream_message(const std::vector<EventStreamHeader>& headers, std::string_view payload) {
  std::string block;
  for (const auto& h : headers) {
    if (h.name.empty() || h.name.size() > 255) {
      throw std::invalid_argument("event-stream header name must be 1..255 bytes");
    }
    block.push_back(static_cast<char>(h.name.size()));
    block.append(h.name);
    block.push_back(static_cast<char>(h.type));
    switch (h.type) {
      case EventStreamHeaderType::kBoolTrue:
      case EventStreamHeaderType::kBoolFalse:
        break;
      case EventStreamHeaderType::kBytes:
      case EventStreamHeaderType::kString:
        if (h.bytes.size() > 0xFFFF) throw std::invalid_argument("event-stream header value exceeds 65535 bytes");
        write_be(block, h.bytes.size(), 2);
        block.append(h.bytes);
        break;
      case EventStreamHeaderType::kUuid:
        if (h.bytes.size() != 16) throw std::invalid_argument("event-stream uuid header must be 16 bytes");
        block.append(h.bytes);
        break;
      default:
        write_be(block, static_cast<std::uint64_t>(h.number), fixed_width(h.type));
    }
  }
  const std::size_t total = kEventStreamOverhead + block.size() + payload.size();
  if (total > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("event-stream message exceeds 4 GiB");
  }
  std::string frame;
  frame.reserve(total);
  write_be(frame, total, 4);
  write_be(frame, block.size(), 4);
  write_be(frame, crc_of(frame), 4);
  frame.append(block);
  frame.append(payload);
  write_be(frame, crc_of(frame), 4);
  return frame;
}

}  // namespace sluice::translate
