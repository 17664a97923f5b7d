// libFuzzer target for the configuration loader: arbitrary bytes as one YAML config file, fed to
// load_sources, the entry `sluice validate` and `sluice serve` reach through load_path.
// Invariants checked: no crash, sanitizer report or exception out of the loader; every
// diagnostic names the file; a result without errors decoded at least what it reports.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/loader.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  sluice::config::LoadResult result;
  try {
    result = sluice::config::load_sources({{"fuzz.yaml", text}});
  } catch (...) {
    check(false);  // the loader turns every failure into a diagnostic
  }
  for (const auto& d : result.diagnostics.items()) {
    check(d.file == "fuzz.yaml");
    check(!d.message.empty());
  }
  check(result.config.sources.size() == 1);
  return 0;
}
