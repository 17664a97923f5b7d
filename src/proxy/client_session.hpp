// Client side of the proxy: the accept loop of one listener on one worker, and the life of one
// client connection — keep-alive request loop, header and body limits (431, 413), timeouts,
// routing (404), then the exchange. Every request ends with one access-log line and metrics.
// Runs entirely on its worker's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace sluice::proxy {

class Worker;

boost::asio::awaitable<void> accept_loop(Worker& worker, boost::asio::ip::tcp::acceptor& acceptor);
boost::asio::awaitable<void> serve_client(Worker& worker, boost::asio::ip::tcp::socket socket);

}  // namespace sluice::proxy
