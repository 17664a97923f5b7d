#include "observe/build_info.hpp"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif
#ifndef SLUICE_GIT_COMMIT
#define SLUICE_GIT_COMMIT "unknown"
#endif

namespace sluice::observe {

const BuildInfo& build_info() {
#if defined(__clang__)
  static constexpr BuildInfo kInfo{SLUICE_VERSION, SLUICE_GIT_COMMIT, "clang " __clang_version__};
#elif defined(__GNUC__)
  static constexpr BuildInfo kInfo{SLUICE_VERSION, SLUICE_GIT_COMMIT, "gcc " __VERSION__};
#else
  static constexpr BuildInfo kInfo{SLUICE_VERSION, SLUICE_GIT_COMMIT, "unknown"};
#endif
  return kInfo;
}

}  // namespace sluice::observe
