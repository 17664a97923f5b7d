// libFuzzer target for the native OpenAI response reader (translate/openai_response_reader):
// arbitrary upstream bytes, fed in pieces whose size the first input byte chooses, as a stream
// or a JSON body, with and without dropping the usage chunk. Invariants: no crash or sanitizer
// report; without dropping, the bytes forwarded are exactly the bytes received (the reader only
// reads); with dropping, it never forwards more than it received; the names it keeps are bounded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "translate/openai_response_reader.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::string run(sluice::translate::OpenAiResponseReader& reader, std::string_view body, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) reader.feed(body.substr(at, piece), out);
  reader.finish(out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + (data[0] & 0x3f);
  const bool stream = (data[0] & 0x40) == 0;
  const std::size_t bound = (data[0] & 0x80) ? 64 : 1 << 20;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  sluice::translate::OpenAiResponseReader reading(stream, false, bound);
  check(run(reading, body, piece) == body);
  check(reading.model().size() <= 256 && reading.finish_reason().size() <= 256);

  sluice::translate::OpenAiResponseReader dropping(stream, true, bound);
  check(run(dropping, body, piece).size() <= body.size());
  return 0;
}
