#include "proxy/model_fetcher.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <vector>

#include "http/deadline.hpp"
#include "http/io.hpp"
#include "http/upstream_pool.hpp"
#include "observe/log.hpp"
#include "proxy/model_catalog.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

struct ModelFetcher::State {
  // Destroyed first (see ~State): pending fetches unlink their deadlines from `deadlines`.
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

struct PageResult {
  std::string body;
  std::string error;  // empty on success
};

template <class Stream>
http::Task<PageResult> exchange(Stream& stream, http::UpstreamConnection& connection, const std::string& head,
                                milliseconds timeout) {
  connection.deadline.expires_after(timeout);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(head), http::use_task);
  if (wec) {
    connection.deadline.expires_never();
    co_return PageResult{{}, "cannot send the request: " + wec.message()};
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(http::kUpstreamHeaderLimit));
  parser.body_limit(ModelFetcher::kMaxListBytes);
  auto [rec, read] = co_await bhttp::async_read(stream, connection.buffer, parser, http::use_task);
  const bool expired = connection.deadline.expired();
  connection.deadline.expires_never();
  if (rec == bhttp::error::body_limit)
    co_return PageResult{{}, "the answer is larger than " + std::to_string(ModelFetcher::kMaxListBytes) + " bytes"};
  if (rec) {
    co_return PageResult{{},
                         expired ? "no complete answer within " + std::to_string(timeout.count()) + " ms"
                                 : "cannot read the answer: " + rec.message()};
  }
  const auto status = parser.get().result_int();
  if (status != 200) co_return PageResult{{}, "HTTP " + std::to_string(status)};
  co_return PageResult{std::move(parser.get().body()), {}};
}

// The request head of one page, with the provider's credential and static headers, as the
// health checker sends them (Bedrock, the only SigV4 provider, does not list).
std::string page_head(const BackendRuntime& p, const std::string& target) {
  const auto& endpoint = p.endpoints.front();
  std::string head = "GET " + target + " HTTP/1.1\r\nHost: " + endpoint.host_header + "\r\n";
  const std::string& credential = p.auth_values.empty() ? p.auth_value : p.auth_values.front();
  if (!credential.empty()) head += p.auth_header + ": " + credential + "\r\n";
  for (const auto& [name, value] : p.static_headers) head += name + ": " + value + "\r\n";
  head += "Accept: application/json\r\nUser-Agent: sluice-model-list\r\nConnection: close\r\n\r\n";
  return head;
}

struct FetchResult {
  std::vector<provider::ListedModel> models;
  std::size_t pages = 0;
  std::string error;  // empty on success
};

// Every page of one provider's list.
http::Task<FetchResult> fetch_list(http::UpstreamPool& pool, const BackendRuntime& p, const ListSource& source,
                                   milliseconds timeout) {
  FetchResult result;
  std::string cursor;
  std::vector<std::string> cursors;
  const auto& endpoint = p.endpoints.front();
  for (;;) {
    if (result.pages == ModelFetcher::kMaxPages) {
      result.error = "more than " + std::to_string(ModelFetcher::kMaxPages) + " pages";
      co_return result;
    }
    const auto target = provider::list_page_target(source.api, source.path, cursor);
    const auto head = page_head(p, target);
    auto connected = co_await pool.connect(endpoint, timeout);
    if (!connected.connection) {
      result.error = connected.error;
      co_return result;
    }
    auto& c = *connected.connection;
    PageResult page_result;
    if (c.tls) {
      page_result = co_await exchange(*c.tls, c, head, timeout);
    } else {
      page_result = co_await exchange(*c.plain, c, head, timeout);
    }
    ++result.pages;
    if (!page_result.error.empty()) {
      result.error = std::move(page_result.error);
      co_return result;
    }
    auto page = provider::decode_list_page(source.api, page_result.body);
    if (!page.error.empty()) {
      result.error = std::move(page.error);
      co_return result;
    }
    for (auto& m : page.models) result.models.push_back(std::move(m));
    if (page.cursor.empty()) co_return result;
    if (std::find(cursors.begin(), cursors.end(), page.cursor) != cursors.end()) {
      result.error = "the pages repeat (cursor " + page.cursor + ")";
      co_return result;
    }
    cursors.push_back(page.cursor);
    cursor = std::move(page.cursor);
  }
}

// One provider, for as long as the fetcher runs.
http::Task<void> fetch_loop(http::UpstreamPool& pool, const BackendRuntime& backend, const BackendRuntime& p,
                            ListSource source) {
  const auto& settings = backend.spec->modelList;
  const auto interval = std::chrono::duration_cast<milliseconds>(settings.refreshInterval);
  const auto timeout = std::chrono::duration_cast<milliseconds>(settings.timeout);
  auto executor = co_await asio::this_coro::executor;
  http::Timer wait(executor);
  // A list kept across a reload is refreshed when it turns `interval` old.
  milliseconds delay{0};
  if (const auto kept = p.listed_models->current()) {
    const auto age = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now() - kept->fetched_at);
    if (age < interval) delay = interval - age;
  }
  unsigned failures = 0;
  for (;;) {
    if (delay.count() > 0) {
      wait.expires_after(delay);
      auto [ec] = co_await wait.async_wait(http::use_task);
      if (ec) co_return;
    }
    auto result = co_await fetch_list(pool, p, source, timeout);
    const auto now = std::chrono::system_clock::now();
    if (result.error.empty()) {
      const auto count = result.models.size();
      auto list = std::make_shared<FetchedModels>();
      list->models = std::move(result.models);
      list->fetched_at = now;
      const bool first = p.listed_models->current() == nullptr;
      p.listed_models->publish(std::move(list));
      if (first || failures > 0)
        observe::log(observe::Level::Info, "model list fetched",
                     {{"backend", backend.name}, {"provider", p.name}, {"models", count}, {"pages", result.pages}});
      failures = 0;
      delay = interval;
    } else {
      ++failures;
      const auto backoff = std::chrono::duration_cast<milliseconds>(ModelFetcher::kFirstRetryDelay) *
                           (1LL << std::min(failures - 1, 16u));
      delay = std::min<milliseconds>(interval, backoff);
      const auto kept = p.listed_models->current();
      std::string keeping = "none yet: the configuration's models are listed";
      if (kept) {
        keeping = "the list fetched before";
        if (now - kept->fetched_at > interval * ModelFetcher::kShelfLife) {
          p.listed_models->publish(nullptr);
          keeping = "none: the list fetched before is too old; the configuration's models are listed";
        }
      }
      observe::log(observe::Level::Warning, "model list fetch failed",
                   {{"backend", backend.name},
                    {"provider", p.name},
                    {"path", source.path},
                    {"error", result.error},
                    {"listing", keeping},
                    {"retry_in_ms", delay.count()}});
    }
  }
}

}  // namespace

ModelFetcher::ModelFetcher(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}

ModelFetcher::~ModelFetcher() {
  stop();
}

bool ModelFetcher::start() {
  struct Job {
    const BackendRuntime* backend;
    const BackendRuntime* provider;
    ListSource source;
  };
  std::vector<Job> jobs;
  for (const auto& [name, b] : snapshot_->backends) {
    if (!b.ai) continue;
    for (const auto& group : b.groups)
      for (const auto& p : group) {
        if (!p.listed_models || !p.unavailable_reason.empty()) continue;
        if (auto source = list_source(p)) jobs.push_back({&b, &p, std::move(*source)});
      }
  }
  if (jobs.empty()) return false;
  state_ = std::make_unique<State>();
  auto& st = *state_;
  for (auto& job : jobs)
    asio::co_spawn(st.io, fetch_loop(st.pool, *job.backend, *job.provider, std::move(job.source)), asio::detached);
  st.tick.emplace(st.io);
  st.schedule_tick();
  auto* state = &st;
  thread_ = std::thread([state] { state->io.run(); });
  return true;
}

void ModelFetcher::stop() {
  if (!state_) return;
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
  state_.reset();
}

}  // namespace sluice::proxy
