// libFuzzer target for the HTTP/1.1 edge: arbitrary bytes are parsed by Beast's request parser as
// the client session does (header limit included), then canonicalize_request_head applies the
// edge's rules. Invariants checked on every head it accepts: no crash or sanitizer report; the
// target is origin-form and canonical (normalising it again changes nothing); no fragment; one
// Host at most and exactly one in HTTP/1.1; the framing is unambiguous (never Transfer-Encoding
// with Content-Length, Transfer-Encoding only as exactly "chunked" and only in HTTP/1.1, at
// most one Content-Length); no control character in any field value.
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request_head.hpp"
#include "http/syntax.hpp"
#include "http/target.hpp"

namespace bhttp = boost::beast::http;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::http::RequestParser<bhttp::empty_body> parser;
  parser.header_limit(8 * 1024);
  boost::system::error_code ec;
  const auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  auto& head = parser.get().base();
  const auto refused = sluice::http::canonicalize_request_head(head, input.substr(0, used));
  if (refused) {
    check(refused->status >= 400 && refused->status < 600);
    check(!refused->message.empty());
    return 0;
  }
  const std::string_view target = head.target();
  check(!target.empty() && target.front() == '/');
  check(target.find('#') == std::string_view::npos);
  const auto path = target.substr(0, target.find('?'));
  std::string again;
  check(sluice::http::normalize_path(path, again).empty());
  check(again == path);

  std::size_t hosts = 0, lengths = 0, encodings = 0;
  for (const auto& field : head) {
    check(sluice::http::valid_field_value(field.value()));
    if (field.name() == bhttp::field::host) ++hosts;
    if (field.name() == bhttp::field::content_length) ++lengths;
    if (field.name() == bhttp::field::transfer_encoding) {
      ++encodings;
      check(boost::beast::iequals(field.value(), "chunked"));
    }
  }
  check(hosts <= 1);
  check(head.version() != 11 || hosts == 1);
  check(lengths <= 1);
  check(encodings <= 1);
  check(encodings == 0 || (lengths == 0 && head.version() == 11 && parser.chunked()));
  return 0;
}
