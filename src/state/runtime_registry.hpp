// RuntimeRegistry: the gateway's runtime state that must outlive a configuration snapshot —
// today each provider's ProviderHealth (ejection, Retry-After hold, failure counts, circuit-
// breaker in-flight count, active-check verdict) and KeyRing (benched keys); later rate-limit
// and budget counters. One registry lives as long as the process (app/gateway_process.cpp owns
// it); every Snapshot::build takes its state from it, so a reload that keeps a provider keeps
// that provider's state, and a reload that removes it drops it.
//
// Identity. State is keyed by a StateKey — the Backend's name and the provider's name within it
// (for a Static Backend or an `ai.llm` Backend with its single provider, the provider's name is
// the Backend's name, as Snapshot names it) — and by the state's C++ type. The key follows the
// names only: a provider whose host or model changed under the same name keeps its state; a
// renamed one starts fresh.
//
// Kinds of state. The registry is generic: `state_for<T>(key, claims)` returns the T kept for
// `key`, made on first use. A new kind of per-identity state (a token bucket, a spend counter)
// is a new type and one more `state_for<T>` call in Snapshot::build; nothing here changes. A kind
// whose shape depends on the configuration passes `reusable`: when the kept object no longer
// fits (a KeyRing whose keys changed) it is replaced by a new one made with `make`, and
// the old state is gone (the snapshots still holding it keep it alive until they end).
//
// Life cycle. A build records every (key, type) it obtained in a StateClaims, which the
// snapshot keeps. Once that snapshot is installed, retain(claims) erases every entry it did not
// claim: providers removed by the reload, and kinds a provider no longer has. Erasing only drops
// the registry's reference: snapshots still serving requests keep their shared_ptrs, and the
// state dies with the last of them. A build that is then rejected may have added entries (or
// replaced a KeyRing whose keys it changed); the next retain() drops what no installed
// snapshot claims.
//
// Thread-safety and hot path. state_for() and retain() take the registry's mutex; they run
// only while a snapshot is built or installed (the main thread, at start and on reload). Requests
// never look anything up here: the snapshot carries the shared_ptrs, and workers read and bump
// the objects' own atomics, with no lock. Every T handed out must therefore be safe to use from
// every worker at once (ProviderHealth and KeyRing are atomics only).
//
// Metric series. The registry also owns the process's observe::MetricSeries (metric_series()):
// the slots of every labelled metric series, by label values. Unlike the state above, series
// are never forgotten (a counter must not go backwards or vanish on reload); that registry
// has its own mutex and life cycle (observe/metric_series.hpp).
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <typeindex>
#include <utility>

#include "observe/metric_series.hpp"
#include "state/redis_client.hpp"

namespace sluice::state {

struct StateKey {
  std::string backend;
  std::string provider;  // the Backend's name for a Static or single-provider `ai.llm` Backend
  auto operator<=>(const StateKey&) const = default;
};

// The state one snapshot build obtained: (identity, kind) pairs.
class StateClaims {
 public:
  void add(const StateKey& key, std::type_index kind) { claims_.emplace(key, kind); }
  bool contains(const StateKey& key, std::type_index kind) const { return claims_.contains({key, kind}); }
  std::size_t size() const { return claims_.size(); }

 private:
  std::set<std::pair<StateKey, std::type_index>> claims_;
};

class RuntimeRegistry {
 public:
  // The T kept for `key`, recorded in `claims`. Made with `make()` (a shared_ptr<T>) when there
  // is none yet, or when `reusable(kept)` is false; then the new one replaces the kept one.
  template <class T, class Make, class Reusable>
  std::shared_ptr<T> state_for(const StateKey& key, StateClaims& claims, Make&& make, Reusable&& reusable) {
    const std::type_index kind(typeid(T));
    claims.add(key, kind);
    std::lock_guard lock(mutex_);
    auto& slot = states_[{key, kind}];
    if (slot) {
      auto kept = std::static_pointer_cast<T>(slot);
      if (std::invoke(reusable, std::as_const(*kept))) return kept;
    }
    std::shared_ptr<T> made = std::invoke(make);
    slot = made;
    return made;
  }

  // The T kept for `key`, default-constructed on first use and kept as it is.
  template <class T>
  std::shared_ptr<T> state_for(const StateKey& key, StateClaims& claims) {
    return state_for<T>(
        key, claims, [] { return std::make_shared<T>(); }, [](const T&) { return true; });
  }

  // After the snapshot built with `claims` is installed: forgets every state it did not claim.
  void retain(const StateClaims& claims);

  // The slots of the process's metric series (its own thread-safety: observe/metric_series.hpp).
  observe::MetricSeries& metric_series() { return metric_series_; }
  const observe::MetricSeries& metric_series() const { return metric_series_; }
  // The process's Redis outcome counters (/status, metrics), shared with every snapshot.
  const std::shared_ptr<RedisStatus>& redis_status() const { return redis_status_; }

  // The T kept for `key`, or null: for readers that must not create state (/status, /metrics).
  template <class T>
  std::shared_ptr<T> find(const StateKey& key) const {
    std::lock_guard lock(mutex_);
    const auto found = states_.find({key, std::type_index(typeid(T))});
    return found == states_.end() ? nullptr : std::static_pointer_cast<T>(found->second);
  }

  // For tests and diagnostics: how many states are kept, and whether a T is kept for `key`.
  std::size_t size() const;
  template <class T>
  bool holds(const StateKey& key) const {
    std::lock_guard lock(mutex_);
    return states_.contains({key, std::type_index(typeid(T))});
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<StateKey, std::type_index>, std::shared_ptr<void>> states_;
  observe::MetricSeries metric_series_;
  std::shared_ptr<RedisStatus> redis_status_ = std::make_shared<RedisStatus>();
};

}  // namespace sluice::state
