// UpstreamEndpoint: one host:port a backend sends requests to, with its TLS choice made
// (mode Auto already resolved) and the keys used for pooling and for messages. Immutable.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace sluice::http {

struct UpstreamEndpoint {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  std::string sni;          // empty: no SNI (IP literal host)
  std::string verify_name;  // name the certificate must carry; empty: verification disabled
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::string host_header;  // "host" or "host:port" when the port is not the scheme default
  std::string pool_key;     // identifies connections that can be shared (includes the TLS trust settings)
  std::string display;      // "host:port" for messages
};

}  // namespace sluice::http
