#include "proxy/health_checker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "http/deadline.hpp"
#include "http/io.hpp"
#include "http/upstream_pool.hpp"
#include "observe/log.hpp"
#include "provider/aws_sigv4.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

struct HealthChecker::State {
  // Destroyed first (see ~State): pending checks unlink their deadlines from `deadlines`.
  std::unique_ptr<asio::io_context> io_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& io = *io_owner;
  http::DeadlineList deadlines;
  http::UpstreamPool pool{io.get_executor(), deadlines};
  std::optional<http::Timer> tick;

  ~State() {
    tick.reset();
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
};

namespace {

// The default check path: the provider's model list.
std::string default_path(const BackendRuntime& p) {
  provider::PathRequest request{provider::Operation::Other, {}, false, "/models", {}};
  const auto native = p.provider->path(*p.llm, request);
  return native.base + native.suffix;
}

template <class Stream>
http::Task<unsigned> probe(Stream& stream, http::UpstreamConnection& connection, const std::string& head,
                           milliseconds timeout) {
  connection.deadline.expires_after(timeout);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(head), http::use_task);
  if (wec) co_return 0;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);
  auto [rec, read] = co_await bhttp::async_read_header(stream, connection.buffer, parser, http::use_task);
  connection.deadline.expires_never();
  if (rec) co_return 0;
  co_return parser.get().result_int();
}

// One provider, for as long as the checker runs.
http::Task<void> check_loop(http::UpstreamPool& pool, const BackendRuntime& backend, const BackendRuntime& p) {
  const auto& hc = backend.spec->healthCheck;
  const auto path = hc.path.value_or(default_path(p));
  const auto& endpoint = p.endpoints.front();
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    http::Timer wait(executor, hc.interval);
    auto [tec] = co_await wait.async_wait(http::use_task);
    if (tec) co_return;
    std::string head = "GET " + path + " HTTP/1.1\r\nHost: " + endpoint.host_header + "\r\n";
    if (p.sigv4) {
      provider::SigV4Request to_sign;
      to_sign.method = "GET";
      to_sign.host = endpoint.host_header;
      to_sign.path = path;
      for (const auto& [name, value] :
           provider::sign_sigv4(to_sign, p.aws, p.aws_region, "bedrock", std::chrono::system_clock::now()).headers())
        head += name + ": " + value + "\r\n";
    } else {
      const std::string& credential = p.auth_values.empty() ? p.auth_value : p.auth_values.front();
      if (!credential.empty()) head += p.auth_header + ": " + credential + "\r\n";
    }
    for (const auto& [name, value] : p.static_headers) head += name + ": " + value + "\r\n";
    head += "User-Agent: sluice-health-check\r\nConnection: close\r\n\r\n";

    unsigned status = 0;
    std::string why;
    auto connected = co_await pool.connect(endpoint, hc.timeout);
    if (!connected.connection) {
      why = connected.error;
    } else {
      auto& c = *connected.connection;
      if (c.tls) {
        status = co_await probe(*c.tls, c, head, hc.timeout);
      } else {
        status = co_await probe(*c.plain, c, head, hc.timeout);
      }
      if (status == 0) why = "no answer within " + std::to_string(hc.timeout.count()) + " ms";
    }
    const bool passed = status != 0 && status < 500;
    if (!passed && why.empty()) why = "HTTP " + std::to_string(status);
    const bool was_unhealthy = p.health->unhealthy();
    p.health->record_check(passed, hc.unhealthyThreshold, hc.healthyThreshold);
    if (p.health->unhealthy() != was_unhealthy) {
      observe::log(
          was_unhealthy ? observe::Level::Info : observe::Level::Warning,
          was_unhealthy ? "provider healthy again" : "provider unhealthy",
          {{"backend", backend.name}, {"provider", p.name}, {"check", path}, {"last", passed ? "passed" : why}});
    }
  }
}

}  // namespace

HealthChecker::HealthChecker(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}

HealthChecker::~HealthChecker() {
  stop();
}

bool HealthChecker::start() {
  bool any = false;
  for (const auto& [name, b] : snapshot_->backends) any = any || (b.ai && b.spec->healthCheck.enabled);
  if (!any) return false;
  state_ = std::make_unique<State>();
  auto& st = *state_;
  for (const auto& [name, b] : snapshot_->backends) {
    if (!b.ai || !b.spec->healthCheck.enabled) continue;
    for (const auto& group : b.groups)
      for (const auto& p : group)
        if (p.unavailable_reason.empty() && p.health && !p.endpoints.empty())
          asio::co_spawn(st.io, check_loop(st.pool, b, p), asio::detached);
  }
  st.tick.emplace(st.io);
  st.schedule_tick();
  auto* state = &st;
  thread_ = std::thread([state] { state->io.run(); });
  return true;
}

void HealthChecker::stop() {
  if (!state_) return;
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
  state_.reset();
}

}  // namespace sluice::proxy
