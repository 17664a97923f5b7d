// Serialized HTTP heads of an exchange: the upstream request head (client headers minus
// hop-by-hop ones and replaced credentials, the header edits of the request's stages, Host, the backend's credentials,
// static and signing headers, body framing) and the client response head (upstream status and
// headers, the response header edits, framing Sluice chooses). Heads are written straight into
// one string for a single gather write. Pure functions; thread-safe.
#pragma once

#include <boost/beast/http.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/resources.hpp"
#include "http/fields.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::proxy {

// Header edits (HTTPRoute RequestHeaderModifier / ResponseHeaderModifier filters, in order) the
// stages of a request collected (policy/header_modifier.hpp); applied while a head is written.
using HeaderEdits = std::span<const config::HeaderModifier* const>;

// How the upstream request body is framed.
enum class BodyFraming { None, Length, Chunked };

struct UpstreamHeadSpec {
  std::string_view target;
  std::string_view host;
  BodyFraming framing = BodyFraming::Length;
  std::size_t body_size = 0;
  bool replace_auth = false;  // AI backend: client credentials are replaced
  std::string auth_value;     // what the backend's auth header carries ("" = none)
  bool translated = false;    // the body is in another format than the client's
  // Sluice puts its own credential on the request (a key or a signature): the client's
  // account-choosing headers and cookies stay behind unless the Backend forwards them.
  bool injects_credential = false;
  std::vector<std::pair<std::string, std::string>> extra;  // signing headers, static headers
  // Sent as x-request-id in place of the client's (unless a header filter sets that header).
  std::string_view request_id;
  // Telemetry on: the W3C trace context sent upstream in place of the client's traceparent and
  // tracestate (tracestate omitted when empty). Empty traceparent: the client's headers pass.
  std::string_view traceparent;
  std::string_view tracestate;
};

// The credential a client sent, for Passthrough auth: the backend's own header (its `prefix`
// removed), else Authorization: Bearer, x-api-key, api-key or x-goog-api-key — so an Anthropic
// SDK 0.x (x-api-key) and 1.x (Bearer) client both reach any provider.
std::string_view client_credential(const http::RequestHeader& head, const BackendRuntime& backend,
                                   std::string_view prefix);

// The upstream request head, with the request header edits.
std::string build_upstream_head(const http::RequestHeader& request, const BackendRuntime& backend, HeaderEdits edits,
                                const UpstreamHeadSpec& spec);

enum class ClientFraming { None, ContentLength, Chunked, UntilClose };

// The client response head for a relayed upstream response.
// `extra`: header lines Sluice adds ("x-sluice-provider: a\r\n..."), written as given.
// `request_id`: when set, `extra` carries Sluice's x-request-id, and the upstream's own
// x-request-id is written as x-upstream-request-id.
std::string build_client_head(const http::ResponseHeader& response, unsigned version, bool keep_alive,
                              ClientFraming framing, HeaderEdits edits, std::string_view extra = {},
                              std::string_view request_id = {});

// The names a client's SDK reads rate limits and request ids under.
enum class HeaderNaming {
  AsIs,       // nothing added
  OpenAI,     // x-ratelimit-{limit,remaining,reset}-{requests,tokens}, x-request-id
  Anthropic,  // anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}, request-id
};

// The client head of a response Sluice writes itself (a translated reply or stream, the model
// list): `status`, the upstream's other headers when there is an upstream (request ids,
// rate-limit headers; never its framing, type or encoding), then the same request id and
// rate-limit values under the names `naming` gives when the provider used the other
// convention and the client's name is not there already, `content_type`, Content-Length
// (ContentLength framing) or Cache-Control: no-cache (streams), the response header edits.
std::string build_translated_head(const http::ResponseHeader* upstream, unsigned status, std::string_view content_type,
                                  std::size_t content_length, unsigned version, bool keep_alive, ClientFraming framing,
                                  HeaderEdits edits, std::string_view extra = {},
                                  HeaderNaming naming = HeaderNaming::AsIs, std::string_view request_id = {});

}  // namespace sluice::proxy
