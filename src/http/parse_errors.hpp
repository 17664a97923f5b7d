// Classifies Beast HTTP error codes: a malformed message (answer 400 / 502) versus the peer
// simply going away (end_of_stream, partial_message). Header-only; pure.
#pragma once

#include <boost/beast/http/error.hpp>

namespace sluice::http {

inline bool is_malformed_message(const boost::system::error_code& ec) {
  namespace bhttp = boost::beast::http;
  static const auto& category = bhttp::make_error_code(bhttp::error::bad_target).category();
  return ec.category() == category && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace sluice::http
