#include "http/tls_client.hpp"

#include <openssl/err.h>

#include <boost/asio/ip/address.hpp>

namespace sluice::http {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_client_tls_context(const TlsClientSettings& settings, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (!settings.verify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (settings.ca_pem) {
    ctx->add_certificate_authority(boost::asio::buffer(*settings.ca_pem), ec);
    if (ec) {
      *error = "cannot load CA certificate: " + ec.message();
      return nullptr;
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      *error = "cannot load the system CA bundle: " + ec.message();
      return nullptr;
    }
  }
  return ctx;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace sluice::http
