// ClientStream: the client side of a request, a plain TCP socket, TLS over one, or one HTTP/2
// stream presented as an HTTP/1.1 byte stream (http/h2_stream.hpp). The proxy's client code (the keep-alive loop, the
// responder, the relays, the body readers) reads and writes through it without knowing which; it models Asio's
// AsyncReadStream and AsyncWriteStream, so Beast and Asio composed operations run on it. Each operation costs one
// predictable branch on the plaintext path. The TLS stream (made once per connection, on the
// heap) keeps its listener's SSL context alive: a reload that installs a new certificate
// leaves the connections already handshaken on the one they started with.
// Owned by one connection's coroutine; single-threaded like its worker.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>

#include "http/h2_stream.hpp"
#include "http/io.hpp"

namespace sluice::http {

class ClientStream {
 public:
  using executor_type = Executor;
  using TlsStream = boost::asio::ssl::stream<Socket>;

  // Plain TCP.
  explicit ClientStream(Socket socket) : plain_(std::move(socket)) {}
  // TLS with `context` (a server context); the handshake is still to be made (handshake()).
  ClientStream(Socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : plain_(socket.get_executor()),
        context_(std::move(context)),
        tls_(std::make_unique<TlsStream>(std::move(socket), *context_)) {}
  // One HTTP/2 stream: no socket of its own (socket() is a closed one); the connection's
  // driver owns the transport.
  explicit ClientStream(std::shared_ptr<H2Stream> stream) : plain_(stream->executor()), h2_(std::move(stream)) {}
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  executor_type get_executor() { return plain_.get_executor(); }
  bool tls() const { return tls_ != nullptr; }
  H2Stream* h2_stream() { return h2_.get(); }
  // TLS: whether ALPN chose h2 in the handshake.
  bool alpn_h2() const;
  TlsStream* tls_stream() { return tls_.get(); }
  // The TCP socket under everything: cancel, shutdown, close, endpoints, options.
  Socket& socket() { return tls_ ? tls_->next_layer() : plain_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_) [[unlikely]]
            tls_->async_read_some(b, std::move(handler));
          else if (h2_) [[unlikely]]
            h2_->async_read_some(b, std::move(handler));
          else
            plain_.async_read_some(b, std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_) [[unlikely]]
            tls_->async_write_some(b, std::move(handler));
          else if (h2_) [[unlikely]]
            h2_->async_write_some(b, std::move(handler));
          else
            plain_.async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

  // TLS: the server handshake. The caller bounds it (cancel() from a deadline).
  Task<boost::system::error_code> handshake();
  // Ends the connection: TLS sends its close_notify first (waiting for the peer's at most as
  // long as the caller's deadline allows), then the TCP send side is shut down.
  Task<void> shutdown_send();

  void cancel(boost::system::error_code& ec) {
    if (h2_)
      h2_->cancel();
    else
      socket().cancel(ec);
  }
  void close(boost::system::error_code& ec) {
    if (h2_)
      h2_->cancel();
    else
      socket().close(ec);
  }
  bool is_open() { return h2_ ? !h2_->closed() : socket().is_open(); }
  tcp::endpoint remote_endpoint(boost::system::error_code& ec) { return socket().remote_endpoint(ec); }

 private:
  Socket plain_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::unique_ptr<TlsStream> tls_;
  std::shared_ptr<H2Stream> h2_;
};

// The peer ended the stream: a TCP end of file, or a TLS peer that closed without its
// close_notify (which HTTP framing makes harmless).
inline bool is_end_of_stream(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
}

}  // namespace sluice::http
