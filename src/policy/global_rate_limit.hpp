// Global rate limits and budgets (TrafficPolicy rateLimit.global, ai.budgets): counters shared
// by every replica through the Gateway's Redis, taken atomically and settled exactly once.
//
// Reserve. Before a request goes to a provider, one Redis script (EVALSHA of kReserveScript,
// one round trip) checks and takes every counter the request hits — each request limit 1, each
// token limit the request's estimated tokens, each budget its worst-case cost — all or nothing,
// on the server's clock (TIME). The estimate: input tokens = the body's bytes / 4 (an
// over-estimate: JSON included), output tokens = the request's max_tokens (or
// max_completion_tokens), else rateLimit.defaultMaxTokens, else the provider's default; the
// worst-case cost prices those at the most expensive provider of the Backend that may answer.
// Token limits are token buckets refilled continuously (capacity = the limit, refill = limit per
// unit); budgets are spend counters per calendar period (policy/budget.hpp). Every key carries
// the hash tag {limits}, so one script may touch them all on a Redis Cluster. The requests a
// worker starts in one turn of its event loop share that script call (a batch, posted to the
// loop): each is still checked and taken all or nothing, in order, as if alone, while each
// counter is read and written once per call — fewer script calls and commands on Redis under
// load, and never more than one round trip per request. Settlements are batched the same way.
//
// Settle. When the request ends — answered, failed, client gone, after any failover — the real
// usage replaces the reservation in one more script: unused tokens go back to the buckets, the
// real cost replaces the worst case. Usage unknown after a 2xx answer (a stream cut before its
// usage chunk) keeps the reservation charged (the provider may have billed it); a request that
// got no answer (an error, a local refusal) is charged nothing. A settled request also adds its
// cost to its principal's monthly spend record (admin /spend).
//
// streams.onExceed. Finish (default): a request is admitted only when its whole reservation
// fits, and then runs to its end; what it used beyond the reservation is charged after, the
// bucket going into debt. Truncate: a chat request whose output reservation does not fit a
// token limit counting output is admitted with what remains (its max_tokens lowered to it, so
// the provider ends the stream at the limit with finish_reason "length" / stop_reason
// "max_tokens" and its usage), when at least one output token remains.
//
// Refusals are 429 in the client's schema: rate_limit_exceeded with Retry-After (until the
// bucket holds enough), budget_exceeded with Retry-After (until the period ends). Every answer
// carries the x-ratelimit-* headers of the tightest limit (policy/rate_limit_headers.hpp).
//
// Redis failing (unreachable, timeout): failureMode FailClosed (default) answers 503; FailOpen
// admits the request uncounted; Local counts in process against limit / `replicas` (each
// replica its share) until Redis answers again. Every failure is logged (at most once per
// 10 s per process), counted (sluice_ratelimit_decisions_total, sluice_redis_commands_total)
// and shown in /status.
//
// Stages are immutable and thread-safe; their runtime state (the Local stand-in buckets and
// the counters /status reads) lives in the RuntimeRegistry and survives reloads; a
// request's reservation lives in its context.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/resources.hpp"
#include "observe/log.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"
#include "state/runtime_registry.hpp"
#include "state/token_buckets.hpp"

namespace sluice::proxy {
struct Snapshot;
}

namespace sluice::policy {

// The process's limit state, shared by every stage and snapshot (RuntimeRegistry, under
// kLimitsStateKey): the decisions of local and global limits, the Local stand-in buckets.
class GlobalLimitsRuntime {
 public:
  enum class Outcome : std::uint8_t { Allowed, Limited, BudgetExceeded, FailedOpen, FailedClosed, Local, Count };
  static constexpr std::string_view kOutcomeNames[] = {"allowed",     "limited",       "budget_exceeded",
                                                       "failed_open", "failed_closed", "local"};

  // Local stand-in counters (failureMode Local).
  state::TokenBuckets fallback;

  void count(Outcome outcome) { decisions_[static_cast<unsigned>(outcome)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t decisions(Outcome outcome) const {
    return decisions_[static_cast<unsigned>(outcome)].load(std::memory_order_relaxed);
  }
  void count_local(bool allowed) {
    (allowed ? local_allowed_ : local_limited_).fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t local_decisions(bool allowed) const {
    return (allowed ? local_allowed_ : local_limited_).load(std::memory_order_relaxed);
  }
  void count_settle_failure() { settle_failures_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t settle_failures() const { return settle_failures_.load(std::memory_order_relaxed); }
  void add_spend(std::int64_t micros) { spend_micros_.fetch_add(micros, std::memory_order_relaxed); }
  std::int64_t spend_micros() const { return spend_micros_.load(std::memory_order_relaxed); }
  void add_saved(std::int64_t micros) { saved_micros_.fetch_add(micros, std::memory_order_relaxed); }
  std::int64_t saved_micros() const { return saved_micros_.load(std::memory_order_relaxed); }

  // When a Redis failure may be logged again (at most once per 10 s).
  observe::LogInterval failure_log{std::chrono::seconds(10)};

  // The fullest counters seen lately (for /status): what a reservation read, by counter.
  struct Fullness {
    std::string counter;  // "TrafficPolicy/limits tokens/Hour by principal=alice"
    double used_share = 0;
    std::int64_t remaining = 0;
    std::int64_t limit = 0;
    std::int64_t at_unix_ms = 0;
  };
  void note_fullness(Fullness fullness);
  std::vector<Fullness> fullest() const;
  static constexpr std::size_t kFullestKept = 10;

 private:
  std::atomic<std::uint64_t> decisions_[static_cast<unsigned>(Outcome::Count)]{};
  std::atomic<std::uint64_t> settle_failures_{0};
  std::atomic<std::uint64_t> local_allowed_{0};
  std::atomic<std::uint64_t> local_limited_{0};
  std::atomic<std::int64_t> spend_micros_{0};
  std::atomic<std::int64_t> saved_micros_{0};
  mutable std::mutex fullest_mutex_;
  std::vector<Fullness> fullest_;
};

inline const state::StateKey kLimitsStateKey{"rateLimit", "global"};

// Prometheus text of `runtime`'s counters: sluice_ratelimit_decisions_total{kind,outcome},
// sluice_ratelimit_settle_failures_total, sluice_budget_spent_usd_total, sluice_budget_saved_usd_total.
std::string render_limit_metrics(const GlobalLimitsRuntime& runtime);

// The /status "limits" object: decisions and the fullest counters seen lately.
boost::json::object limit_status(const GlobalLimitsRuntime& runtime);

struct GlobalLimitSettings {
  std::vector<config::GlobalRateLimit> limits;
  std::vector<config::Budget> budgets;
  config::RedisFailureMode failure_mode = config::RedisFailureMode::FailClosed;
  unsigned replicas = 1;
  config::StreamExceed on_exceed = config::StreamExceed::Finish;
  std::optional<std::uint64_t> default_max_tokens;
};

// The stage, or null when there is nothing to count. `runtime` null: a fresh one (tests).
// `snapshot`: the snapshot that will own the stage (its Redis settings and prices).
std::shared_ptr<const pipeline::Stage> make_global_limit_stage(GlobalLimitSettings settings,
                                                               std::shared_ptr<GlobalLimitsRuntime> runtime,
                                                               const proxy::Snapshot* snapshot);

// The Lua scripts, exposed for tests.
extern const char* const kReserveScript;
extern const char* const kSettleScript;

}  // namespace sluice::policy
