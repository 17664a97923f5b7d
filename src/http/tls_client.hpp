// Client-side TLS contexts for upstream connections: system CA bundle by default, or the PEM
// CA(s) from a Secret, or no verification when the user asked for insecureSkipVerify.
// A context is built once per snapshot and shared by every worker (OpenSSL SSL_CTX is
// thread-safe for concurrent handshakes once configured).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>

namespace sluice::http {

struct TlsClientSettings {
  bool verify = true;
  std::optional<std::string> ca_pem;  // none: the system CA bundle
};

// Returns nullptr and sets `error` when the CA PEM cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const TlsClientSettings& settings,
                                                                   std::string* error);

// True when `host` is an IPv4 or IPv6 literal (SNI must not carry those).
bool is_ip_literal(const std::string& host);

}  // namespace sluice::http
