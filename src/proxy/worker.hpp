// Worker: one thread, one io_context, its own SO_REUSEPORT acceptors, its own upstream pool,
// metrics shard and access-log buffer. Everything a request touches lives on its worker, so
// the hot path takes no lock. Other threads talk to a worker only by posting to its
// io_context (set_snapshot, drain) or by reading its atomics and metrics shard.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "http/deadline.hpp"
#include "http/upstream_pool.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"
#include "observe/otlp_exporter.hpp"
#include "observe/recent_errors.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::proxy {

// A client connection as the worker sees it, for draining.
struct ClientConnection {
  http::Socket* socket = nullptr;
  bool idle = true;  // waiting for the next request's headers
};

class Worker {
 public:
  Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, int access_log_fd);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): binds every listener. A port of 0 binds an ephemeral port and writes the
  // chosen port back, so later workers share it.
  bool bind(const std::vector<config::Listener>& listeners, std::vector<std::uint16_t>& ports, std::string* error);
  void start();
  void join();
  void stop();

  // Thread-safe: posted to the worker.
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot);
  void drain();
  // The drain deadline passed: every request still in flight is cut now (its pending I/O
  // cancelled as by a timeout), so it still answers in-band (an error event) and is logged.
  void cut();

  // Thread-safe reads.
  const observe::MetricsShard& metrics_shard() const { return metrics_; }
  const observe::RecentErrors& recent_errors_ring() const { return recent_errors_; }
  std::int64_t open_connections() const { return metrics_.open_connections.load(std::memory_order_relaxed); }
  std::int64_t active_requests() const { return metrics_.active_requests.load(std::memory_order_relaxed); }

  // Worker-thread only.
  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  http::UpstreamPool& pool() { return pool_; }
  http::DeadlineList& deadlines() { return deadlines_; }
  observe::MetricsShard& metrics() { return metrics_; }
  observe::AccessLogBuffer& access_log() { return access_log_; }
  observe::RecentErrors& recent_errors() { return recent_errors_; }
  std::minstd_rand& rng() { return rng_; }
  // Finished spans on their way to the OTLP exporter (flushed every housekeeping tick), and the
  // generator of trace and span ids.
  observe::SpanBuffer& spans() { return spans_; }
  std::mt19937_64& trace_rng() { return trace_rng_; }
  // The worker's connection to the snapshot's Redis (made on first use, replaced when a reload
  // changes spec.redis, closed when it removes it); null when the Gateway names no Redis.
  state::RedisClient* redis();
  // Per-worker state a component shared by every worker keeps (a stage's batch of Redis
  // commands), under `key` (an address of the component's): made on first use, on this
  // worker's thread only; released with the worker's I/O objects, before its event loop.
  struct Local {
    virtual ~Local() = default;
  };
  template <class T>
  T& local(const void* key) {
    for (auto& [owner, value] : locals_)
      if (owner == key) return static_cast<T&>(*value);
    locals_.emplace_back(key, std::make_unique<T>());
    return static_cast<T&>(*locals_.back().second);
  }
  // Retries running on this worker now (the retry budget is checked against it).
  unsigned& retries_in_flight() { return retries_in_flight_; }
  // Relay buffers are recycled per worker instead of allocated per response.
  std::unique_ptr<char[]> take_relay_buffer() {
    if (relay_buffers_.empty()) return std::make_unique<char[]>(kRelayBufferBytes);
    auto buffer = std::move(relay_buffers_.back());
    relay_buffers_.pop_back();
    return buffer;
  }
  void give_relay_buffer(std::unique_ptr<char[]> buffer) {
    if (buffer && relay_buffers_.size() < kMaxPooledRelayBuffers) relay_buffers_.push_back(std::move(buffer));
  }
  static constexpr std::size_t kRelayBufferBytes = 16 * 1024;
  bool draining() const { return draining_; }
  // The drain has taken hold: acceptors closed, every accepted connection counted in
  // open_connections(). Any thread.
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  const bool& draining_flag() const { return draining_; }
  bool cutting() const { return cutting_; }
  // stop() was called: the event loop ends, and coroutines still suspended are destroyed with
  // it. Work must not be spawned on it any more (a Complete stage's after-work: settlements,
  // cache fills). Any thread.
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  unsigned index() const { return index_; }
  void add_connection(ClientConnection* c) { connections_.insert(c); }
  void remove_connection(ClientConnection* c) { connections_.erase(c); }

 private:
  void schedule_housekeeping();

  // Declaration order matters for shutdown: everything a client or upstream coroutine may
  // touch while its frame is destroyed (deadlines, metrics, connection registry) is declared
  // before io_, whose destruction destroys those frames; ~Worker releases the I/O objects
  // bound to io_ first.
  unsigned index_;
  std::shared_ptr<const Snapshot> snapshot_;
  http::DeadlineList deadlines_;
  observe::MetricsShard metrics_;
  observe::AccessLogBuffer access_log_;
  observe::RecentErrors recent_errors_;
  std::minstd_rand rng_;
  observe::SpanBuffer spans_;
  std::mt19937_64 trace_rng_;
  unsigned retries_in_flight_ = 0;
  std::unordered_set<ClientConnection*> connections_;
  static constexpr std::size_t kMaxPooledRelayBuffers = 64;
  std::vector<std::unique_ptr<char[]>> relay_buffers_;
  bool draining_ = false;
  std::atomic<bool> drained_{false};
  std::atomic<bool> stopped_{false};
  bool cutting_ = false;
  unsigned housekeeping_ticks_ = 0;
  // Every I/O object of a worker is used on its thread only, so the reactor's per-descriptor
  // locking is switched off; the scheduler keeps its lock for posts from other threads.
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<http::Acceptor>> acceptors_;
  http::UpstreamPool pool_;
  std::optional<http::Timer> housekeeping_;
  std::unique_ptr<state::RedisClient> redis_;
  std::vector<std::pair<const void*, std::unique_ptr<Local>>> locals_;
  std::thread thread_;
};

// Whether a listener address is loopback only (127.0.0.0/8, ::1). An address that does not
// parse is not.
bool loopback_address(const std::string& address);

// Before the workers bind their SO_REUSEPORT acceptors: fails with an "address in use" `error`
// naming the listener and address when any other socket already holds one of the listeners'
// addresses (another `sluice serve` would otherwise silently share its traffic). Each address is
// bound once without SO_REUSEPORT and released at once. Port 0 (ephemeral) is not probed.
bool probe_listeners_free(const std::vector<config::Listener>& listeners, std::string* error);

// A relay buffer on loan from its worker for one response (or one request body), taken the
// first time it is used and given back when the loan ends (also when the coroutine holding it
// is destroyed). Single-threaded, like its worker.
class RelayBuffer {
 public:
  explicit RelayBuffer(Worker& worker) : worker_(worker) {}
  ~RelayBuffer() { worker_.give_relay_buffer(std::move(buffer_)); }
  RelayBuffer(const RelayBuffer&) = delete;
  RelayBuffer& operator=(const RelayBuffer&) = delete;

  char* get() {
    if (!buffer_) buffer_ = worker_.take_relay_buffer();
    return buffer_.get();
  }
  static constexpr std::size_t size() { return Worker::kRelayBufferBytes; }

 private:
  Worker& worker_;
  std::unique_ptr<char[]> buffer_;
};

}  // namespace sluice::proxy
