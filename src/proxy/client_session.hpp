// Client side of the proxy: the accept loop of one listener on one worker, and the life of one
// client connection — keep-alive request loop, header and body limits (431, 413), timeouts,
// routing (404), then the exchange. Every request ends with one access-log line and metrics.
// Runs entirely on its worker's thread.
#pragma once

#include "http/io.hpp"

namespace sluice::proxy {

class Worker;

http::Task<void> accept_loop(Worker& worker, http::Acceptor& acceptor);
http::Task<void> serve_client(Worker& worker, http::Socket socket);

}  // namespace sluice::proxy
