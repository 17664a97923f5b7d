// Test support: a load's diagnostics as "file: Kind/name: field: message" lines, to compare
// whole (a message must name the file, the resource and the field).
#pragma once

#include <string>
#include <vector>

#include "config/diagnostics.hpp"

namespace sluice::testing {

inline std::vector<std::string> problems(const config::Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics.items())
    out.push_back(d.file + ": " + d.resource + ": " + d.field + ": " + d.message);
  return out;
}

}  // namespace sluice::testing
