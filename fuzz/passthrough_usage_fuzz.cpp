// libFuzzer target for PassthroughUsageReader (translate/passthrough_usage.hpp): arbitrary
// answer bytes, as a stream or a JSON body, in pseudo-random pieces, with a large and a tiny
// bound. Invariants: no crash or sanitizer report; the model it keeps is bounded; the total it
// reports is the sum of its parts.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_chunks.hpp"
#include "translate/passthrough_usage.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const bool stream : {true, false}) {
    for (const std::size_t bound : {std::size_t{1} << 20, std::size_t{48}}) {
      sluice::translate::PassthroughUsageReader reader(stream, bound);
      sluice::fuzz::ChunkSplitter splitter(data[0]);
      for (std::string_view rest = body; !rest.empty();) reader.feed(splitter.next(rest));
      reader.finish();
      check(reader.model().size() <= 256);
      const auto& usage = reader.usage();
      check(!usage.known || usage.total_tokens == usage.prompt_tokens + usage.completion_tokens);
    }
  }
  return 0;
}
