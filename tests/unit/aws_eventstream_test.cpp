#include "translate/aws_eventstream.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::translate {
namespace {

using H = EventStreamHeader;

struct Decoded {
  std::vector<EventStreamMessage> messages;
  bool ok = true;
  std::string error;
  EventStreamDecoder::End end = EventStreamDecoder::End::kClean;
};

Decoded decode(std::string_view bytes, std::size_t chunk = 0,
               std::size_t max = EventStreamDecoder::kDefaultMaxMessageBytes) {
  EventStreamDecoder decoder(max);
  Decoded out;
  if (chunk == 0) chunk = bytes.size() + 1;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) out.ok = decoder.feed(bytes.substr(i, chunk), out.messages);
  out.error = std::string(decoder.error());
  out.end = decoder.finish();
  return out;
}

std::uint32_t be32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

std::uint32_t crc(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// A frame with arbitrary (possibly invalid) lengths but correct CRCs, so that only what a test
// means to break is broken. total = 0 and headers_len = 0 mean "the real sizes".
std::string raw_frame(std::uint32_t total, std::uint32_t headers_len, std::string_view headers,
                      std::string_view payload) {
  std::string frame(12, '\0');
  put_be32(frame, 0, total != 0 ? total : static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
  put_be32(frame, 4, headers_len != 0 ? headers_len : static_cast<std::uint32_t>(headers.size()));
  put_be32(frame, 8, crc(std::string_view(frame).substr(0, 8)));
  frame.append(headers);
  frame.append(payload);
  frame.append(4, '\0');
  put_be32(frame, frame.size() - 4, crc(std::string_view(frame).substr(0, frame.size() - 4)));
  return frame;
}

std::vector<EventStreamHeader> bedrock_delta_headers() {
  return {H::string(":event-type", "contentBlockDelta"), H::string(":content-type", "application/json"),
          H::string(":message-type", "event")};
}
const char* const kDeltaPayload = R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})";

std::vector<EventStreamHeader> every_header_type() {
  return {H::boolean("t", true),
          H::boolean("f", false),
          H::byte("b", -7),
          H::int16("s", -12345),
          H::int32("i", -2000000000),
          H::int64("l", INT64_MIN + 1),
          H::binary("bytes", std::string("\0\x01\xFF", 3)),
          H::string("str", "héllo"),
          H::timestamp("ts", 1700000000123),
          H::uuid("id", std::string("0123456789abcdef"))};
}

TEST(AwsEventStream, KnownBedrockVector) {
  // Built byte by byte from the spec: 3 string headers, 45-byte payload.
  std::string headers;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {":event-type", "contentBlockDelta"}, {":content-type", "application/json"}, {":message-type", "event"}}) {
    headers.push_back(static_cast<char>(name.size()));
    headers += name;
    headers.push_back(7);
    headers.push_back(static_cast<char>(value.size() >> 8));
    headers.push_back(static_cast<char>(value.size() & 0xFF));
    headers += value;
  }
  const std::string payload = kDeltaPayload;
  const std::string frame = encode_event_stream_message(bedrock_delta_headers(), payload);
  ASSERT_EQ(frame.size(), 16 + headers.size() + payload.size());
  EXPECT_EQ(be32(frame, 0), frame.size());
  EXPECT_EQ(be32(frame, 4), headers.size());
  // Lengths and CRCs computed independently (Python's struct + binascii.crc32).
  EXPECT_EQ(be32(frame, 0), 148u);
  EXPECT_EQ(be32(frame, 4), 87u);
  EXPECT_EQ(be32(frame, 8), 0xB4AB9AEEu);
  EXPECT_EQ(be32(frame, 144), 0x1F944657u);
  EXPECT_EQ(frame.substr(12, headers.size()), headers);
  EXPECT_EQ(frame.substr(12 + headers.size(), payload.size()), payload);

  const auto d = decode(frame);
  ASSERT_TRUE(d.ok) << d.error;
  ASSERT_EQ(d.messages.size(), 1u);
  const auto& m = d.messages[0];
  EXPECT_EQ(m.string_header(":event-type"), "contentBlockDelta");
  EXPECT_EQ(m.string_header(":content-type"), "application/json");
  EXPECT_EQ(m.string_header(":message-type"), "event");
  EXPECT_EQ(m.string_header(":exception-type"), "");
  EXPECT_EQ(m.payload, payload);
  EXPECT_EQ(m.headers, bedrock_delta_headers());
  EXPECT_EQ(d.end, EventStreamDecoder::End::kClean);
}

TEST(AwsEventStream, KnownCrcValues) {
  // The CRC-32 (IEEE) of the 8 prelude bytes of an empty message (total 16, headers 0), as
  // published in the AWS SDKs' event-stream test vectors ("empty_message").
  const std::string frame = encode_event_stream_message({}, "");
  ASSERT_EQ(frame.size(), 16u);
  EXPECT_EQ(be32(frame, 8), 0x05C248EBu);
  EXPECT_EQ(be32(frame, 12), 0x7D98C8FFu);
}

TEST(AwsEventStream, RoundTripsEveryHeaderType) {
  const auto headers = every_header_type();
  const std::string frame = encode_event_stream_message(headers, "payload");
  const auto d = decode(frame);
  ASSERT_TRUE(d.ok) << d.error;
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].headers, headers);
  EXPECT_EQ(d.messages[0].payload, "payload");
  EXPECT_EQ(d.messages[0].find("t")->number, 1);
  EXPECT_EQ(d.messages[0].find("f")->number, 0);
  EXPECT_EQ(d.messages[0].find("l")->number, INT64_MIN + 1);
  EXPECT_EQ(d.messages[0].find("bytes")->bytes, std::string("\0\x01\xFF", 3));
  EXPECT_EQ(d.messages[0].find("missing"), nullptr);
  EXPECT_EQ(encode_event_stream_message(d.messages[0].headers, d.messages[0].payload), frame);
}

TEST(AwsEventStream, EmptyAndBinaryPayloads) {
  const std::string binary("\0\r\n\xFF", 4);
  const std::string stream = encode_event_stream_message({}, "") + encode_event_stream_message({}, binary);
  const auto d = decode(stream);
  ASSERT_EQ(d.messages.size(), 2u);
  EXPECT_TRUE(d.messages[0].headers.empty());
  EXPECT_EQ(d.messages[0].payload, "");
  EXPECT_EQ(d.messages[1].payload, binary);
}

TEST(AwsEventStream, AnyChunkingYieldsTheSameMessages) {
  std::string stream;
  std::vector<EventStreamMessage> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string payload = std::string(R"({"contentBlockIndex":0,"delta":{"text":")") +
                                std::string(static_cast<std::size_t>(i * 7), 'x') + "\"}}";
    auto headers = i % 2 == 0 ? bedrock_delta_headers() : every_header_type();
    stream += encode_event_stream_message(headers, payload);
    expected.push_back({headers, payload});
  }
  for (std::size_t chunk = 1; chunk <= stream.size(); chunk += (chunk < 40 ? 1 : 37)) {
    const auto d = decode(stream, chunk);
    ASSERT_TRUE(d.ok) << "chunk " << chunk << ": " << d.error;
    EXPECT_EQ(d.messages, expected) << "chunk " << chunk;
    EXPECT_EQ(d.end, EventStreamDecoder::End::kClean);
  }
}

TEST(AwsEventStream, CallbackSinkAndBufferedBytes) {
  const std::string frame = encode_event_stream_message(bedrock_delta_headers(), kDeltaPayload);
  EventStreamDecoder decoder;
  int count = 0;
  auto sink = [&count](const EventStreamMessage& m) { count += m.string_header(":event-type") == "contentBlockDelta"; };
  EXPECT_TRUE(decoder.feed(std::string_view(frame).substr(0, 20), sink));
  EXPECT_EQ(decoder.buffered_bytes(), 20u);
  EXPECT_TRUE(decoder.feed(std::string_view(frame).substr(20), sink));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_EQ(count, 1);
}

class AwsEventStreamCorruption : public ::testing::Test {
 protected:
  const std::string frame_ = encode_event_stream_message(bedrock_delta_headers(), kDeltaPayload);

  // Decodes a good message followed by `bad` in several chunkings; each must report an error
  // mentioning `what`, deliver only the good message and stay failed.
  void expect_error(const std::string& bad, std::string_view what, std::size_t max = 1024) {
    const std::string stream = frame_ + bad;
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{64}}) {
      const auto d = decode(stream, chunk, max);
      EXPECT_FALSE(d.ok) << "chunk " << chunk;
      EXPECT_NE(d.error.find(what), std::string::npos) << "chunk " << chunk << ": " << d.error;
      EXPECT_EQ(d.messages.size(), 1u) << "chunk " << chunk;
      EXPECT_EQ(d.end, EventStreamDecoder::End::kError);
    }
  }
};

TEST_F(AwsEventStreamCorruption, BadPreludeCrc) {
  std::string bad = frame_;
  bad[9] ^= 0x10;
  expect_error(bad, "prelude CRC");
}

TEST_F(AwsEventStreamCorruption, BadMessageCrc) {
  std::string bad = frame_;
  bad[bad.size() - 1] ^= 0x01;
  expect_error(bad, "message CRC");
  std::string payload_flip = frame_;
  payload_flip[frame_.size() - 10] ^= 0x20;
  expect_error(payload_flip, "message CRC");
}

TEST_F(AwsEventStreamCorruption, EverySingleByteFlipIsDetected) {
  for (std::size_t i = 0; i < frame_.size(); ++i) {
    std::string bad = frame_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    const auto d = decode(bad, 3);
    EXPECT_TRUE(d.messages.empty()) << "byte " << i;
    EXPECT_FALSE(d.ok) << "byte " << i;
  }
}

TEST_F(AwsEventStreamCorruption, Truncated) {
  const auto d = decode(frame_ + frame_.substr(0, frame_.size() - 1), 7);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.end, EventStreamDecoder::End::kPartialMessage);
  EXPECT_EQ(decode(frame_.substr(0, 5)).end, EventStreamDecoder::End::kPartialMessage);
  EXPECT_EQ(decode(frame_.substr(0, 12)).end, EventStreamDecoder::End::kPartialMessage);
}

TEST_F(AwsEventStreamCorruption, Oversized) {
  const std::string big = encode_event_stream_message({}, std::string(2000, 'x'));
  expect_error(big, "exceeds the 1024-byte limit");
  const auto d = decode(big, 0, 2016);
  EXPECT_TRUE(d.ok) << "a message exactly at the limit is accepted";
  // The limit is enforced from the prelude alone, before the message is buffered.
  EventStreamDecoder decoder(1024);
  EXPECT_FALSE(decoder.feed(std::string_view(big).substr(0, 12), [](const EventStreamMessage&) {}));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST_F(AwsEventStreamCorruption, TotalLengthBelowMinimum) {
  for (const std::uint32_t total : {1u, 12u, 15u}) {
    expect_error(raw_frame(total, 0, "", ""), "below the 16-byte minimum");
  }
}

TEST_F(AwsEventStreamCorruption, HeadersLengthOverrunsMessage) {
  const std::string headers = encode_event_stream_message({H::string("a", "b")}, "").substr(12, 7);
  expect_error(raw_frame(16 + 7, 8, headers, ""), "headers length 8 overruns");
  expect_error(raw_frame(16 + 7, 0xFFFFFFFF, headers, ""), "overruns");
}

TEST_F(AwsEventStreamCorruption, HeaderOverrunningItsBlock) {
  // Well-formed frames (both CRCs right) whose headers block ends inside a header: the block is
  // the valid headers cut short and the rest becomes payload.
  const std::string good = encode_event_stream_message(every_header_type(), "");
  const std::string block = good.substr(12, be32(good, 4));
  for (std::size_t cut = 1; cut < block.size(); ++cut) {
    const std::string bad = raw_frame(0, 0, block.substr(0, cut), block.substr(cut));
    const auto d = decode(bad);
    // Cutting exactly between two headers leaves a valid (shorter) message.
    if (d.ok) continue;
    EXPECT_NE(d.error.find("overruns the headers block"), std::string::npos) << cut << ": " << d.error;
  }
  expect_error(raw_frame(0, 0,
                         std::string("\x05"
                                     "ab",
                                     3),
                         ""),
               "header name overruns");
  expect_error(raw_frame(0, 0,
                         std::string("\x01"
                                     "a"
                                     "\x07\x00",
                                     4),
                         ""),
               "value length overruns");
  expect_error(raw_frame(0, 0,
                         std::string("\x01"
                                     "a"
                                     "\x07\x00\x05xy",
                                     7),
                         ""),
               "value overruns");
  expect_error(raw_frame(0, 0,
                         std::string("\x01"
                                     "a"
                                     "\x04\x00",
                                     4),
                         ""),
               "value overruns");
  expect_error(raw_frame(0, 0,
                         std::string("\x01"
                                     "a"
                                     "\x09"
                                     "0123",
                                     7),
                         ""),
               "value overruns");
}

TEST_F(AwsEventStreamCorruption, BadHeaderNameOrType) {
  expect_error(raw_frame(0, 0, std::string("\x00\x07", 2), ""), "empty header name");
  expect_error(raw_frame(0, 0,
                         std::string("\x01"
                                     "a"
                                     "\x0A",
                                     3),
                         ""),
               "unknown header value type 10");
}

TEST(AwsEventStream, EncoderRejectsUnencodableHeaders) {
  EXPECT_THROW(encode_event_stream_message({H::string("", "x")}, ""), std::invalid_argument);
  EXPECT_THROW(encode_event_stream_message({H::string(std::string(256, 'n'), "x")}, ""), std::invalid_argument);
  EXPECT_THROW(encode_event_stream_message({H::binary("b", std::string(65536, 'x'))}, ""), std::invalid_argument);
  EXPECT_THROW(encode_event_stream_message({H::uuid("u", "short")}, ""), std::invalid_argument);
}

}  // namespace
}  // namespace sluice::translate
