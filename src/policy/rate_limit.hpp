// The TrafficPolicy `rateLimit` section: decoding, checks and merging of rateLimit.local,
// rateLimit.global and rateLimit.streams, and the stages that enforce them with ai.budgets:
//   local            policy/local_rate_limit.*   per replica, in process (RequestHead)
//   global + budgets policy/global_rate_limit.*  one atomic Redis reservation per request,
//                                                settled when it ends (RequestBody, Complete)
// Budgets are written under `ai` (they are about AI spend) and decoded by the ai section
// (policy/budget.*), but enforced here, in the same atomic step as the global token limits; so
// this entry compiles from both fields. It is registered after `ai`: the key part `model` is the
// model after aliasing, and a request a guard refuses is not counted.
//
// Merging (Gateway < HTTPRoute < rule < Backend): the most specific policy that sets `local`,
// `global.limits`, `ai.budgets` wins that list whole; failureMode, replicas, onExceed and
// defaultMaxTokens per field.
// Pure functions over the immutable config; the stages are immutable and thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "config/resources.hpp"
#include "policy/section.hpp"

namespace sluice::policy {

struct RateLimitSection {
  using Value = config::RateLimitPolicy;
  static constexpr std::string_view key = "rateLimit";
  static constexpr auto field = &config::TrafficPolicy::rateLimit;
  static constexpr std::string_view every_branch =
      "{local: [{requests: 20, unit: Second, burst: 40, by: [principal]}], global: {failureMode: Local, replicas: 2, "
      "limits: [{requests: 600, unit: Minute, by: [principal]}, {tokens: 200000, unit: Hour, by: [model], count: "
      "Total}]}, streams: {onExceed: Truncate}, defaultMaxTokens: 1024}";
  static Value decode(config::YamlMap& section);
  static void validate(const Value& value, const config::YamlMap& section);
  static Value merge(const Value& general, const Value& specific);
  static Stages make_stage(Value merged, const SectionContext& context);
  // Global limits need the Gateway's spec.redis.
  static void check_references(const Value& value, const config::TrafficPolicy& policy, const config::Config& config,
                               config::Diagnostics& diags);
};

// The stages of a rule or Backend from rateLimit and ai.budgets of its policies.
Stages compile_rate_limits(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context);

constexpr PolicySection rate_limit_section_entry() {
  auto entry = section_entry<RateLimitSection>();
  entry.compile = &compile_rate_limits;
  return entry;
}

}  // namespace sluice::policy
