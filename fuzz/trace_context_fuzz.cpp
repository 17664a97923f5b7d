// libFuzzer target for the W3C trace-context readers (observe/trace_context.hpp), fed a client's
// traceparent and tracestate. Invariants checked: no crash or sanitizer report; an accepted
// traceparent has non-zero ids and, written back with its ids and sampled flag, parses to the
// same ids and flag; a canonical tracestate is at most 512 characters and 32 members, holds no
// empty member and no whitespace around one, and is its own canonical form (idempotence).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "observe/trace_context.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace sluice::observe;
  if (const auto parent = parse_traceparent(input)) {
    check(parent->trace_id.valid() && parent->parent_id.valid());
    char out[kTraceParentBytes];
    format_traceparent(parent->trace_id, parent->parent_id, parent->sampled(), out);
    const auto again = parse_traceparent(std::string_view(out, sizeof out));
    check(again && again->trace_id.bytes == parent->trace_id.bytes &&
          again->parent_id.bytes == parent->parent_id.bytes && again->sampled() == parent->sampled());
  }
  const auto state = canonical_tracestate(input);
  check(state.size() <= kMaxTraceStateBytes);
  std::size_t members = state.empty() ? 0 : 1;
  for (std::size_t i = 0; i < state.size(); ++i) {
    if (state[i] != ',') continue;
    ++members;
    check(i + 1 < state.size() && state[i + 1] != ',' && state[i + 1] != ' ' && i > 0 && state[i - 1] != ' ');
  }
  check(members <= kMaxTraceStateMembers);
  check(canonical_tracestate(state) == state);
  return 0;
}
