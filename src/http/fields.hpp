// Header fields of the messages on the request path: Beast's basic_fields with an allocator that
// recycles its blocks on the thread that frees them, and the request/response header and parser
// types built on them.
//
// Beast allocates one block per header field (the field's name and value stored inline), so a
// proxied request costs some twenty field blocks of varied sizes (the client's request, the
// upstream's response). glibc keeps only seven free blocks per size in its per-thread cache; the
// rest went to its shared bins (_int_malloc, unlink_chunk and malloc_consolidate in profiles of
// the request path). Here a block of up to kMaxRecycledBytes returns to a per-thread free list of
// its size class (granules of 64 bytes), at most kMaxBlocksPerClass per class and thread; larger
// blocks and the overflow go to operator new / delete.
//
// Thread-safety: the allocator is stateless and every instance is equal; each thread has its own
// lists, so a block freed on another thread than the one that allocated it joins that thread's
// list (blocks all come from operator new with their class's size, so any thread may reuse it).
// No lock, no sharing. Memory held per thread is bounded: kMaxBlocksPerClass blocks per class.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <new>

namespace sluice::http {

namespace field_blocks {

inline constexpr std::size_t kGranuleBytes = 64;
inline constexpr std::size_t kClasses = 8;
inline constexpr std::size_t kMaxRecycledBytes = kGranuleBytes * kClasses;
inline constexpr std::size_t kMaxBlocksPerClass = 128;
// Under AddressSanitizer every block goes straight to operator new / delete, so a use after free
// of a header field is still caught.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRecycles = false;
#elif defined(__has_feature)
inline constexpr bool kRecycles = !__has_feature(address_sanitizer);
#else
inline constexpr bool kRecycles = true;
#endif

void* allocate(std::size_t bytes);
void deallocate(void* block, std::size_t bytes) noexcept;
// Blocks on this thread's free lists, for tests.
std::size_t cached_blocks();

}  // namespace field_blocks

template <class T>
class FieldAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "blocks are operator new aligned");

  FieldAllocator() noexcept = default;
  template <class U>
  FieldAllocator(const FieldAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(field_blocks::allocate(n * sizeof(T))); }
  void deallocate(T* block, std::size_t n) noexcept { field_blocks::deallocate(block, n * sizeof(T)); }

  template <class U>
  friend bool operator==(const FieldAllocator&, const FieldAllocator<U>&) noexcept {
    return true;
  }
};

using Fields = boost::beast::http::basic_fields<FieldAllocator<char>>;
using RequestHeader = boost::beast::http::request_header<Fields>;
using ResponseHeader = boost::beast::http::response_header<Fields>;
template <class Body>
using RequestParser = boost::beast::http::request_parser<Body, FieldAllocator<char>>;
template <class Body>
using ResponseParser = boost::beast::http::response_parser<Body, FieldAllocator<char>>;

}  // namespace sluice::http
