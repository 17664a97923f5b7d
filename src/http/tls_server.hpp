// Server-side TLS contexts for the client listeners: the certificate chain and private key from
// a Secret, and for mutual TLS the CA(s) client certificates must chain to. TLS 1.2 and 1.3
// only; TLS 1.2 limited to ECDHE key exchange with AEAD ciphers (Mozilla's "intermediate"
// profile without DHE); no compression, no renegotiation. ALPN selects "http/1.1" (a client
// offering only other protocols proceeds without ALPN). A context is built once per snapshot
// and shared by every worker's handshakes (OpenSSL's SSL_CTX is thread-safe once configured);
// each connection holds it by shared_ptr, so a reload with a rotated certificate serves new
// connections with it while the older ones keep theirs.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <optional>
#include <string>

namespace sluice::http {

enum class ClientCertificates {
  None,      // not asked for
  Optional,  // asked for; verified against the CA when sent; a client without one is served
  Require,   // required and verified: a client without a valid certificate fails the handshake
};

struct TlsServerSettings {
  std::string certificate_pem;  // the leaf certificate first, then its intermediates
  std::string key_pem;          // unencrypted private key (PKCS#8, PKCS#1 or SEC1)
  std::optional<std::string> client_ca_pem;
  ClientCertificates client_certificates = ClientCertificates::None;
  bool http2 = false;  // offer h2 in ALPN (before http/1.1)
};

struct TlsServerError {
  std::string key;  // "certificate", "key" or "ca": which input is wrong
  std::string message;
};

// Returns nullptr and fills `error` when an input does not parse or the key does not match the
// certificate.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const TlsServerSettings& settings,
                                                                   TlsServerError* error);

// Whether a failed server handshake read a plaintext HTTP request instead of a ClientHello.
bool is_plaintext_http(const boost::system::error_code& ec);

// A handshake failure in a few words, for the log ("tlsv1 alert unknown ca", "unsupported
// protocol", "timed out", ...).
std::string describe_handshake_error(const boost::system::error_code& ec);

}  // namespace sluice::http
