#include "proxy/h2_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>

#include "http/h2_connection.hpp"
#include "pipeline/responder.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kReadBytes = 16 * 1024;
constexpr std::size_t kWriteBytes = 64 * 1024;

// What the reader and the writer of one connection share.
struct H2Io {
  http::ClientStream& transport;
  http::H2Connection* connection = nullptr;
  ClientConnection& registration;
  http::Timer wake;         // cancelled when there may be frames to send
  http::Timer writer_exit;  // cancelled when the writer has ended
  bool writing = false;
  bool writer_done = false;
  bool stop = false;             // the reader ended: send what is left, then end
  bool close_requested = false;  // the writer ended the connection (done, or a write failed)

  void cancel_transport() {
    boost::system::error_code ignored;
    transport.socket().cancel(ignored);
  }
  // Only a connection with no stream in progress and no write under way is idle: a drain
  // cancels an idle connection's read, which must not cut a write short.
  void update_idle() { registration.idle = !writing && connection->active_streams() == 0; }
};

// Sends what nghttp2 produces until the reader stops or the connection is finished.
http::Task<void> write_frames(H2Io& io, http::Deadline& write_deadline) {
  std::string out;
  out.reserve(kWriteBytes);
  for (;;) {
    out.clear();
    if (!io.connection->take_output(out, kWriteBytes)) {
      io.close_requested = true;
      io.cancel_transport();
      co_return;
    }
    if (out.empty()) {
      if (io.stop) co_return;
      if (io.connection->finished()) {
        // Everything is sent and nothing more will be: end the reader's wait.
        io.close_requested = true;
        io.cancel_transport();
        co_return;
      }
      io.wake.expires_at(http::Timer::time_point::max());
      co_await io.wake.async_wait(http::use_task);
      continue;
    }
    io.writing = true;
    io.update_idle();
    write_deadline.expires_after(pipeline::kClientWriteTimeout);
    auto [ec, n] = co_await asio::async_write(io.transport, asio::buffer(out), http::use_task);
    write_deadline.expires_never();
    io.writing = false;
    io.update_idle();
    if (ec) {
      io.close_requested = true;
      io.cancel_transport();
      co_return;
    }
  }
}

}  // namespace

http::Task<void> serve_h2(Worker& worker, http::ClientStream& transport, http::Deadline& deadline,
                          ClientConnection& registration, boost::beast::flat_buffer& already_read,
                          H2StreamServer serve_stream) {
  const auto& limits = worker.snapshot()->gateway().limits;
  const auto idle_timeout = limits.idleTimeout;
  http::H2Connection::Settings settings;
  settings.max_concurrent_streams = limits.maxConcurrentStreams;
  settings.max_head_bytes = limits.maxRequestHeaderBytes;

  H2Io io{transport, nullptr, registration, http::Timer(worker.io()), http::Timer(worker.io())};
  io.writer_exit.expires_at(http::Timer::time_point::max());
  http::H2Connection connection(
      worker.io().get_executor(), settings,
      [&](std::shared_ptr<http::H2Stream> stream) {
        registration.idle = false;
        deadline.expires_never();
        serve_stream(std::move(stream));
      },
      [&io] { io.wake.cancel(); },
      [&] {
        // The last stream ended: the connection is idle again.
        io.update_idle();
        deadline.expires_after(idle_timeout);
      },
      worker.draining_flag());
  io.connection = &connection;
  http::Deadline write_deadline(worker.deadlines(), [&io] { io.cancel_transport(); });

  asio::co_spawn(worker.io(), write_frames(io, write_deadline), [&io](std::exception_ptr) {
    io.writer_done = true;
    io.writer_exit.cancel();
  });

  bool ok = true;
  if (already_read.size() > 0) {
    ok = connection.receive(static_cast<const std::uint8_t*>(already_read.data().data()), already_read.size());
    already_read.consume(already_read.size());
  }
  deadline.expires_after(limits.requestHeaderTimeout);
  registration.idle = true;
  auto buffer = std::make_unique<std::uint8_t[]>(kReadBytes);
  while (ok) {
    auto [ec, n] = co_await transport.async_read_some(asio::buffer(buffer.get(), kReadBytes), http::use_task);
    if (io.close_requested) break;
    if (ec) {
      if (ec == asio::error::operation_aborted && !deadline.expired() && worker.draining()) {
        // The drain: GOAWAY now; the streams begun finish, then the writer ends the connection.
        connection.goaway();
        continue;
      }
      // Idle too long (GOAWAY, politely), or the client closed or reset the connection.
      if (deadline.expired() && connection.active_streams() == 0) connection.goaway();
      break;
    }
    ok = connection.receive(buffer.get(), n);
  }
  deadline.expires_never();
  io.stop = true;
  io.wake.cancel();
  if (!io.writer_done) co_await io.writer_exit.async_wait(http::use_task);
  registration.idle = false;
}

}  // namespace sluice::proxy
