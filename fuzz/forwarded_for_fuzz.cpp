// libFuzzer target for the X-Forwarded-For parser (http/forwarded_for.hpp). The input is split
// at NUL bytes into header field values; the first byte chooses the trusted hops (0-7).
// Invariants checked: no crash or sanitizer report; an address found is canonical (parsing it
// again gives itself) and holds only hex digits, ':' and '.'; zero hops never finds one.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/forwarded_for.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned hops = data[0] % 8;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> values;
  for (std::string_view rest = input;;) {
    const auto nul = rest.find('\0');
    values.push_back(rest.substr(0, nul));
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  const auto client = sluice::http::forwarded_client(values, hops);
  if (hops == 0) check(!client);
  if (client) {
    for (const char c : *client) check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.');
    check(sluice::http::parse_forwarded_address(*client) == client);
  }
  for (const auto value : values) {
    if (const auto address = sluice::http::parse_forwarded_address(value))
      check(sluice::http::parse_forwarded_address(*address) == address);
  }
  return 0;
}
