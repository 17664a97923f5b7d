// Local rate limits (TrafficPolicy rateLimit.local): requests per unit per replica, counted in
// process (state::TokenBuckets), with no coordination between replicas — the cheap first line
// against a flood. Each limit is a token bucket of `burst` requests (default `requests`) refilled
// at `requests` per `unit`, one bucket per distinct value of its `by` key. A request takes one
// from every limit that applies, all or nothing (a refused request gives back what it took);
// refused: 429 rate_limit_exceeded in the client's schema with Retry-After, and the limit's
// x-ratelimit-*-requests headers on every answer.
//
// The stage runs at RequestHead (before the body is read) unless a limit's key names the model,
// which is known from RequestBody on. The buckets live in the process's runtime state, so a
// reload keeps them (a changed limit applies to the existing buckets). Immutable, thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"
#include "state/token_buckets.hpp"

namespace sluice::policy {

class GlobalLimitsRuntime;

// `buckets` and `runtime` (the decision counters) null: fresh ones (tests).
std::shared_ptr<const pipeline::Stage> make_local_rate_limit_stage(std::vector<config::LocalRateLimit> limits,
                                                                   std::shared_ptr<state::TokenBuckets> buckets,
                                                                   std::shared_ptr<GlobalLimitsRuntime> runtime);

// A unit's length in seconds, and its name as configured ("Minute").
double unit_seconds(config::RateUnit unit);
std::string_view unit_name(config::RateUnit unit);

}  // namespace sluice::policy
