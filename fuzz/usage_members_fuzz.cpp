// libFuzzer target for StreamUsageMembers (proxy/usage_members.hpp): arbitrary client-bound
// stream bytes, fed in pseudo-random pieces, for each client schema, with a large and a tiny
// event bound. Invariants: no crash or sanitizer report; the members are asked for at most
// once; the output is the input when they were not, else the input plus the members (and a
// comma) and nothing else.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_chunks.hpp"
#include "proxy/usage_members.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::string_view kMembers = "\"sluice_cost_usd\":0.000001";

void run(sluice::pipeline::ClientSchema schema, std::size_t bound, std::uint64_t seed, std::string_view body) {
  int calls = 0;
  sluice::proxy::StreamUsageMembers members(schema, bound, [&](std::string& out) {
    ++calls;
    out.append(kMembers);
  });
  sluice::fuzz::ChunkSplitter splitter(seed);
  std::string out;
  for (std::string_view rest = body; !rest.empty();) members.feed(splitter.next(rest), out);
  members.finish(out);
  check(calls <= 1);
  if (calls == 0) {
    check(out == body);
    return;
  }
  // The input with the members (and a comma) inserted at one place: at or before the first
  // byte where the output differs from the input.
  const std::string inserted = std::string(kMembers) + (out.size() - body.size() == kMembers.size() + 1 ? "," : "");
  check(out.size() == body.size() + inserted.size());
  std::size_t same = 0;
  while (same < body.size() && out[same] == body[same]) ++same;
  bool found = false;
  for (std::size_t at = same >= inserted.size() ? same - inserted.size() : 0; at <= same && !found; ++at)
    found = out.compare(0, at, body, 0, at) == 0 && out.compare(at, inserted.size(), inserted) == 0 &&
            out.compare(at + inserted.size(), std::string::npos, body, at) == 0;
  check(found);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint64_t seed = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const auto schema : {sluice::pipeline::ClientSchema::OpenAI, sluice::pipeline::ClientSchema::Anthropic}) {
    run(schema, 1 << 20, seed, body);
    run(schema, 48, seed, body);
  }
  return 0;
}
