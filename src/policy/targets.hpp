// What a TrafficPolicy's targetRefs reach, read from the loaded configuration (before any
// snapshot is compiled): for the reference checks of sections that care which Backends their
// policy ends up in front of (auth: Passthrough providers; ai: Static Backends). A Backend
// target reaches that Backend; an HTTPRoute target (or one rule of it, sectionName) the Backends
// of its rules; a Gateway target every rule's Backends. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "config/resources.hpp"

namespace sluice::policy {

// Calls visit(ref_index, rule, route, backend_name) for every Backend policy.targetRefs[ref_index]
// reaches (a Backend named by several rules, once per rule); `rule` and `route` are null for a
// Backend target. With `through_gateway` false, Gateway targets are skipped.
template <class Visit>
void for_each_targeted_backend(const config::TrafficPolicy& policy, const config::Config& config, bool through_gateway,
                               Visit&& visit) {
  for (std::size_t i = 0; i < policy.targetRefs.size(); ++i) {
    const auto& ref = policy.targetRefs[i];
    if (ref.kind == config::PolicyTargetKind::Backend) {
      visit(i, static_cast<const config::RouteRule*>(nullptr), static_cast<const config::HttpRoute*>(nullptr),
            ref.name);
      continue;
    }
    if (ref.kind == config::PolicyTargetKind::Gateway && !through_gateway) continue;
    for (const auto& route : config.routes) {
      if (ref.kind == config::PolicyTargetKind::HTTPRoute && route.origin.name != ref.name) continue;
      for (const auto& rule : route.rules) {
        if (!ref.sectionName.empty() && rule.name != ref.sectionName) continue;
        for (const auto& backend_ref : rule.backendRefs) visit(i, &rule, &route, backend_ref.name);
      }
    }
  }
}

}  // namespace sluice::policy
