#include "http/tls_server.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace sluice::http {

namespace ssl = boost::asio::ssl;

namespace {

constexpr const char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN protocols in the server's order of preference, in wire format: h2 first when the
// listener serves HTTP/2.
constexpr unsigned char kAlpnHttp1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kAlpnH2Http1[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
                unsigned offered_length, void* http2) {
  unsigned char* selected = nullptr;
  const bool h2 = http2 != nullptr;
  if (SSL_select_next_proto(&selected, out_length, h2 ? kAlpnH2Http1 : kAlpnHttp1,
                            h2 ? sizeof kAlpnH2Http1 : sizeof kAlpnHttp1, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// An encrypted private key is refused instead of OpenSSL asking for its password on a terminal.
int no_password(char*, int, int, void*) {
  return 0;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// Adds every certificate of `pem` to the context's trust store and to the CA names a
// CertificateRequest sends; returns how many, or -1 when one does not parse.
int add_client_cas(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return -1;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  for (;;) {
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert.get()) != 1 || SSL_CTX_add_client_CA(ctx, cert.get()) != 1) return -1;
    ++count;
  }
  const auto last = ERR_peek_last_error();
  if (count > 0 && ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();  // the end of the PEM
    return count;
  }
  ERR_clear_error();
  return count > 0 ? -1 : 0;
}

std::string pem_problem(const boost::system::error_code& ec) {
  ERR_clear_error();
  return ec.message();
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const TlsServerSettings& settings, TlsServerError* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  SSL_CTX_set_default_passwd_cb(native, no_password);
  // Resumed sessions of a context that verifies clients need a session id context.
  static constexpr unsigned char kSessionContext[] = {'s', 'l', 'u', 'i', 'c', 'e'};
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext);
  // The callback's argument only says whether h2 is offered (non-null: yes).
  SSL_CTX_set_alpn_select_cb(native, select_alpn, settings.http2 ? native : nullptr);

  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(settings.certificate_pem), ec);
  if (ec) {
    *error = {"certificate", "not a PEM certificate chain: " + pem_problem(ec)};
    return nullptr;
  }
  if (settings.key_pem.find("ENCRYPTED") != std::string::npos) {
    *error = {"key", "the private key is encrypted; Sluice needs it unencrypted (openssl pkey -in KEY -out PLAIN)"};
    return nullptr;
  }
  ctx->use_private_key(boost::asio::buffer(settings.key_pem), ssl::context::pem, ec);
  const auto code = static_cast<unsigned long>(ec.value());
  if (ec && ec.category() == boost::asio::error::get_ssl_category() && ERR_GET_LIB(code) == ERR_LIB_X509 &&
      ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    *error = {"key", "the private key does not match the certificate"};
    return nullptr;
  }
  if (ec) {
    *error = {"key", "not a PEM private key: " + pem_problem(ec)};
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    *error = {"key", "the private key does not match the certificate"};
    return nullptr;
  }
  if (settings.client_certificates != ClientCertificates::None) {
    if (!settings.client_ca_pem) {
      *error = {"ca", "client certificates are verified, but no CA certificate is given"};
      return nullptr;
    }
    const int cas = add_client_cas(native, *settings.client_ca_pem);
    if (cas <= 0) {
      *error = {"ca", cas == 0 ? "holds no PEM certificate" : "not a PEM certificate bundle"};
      return nullptr;
    }
    SSL_CTX_set_verify(native,
                       settings.client_certificates == ClientCertificates::Require
                           ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                           : SSL_VERIFY_PEER,
                       nullptr);
    SSL_CTX_set_verify_depth(native, 8);
  }
  return ctx;
}

bool is_plaintext_http(const boost::system::error_code& ec) {
  if (ec.category() != boost::asio::error::get_ssl_category()) return false;
  const auto code = static_cast<unsigned long>(ec.value());
  return ERR_GET_LIB(code) == ERR_LIB_SSL &&
         (ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST || ERR_GET_REASON(code) == SSL_R_HTTPS_PROXY_REQUEST);
}

std::string describe_handshake_error(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::operation_aborted) return "timed out";
  if (is_plaintext_http(ec)) return "plaintext HTTP request";
  return ec.message();
}

}  // namespace sluice::http
