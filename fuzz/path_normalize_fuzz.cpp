// libFuzzer target for path normalisation (http/target.hpp). Invariants checked: no crash or
// sanitizer report; an accepted path's canonical form starts with "/", holds no "//", no
// dot-segment, no encoded "/", "\" or NUL, no lower-case hex escape and no escaped unreserved
// character, and normalising it again gives the same string (idempotence).
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/target.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string out;
  if (!sluice::http::normalize_path(input, out).empty()) return 0;
  check(!out.empty() && out.front() == '/');
  check(out.find("//") == std::string::npos);
  check(out.find("/./") == std::string::npos && out.find("/../") == std::string::npos);
  check(!out.ends_with("/.") && !out.ends_with("/.."));
  check(out.find('\\') == std::string::npos);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] != '%') continue;
    check(i + 2 < out.size());
    const int hi = hex(out[i + 1]);
    const int lo = hex(out[i + 2]);
    check(hi >= 0 && lo >= 0);  // upper-case hex only
    const auto byte = static_cast<unsigned char>(hi * 16 + lo);
    check(!unreserved(byte) && byte != '/' && byte != '\\' && byte != 0);
  }
  std::string again;
  check(sluice::http::normalize_path(out, again).empty());
  check(again == out);
  return 0;
}
