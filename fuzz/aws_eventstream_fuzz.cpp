// libFuzzer target for EventStreamDecoder and encode_event_stream_message.
// Input: [mode/seed byte][limit byte][rest...]. Mode 0: `rest` is raw wire bytes; decoding them
// whole and in pseudo-random chunks must agree (messages, error text, end state), memory must
// stay within the limit, and re-encoding the decoded messages must reproduce exactly the bytes
// they came from. Mode 1: the same after the CRCs in `rest` are repaired frame by frame, since
// random bytes rarely get past them, so lengths and headers are explored. Mode 2: `rest`
// describes headers and a payload; the encoded frame must decode back to the same message in
// any chunking, and flipping any one byte of it must be rejected with an error.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_chunks.hpp"
#include "translate/aws_eventstream.hpp"

using sluice::translate::encode_event_stream_message;
using sluice::translate::EventStreamDecoder;
using sluice::translate::EventStreamHeader;
using sluice::translate::EventStreamHeaderType;
using sluice::translate::EventStreamMessage;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

struct Result {
  std::vector<EventStreamMessage> messages;
  std::string error;
  EventStreamDecoder::End end;
};

Result decode(std::string_view bytes, std::size_t limit, std::uint64_t seed, bool in_chunks) {
  EventStreamDecoder decoder(limit);
  Result r;
  if (!in_chunks) {
    decoder.feed(bytes, r.messages);
  } else {
    sluice::fuzz::ChunkSplitter splitter(seed);
    for (std::string_view rest = bytes; !rest.empty();) {
      decoder.feed(splitter.next(rest), r.messages);
      check(decoder.buffered_bytes() <= limit);
    }
  }
  check(decoder.buffered_bytes() <= limit);
  r.error = std::string(decoder.error());
  r.end = decoder.finish();
  return r;
}

void fuzz_raw(std::string_view bytes, std::size_t limit, std::uint64_t seed) {
  const Result whole = decode(bytes, limit, seed, false);
  const Result chunked = decode(bytes, limit, seed, true);
  check(whole.messages == chunked.messages);
  check(whole.error == chunked.error);
  check(whole.end == chunked.end);
  std::string reencoded;
  for (const auto& m : whole.messages) {
    const std::string frame = encode_event_stream_message(m.headers, m.payload);
    check(frame.size() <= limit);
    reencoded += frame;
  }
  check(bytes.substr(0, reencoded.size()) == reencoded);
}

std::uint32_t read_be32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void write_crc(std::string& s, std::size_t covered_from, std::size_t at) {
  const auto crc = static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(s.data() + covered_from), static_cast<uInt>(at - covered_from)));
  for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
}

// Rewrites the prelude and message CRCs of each frame in `bytes` to be correct.
std::string repair_crcs(std::string_view bytes) {
  std::string s(bytes);
  std::size_t offset = 0;
  while (s.size() - offset >= 12) {
    write_crc(s, offset, offset + 8);
    const std::size_t total = read_be32(s, offset);
    if (total < 16 || total > s.size() - offset) break;
    write_crc(s, offset, offset + total - 4);
    offset += total;
  }
  return s;
}

// Reads a byte from `in` (0 when exhausted).
std::uint8_t take(std::string_view& in) {
  if (in.empty()) return 0;
  const auto b = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  return b;
}

std::string take_string(std::string_view& in, std::size_t n) {
  const std::string_view s = in.substr(0, n);
  in.remove_prefix(s.size());
  return std::string(s);
}

std::int64_t take_int(std::string_view& in, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | take(in);
  if (width < 8 && (v >> (8 * width - 1)) != 0) v |= ~std::uint64_t{0} << (8 * width);  // sign-extend
  return static_cast<std::int64_t>(v);
}

void fuzz_structured(std::string_view in, std::uint64_t seed) {
  std::vector<EventStreamHeader> headers;
  const std::size_t header_count = take(in) % 12;
  for (std::size_t i = 0; i < header_count; ++i) {
    std::string name = take_string(in, 1 + take(in) % 16);
    if (name.empty()) name = "n";
    switch (take(in) % 10) {
      case 0:
        headers.push_back(EventStreamHeader::boolean(name, true));
        break;
      case 1:
        headers.push_back(EventStreamHeader::boolean(name, false));
        break;
      case 2:
        headers.push_back(EventStreamHeader::byte(name, static_cast<std::int8_t>(take_int(in, 1))));
        break;
      case 3:
        headers.push_back(EventStreamHeader::int16(name, static_cast<std::int16_t>(take_int(in, 2))));
        break;
      case 4:
        headers.push_back(EventStreamHeader::int32(name, static_cast<std::int32_t>(take_int(in, 4))));
        break;
      case 5:
        headers.push_back(EventStreamHeader::int64(name, take_int(in, 8)));
        break;
      case 6:
        headers.push_back(EventStreamHeader::binary(name, take_string(in, take(in))));
        break;
      case 7:
        headers.push_back(EventStreamHeader::string(name, take_string(in, take(in))));
        break;
      case 8:
        headers.push_back(EventStreamHeader::timestamp(name, take_int(in, 8)));
        break;
      default: {
        std::string raw = take_string(in, 16);
        raw.resize(16, '\0');
        headers.push_back(EventStreamHeader::uuid(name, raw));
      }
    }
  }
  const std::size_t flip_at = (static_cast<std::size_t>(take(in)) << 8) | take(in);
  const auto flip_mask = static_cast<char>(1 + take(in) % 255);
  const std::string payload(in);

  const std::string frame = encode_event_stream_message(headers, payload);
  const Result decoded = decode(frame, EventStreamDecoder::kDefaultMaxMessageBytes, seed, true);
  check(decoded.error.empty() && decoded.end == EventStreamDecoder::End::kClean);
  check(decoded.messages.size() == 1);
  check(decoded.messages[0].headers == headers && decoded.messages[0].payload == payload);

  std::string corrupt = frame;
  corrupt[flip_at % corrupt.size()] ^= flip_mask;
  const Result rejected = decode(corrupt, EventStreamDecoder::kDefaultMaxMessageBytes, seed, true);
  check(rejected.messages.empty());
  check(!rejected.error.empty());  // CRC-32 catches every single-byte change
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t seed = data[0];
  const std::size_t limit = data[1] < 250 ? 16 + std::size_t{data[1]} * 4 : EventStreamDecoder::kDefaultMaxMessageBytes;
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  switch (seed % 3) {
    case 0:
      fuzz_raw(rest, limit, seed / 3);
      break;
    case 1:
      fuzz_raw(repair_crcs(rest), limit, seed / 3);
      break;
    default:
      fuzz_structured(rest, seed / 3);
  }
  return 0;
}
