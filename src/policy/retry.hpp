// Retry policy: the TrafficPolicy `retry` section — decoded from YAML, merged for what it is
// attached to, its stage — and resolving the policy one request runs under. Policies merge field
// by field from the general to the specific (Gateway < HTTPRoute < rule (sectionName) < Backend):
// a field set by a more specific policy wins. Unset fields take the defaults below
// (docs/reliability.md). RetrySection is the section's registry entry (policy/section.hpp).
// Pure functions over the immutable config; thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"

namespace sluice::policy {

// The retry behaviour of one request.
struct EffectiveRetry {
  unsigned attempts = 1;  // total attempts, capped by the providers available
  config::RetryOn on;     // what a retry may happen on
  std::optional<config::Duration> per_try_timeout;
  config::Duration backoff_base{0};  // 0: the next provider is tried at once
  config::Duration backoff_max{0};
  // Retries in flight <= this % of requests in flight (per worker, at least
  // kMinRetryConcurrency); nullopt: no budget (the default: moving to another provider does not
  // hammer the one that failed).
  std::optional<unsigned> budget_percent;
  static constexpr unsigned kMinRetryConcurrency = 3;  // always allowed, whatever the budget says

  bool retries_on_status(unsigned status) const;
  // The pause before retry number `retry` (1 for the first retry), with full jitter in
  // [backoff/2, backoff], given a uniform `unit` in [0, 1).
  config::Duration backoff(unsigned retry, double unit) const;
};

// `specific`'s set fields over `general`'s.
config::RetryPolicy merge(const config::RetryPolicy& general, const config::RetryPolicy& specific);

// The retry sections of `attached` (TrafficPolicies, general to specific) merged; nullopt when
// none has one.
std::optional<config::RetryPolicy> merge_attached(std::span<const config::TrafficPolicy* const> attached);

// The stage that selects the merged policy for a request: at a rule's level
// (pipeline::RetrySelection::rule) or a Backend's.
std::shared_ptr<const pipeline::Stage> make_retry_stage(config::RetryPolicy merged, bool backend_level);

// TrafficPolicy spec.retry as a policy section.
struct RetrySection {
  using Value = config::RetryPolicy;
  static constexpr std::string_view key = "retry";
  static constexpr auto field = &config::TrafficPolicy::retry;
  static constexpr std::string_view every_branch = "{retryOn: [5xx], statusCodes: [429]}";
  static Value decode(config::YamlMap& section);
  // backoffMaxInterval must not be shorter than backoffBaseInterval.
  static void validate(const Value& value, const config::YamlMap& section);
  static Value merge(const Value& general, const Value& specific) { return policy::merge(general, specific); }
  static std::shared_ptr<const pipeline::Stage> make_stage(Value merged, const SectionContext& context) {
    return make_retry_stage(std::move(merged), context.level == AttachLevel::Backend);
  }
};

// The policy a request runs under: `rule` then `backend` (either may be null) over the
// defaults. Without any policy: every provider of the Backend once (`providers` attempts),
// on every retryable condition, with no pause between them.
EffectiveRetry resolve(const config::RetryPolicy* rule, const config::RetryPolicy* backend, std::size_t providers);

}  // namespace sluice::policy
