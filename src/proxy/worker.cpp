#include "proxy/worker.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "proxy/client_session.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The access log's options from the Gateway (field names were checked by the loader).
observe::AccessLogOptions access_log_options(const config::AccessLog& settings) {
  observe::AccessLogOptions options{settings.redactQueryParams, {}};
  for (const auto& name : settings.fields)
    if (const auto field = observe::access_log_field(name)) options.fields.push_back(*field);
  return options;
}

}  // namespace

Worker::Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, int access_log_fd)
    : index_(index),
      snapshot_(std::move(snapshot)),
      access_log_(access_log_fd, access_log_options(snapshot_->gateway().accessLog)),
      rng_(std::random_device{}() + index),
      trace_rng_((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}() ^ index),
      work_(asio::make_work_guard(io_)),
      pool_(io_.get_executor(), deadlines_),
      housekeeping_(std::in_place, io_) {}

Worker::~Worker() {
  stop();
  join();
  // Release what is bound to io_ while everything coroutine frames touch is still alive;
  // then io_'s destructor destroys the suspended frames.
  acceptors_.clear();
  housekeeping_.reset();
  redis_.reset();  // fails what is still waiting on it; its coroutines end with io_
  locals_.clear();

  pool_.clear();
}

bool Worker::bind(const std::vector<config::Listener>& listeners, std::vector<std::uint16_t>& ports,
                  std::string* error) {
  ports.resize(listeners.size());
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const auto& l = listeners[i];
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(l.address, ec);
    if (ec) {
      *error = "listener \"" + l.name + "\": invalid address \"" + l.address + "\"";
      return false;
    }
    const tcp::endpoint endpoint(address, ports[i] != 0 ? ports[i] : l.port);
    auto acceptor = std::make_unique<http::Acceptor>(io_);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec.assign(errno, boost::system::system_category());
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      *error = "listener \"" + l.name + "\": cannot listen on " + l.address + ":" + std::to_string(endpoint.port()) +
               ": " + ec.message();
      return false;
    }
    ports[i] = acceptor->local_endpoint().port();
    acceptors_.push_back(std::move(acceptor));
  }
  return true;
}

state::RedisClient* Worker::redis() {
  const auto& wanted = snapshot_->redis;
  if (!wanted) {
    if (redis_) {
      redis_->close();
      redis_.reset();
    }
    return nullptr;
  }
  if (redis_ && !redis_->endpoint().same_connection(*wanted)) {
    redis_->close();
    redis_.reset();
  }
  if (!redis_) redis_ = std::make_unique<state::RedisClient>(io_, *wanted, *snapshot_->redis_status);
  return redis_.get();
}

bool loopback_address(const std::string& address) {
  boost::system::error_code ec;
  const auto parsed = asio::ip::make_address(address, ec);
  return !ec && parsed.is_loopback();
}

bool probe_listeners_free(const std::vector<config::Listener>& listeners, std::string* error) {
  asio::io_context io(1);
  for (const auto& l : listeners) {
    if (l.port == 0) continue;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(l.address, ec);
    if (ec) continue;  // Worker::bind reports it
    tcp::acceptor probe(io);
    probe.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(tcp::endpoint(address, l.port), ec);
    if (ec == asio::error::address_in_use) {
      *error = "listener \"" + l.name + "\": address in use: " + l.address + ":" + std::to_string(l.port) +
               " is already served by another process (sluice serve --reuse-port shares it on purpose)";
      return false;
    }
    if (ec) {
      *error = "listener \"" + l.name + "\": cannot listen on " + l.address + ":" + std::to_string(l.port) + ": " +
               ec.message();
      return false;
    }
  }
  return true;
}

void Worker::start() {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_, accept_loop(*this, *acceptors_[i], i), asio::detached);
  }
  schedule_housekeeping();
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::stop() {
  stopped_.store(true, std::memory_order_release);
  asio::post(io_, [this] {
    access_log_.flush();
    spans_.flush();
  });
  work_.reset();
  io_.stop();
}

void Worker::set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable {
    snapshot_ = std::move(snapshot);
    // Connections to endpoints the new snapshot still has (same pool key) stay warm.
    pool_.retain(snapshot_->pool_keys);
  });
}

void Worker::drain() {
  asio::post(io_, [this] {
    draining_ = true;
    boost::system::error_code ignored;
    for (auto& acceptor : acceptors_) {
      // Connections the kernel completed but nobody accepted yet would be reset by close():
      // take them and close them gracefully, as an idle keep-alive connection is.
      acceptor->non_blocking(true, ignored);
      for (;;) {
        boost::system::error_code ec;
        http::Socket pending(io_);
        acceptor->accept(pending, ec);
        if (ec) break;
        pending.shutdown(http::Socket::shutdown_send, ignored);
        pending.close(ignored);
      }
      acceptor->close(ignored);
    }
    for (auto* c : connections_) {
      if (c->idle) c->socket->cancel(ignored);
    }
    // Connections accepted just before the acceptors closed are served (and counted) by
    // handlers already queued: the drain has taken hold once they have run.
    asio::post(io_, [this] { drained_.store(true, std::memory_order_release); });
  });
}

void Worker::cut() {
  asio::post(io_, [this] {
    cutting_ = true;
    deadlines_.fire_all();
  });
}

// Every 50 ms: fire passed I/O deadlines and flush the access log; every second: drop
// expired pooled upstream connections.
void Worker::schedule_housekeeping() {
  housekeeping_->expires_after(std::chrono::milliseconds(50));
  housekeeping_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    deadlines_.fire_expired(http::Deadline::Clock::now());
    access_log_.flush();
    spans_.flush();
    if (++housekeeping_ticks_ % 20 == 0) pool_.sweep();
    schedule_housekeeping();
  });
}

}  // namespace sluice::proxy
