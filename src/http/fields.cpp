#include "http/fields.hpp"

namespace sluice::http::field_blocks {

namespace {

struct FreeBlock {
  FreeBlock* next;
};

// One thread's free lists; what is left on them is freed when the thread ends.
struct Pool {
  FreeBlock* heads[kClasses] = {};
  std::size_t counts[kClasses] = {};

  ~Pool() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (heads[c]) {
        FreeBlock* block = heads[c];
        heads[c] = block->next;
        ::operator delete(block);
      }
      counts[c] = kMaxBlocksPerClass;  // a block freed later on this thread goes to operator delete
    }
  }
};

thread_local Pool pool;

// The class of a block of `bytes` (bytes ≤ kMaxRecycledBytes): its size is (class + 1) granules.
std::size_t size_class(std::size_t bytes) {
  return bytes == 0 ? 0 : (bytes - 1) / kGranuleBytes;
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (!kRecycles || bytes > kMaxRecycledBytes) return ::operator new(bytes);
  const auto c = size_class(bytes);
  if (FreeBlock* block = pool.heads[c]) {
    pool.heads[c] = block->next;
    --pool.counts[c];
    return block;
  }
  return ::operator new((c + 1) * kGranuleBytes);
}

void deallocate(void* block, std::size_t bytes) noexcept {
  if (!kRecycles || bytes > kMaxRecycledBytes) {
    ::operator delete(block);
    return;
  }
  const auto c = size_class(bytes);
  if (pool.counts[c] >= kMaxBlocksPerClass) {
    ::operator delete(block);
    return;
  }
  pool.heads[c] = new (block) FreeBlock{pool.heads[c]};
  ++pool.counts[c];
}

std::size_t cached_blocks() {
  std::size_t total = 0;
  for (const auto count : pool.counts) total += count;
  return total;
}

}  // namespace sluice::http::field_blocks
