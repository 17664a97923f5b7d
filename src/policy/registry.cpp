#include "policy/registry.hpp"

#include <array>

#include "policy/aws_sigv4_signing.hpp"
#include "policy/cost_report.hpp"
#include "policy/credential.hpp"
#include "policy/header_modifier.hpp"
#include "policy/model_override.hpp"
#include "policy/response_store.hpp"
#include "policy/retry.hpp"
#include "policy/usage_capture.hpp"
#include "proxy/snapshot.hpp"
#include "state/memory_cache.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::policy {

namespace {

// A section may make a stage for a rule with no policy of its own (cors: the rule's filter, its
// Backends' policies), so every section is asked even when nothing is attached.
pipeline::Chain policy_chain(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context) {
  pipeline::Chain chain;
  for (const auto& section : policy_sections())
    for (auto& stage : section.compile(attached, context)) chain.add(std::move(stage));
  return chain;
}

void compile_provider_chain(proxy::BackendRuntime& provider) {
  if (!provider.ai) return;
  if (provider.model) provider.attempt_chain.add(make_model_override_stage());
  provider.attempt_chain.add(make_credential_stage());
  if (provider.sigv4) provider.attempt_chain.add(make_aws_sigv4_signing_stage());
}

}  // namespace

Attachments attach_policies(const config::Config& config, const route::RouteTable& routes) {
  Attachments out;
  out.by_rule.resize(routes.rules().size());
  // config.policies is ordered by name: within a level, later names are more specific.
  AttachedPolicies gateway;
  for (const auto& [name, policy] : config.policies)
    for (const auto& ref : policy.targetRefs)
      if (ref.kind == config::PolicyTargetKind::Gateway) gateway.push_back(&policy);
  for (const auto& rule : routes.rules()) {
    auto& attached = out.by_rule[rule->index];
    attached = gateway;
    const std::string_view route_name = rule->route->origin.name;
    for (const auto& [name, policy] : config.policies)
      for (const auto& ref : policy.targetRefs)
        if (ref.kind == config::PolicyTargetKind::HTTPRoute && ref.name == route_name && ref.sectionName.empty())
          attached.push_back(&policy);
    for (const auto& [name, policy] : config.policies)
      for (const auto& ref : policy.targetRefs)
        if (ref.kind == config::PolicyTargetKind::HTTPRoute && ref.name == route_name && !ref.sectionName.empty() &&
            ref.sectionName == rule->rule->name)
          attached.push_back(&policy);
  }
  for (const auto& [name, policy] : config.policies)
    for (const auto& ref : policy.targetRefs)
      if (ref.kind == config::PolicyTargetKind::Backend) {
        const auto backend = config.backends.find(ref.name);
        if (backend != config.backends.end()) out.by_backend[backend->first].push_back(&policy);
      }
  return out;
}

void compile_chains(proxy::Snapshot& snapshot, state::RuntimeRegistry& registry) {
  const auto attachments = attach_policies(*snapshot.config, snapshot.routes);
  snapshot.rule_chains.clear();
  const auto& access_log = snapshot.gateway().accessLog;
  const bool capture_usage = access_log.enabled && access_log.captureUsage;
  snapshot.rule_chains.resize(attachments.by_rule.size());
  // The Gateway's response store: one stage for every rule (it acts on Responses API requests).
  std::shared_ptr<const pipeline::Stage> response_store;
  if (const auto& store = snapshot.gateway().responseStore) {
    std::shared_ptr<state::MemoryCache> memory;
    if (store->store == config::ResponseStoreKind::Memory) {
      // Its own gauges: the response cache's metrics stay the cache's.
      memory = registry.state_for<state::MemoryCache>(
          state::StateKey{"responseStore", "gateway"}, snapshot.state_claims,
          [&] { return std::make_shared<state::MemoryCache>(store->maxBytes); },
          [](const state::MemoryCache&) { return true; });
      memory->set_max_bytes(store->maxBytes);
    }
    response_store = make_response_store_stage(*store, std::move(memory));
  }
  for (const auto& rule : snapshot.routes.rules()) {
    auto& chain = snapshot.rule_chains[rule->index];
    if (auto stage = make_header_modifier_stage(*rule)) chain.add(std::move(stage));
    const SectionContext context{*snapshot.config,        AttachLevel::Rule, rule->rule,
                                 &attachments.by_backend, &snapshot,         &registry,
                                 &snapshot.state_claims};
    chain.append(policy_chain(attachments.by_rule[rule->index], context));
    if (response_store) chain.add(response_store);
    if (capture_usage) chain.add(make_usage_capture_stage());
    if (capture_usage && snapshot.prices && snapshot.gateway().pricing.reportCost)
      chain.add(make_cost_report_stage(*snapshot.prices));
  }
  for (auto& [name, backend] : snapshot.backends) {
    if (const auto it = attachments.by_backend.find(name); it != attachments.by_backend.end())
      backend.chain = policy_chain(it->second, SectionContext{*snapshot.config, AttachLevel::Backend, nullptr, nullptr,
                                                              &snapshot, &registry, &snapshot.state_claims});
    if (backend.ai) {
      for (auto& group : backend.groups)
        for (auto& provider : group) compile_provider_chain(provider);
    }
  }
}

}  // namespace sluice::policy
