// I/O vocabulary types. Every socket, stream, timer and coroutine is bound to the concrete
// io_context executor rather than asio::any_io_executor: a worker's objects never leave its
// io_context, and the type-erased executor's copies and lookups were measurable per request.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::http {

using Executor = boost::asio::io_context::executor_type;
using tcp = boost::asio::ip::tcp;
using Socket = boost::asio::basic_stream_socket<tcp, Executor>;
using Acceptor = boost::asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = boost::asio::ip::basic_resolver<tcp, Executor>;
using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

template <typename T>
using Task = boost::asio::awaitable<T, Executor>;

// Completion token for coroutines: results come back as a tuple (error_code first), never as
// exceptions.
inline constexpr auto use_task = boost::asio::as_tuple(boost::asio::use_awaitable_t<Executor>{});

}  // namespace sluice::http
