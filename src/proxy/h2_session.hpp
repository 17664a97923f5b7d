// The HTTP/2 side of a client connection: after ALPN chose h2 on a TLS listener, or a
// plaintext client opened with the h2c preface, this drives the connection's HTTP/2 framing
// (http/h2_connection.hpp) over its ClientStream: one reader feeding nghttp2 what arrives and
// one writer sending what it produces, while each request stream is served by `serve_stream`
// as one HTTP/1.1 request (the same path, limits and errors as an HTTP/1.1 client gets).
//
// Timeouts and drain: with no stream in progress the connection may stay silent for
// limits.requestHeaderTimeout (first request) or limits.idleTimeout, then gets a GOAWAY and is
// closed; a write that makes no progress for kClientWriteTimeout ends it. When the worker
// drains, the connection sends GOAWAY (streams already begun finish; new ones are refused
// with REFUSED_STREAM) and closes once its streams are done.
// Runs on its worker's thread, inside the connection's coroutine.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <functional>
#include <memory>

#include "http/client_stream.hpp"
#include "http/deadline.hpp"
#include "http/h2_stream.hpp"
#include "http/io.hpp"

namespace sluice::proxy {

class Worker;
struct ClientConnection;

using H2StreamServer = std::function<void(std::shared_ptr<http::H2Stream>)>;

// `already_read`: bytes the connection read before it knew it was HTTP/2 (the h2c preface).
// `deadline` cancels `transport` when it passes. Returns when the connection is to be closed.
http::Task<void> serve_h2(Worker& worker, http::ClientStream& transport, http::Deadline& deadline,
                          ClientConnection& registration, boost::beast::flat_buffer& already_read,
                          H2StreamServer serve_stream);

}  // namespace sluice::proxy
