// JwksFetcher: fetches the JWKS of every `jwks.remote` JWT provider of one configuration, in the
// background, and installs each parsed key set in the provider's auth::RemoteKeySet, which the
// workers read without a lock. Requests never wait on a fetch.
//
// Schedule, per provider: a first fetch when the fetcher starts (start() returns once every
// provider's first fetch succeeded or failed, so a configuration is served with its keys when
// the identity provider answers); then one every cacheDuration after a success, or after a
// failure with backoff (RemoteKeySet::retry_delay); and at once when a worker asks for it (a
// token named an unknown kid, rate-limited by RemoteKeySet::request_refresh). A fetch is a
// GET over HTTP or HTTPS (system CAs, or the PEM of caCertificateRef; the certificate must
// name the host) with a 10 s deadline; the answer must be 200 and at most auth::kMaxJwksBytes,
// and is parsed by auth::parse_jwks. A failed fetch keeps the key set already installed and is
// logged with the URL and the reason (never key material).
//
// Threads and life cycle: one thread with its own io_context, started by start() and joined by
// stop() or the destructor (the main thread calls both, at start-up and on reload: a reload
// starts the new configuration's fetcher, then stops the old one). It keeps the configuration
// (its RemoteKeySets) alive while it runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "config/resources.hpp"

namespace sluice::policy {

class JwksFetcher {
 public:
  // How long one fetch may take, and start() waits at most for the first ones.
  static constexpr std::chrono::seconds kFetchTimeout{10};

  explicit JwksFetcher(std::shared_ptr<const config::Config> config);
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Starts fetching and waits for every provider's first fetch to end. False when the
  // configuration has no remote JWKS (no thread is started then).
  bool start();
  void stop();

 private:
  struct State;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace sluice::policy
