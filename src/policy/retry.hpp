// Retry policy: attaching TrafficPolicy `retry` sections to what they target and resolving the
// policy one request runs under. Policies merge field by field from the general to the specific
// (Gateway < HTTPRoute < rule (sectionName) < Backend): a field set by a more specific policy
// wins. Unset fields take the defaults below (docs/reliability.md). Pure functions over the
// immutable config; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "config/resources.hpp"

namespace sluice::policy {

// The retry behaviour of one request.
struct EffectiveRetry {
  unsigned attempts = 1;                  // total attempts, capped by the providers available
  config::RetryOn on;                     // what a retry may happen on
  std::optional<config::Duration> per_try_timeout;
  config::Duration backoff_base{0};       // 0: the next provider is tried at once
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

// The merged policy of the Gateway, the HTTPRoute and the rule, for each rule (by its id
// "route/rule"), and of each Backend (by name). Rules and Backends without any policy are absent.
struct AttachedRetryPolicies {
  std::unordered_map<std::string, config::RetryPolicy> by_rule;
  std::unordered_map<std::string, config::RetryPolicy> by_backend;
};
AttachedRetryPolicies attach_retry_policies(const config::Config& config);

// The policy a request runs under: `rule` then `backend` (either may be null) over the
// defaults. Without any policy: every provider of the Backend once (`providers` attempts),
// on every retryable condition, with no pause between them.
EffectiveRetry resolve(const config::RetryPolicy* rule, const config::RetryPolicy* backend, std::size_t providers);

}  // namespace sluice::policy
