// Active health checks: one thread of its own, with its own io_context and connections, probing
// every provider of every Backend that has ai.healthCheck (GET path with the provider's
// credentials, TLS when the provider uses it). Results go to each provider's ProviderHealth,
// which the workers read without locking. One checker serves one snapshot: a reload stops it and
// starts a new one (a provider the reload keeps keeps its ProviderHealth, so its verdict too).
// start() and stop() are called from the main thread.
#pragma once

#include <memory>
#include <thread>

#include "proxy/snapshot.hpp"

namespace sluice::proxy {

class HealthChecker {
 public:
  explicit HealthChecker(std::shared_ptr<const Snapshot> snapshot);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // False when no Backend asks for health checks (no thread is started then).
  bool start();
  void stop();

 private:
  struct State;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace sluice::proxy
