#include "state/runtime_registry.hpp"

namespace sluice::state {

void RuntimeRegistry::retain(const StateClaims& claims) {
  std::lock_guard lock(mutex_);
  std::erase_if(states_, [&](const auto& entry) { return !claims.contains(entry.first.first, entry.first.second); });
}

std::size_t RuntimeRegistry::size() const {
  std::lock_guard lock(mutex_);
  return states_.size();
}

}  // namespace sluice::state
