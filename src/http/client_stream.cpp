#include "http/client_stream.hpp"

#include <openssl/ssl.h>

namespace sluice::http {

Task<boost::system::error_code> ClientStream::handshake() {
  auto [ec] = co_await tls_->async_handshake(boost::asio::ssl::stream_base::server, use_task);
  co_return ec;
}

bool ClientStream::alpn_h2() const {
  if (!tls_) return false;
  const unsigned char* protocol = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(tls_->native_handle(), &protocol, &length);
  return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

Task<void> ClientStream::shutdown_send() {
  boost::system::error_code ec;
  // After a handshake that did not complete there is no session to close.
  if (tls_ && socket().is_open() && SSL_is_init_finished(tls_->native_handle()) == 1) {
    auto [shutdown_ec] = co_await tls_->async_shutdown(use_task);
    (void)shutdown_ec;  // the peer closed, answered with its own close_notify, or the deadline passed
  }
  socket().shutdown(Socket::shutdown_send, ec);
}

}  // namespace sluice::http
