#include "policy/jwks_fetcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "auth/jwks.hpp"
#include "auth/remote_key_set.hpp"
#include "http/deadline.hpp"
#include "http/io.hpp"
#include "http/tls_client.hpp"
#include "http/upstream_pool.hpp"
#include "observe/log.hpp"

namespace sluice::policy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

namespace {

// One provider's remote JWKS as the fetcher's thread sees it.
struct Source {
  std::shared_ptr<auth::RemoteKeySet> keys;
  auth::JwksUrl url;
  http::UpstreamEndpoint endpoint;
  std::string setup_error;          // a CA that cannot be used: every fetch fails with it
  std::optional<http::Timer> wait;  // between fetches; cancelled to fetch early
  bool woken = false;               // a refresh was asked for (io thread only)
};

struct FetchResult {
  std::shared_ptr<const auth::KeySet> keys;
  std::string error;  // empty on success
};

template <class Stream>
http::Task<FetchResult> exchange(Stream& stream, http::UpstreamConnection& connection, const std::string& head) {
  connection.deadline.expires_after(JwksFetcher::kFetchTimeout);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(head), http::use_task);
  if (wec) co_return FetchResult{nullptr, "cannot send the request: " + wec.message()};
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(http::kUpstreamHeaderLimit));
  parser.body_limit(auth::kMaxJwksBytes);
  auto [rec, read] = co_await bhttp::async_read(stream, connection.buffer, parser, http::use_task);
  const bool expired = connection.deadline.expired();
  connection.deadline.expires_never();
  if (rec == bhttp::error::body_limit)
    co_return FetchResult{nullptr, "the answer is larger than " + std::to_string(auth::kMaxJwksBytes) + " bytes"};
  if (rec) {
    co_return FetchResult{
        nullptr, expired ? "no complete answer within " + std::to_string(JwksFetcher::kFetchTimeout.count()) + " s"
                         : "cannot read the answer: " + rec.message()};
  }
  const auto status = parser.get().result_int();
  if (status != 200) co_return FetchResult{nullptr, "HTTP " + std::to_string(status)};
  auto parsed = auth::parse_jwks(parser.get().body());
  if (!parsed.key_set) co_return FetchResult{nullptr, "not a usable JWKS: " + parsed.error};
  co_return FetchResult{std::move(parsed.key_set), {}};
}

// The value of a Secret's key, or null when it is missing or unusable.
const std::string* secret_value(const config::Config& config, const config::SecretKeyRef& ref) {
  const auto secret = config.secrets.find(ref.name);
  if (secret == config.secrets.end()) return nullptr;
  const auto entry = secret->second.data.find(ref.key);
  if (entry == secret->second.data.end() || !entry->second.problem.empty()) return nullptr;
  return &entry->second.value;
}

http::Task<FetchResult> fetch(http::UpstreamPool& pool, const Source& source) {
  if (!source.setup_error.empty()) co_return FetchResult{nullptr, source.setup_error};
  const auto timeout = std::chrono::duration_cast<milliseconds>(JwksFetcher::kFetchTimeout);
  auto connected = co_await pool.connect(source.endpoint, timeout);
  if (!connected.connection) co_return FetchResult{nullptr, connected.error};
  const std::string head = "GET " + source.url.target + " HTTP/1.1\r\nHost: " + source.endpoint.host_header +
                           "\r\nAccept: application/json\r\nUser-Agent: sluice-jwks\r\nConnection: close\r\n\r\n";
  auto& c = *connected.connection;
  if (c.tls) co_return co_await exchange(*c.tls, c, head);
  co_return co_await exchange(*c.plain, c, head);
}

}  // namespace

struct JwksFetcher::State {
  // Destroyed first (see ~State): pending fetches unlink their deadlines from `deadlines`.
  std::unique_ptr<asio::io_context> io_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& io = *io_owner;
  http::DeadlineList deadlines;
  http::UpstreamPool pool{io.get_executor(), deadlines};
  std::optional<http::Timer> tick;
  std::vector<std::unique_ptr<Source>> sources;
  // The first fetches still running; start() waits for 0.
  std::mutex first_mutex;
  std::condition_variable first_done;
  std::size_t first_pending = 0;

  ~State() {
    tick.reset();
    for (auto& source : sources) source->wait.reset();
    io_owner.reset();
  }

  // Deadlines are coarse: fired every 50 ms, as on the workers.
  void schedule_tick() {
    tick->expires_after(milliseconds(50));
    tick->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      deadlines.fire_expired(http::Deadline::Clock::now());
      schedule_tick();
    });
  }

  void first_fetch_ended() {
    std::lock_guard lock(first_mutex);
    --first_pending;
    first_done.notify_all();
  }

  // One provider, for as long as the fetcher runs.
  http::Task<void> fetch_loop(Source& source) {
    unsigned failures = 0;
    bool first = true;
    for (;;) {
      const bool woken = source.woken;
      source.woken = false;
      auto result = co_await fetch(pool, source);
      milliseconds delay{};
      if (result.keys) {
        const auto count = result.keys->size();
        source.keys->install(std::move(result.keys));
        if (first || failures > 0 || woken)
          observe::log(observe::Level::Info, "JWKS fetched",
                       {{"url", source.keys->url()},
                        {"keys", count},
                        {"why", first   ? "start"
                                : woken ? "a token named an unknown key"
                                        : "retry"}});
        failures = 0;
        delay = source.keys->cache_duration();
      } else {
        ++failures;
        delay = source.keys->retry_delay(failures);
        observe::log(observe::Level::Warning, "JWKS fetch failed",
                     {{"url", source.keys->url()},
                      {"error", result.error},
                      {"keys", source.keys->current() ? "keeping the keys fetched before" : "none yet"},
                      {"retry_in_ms", delay.count()}});
      }
      if (first) {
        first = false;
        first_fetch_ended();
      }
      if (source.woken) continue;
      source.wait->expires_after(delay);
      auto [ec] = co_await source.wait->async_wait(http::use_task);
      (void)ec;  // cancelled: a refresh was asked for
    }
  }
};

JwksFetcher::JwksFetcher(std::shared_ptr<const config::Config> config) : config_(std::move(config)) {}

JwksFetcher::~JwksFetcher() {
  stop();
}

bool JwksFetcher::start() {
  std::vector<const config::RemoteJwks*> remotes;
  for (const auto& [name, policy] : config_->policies) {
    if (!policy.auth || !policy.auth->jwt || !policy.auth->jwt->providers) continue;
    for (const auto& provider : *policy.auth->jwt->providers) {
      const auto& remote = provider.jwks.remote;
      if (!remote || !remote->keys) continue;
      bool seen = false;
      for (const auto* r : remotes) seen = seen || r->keys == remote->keys;
      if (!seen) remotes.push_back(&*remote);
    }
  }
  if (remotes.empty()) return false;
  state_ = std::make_unique<State>();
  auto& st = *state_;
  for (const auto* remote : remotes) {
    auto source = std::make_unique<Source>();
    source->keys = remote->keys;
    std::string error;
    auto url = auth::parse_jwks_url(remote->url, &error);
    if (!url) continue;  // reported when the configuration was loaded
    source->url = std::move(*url);
    auto& e = source->endpoint;
    e.host = source->url.host;
    e.port = source->url.port;
    e.tls = source->url.tls;
    const bool v6 = e.host.find(':') != std::string::npos;
    const auto bracketed = v6 ? "[" + e.host + "]" : e.host;
    e.host_header = e.port == (e.tls ? 443 : 80) ? bracketed : bracketed + ":" + std::to_string(e.port);
    e.display = bracketed + ":" + std::to_string(e.port);
    if (e.tls) {
      e.sni = http::is_ip_literal(e.host) ? std::string() : e.host;
      e.verify_name = e.host;
      http::TlsClientSettings settings;
      if (remote->caCertificate) {
        if (const auto* pem = secret_value(*config_, *remote->caCertificate)) {
          settings.ca_pem = *pem;
        } else {
          source->setup_error = "the CA certificate (Secret \"" + remote->caCertificate->name + "\" key \"" +
                                remote->caCertificate->key + "\") is not available";
        }
      }
      if (source->setup_error.empty()) {
        e.tls_context = http::make_client_tls_context(settings, &error);
        if (!e.tls_context) source->setup_error = "cannot use the CA certificate: " + error;
      }
    }
    e.pool_key = "jwks|" + remote->url;
    source->wait.emplace(st.io);
    st.sources.push_back(std::move(source));
  }
  st.first_pending = st.sources.size();
  for (auto& source : st.sources) {
    auto* s = source.get();
    auto* io = &st.io;
    s->keys->set_waker([s, io] {
      asio::post(*io, [s] {
        s->woken = true;
        s->wait->cancel();
      });
    });
    asio::co_spawn(st.io, st.fetch_loop(*s), asio::detached);
  }
  st.tick.emplace(st.io);
  st.schedule_tick();
  auto* state = &st;
  thread_ = std::thread([state] { state->io.run(); });
  std::unique_lock lock(st.first_mutex);
  st.first_done.wait_for(lock, kFetchTimeout + std::chrono::seconds(2), [&st] { return st.first_pending == 0; });
  return true;
}

void JwksFetcher::stop() {
  if (!state_) return;
  for (auto& source : state_->sources) source->keys->set_waker({});
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
  state_.reset();
}

}  // namespace sluice::policy
