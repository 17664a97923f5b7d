// http/fields.hpp: header fields whose blocks are recycled per thread.
#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/fields.hpp"

namespace sluice::http {
namespace {

namespace bhttp = boost::beast::http;

TEST(FieldAllocator, AFreedBlockIsReusedForTheSameSizeClass) {
  if (!field_blocks::kRecycles) GTEST_SKIP() << "AddressSanitizer build: blocks are not recycled";
  void* first = field_blocks::allocate(100);
  const auto cached = field_blocks::cached_blocks();
  field_blocks::deallocate(first, 100);
  EXPECT_EQ(field_blocks::cached_blocks(), cached + 1);
  // 65..128 bytes share a class: the block comes back for 120 bytes too.
  void* again = field_blocks::allocate(120);
  EXPECT_EQ(again, first);
  EXPECT_EQ(field_blocks::cached_blocks(), cached);
  field_blocks::deallocate(again, 120);
}

TEST(FieldAllocator, LargeBlocksAreNotKept) {
  const auto cached = field_blocks::cached_blocks();
  void* large = field_blocks::allocate(field_blocks::kMaxRecycledBytes + 1);
  field_blocks::deallocate(large, field_blocks::kMaxRecycledBytes + 1);
  EXPECT_EQ(field_blocks::cached_blocks(), cached);
}

TEST(FieldAllocator, AThreadKeepsAtMostTheCapPerClass) {
  if (!field_blocks::kRecycles) GTEST_SKIP() << "AddressSanitizer build: blocks are not recycled";
  // On a new thread, so the count starts at zero.
  std::size_t kept = 0;
  std::thread([&] {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < field_blocks::kMaxBlocksPerClass + 40; ++i)
      blocks.push_back(field_blocks::allocate(64));
    for (void* block : blocks) field_blocks::deallocate(block, 64);
    kept = field_blocks::cached_blocks();
  }).join();
  EXPECT_EQ(kept, field_blocks::kMaxBlocksPerClass);
}

TEST(FieldAllocator, BeastHeadersWorkOnIt) {
  RequestHeader head;
  head.method(bhttp::verb::post);
  head.target("/v1/chat/completions");
  head.version(11);
  for (int i = 0; i < 40; ++i)
    head.set("x-field-" + std::to_string(i), std::string(static_cast<std::size_t>(i) * 20, 'v'));
  head.set(bhttp::field::host, "example.com");
  EXPECT_EQ(head["x-field-39"].size(), 780u);
  head.erase("x-field-3");
  EXPECT_EQ(head.count("x-field-3"), 0u);

  RequestHeader copy = head;
  EXPECT_EQ(copy[bhttp::field::host], "example.com");
  EXPECT_EQ(std::distance(copy.begin(), copy.end()), 40);

  // A block freed on another thread joins that thread's lists and stays usable.
  std::thread([moved = std::move(copy)]() mutable { moved.clear(); }).join();
}

TEST(FieldAllocator, ParsesAndSerialisesLikeTheDefaultFields) {
  const std::string wire =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/json\r\n"
      "Content-Length: 0\r\nX-Custom: one\r\nX-Custom: two\r\n\r\n";
  RequestParser<bhttp::empty_body> parser;
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(wire), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  const auto& message = parser.get();
  EXPECT_EQ(message.count("x-custom"), 2u);
  EXPECT_EQ(message[bhttp::field::content_type], "application/json");

  bhttp::request<bhttp::empty_body, Fields> out = message;
  bhttp::request_serializer<bhttp::empty_body, Fields> serializer(out);
  std::string written;
  while (!serializer.is_done()) {
    serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      written += boost::beast::buffers_to_string(buffers);
      serializer.consume(boost::asio::buffer_size(buffers));
    });
    ASSERT_FALSE(ec);
  }
  EXPECT_EQ(written, wire);
}

}  // namespace
}  // namespace sluice::http
