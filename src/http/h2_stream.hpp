// H2Stream: one HTTP/2 request stream presented to the proxy as the HTTP/1.1 byte stream of a
// single request, so the whole HTTP/1.1 client path (its strict head parser, limits, errors,
// body readers, responder and relays) serves HTTP/2 unchanged and with the same rules.
//
// Read side: the request's header fields (already validated by nghttp2 against RFC 9113:
// lower-case names, no connection-specific fields, no CR/LF/NUL in values, pseudo-headers
// present and in order) become an HTTP/1.1 head; DATA frames follow as the body, framed by the
// client's content-length or, without one, as chunked. Write side: the HTTP/1.1 response the
// proxy writes is parsed back (Beast's response parser) into HEADERS (connection-specific
// fields dropped) and DATA for the stream, 1xx answers as interim HEADERS.
//
// Bounds: what the client sends is bounded by the stream's flow-control window, which is
// reopened only as the proxy reads (no automatic WINDOW_UPDATE); what the proxy writes is
// queued until the connection sends it, and a write completes only once the queue is below
// kHighWater, so a slow client holds back the producer as an HTTP/1.1 socket does.
//
// Single-threaded: everything runs on the connection's worker. Owned jointly (shared_ptr) by
// its H2Connection until the stream closes and by the proxy's coroutine serving it; when the
// connection ends first, the stream is detached and every operation fails with
// connection_reset. Completion handlers always run later from the executor, never inline.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/io.hpp"

namespace sluice::http {

class H2Connection;

class H2Stream {
 public:
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  // A write completes at once while less than this is queued for the client; beyond, it
  // waits until the connection has sent the queue down to it.
  static constexpr std::size_t kHighWater = 64 * 1024;

  H2Stream(H2Connection* connection, std::int32_t id, Executor executor, std::size_t max_head_bytes);
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  std::int32_t id() const { return id_; }
  Executor executor() const { return executor_; }
  bool closed() const { return closed_; }

  // ---- the proxy's side: an AsyncReadStream / AsyncWriteStream of HTTP/1.1 bytes ----
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          boost::asio::mutable_buffer first;
          for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it) {
            if (it->size() > 0) {
              first = *it;
              break;
            }
          }
          start_read(first, Handler(std::move(handler)));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          std::size_t total = 0;
          if (!closed_) {
            for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it) {
              const boost::asio::const_buffer piece(*it);
              accept_response_bytes(static_cast<const char*>(piece.data()), piece.size());
              total += piece.size();
            }
          }
          start_write(total, Handler(std::move(handler)));
        },
        token, buffers);
  }

  // Pending operations complete with operation_aborted (a deadline passed).
  void cancel();
  // The proxy is done with the stream: an unfinished response resets it (INTERNAL_ERROR), the
  // request body left unread is returned to the flow-control windows.
  void finish();

  // ---- the connection's side (called from nghttp2's callbacks) ----
  // One request header field (pseudo-headers included), in order.
  void on_header(std::string_view name, std::string_view value);
  // The request's header block is complete; `end_stream`: it has no body.
  void on_headers_end(bool end_stream);
  // Trailers are dropped; their END_STREAM ends the request like an empty DATA frame.
  void on_data(const std::uint8_t* data, std::size_t size);
  void on_request_end();
  // The stream closed (sent and received END_STREAM, or was reset) or the connection ended.
  void on_close();
  // The connection is gone: nothing may reach it any more.
  void detach() { connection_ = nullptr; }
  // nghttp2's data source: copies queued response bytes into `buffer`.
  ssize_t read_response(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags);
  bool request_ended() const { return request_ended_; }
  bool response_complete() const { return response_done_; }

 private:
  void start_read(boost::asio::mutable_buffer buffer, Handler handler);
  void start_write(std::size_t written, Handler handler);
  void complete(Handler& handler, boost::system::error_code ec, std::size_t n);
  void service_read();
  void service_write();
  void accept_response_bytes(const char* data, std::size_t size);
  std::size_t parse_response(const char* data, std::size_t size);
  void submit_response_head();
  void fail_response();

  H2Connection* connection_;  // null once the connection has ended
  std::int32_t id_;
  Executor executor_;
  std::size_t max_head_bytes_;
  bool closed_ = false;

  // Request: the synthesised HTTP/1.1 bytes not yet read by the proxy.
  std::string method_, path_, authority_, fields_, cookies_;
  bool has_content_length_ = false;
  bool chunked_ = false;
  bool head_done_ = false;
  bool request_ended_ = false;
  std::string in_;
  std::size_t in_offset_ = 0;
  std::size_t unacknowledged_ = 0;  // DATA bytes received and not yet returned to the window
  bool proxy_done_ = false;         // finish() was called
  std::optional<Handler> pending_read_;
  boost::asio::mutable_buffer read_buffer_;

  // Response: the proxy's HTTP/1.1 bytes parsed into HEADERS and DATA.
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  std::string unparsed_;
  std::string out_;
  std::size_t out_offset_ = 0;
  bool head_submitted_ = false;
  bool response_done_ = false;
  bool response_failed_ = false;  // the proxy's bytes did not parse: the stream was reset
  std::optional<Handler> pending_write_;
  std::size_t pending_write_size_ = 0;
};

}  // namespace sluice::http
