#include "http/request_head.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <string>

#include "http/syntax.hpp"
#include "http/target.hpp"

namespace sluice::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

ApiError bad_request(std::string_view code, std::string message) {
  return ApiError{400, "invalid_request_error", code, std::move(message), {}};
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 3986 authority without userinfo: reg-name / IPv4 / "[" IP-literal "]", then an optional
// ":" port of digits. Empty is invalid.
bool valid_authority(std::string_view authority) {
  if (authority.empty()) return false;
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (const char c : authority.substr(1, close - 1))
      if (!(hex_value(c) >= 0 || c == ':' || c == '.')) return false;
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    host = {};
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.empty()) return false;
  }
  // reg-name: unreserved / pct-encoded / sub-delims.
  for (const char c : host) {
    if (!is_unreserved(static_cast<unsigned char>(c)) &&
        std::string_view("%!$&'()*+,;=").find(c) == std::string_view::npos)
      return false;
  }
  if (port.size() > 5) return false;
  for (const char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

// Joins every Transfer-Encoding field into one coding list and checks it: exactly "chunked"
// (RFC 9112 §6.1: the final coding must be chunked for a request; any other coding is one
// Sluice cannot decode).
std::optional<ApiError> check_transfer_encoding(const RequestHeader& head) {
  std::size_t codings = 0;
  bool chunked_last = false;
  bool other = false;
  for (const auto& field : head) {
    if (field.name() != bhttp::field::transfer_encoding) continue;
    std::string_view rest = field.value();
    for (;;) {
      const auto comma = rest.find(',');
      const auto item = trim_ows(rest.substr(0, comma));
      if (!item.empty()) {
        // A coding may carry parameters ("gzip;q=1"); its name is the token before them.
        const auto name = trim_ows(item.substr(0, item.find(';')));
        for (const char c : name)
          if (!is_tchar(static_cast<unsigned char>(c)))
            return bad_request("invalid_transfer_encoding",
                               "Transfer-Encoding holds an invalid coding name; expected \"chunked\"");
        ++codings;
        const bool chunked = beast::iequals(name, "chunked") && name.size() == item.size();
        if (!chunked) other = true;
        if (chunked && chunked_last)
          return bad_request("invalid_transfer_encoding", "Transfer-Encoding names \"chunked\" twice");
        chunked_last = chunked;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (codings == 0) return bad_request("invalid_transfer_encoding", "Transfer-Encoding is empty");
  if (!chunked_last) {
    return bad_request("invalid_transfer_encoding",
                       "Transfer-Encoding does not end in \"chunked\": the request body cannot be framed");
  }
  if (other) {
    return ApiError{501,
                    "invalid_request_error",
                    "unsupported_transfer_encoding",
                    "Transfer-Encoding codings other than \"chunked\" are not supported",
                    {}};
  }
  return std::nullopt;
}

// obs-fold (a field line continued on the next line) is refused, as Envoy does; Beast would
// silently join the lines.
bool has_obs_fold(std::string_view raw) {
  for (auto pos = raw.find("\r\n"); pos != std::string_view::npos; pos = raw.find("\r\n", pos + 2)) {
    if (pos + 2 < raw.size() && (raw[pos + 2] == ' ' || raw[pos + 2] == '\t')) return true;
  }
  return false;
}

}  // namespace

bool expects_continue(const RequestHeader& head) {
  return head.version() >= 11 && beast::iequals(head[bhttp::field::expect], "100-continue");
}

std::optional<ApiError> canonicalize_request_head(RequestHeader& head, std::string_view raw) {
  const auto version = head.version();
  if (version != 10 && version != 11) {
    return ApiError{
        505,
        "invalid_request_error",
        "http_version_not_supported",
        "HTTP/" + std::to_string(version / 10) + "." + std::to_string(version % 10) + " is not supported; use HTTP/1.1",
        {}};
  }
  if (head.method() == bhttp::verb::connect) {
    return ApiError{405, "invalid_request_error", "method_not_allowed", "CONNECT is not supported", {}};
  }
  if (has_obs_fold(raw)) return bad_request("malformed_request", "a header field is folded across lines (obs-fold)");

  // Framing.
  std::size_t content_lengths = 0;
  std::size_t transfer_encodings = 0;
  std::size_t hosts = 0;
  std::size_t expects = 0;
  for (const auto& field : head) {
    switch (field.name()) {
      case bhttp::field::content_length: {
        ++content_lengths;
        const auto value = field.value();
        if (value.empty() || value.size() > 19)
          return bad_request("invalid_content_length", "Content-Length is not a number");
        for (const char c : value)
          if (c < '0' || c > '9') return bad_request("invalid_content_length", "Content-Length is not a number");
        break;
      }
      case bhttp::field::transfer_encoding:
        ++transfer_encodings;
        break;
      case bhttp::field::host:
        ++hosts;
        break;
      case bhttp::field::expect:
        ++expects;
        break;
      default:
        break;
    }
    if (!valid_field_value(field.value()))
      return bad_request("malformed_request", "a header field value holds a control character");
  }
  if (content_lengths > 1) return bad_request("invalid_content_length", "Content-Length appears more than once");
  if (transfer_encodings > 0) {
    if (version == 10) {
      return bad_request("invalid_transfer_encoding", "Transfer-Encoding is not allowed in an HTTP/1.0 request");
    }
    if (content_lengths > 0) {
      return bad_request("invalid_transfer_encoding",
                         "a request must not carry both Transfer-Encoding and Content-Length");
    }
    // One field only, as nginx requires: a list split across fields, or one with empty
    // elements, is framed differently by other parsers.
    if (transfer_encodings > 1) {
      return bad_request("invalid_transfer_encoding", "Transfer-Encoding appears more than once");
    }
    if (auto error = check_transfer_encoding(head)) return error;
    if (!beast::iequals(trim_ows(head[bhttp::field::transfer_encoding]), "chunked")) {
      return bad_request("invalid_transfer_encoding", "Transfer-Encoding must be exactly \"chunked\"");
    }
  }
  if (expects > 1 || (expects == 1 && !beast::iequals(head[bhttp::field::expect], "100-continue"))) {
    return ApiError{
        417, "invalid_request_error", "expectation_failed", "only \"Expect: 100-continue\" is supported", {}};
  }

  // Host.
  if (hosts > 1) return bad_request("invalid_host", "Host appears more than once");
  if (hosts == 0 && version == 11) return bad_request("missing_host", "an HTTP/1.1 request must carry a Host header");
  if (hosts == 1 && !valid_authority(head[bhttp::field::host]))
    return bad_request("invalid_host", "Host is not a valid host[:port]");

  // Target.
  std::string_view target = head.target();
  if (target.find('#') != std::string_view::npos)
    return bad_request("invalid_target", "the request target holds a fragment (\"#\")");
  std::string authority;
  if (!target.empty() && target.front() != '/') {
    const auto scheme_end = target.find("://");
    const auto scheme = target.substr(0, scheme_end == std::string_view::npos ? 0 : scheme_end);
    if (scheme_end == std::string_view::npos || !(beast::iequals(scheme, "http") || beast::iequals(scheme, "https"))) {
      return bad_request("invalid_target", target == "*" ? "the asterisk-form target \"*\" is not supported"
                                                         : "the request target must be a path (origin-form) or an "
                                                           "http(s) URL (absolute-form)");
    }
    const auto rest = target.substr(scheme_end + 3);
    const auto authority_end = rest.find_first_of("/?");
    authority.assign(rest.substr(0, authority_end));
    if (authority.find('@') != std::string::npos)
      return bad_request("invalid_target", "the request target must not carry user information (\"@\")");
    if (!valid_authority(authority))
      return bad_request("invalid_target", "the request target's authority is not a valid host[:port]");
    target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  }
  const auto qpos = target.find('?');
  const auto raw_path = target.substr(0, qpos);
  const auto query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
  if (!valid_query(query)) return bad_request("invalid_target", "the query holds a control, space or non-ASCII byte");
  // The common case: an origin-form target whose path is already canonical stays as it is.
  if (authority.empty() && is_plainly_canonical(raw_path)) return std::nullopt;
  std::string canonical;
  if (raw_path.empty()) {
    canonical = "/";
  } else if (auto why = normalize_path(raw_path, canonical); !why.empty()) {
    return bad_request("invalid_path", std::move(why));
  }
  if (qpos != std::string_view::npos) canonical.append("?").append(query);
  if (!authority.empty()) head.set(bhttp::field::host, authority);  // RFC 9112 §3.2.2: the URL's authority wins
  if (canonical != head.target()) head.target(canonical);
  return std::nullopt;
}

}  // namespace sluice::http
