// Reading a request body from a client stream into a Beast parser, one step at a time, in place
// of beast::http::async_read_some. Beast's loop waits for a "\r\n" that ends a chunk-size line or
// trailer field; a client framing its chunks with bare LFs would hold the request (and the
// connection's buffer) until a timeout. Here the bytes Beast could not parse yet — always
// framing, since chunk data is consumed as it arrives — are checked after every read: a bare LF
// is a 400 at once. The buffer's max_size bounds them (buffer_overflow past it).
// Header-only; runs on the caller's worker thread.
#pragma once

#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>
#include <string_view>

#include "http/client_stream.hpp"
#include "http/io.hpp"

namespace sluice::http {

// Whether unparsed chunked-body framing holds a line feed without its carriage return.
inline bool has_bare_line_feed(const boost::beast::flat_buffer& unparsed) {
  const std::string_view bytes(static_cast<const char*>(unparsed.data().data()), unparsed.size());
  for (auto pos = bytes.find('\n'); pos != std::string_view::npos; pos = bytes.find('\n', pos + 1)) {
    if (pos == 0 || bytes[pos - 1] != '\r') return true;
  }
  return false;
}

// Feeds `parser` the bytes already in `buffer`, without I/O: the result of that step when it
// made progress, finished or failed; nullopt when more bytes must be read first.
template <class Parser>
std::optional<boost::system::error_code> parse_buffered_body(boost::beast::flat_buffer& buffer, Parser& parser) {
  namespace bhttp = boost::beast::http;
  if (parser.is_done()) return boost::system::error_code{};
  if (buffer.size() == 0) return std::nullopt;
  boost::system::error_code ec;
  const auto used = parser.put(buffer.data(), ec);
  buffer.consume(used);
  if (ec != bhttp::error::need_more) return ec;  // progress, done, or a failure
  if (parser.chunked() && has_bare_line_feed(buffer)) return bhttp::error::bad_chunk;
  if (used > 0) return boost::system::error_code{};
  return std::nullopt;
}

// Reads until `parser` consumed something (or finished), as Beast's async_read_some does.
// Errors: Beast's own (need_buffer when a buffer_body is full, body_limit, ...), buffer_overflow,
// bad_chunk for a bare LF in chunked framing, partial_message when the client closed mid-body,
// or the socket's.
template <class Parser>
Task<boost::system::error_code> read_body_some(ClientStream& socket, boost::beast::flat_buffer& buffer,
                                               Parser& parser) {
  namespace bhttp = boost::beast::http;
  constexpr std::size_t kReadBytes = 16 * 1024;
  for (;;) {
    if (auto step = parse_buffered_body(buffer, parser)) co_return *step;
    const auto room = std::min(kReadBytes, buffer.max_size() - buffer.size());
    if (room == 0) co_return bhttp::error::buffer_overflow;
    auto [ec, n] = co_await socket.async_read_some(buffer.prepare(room), use_task);
    if (is_end_of_stream(ec)) co_return bhttp::error::partial_message;
    if (ec) co_return ec;
    buffer.commit(n);
  }
}

}  // namespace sluice::http
