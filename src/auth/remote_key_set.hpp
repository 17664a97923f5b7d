// RemoteKeySet: the signing keys of a JWT provider whose JWKS is fetched from a URL
// (`jwks.remote`), as the verifier on the workers and the fetcher (policy/jwks_fetcher.hpp) share
// them. The fetcher installs each key set it fetched and parsed; workers read the current one.
// Nothing here does I/O: fetching happens only on the fetcher's thread, never on a request.
// parse_jwks_url checks a jwks.remote.url when the configuration is loaded.
//
//   current()          the last key set installed (null until a fetch succeeded); an atomic
//                      shared_ptr load, no lock shared with anything else.
//   request_refresh()  a token named a kid the set lacks, or arrived while no set was fetched:
//                      wakes the fetcher for an early fetch, at most once per kUnknownKidInterval
//                      (a compare-and-swap on the time of the last request), so a flood of
//                      bogus kids cannot make Sluice hammer the identity provider.
//   retry_delay()      the fetcher's schedule after a failed fetch: exponential backoff from
//                      one second, capped at kMaxRetryDelay and at the cache duration.
//
// One RemoteKeySet per configured provider, made when the configuration is loaded and shared by
// every copy of that configuration (merged policies, snapshots); a reload loads new ones, which
// the new snapshot's fetcher fills before it is served. Thread-safe: workers call current() and
// request_refresh(), the fetcher the rest; the waker is guarded by a mutex taken only when a
// refresh is requested (rate-limited) and when a fetcher attaches or detaches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwks.hpp"

namespace sluice::auth {

// The parts of a JWKS URL: http:// or https://, a host, an optional port, a path and query.
struct JwksUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" when empty
};

// Nullopt, and why in `error`, for anything else (userinfo, fragment, another scheme, no host).
std::optional<JwksUrl> parse_jwks_url(std::string_view url, std::string* error);

class RemoteKeySet {
 public:
  using Clock = std::chrono::steady_clock;
  // The shortest interval between two refreshes asked for by tokens.
  static constexpr std::chrono::seconds kUnknownKidInterval{30};
  static constexpr std::chrono::seconds kFirstRetryDelay{1};
  static constexpr std::chrono::seconds kMaxRetryDelay{60};

  RemoteKeySet(std::string url, std::chrono::milliseconds cache_duration)
      : url_(std::move(url)), cache_duration_(cache_duration) {}
  RemoteKeySet(const RemoteKeySet&) = delete;
  RemoteKeySet& operator=(const RemoteKeySet&) = delete;

  const std::string& url() const { return url_; }
  std::chrono::milliseconds cache_duration() const { return cache_duration_; }

  // Any thread: the key set last fetched, or null when none was.
  std::shared_ptr<const KeySet> current() const { return keys_.load(std::memory_order_acquire); }

  // Any thread: asks the fetcher for an early fetch unless one was asked less than
  // kUnknownKidInterval before `now`. True when this call asked.
  bool request_refresh(Clock::time_point now);

  // The fetcher: installs a freshly parsed key set, replacing the previous one for every reader.
  void install(std::shared_ptr<const KeySet> keys) { keys_.store(std::move(keys), std::memory_order_release); }

  // The fetcher: who to call when a refresh is asked for (an empty function detaches).
  void set_waker(std::function<void()> waker);

  // The delay before retrying after `failures` consecutive failed fetches (1 for the first).
  std::chrono::milliseconds retry_delay(unsigned failures) const;

 private:
  const std::string url_;
  const std::chrono::milliseconds cache_duration_;
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  // Clock::time_point::rep of the last refresh asked for; the minimum until the first.
  std::atomic<Clock::rep> last_request_{std::numeric_limits<Clock::rep>::min()};
  std::mutex waker_mutex_;
  std::function<void()> waker_;
};

}  // namespace sluice::auth
