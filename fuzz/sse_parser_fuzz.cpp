// libFuzzer target for SseParser. Input: [seed byte][limit byte][stream...]. Invariants checked:
// no crash or sanitizer report; feeding the stream in pseudo-random chunks gives exactly the
// events, error state and end state of feeding it whole; buffered bytes and every event field
// stay within the configured limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "fuzz_chunks.hpp"
#include "translate/sse_parser.hpp"

using sluice::translate::SseEvent;
using sluice::translate::SseParser;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::size_t limit_from(std::uint8_t byte) {
  if (byte < 200) return byte;  // small limits exercise the error path
  if (byte < 250) return 4096;
  return SseParser::kDefaultMaxEventBytes;
}

void check_bounded(const SseParser& parser, std::size_t limit) {
  check(parser.buffered_bytes() <= limit);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t seed = data[0];
  const std::size_t limit = limit_from(data[1]);
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  SseParser whole(limit);
  std::vector<SseEvent> whole_events;
  const bool whole_ok = whole.feed(stream, whole_events);
  check(whole_ok == !whole.failed());
  check_bounded(whole, limit);

  SseParser chunked(limit);
  std::vector<SseEvent> chunked_events;
  sluice::fuzz::ChunkSplitter splitter(seed);
  for (std::string_view rest = stream; !rest.empty();) {
    chunked.feed(splitter.next(rest), chunked_events);
    check_bounded(chunked, limit);
  }

  check(chunked.failed() == whole.failed());
  check(chunked_events == whole_events);
  for (const SseEvent& e : whole_events) {
    check(e.data.size() <= limit && e.event.size() <= limit && e.id.size() <= limit);
  }
  check(chunked.finish() == whole.finish());
  check(!whole.failed() && whole.buffered_bytes() == 0);  // finish() resets
  return 0;
}
