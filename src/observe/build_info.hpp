// What this binary is, for sluice_build_info: the version, the git commit it was built from and
// the compiler, fixed when it was built. Plain constants; thread-safe.
#pragma once

#include <string_view>

namespace sluice::observe {

struct BuildInfo {
  std::string_view version;
  std::string_view git_commit;  // "unknown" when built outside a git checkout
  std::string_view compiler;
};

const BuildInfo& build_info();

}  // namespace sluice::observe
