// A TrafficPolicy section as one registry entry: how `spec.<key>` is decoded from YAML, checked,
// merged across the policies attached to a rule or Backend, compiled, and made into a stage.
//
// A section lives in one file under src/policy/ as a spec type with typed hooks (retry.hpp's
// RetrySection is the example in the tree):
//
//   struct RetrySection {
//     using Value = config::RetryPolicy;                             // what the section decodes to
//     static constexpr std::string_view key = "retry";               // the TrafficPolicy spec field
//     static constexpr auto field = &config::TrafficPolicy::retry;   // std::optional<Value> member
//     static constexpr std::string_view every_branch = "{...}";      // a value entering every branch
//     static Value decode(config::YamlMap& section);                 // diagnostics via section.ctx()
//     static void validate(const Value& value, const config::YamlMap& section);  // across fields
//     static Value merge(const Value& general, const Value& specific);           // specific wins
//     static std::shared_ptr<const pipeline::Stage> make_stage(Value merged, const SectionContext& context);
//     // (or Stages: one stage per policy the section holds, in the order they run)
//     // optional: references to other resources (Secrets, Backends), checked once all are loaded
//     static void check_references(const Value& value, const config::TrafficPolicy& policy,
//                                  const config::Config& config, config::Diagnostics& diags);
//   };
//
// section_entry<Spec>() turns it into the uniform PolicySection that the loader (decode) and the
// registry (compile) iterate; kPolicySections in sections.cpp is the one registration list.
// `every_branch` is decoded by config/schema.cpp so `sluice fields` lists the section's fields.
//
// Constant data and pure functions; thread-safe.
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/resources.hpp"

namespace sluice::config {
class YamlMap;
class Diagnostics;
}  // namespace sluice::config

namespace sluice::pipeline {
class Stage;
}
namespace sluice::proxy {
struct Snapshot;
}
namespace sluice::state {
class RuntimeRegistry;
class StateClaims;
}  // namespace sluice::state

namespace sluice::policy {

// Where a section's stage is attached.
enum class AttachLevel { Rule, Backend };

using Stages = std::vector<std::shared_ptr<const pipeline::Stage>>;

// The TrafficPolicies attached to each Backend, by Backend name (general to specific).
using BackendAttachments = std::unordered_map<std::string_view, std::vector<const config::TrafficPolicy*>>;

// What a section's stage is made with: the whole configuration (its Secrets) and the level; at a
// rule's level also the rule and the Backends' policies, for a section whose rule stage carries
// its Backends' settings too (cors: a preflight is answered before any stage of the Backend runs).
struct SectionContext {
  const config::Config& config;
  AttachLevel level;
  const config::RouteRule* rule = nullptr;               // Rule level
  const BackendAttachments* backend_policies = nullptr;  // Rule level
  // The snapshot being built, whose compiled Backends a stage may point to (a guard service; the
  // snapshot owns the stage, so they live as long as it); null in tests that make stages alone.
  const proxy::Snapshot* snapshot = nullptr;
  // The process's runtime state (counters, caches that outlive a snapshot) and the snapshot's
  // record of what it took (state::RuntimeRegistry::state_for); null in tests that make stages
  // alone, where a stage keeps state of its own.
  state::RuntimeRegistry* registry = nullptr;
  state::StateClaims* claims = nullptr;
};

struct PolicySection {
  std::string_view key;           // the TrafficPolicy spec field
  std::string_view every_branch;  // a YAML value of the section entering every branch of decode
  // Decodes a present `spec.<key>` into `into` and validates it; problems become diagnostics
  // through the map's context (file, resource, field). Null for an entry that only makes stages
  // from a field another section decodes, at its own place in the order (`ai.cache`, after the
  // rate limits); its key then names that field and every_branch is empty.
  void (*decode)(config::YamlMap& section, config::TrafficPolicy& into);
  // The stages for a rule or a Backend from its attached policies (general to specific): the
  // section merged over them; none when no policy sets it. A section holding several policies
  // (`ai`: aliases, defaults, enrichment, guards) makes one stage per policy, in order.
  Stages (*compile)(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context);
  // Checks a policy's references to other resources once every resource is loaded (null when
  // the section has none); problems become diagnostics naming the policy's file and field.
  void (*check_references)(const config::TrafficPolicy& policy, const config::Config& config,
                           config::Diagnostics& diags);
};

// Every TrafficPolicy section, in the order their stages run (kPolicySections in sections.cpp).
std::span<const PolicySection> policy_sections();

// The section `key`, or null when no section has that key.
const PolicySection* find_policy_section(std::string_view key);

// What make_stage returns: one stage (null for none) or several.
template <typename T>
concept MadeStages = std::same_as<T, std::shared_ptr<const pipeline::Stage>> || std::same_as<T, Stages>;

template <typename Spec>
concept SectionSpec = requires(config::YamlMap& map, const typename Spec::Value& value, config::TrafficPolicy policy) {
  { Spec::key } -> std::convertible_to<std::string_view>;
  { Spec::every_branch } -> std::convertible_to<std::string_view>;
  { policy.*Spec::field } -> std::same_as<std::optional<typename Spec::Value>&>;
  { Spec::decode(map) } -> std::same_as<typename Spec::Value>;
  Spec::validate(value, map);
  { Spec::merge(value, value) } -> std::same_as<typename Spec::Value>;
  { Spec::make_stage(value, std::declval<const SectionContext&>()) } -> MadeStages;
};

template <typename Spec>
concept ChecksReferences = requires(const typename Spec::Value& value, const config::TrafficPolicy& policy,
                                    const config::Config& config, config::Diagnostics& diags) {
  Spec::check_references(value, policy, config, diags);
};

// The sections of `attached` (general to specific) merged, each over the ones before it;
// nullopt when none sets the section.
template <SectionSpec Spec>
std::optional<typename Spec::Value> merge_section(std::span<const config::TrafficPolicy* const> attached) {
  std::optional<typename Spec::Value> merged;
  for (const auto* policy : attached) {
    const auto& section = policy->*Spec::field;
    if (!section) continue;
    merged = merged ? Spec::merge(*merged, *section) : *section;
  }
  return merged;
}

template <SectionSpec Spec>
constexpr auto check_references_of()
    -> void (*)(const config::TrafficPolicy&, const config::Config&, config::Diagnostics&) {
  if constexpr (ChecksReferences<Spec>) {
    return [](const config::TrafficPolicy& policy, const config::Config& config, config::Diagnostics& diags) {
      if (const auto& section = policy.*Spec::field) Spec::check_references(*section, policy, config, diags);
    };
  } else {
    return nullptr;
  }
}

template <SectionSpec Spec>
constexpr PolicySection section_entry() {
  return PolicySection{
      .key = Spec::key,
      .every_branch = Spec::every_branch,
      .decode =
          [](config::YamlMap& section, config::TrafficPolicy& into) {
            auto value = Spec::decode(section);
            Spec::validate(value, section);
            into.*Spec::field = std::move(value);
          },
      .compile = [](std::span<const config::TrafficPolicy* const> attached, const SectionContext& context) -> Stages {
        auto merged = merge_section<Spec>(attached);
        if (!merged) return {};
        auto made = Spec::make_stage(std::move(*merged), context);
        if constexpr (std::is_same_v<decltype(made), Stages>) {
          return made;
        } else {
          if (!made) return {};
          return Stages{std::move(made)};
        }
      },
      .check_references = check_references_of<Spec>(),
  };
}

}  // namespace sluice::policy
