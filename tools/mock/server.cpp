#include "server.hpp"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "text.hpp"

namespace sluice::mock {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

// Concrete executor types everywhere: no type-erased executor copies on the hot path.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;
using TlsStream = ssl::stream<Socket>;
template <typename T>
using Task = asio::awaitable<T, Executor>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});
constexpr std::uint64_t kBodyLimit = std::uint64_t{64} << 20;
constexpr std::uint32_t kHeaderLimit = 64 << 10;
constexpr std::size_t kReadSize = 64 << 10;
constexpr auto kCloseTimeout = std::chrono::seconds(1);

std::atomic<std::uint64_t> connection_counter{0};

// How the end of a response body is signalled.
enum class Framing { content_length, chunked, until_close, no_body };

std::string_view reason_phrase(unsigned status) {
  const http::status known = http::int_to_status(status);
  if (known == http::status::unknown) return {};
  return http::obsolete_reason(known);
}

bool is_http_protocol_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// One accepted connection: reads requests until the peer closes or a plan ends the connection.
template <typename Stream>
class Connection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(Stream stream, const ServerConfig& config, std::uint64_t id)
      : stream_(std::move(stream)), config_(config), id_(id) {}

  Task<void> run() {
    if constexpr (kTls) {
      const auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, use_tuple);
      if (ec) co_return;
    } else {
      error_code ec;
      socket().non_blocking(true, ec);  // for the direct reads and writes, see read_request()
      if (ec) co_return;
    }
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      parser.eager(true);
      if (const error_code ec = co_await read_request(parser)) {
        // A declared Content-Length over the limit fails once the header is parsed.
        const bool header_read = parser.is_header_done() || ec == http::error::body_limit;
        co_await reject_unreadable(ec, header_read ? &parser.get() : nullptr);
        co_return;
      }
      const Request request = parser.release();
      if (!co_await respond(request)) co_return;
    }
  }

 private:
  Socket& socket() { return beast::get_lowest_layer(stream_); }

  // Feeds the parser from buffer_ and the socket until it holds a whole request, answering
  // Expect: 100-continue on the way. Over plain TCP, reads are attempted directly and
  // async_wait() is used only after one would block (it is race-free then: the reactor has not
  // run since); this saves Beast's composed operations and a trip through the event loop per
  // request.
  Task<error_code> read_request(http::request_parser<http::string_body>& parser) {
    bool continue_sent = false;
    for (;;) {
      error_code ec;
      if (buffer_.size() > 0) {
        buffer_.consume(parser.put(buffer_.data(), ec));
        if (ec == http::error::need_more) ec = {};
        if (ec || parser.is_done()) co_return ec;
        if (parser.is_header_done() && !continue_sent && iequals(parser.get()[http::field::expect], "100-continue")) {
          continue_sent = true;
          out_.assign("HTTP/1.1 100 Continue\r\n\r\n");
          if (!co_await write_out()) co_return asio::error::connection_aborted;
        }
      }

      const auto space = buffer_.prepare(beast::read_size(buffer_, kReadSize));
      std::size_t received = 0;
      if constexpr (kTls) {
        std::tie(ec, received) = co_await stream_.async_read_some(space, use_tuple);
      } else {
        received = socket().read_some(space, ec);
        if (ec == asio::error::would_block) {
          std::tie(ec) = co_await socket().async_wait(Socket::wait_read, use_tuple);
          if (!ec) received = socket().read_some(space, ec);
          if (ec == asio::error::would_block) continue;  // a spurious wake-up
        }
      }
      buffer_.commit(received);
      if (ec == asio::error::eof) {
        if (!parser.got_some()) co_return http::error::end_of_stream;
        parser.put_eof(ec);
        if (!ec && parser.is_done()) co_return ec;
        co_return http::error::partial_message;
      }
      if (ec) co_return ec;
    }
  }

  // Answers one request; false when the connection must not be used again. On the hot path
  // (a full reply, no delay) the only coroutine frames are this one and write_out()'s, which Asio
  // recycles without touching the heap.
  Task<bool> respond(const Request& request) {
    const auto started = std::chrono::steady_clock::now();
    ResponsePlan plan = plan_response(request, config_.defaults, id_);
    if (plan.blackhole) {
      log(request, "blackhole", started);
      co_await drain();
      co_return false;
    }
    if (plan.latency.count() > 0) co_await sleep(plan.latency);
    if (plan.reset == Reset::before_headers) {
      log(request, "reset", started);
      reset();
      co_return false;
    }
    if (plan.reset == Reset::close_after_request) {
      log(request, "closed", started);
      co_await close();
      co_return false;
    }

    const bool http10 = request.version() < 11;
    bool keep_alive = request.keep_alive();
    bool completed = false;
    if (const auto* full = std::get_if<FullReply>(&plan.reply)) {
      const bool bodyless = full->status == 204 || full->status == 304;
      out_.clear();
      append_head(full->status, full->content_type, bodyless ? Framing::no_body : Framing::content_length,
                  bodyless ? 0 : full->body.size(), keep_alive, plan.headers);
      // A HEAD request gets the headers of the reply, Content-Length included, but no body.
      std::string_view body;
      if (!bodyless && request.method() != http::verb::head) body = full->body;
      if (plan.reset == Reset::mid_stream) {
        co_await write_out(body.substr(0, body.size() / 2));
        reset();
      } else {
        completed = co_await write_out(body);
      }
      log(request, full->status, started);
    } else {
      if (http10) keep_alive = false;
      completed = co_await send(std::get<StreamReply>(plan.reply), plan, keep_alive, http10);
      log(request, 200, started);
    }
    if (!completed) co_return false;
    if (!keep_alive) {
      co_await close();
      co_return false;
    }
    co_return true;
  }

  Task<bool> send(const StreamReply& reply, const ResponsePlan& plan, bool keep_alive, bool http10) {
    const bool chunked = !http10;
    out_.clear();
    append_head(200, reply.content_type, chunked ? Framing::chunked : Framing::until_close, 0, keep_alive,
                plan.headers);
    if (!co_await write_out()) co_return false;

    const std::size_t reset_at = plan.reset == Reset::mid_stream ? reply.events.size() / 2 : reply.events.size() + 1;
    for (std::size_t i = 0; i < reply.events.size(); ++i) {
      if (i == reset_at) {
        reset();
        co_return false;
      }
      if (const auto delay = i == 0 ? plan.ttft : plan.chunk_delay; delay.count() > 0) {
        co_await sleep(delay);
      }
      const std::string& event = reply.events[i];
      out_.clear();
      if (chunked) append_chunk_size(event.size());
      out_.append(event);
      if (chunked) out_.append("\r\n");
      if (!co_await write_out()) co_return false;
    }
    if (!chunked) co_return true;
    out_.assign("0\r\n\r\n");
    co_return co_await write_out();
    co_return true;
  }

  void append_head(unsigned status, std::string_view content_type, Framing framing, std::size_t content_length,
                   bool keep_alive, std::string_view extra_headers) {
    out_.append("HTTP/1.1 ");
    append_number(out_, status);
    out_.push_back(' ');
    out_.append(reason_phrase(status));
    out_.append("\r\nserver: sluice-mock\r\n");
    if (framing != Framing::no_body) {
      out_.append("content-type: ").append(content_type).append("\r\n");
    }
    if (framing == Framing::content_length) {
      out_.append("content-length: ");
      append_number(out_, content_length);
      out_.append("\r\n");
    } else if (framing == Framing::chunked) {
      out_.append("transfer-encoding: chunked\r\ncache-control: no-cache\r\n");
    }
    out_.append(keep_alive ? "connection: keep-alive\r\n" : "connection: close\r\n");
    out_.append(extra_headers);
    out_.append("\r\n");
  }

  void append_chunk_size(std::size_t size) {
    char digits[16];
    const auto result = std::to_chars(digits, digits + sizeof digits, size, 16);
    out_.append(digits, result.ptr);
    out_.append("\r\n");
  }

  // Answers a request that could not be read, when there is still a peer to answer.
  Task<void> reject_unreadable(const error_code& ec, const RequestHeader* header) {
    FullReply reply;
    if (ec == http::error::body_limit) {
      reply = unreadable_request(413, "Request body exceeds the 64 MiB limit.");
    } else if (ec == http::error::header_limit) {
      reply = unreadable_request(431, "Request headers exceed the 64 KiB limit.");
    } else if (is_http_protocol_error(ec)) {
      reply = unreadable_request(400, "Malformed HTTP request: " + ec.message());
    } else {
      co_return;
    }
    const std::string headers = header ? echo_headers(*header, id_) : std::string{};
    out_.clear();
    append_head(reply.status, reply.content_type, Framing::content_length, reply.body.size(), false, headers);
    if (co_await write_out(reply.body)) co_await close();
  }

  // Writes out_, then `body`, as one write: gathered over TCP, one TLS record over TLS. Over TCP
  // the write is first attempted directly; most replies fit in the socket buffer and then need
  // no trip through the event loop.
  Task<bool> write_out(std::string_view body = {}) {
    if constexpr (kTls) {
      out_.append(body);
      const auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(out_), use_tuple);
      co_return !ec;
    } else {
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(out_), asio::buffer(body)};
      beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
      error_code ec;
      rest.consume(socket().write_some(buffers, ec));
      if (ec && ec != asio::error::would_block) co_return false;
      if (beast::buffer_bytes(rest) == 0) co_return true;
      std::tie(ec, std::ignore) = co_await asio::async_write(stream_, rest, use_tuple);
      co_return !ec;
    }
  }

  // Callers skip zero delays, which then cost no coroutine frame.
  Task<void> sleep(milliseconds duration) {
    Timer timer(stream_.get_executor(), duration);
    co_await timer.async_wait(use_tuple);
  }

  // Reads and discards until the peer closes (or the process exits).
  Task<void> drain() {
    std::array<char, 4096> sink;
    for (;;) {
      const auto [ec, bytes] = co_await stream_.async_read_some(asio::buffer(sink), use_tuple);
      if (ec) co_return;
    }
  }

  // Closes with SO_LINGER 0: the peer sees a TCP RST.
  void reset() {
    error_code ignored;
    socket().set_option(asio::socket_base::linger(true, 0), ignored);
    socket().close(ignored);
  }

  // Ends the connection politely: TLS close_notify, or a half-close followed by discarding what
  // the peer still sends until it closes, so that unread request bytes do not turn the close
  // into an RST that destroys the response. Bounded by kCloseTimeout.
  Task<void> close() {
    Timer guard(stream_.get_executor(), kCloseTimeout);
    guard.async_wait([&socket = socket()](const error_code& ec) {
      error_code ignored;
      if (!ec) socket.close(ignored);
    });
    if constexpr (kTls) {
      co_await stream_.async_shutdown(use_tuple);
    } else {
      error_code ignored;
      socket().shutdown(asio::socket_base::shutdown_send, ignored);
      co_await drain();
    }
  }

  template <typename Status>
  void log(const Request& request, Status status, std::chrono::steady_clock::time_point started) {
    if (!config_.log_requests) return;
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    std::string line = R"({"msg":"request","connection":)";
    append_number(line, id_);
    line.append(R"(,"method":)");
    append_json_string(line, request.method_string());
    line.append(R"(,"target":)");
    append_json_string(line, request.target());
    line.append(R"(,"status":)");
    if constexpr (std::is_integral_v<Status>) {
      append_number(line, status);
    } else {
      append_json_string(line, status);
    }
    line.append(R"(,"ms":)");
    append_number(line, static_cast<float>(elapsed.count()));
    line.append("}\n");
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  Stream stream_;
  const ServerConfig& config_;
  const std::uint64_t id_;
  beast::flat_buffer buffer_;
  std::string out_;  // response bytes being written, reused across requests
};

template <typename Stream>
Task<void> serve(Stream stream, const ServerConfig& config, std::uint64_t id) {
  Connection<Stream> connection(std::move(stream), config, id);
  co_await connection.run();
}

Task<void> accept_loop(Acceptor& acceptor, const ServerConfig& config, ssl::context* tls) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      Timer pause(acceptor.get_executor(), milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const std::uint64_t id = connection_counter.fetch_add(1, std::memory_order_relaxed) + 1;
    const auto executor = socket.get_executor();
    if (tls) {
      asio::co_spawn(executor, serve(TlsStream(std::move(socket), *tls), config, id), asio::detached);
    } else {
      asio::co_spawn(executor, serve(std::move(socket), config, id), asio::detached);
    }
  }
}

// Throws a readable error ("<what>: <reason>") when `ec` is set.
void throw_if(const error_code& ec, const std::string& what) {
  if (ec) throw std::runtime_error(what + ": " + ec.message());
}

ssl::context make_tls_context(const TlsFiles& files) {
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  error_code ec;
  context.use_certificate_chain_file(files.certificate_chain, ec);
  throw_if(ec, "cannot load the TLS certificate " + files.certificate_chain);
  context.use_private_key_file(files.private_key, ssl::context::pem, ec);
  throw_if(ec, "cannot load the TLS private key " + files.private_key);
  return context;
}

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace

struct Server::Impl {
  struct Worker {
    // Each context is run by exactly one thread, so its reactor needs no locking.
    asio::io_context context{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    Acceptor acceptor{context.get_executor()};
    std::thread thread;
  };

  ServerConfig config;
  std::optional<ssl::context> tls;
  tcp::endpoint endpoint;
  std::vector<std::unique_ptr<Worker>> workers;
};

Server::Server(ServerConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  const ServerConfig& settings = impl_->config;
  if (settings.tls) impl_->tls.emplace(make_tls_context(*settings.tls));

  error_code ec;
  const auto address = asio::ip::make_address(settings.address, ec);
  throw_if(ec, "invalid address " + settings.address);
  impl_->endpoint = tcp::endpoint(address, settings.port);
  const std::string where = "cannot listen on " + settings.address + " port " + std::to_string(settings.port);
  for (int i = 0; i < settings.threads; ++i) {
    auto worker = std::make_unique<Impl::Worker>();
    Acceptor& acceptor = worker->acceptor;
    acceptor.open(impl_->endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && settings.threads > 1) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.bind(impl_->endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    throw_if(ec, where);
    impl_->endpoint = acceptor.local_endpoint();  // the real port when 0 was asked for
    impl_->workers.push_back(std::move(worker));
  }
}

Server::~Server() {
  stop();
}

std::string Server::address() const {
  return impl_->endpoint.address().to_string();
}

std::uint16_t Server::port() const {
  return impl_->endpoint.port();
}

void Server::start() {
  ssl::context* tls = impl_->tls ? &*impl_->tls : nullptr;
  for (auto& worker : impl_->workers) {
    asio::co_spawn(worker->context, accept_loop(worker->acceptor, impl_->config, tls), asio::detached);
    worker->thread = std::thread([&context = worker->context] { context.run(); });
  }
}

void Server::stop() {
  for (auto& worker : impl_->workers) worker->context.stop();
  for (auto& worker : impl_->workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace sluice::mock
