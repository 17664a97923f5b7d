// Client side of the proxy: the accept loop of one listener on one worker, and the life of one
// client connection — the TLS handshake on a TLS listener, the keep-alive request loop, header
// and body limits (431, 413), timeouts, routing (404), then the exchange. Every request ends
// with one access-log line and metrics. Runs entirely on its worker's thread.
#pragma once

#include "http/io.hpp"

namespace sluice::proxy {

class Worker;

// `listener`: the acceptor's position in Gateway spec.listeners (its TLS context, if any, is the
// snapshot's listener_tls at that position).
http::Task<void> accept_loop(Worker& worker, http::Acceptor& acceptor, std::size_t listener);
http::Task<void> serve_client(Worker& worker, http::Socket socket, std::size_t listener);

}  // namespace sluice::proxy
