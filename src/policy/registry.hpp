// The policy registry: how configuration becomes the stages of each request.
//
// Attachment (once per snapshot): every TrafficPolicy is resolved through its targetRefs to the
// rules and Backends it applies to — a rule collects the policies of the Gateway, of its
// HTTPRoute and of itself (sectionName), in that order, general to specific (by policy name
// within a level); a Backend collects those naming it. Targets are matched by identity (route
// and rule names compared as a pair), never by concatenated strings, and nothing is looked up
// per request.
//
// Each TrafficPolicy section is one registry entry (policy/section.hpp; the list is
// kPolicySections in sections.cpp): the loader decodes the section through it, and here it merges
// the section across the attached policies and makes the stage, or nothing when no attached
// policy sets it. Adding a section is one file under src/policy/ plus one line there.
//
// Provider stages are not configured by TrafficPolicy but by the provider itself: model
// override, credentials and, last, request signing.
//
// Pure functions over an immutable config; the stages they make are immutable.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"
#include "route/route_table.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::proxy {
struct Snapshot;
}

namespace sluice::policy {

using AttachedPolicies = std::vector<const config::TrafficPolicy*>;

struct Attachments {
  std::vector<AttachedPolicies> by_rule;  // by CompiledRule::index
  BackendAttachments by_backend;
};

Attachments attach_policies(const config::Config& config, const route::RouteTable& routes);

// Fills the snapshot's chains: each rule's, each Backend's and each provider's attempt chain.
// Stages keeping state that outlives the snapshot take it from `registry`, recorded in the
// snapshot's state_claims.
void compile_chains(proxy::Snapshot& snapshot, state::RuntimeRegistry& registry);

}  // namespace sluice::policy
