// Shared by the fuzz targets: splits an input into pseudo-random chunk sizes derived from the
// input itself, so a crashing input reproduces exactly. Header-only, no state beyond the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::fuzz {

class ChunkSplitter {
 public:
  // `seed` picks both the sequence and the typical chunk size (1 byte up to a few hundred).
  explicit ChunkSplitter(std::uint64_t seed) : state_(seed), max_chunk_(std::size_t{1} << (seed % 9)) {}

  // The next chunk of `rest` (at least one byte while rest is non-empty), removed from it.
  std::string_view next(std::string_view& rest) {
    const std::size_t size = 1 + static_cast<std::size_t>(step() % max_chunk_);
    const std::string_view chunk = rest.substr(0, size);
    rest.remove_prefix(chunk.size());
    return chunk;
  }

 private:
  std::uint64_t step() {  // splitmix64
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t state_;
  std::size_t max_chunk_;
};

}  // namespace sluice::fuzz
