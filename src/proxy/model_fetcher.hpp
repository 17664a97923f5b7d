// ModelFetcher: asks every provider that can list its models (proxy/model_catalog.hpp,
// list_source) for its list, in the background, and publishes each list in the provider's
// ProviderModels, which requests read without a lock. Requests never wait on a fetch.
//
// Schedule, per provider: a first fetch when the fetcher starts, unless the list the provider
// kept across a reload is younger than its Backend's ai.modelList.refreshInterval (then when it
// turns that old); then one every refreshInterval after a success, or after a failure with
// backoff (kFirstRetryDelay, doubling, at most refreshInterval). A fetch follows every page
// (at most kMaxPages), each a GET with the provider's credential and headers as requests carry
// them, bounded by ai.modelList.timeout; the answer must be 200 and at most kMaxListBytes. A
// failed fetch keeps the list published before until it is older than kShelfLife refresh
// intervals (then the configuration alone is listed), and is logged with the reason.
//
// Threads and life cycle: one thread with its own io_context and connections, as the health
// checker (proxy/health_checker.hpp); one fetcher serves one snapshot, which it keeps alive: a
// reload stops it and starts the new snapshot's. start() and stop() are called from the main
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>

#include "proxy/snapshot.hpp"

namespace sluice::proxy {

class ModelFetcher {
 public:
  static constexpr std::chrono::seconds kFirstRetryDelay{5};
  static constexpr std::size_t kMaxPages = 50;
  static constexpr std::size_t kMaxListBytes = 32u << 20;
  static constexpr int kShelfLife = 3;

  explicit ModelFetcher(std::shared_ptr<const Snapshot> snapshot);
  ~ModelFetcher();
  ModelFetcher(const ModelFetcher&) = delete;
  ModelFetcher& operator=(const ModelFetcher&) = delete;

  // False when no provider can list (no thread is started then).
  bool start();
  void stop();

 private:
  struct State;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace sluice::proxy
