// The HTTP/1.1 edge's rules for a request head (RFC 9112, RFC 9110), applied once, right after
// Beast has parsed the head and before anything routes, logs or forwards it. Beast parses
// leniently where a proxy must not: it frames a request whose Transfer-Encoding does not end in
// "chunked" as body-less (its body would become a second, smuggled request), accepts
// Transfer-Encoding next to Content-Length when TE comes first, repeated Content-Length fields,
// obs-fold, and any request target. This unit closes each of those, and canonicalises what it
// keeps so every later layer reads one form:
//   - framing: Transfer-Encoding must be exactly "chunked" (other codings: 501), never with
//     Content-Length, never in HTTP/1.0; Content-Length is one field of digits only;
//   - Host: exactly one in HTTP/1.1 (at most one in 1.0), a valid authority;
//   - target: origin-form ("/path?query") is canonicalised (http/target.hpp); absolute-form is
//     converted to origin-form with its authority replacing Host (RFC 9112 §3.2.2);
//     authority-form, asterisk-form, CONNECT and a "#" are refused;
//   - no obs-fold, no control character in any field value (RFC 9110 §5.5);
//   - HTTP/1.0 and 1.1 only (505 otherwise); an Expect other than 100-continue: 417.
// Every refusal ends the connection (the caller answers and closes). Pure functions; thread-safe.
#pragma once

#include <boost/beast/http/message.hpp>
#include <optional>
#include <string_view>

#include "http/api_error.hpp"
#include "http/fields.hpp"

namespace sluice::http {

// Checks `head` (parsed by Beast from `raw`, the head's bytes as received, CRLFCRLF included)
// and rewrites its target (and Host, for absolute-form) into the canonical form. Returns the
// error to answer with when the request is refused.
std::optional<ApiError> canonicalize_request_head(RequestHeader& head, std::string_view raw);

// Whether a "100 Continue" may be sent for this request: it asked for one and is HTTP/1.1
// (RFC 9110 §10.1.1: never to an HTTP/1.0 client).
bool expects_continue(const RequestHeader& head);

}  // namespace sluice::http
