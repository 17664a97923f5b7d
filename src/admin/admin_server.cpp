#include "admin/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "admin/status_page.hpp"
#include "http/api_error.hpp"

namespace sluice::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve(const AdminHandlers& handlers, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(std::chrono::seconds(30));
    bhttp::request<bhttp::empty_body> request;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, request, use_nothrow);
    if (ec) break;
    bhttp::response<bhttp::string_body> response{bhttp::status::ok, request.version()};
    response.keep_alive(request.keep_alive());
    const std::string_view target = request.target();
    const auto path = target.substr(0, target.find('?'));
    response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    const auto query = target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view();
    if (path == "/debug/clock" && handlers.set_clock) {
      if (request.method() != bhttp::verb::post) {
        response.result(bhttp::status::method_not_allowed);
        response.body() = "only POST\n";
      } else {
        response.body() = handlers.set_clock(query);
      }
    } else if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
      response.result(bhttp::status::method_not_allowed);
      response.body() = "only GET\n";
    } else if (path == "/" || path == "/ui") {
      response.set(bhttp::field::content_type, "text/html; charset=utf-8");
      response.set("Content-Security-Policy", status_page_csp());
      response.set("X-Content-Type-Options", "nosniff");
      response.set("Referrer-Policy", "no-referrer");
      response.set(bhttp::field::cache_control, "no-store");
      response.body() = std::string(kStatusPageHtml);
    } else if (path == "/healthz") {
      response.body() = "ok\n";
    } else if (path == "/readyz") {
      const bool ready = handlers.ready();
      response.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      response.body() = ready ? "ready\n" : "draining\n";
    } else if (path == "/metrics") {
      response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = handlers.metrics();
    } else if (path == "/status" && handlers.status) {
      response.set(bhttp::field::content_type, "application/json");
      response.body() = handlers.status();
    } else if (path == "/config" && handlers.config) {
      response.set(bhttp::field::content_type, "application/json");
      response.set(bhttp::field::cache_control, "no-store");
      response.body() = handlers.config();
    } else if (path == "/spend" && handlers.spend) {
      // Answered when the query completes, on another thread: the result comes back here.
      auto executor = stream.get_executor();
      auto done = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
      auto answer = std::make_shared<std::pair<unsigned, std::string>>(500, std::string());
      handlers.spend(std::string(query), [executor, done, answer](unsigned status, std::string body) {
        asio::post(executor, [done, answer, status, body = std::move(body)]() mutable {
          *answer = {status, std::move(body)};
          done->cancel();
        });
      });
      co_await done->async_wait(use_nothrow);
      response.result(static_cast<bhttp::status>(answer->first));
      response.set(bhttp::field::content_type, "application/json");
      response.body() = std::move(answer->second);
    } else {
      response.result(bhttp::status::not_found);
      response.body() = "not found; try / (the status page), /healthz, /readyz, /metrics, /status, /config, /spend\n";
    }
    response.prepare_payload();
    auto [wec, wn] = co_await bhttp::async_write(stream, response, use_nothrow);
    if (wec || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(const AdminHandlers& handlers, tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(handlers, std::move(socket)), asio::detached);
  }
}

}  // namespace

AdminServer::AdminServer(AdminHandlers handlers) : handlers_(std::move(handlers)) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::bind(const config::AdminListener& listener, std::string* error) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(listener.address, ec);
  if (ec) {
    *error = "admin listener: invalid address \"" + listener.address + "\"";
    return false;
  }
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  const tcp::endpoint endpoint(address, listener.port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "admin listener: cannot listen on " + listener.address + ":" + std::to_string(listener.port) + ": " +
             ec.message();
    return false;
  }
  port_ = acceptor_->local_endpoint().port();
  return true;
}

void AdminServer::start() {
  asio::co_spawn(io_, accept_loop(handlers_, *acceptor_), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void AdminServer::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::admin
