#include "proxy/heads.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>
#include <charconv>

namespace sluice::proxy {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

bool is_hop_by_hop(bhttp::field f) {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::proxy_authenticate:
    case bhttp::field::proxy_authorization:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::expect:
    case bhttp::field::content_length:
    case bhttp::field::host:
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

// The field names a message's Connection header lists (RFC 9110 §7.6.1): hop-by-hop for that
// message, removed when forwarding. "close" and "keep-alive" name no field worth a lookup.
class ConnectionOptions {
 public:
  template <class Fields>
  explicit ConnectionOptions(const Fields& fields) {
    for (const auto& field : fields) {
      if (field.name() != bhttp::field::connection) continue;
      for (const auto token : bhttp::token_list{field.value()}) {
        const std::string_view name(token.data(), token.size());
        if (iequals(name, "close") || iequals(name, "keep-alive")) continue;
        names_.push_back(name);
      }
    }
  }
  bool names(std::string_view field) const {
    for (const auto name : names_)
      if (iequals(name, field)) return true;
    return false;
  }
  bool empty() const { return names_.empty(); }

 private:
  boost::container::small_vector<std::string_view, 4> names_;
};

// Headers that choose which account or project pays, and the client's cookies: not sent along
// with a credential Sluice injects, unless the Backend lists them (ai.forwardClientHeaders).
bool is_account_header(std::string_view name) {
  return iequals(name, "openai-organization") || iequals(name, "openai-project") ||
         iequals(name, "x-goog-user-project") || iequals(name, "cookie");
}

bool forwarded_by_backend(std::string_view name, const BackendRuntime& backend) {
  if (backend.spec == nullptr) return false;
  for (const auto& allowed : backend.spec->forwardClientHeaders)
    if (iequals(name, allowed)) return true;
  return false;
}

// Names a header filter removes or replaces: the client's (or upstream's) copy is dropped.
bool filtered_out(std::string_view name, HeaderEdits mods) {
  for (const auto* mod : mods) {
    for (const auto& removed : mod->remove)
      if (iequals(name, removed)) return true;
    for (const auto& [set, value] : mod->set)
      if (iequals(name, set)) return true;
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

constexpr std::string_view kRequestId = "x-request-id";
constexpr std::string_view kUpstreamRequestId = "x-upstream-request-id";

// An upstream response header: its own request id moves aside when Sluice's takes its name.
void append_response_header(std::string& out, std::string_view name, std::string_view value,
                            std::string_view request_id) {
  append_header(out, !request_id.empty() && iequals(name, kRequestId) ? kUpstreamRequestId : name, value);
}

// `owned` names a header Sluice sets itself afterwards (the backend's credential header):
// a filter cannot add a second copy of it.
void append_filter_headers(std::string& out, HeaderEdits mods, std::string_view owned = {}) {
  for (const auto* mod : mods) {
    for (const auto& [name, value] : mod->set)
      if (owned.empty() || !iequals(name, owned)) append_header(out, name, value);
    for (const auto& [name, value] : mod->add)
      if (owned.empty() || !iequals(name, owned)) append_header(out, name, value);
  }
}

bool is_credential_header(std::string_view name) {
  return iequals(name, "authorization") || iequals(name, "x-api-key") || iequals(name, "api-key") ||
         iequals(name, "x-goog-api-key");
}

// Headers an OpenAI (or Anthropic) client sends that mean nothing, or something wrong, to a
// provider speaking another format; the translation sets its own content type.
bool is_client_format_header(std::string_view name) {
  return iequals(name, "content-type") || iequals(name, "accept-encoding") || iequals(name, "anthropic-version") ||
         iequals(name, "anthropic-beta") || iequals(name, "openai-organization") || iequals(name, "openai-project");
}

void append_status_line(std::string& head, unsigned version, unsigned status, std::string_view reason) {
  head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char digits[8];
  const auto written = std::to_chars(digits, digits + sizeof digits, status);
  head.append(digits, static_cast<std::size_t>(written.ptr - digits)).append(" ");
  head.append(reason.empty() ? std::string_view(bhttp::obsolete_reason(bhttp::int_to_status(status))) : reason)
      .append("\r\n");
}

// The response header edits, connection handling and framing, then the blank line.
void append_client_tail(std::string& head, unsigned version, bool keep_alive, ClientFraming framing, HeaderEdits edits,
                        std::string_view extra) {
  head.append(extra);
  append_filter_headers(head, edits);
  if (!keep_alive || framing == ClientFraming::UntilClose) {
    head.append("Connection: close\r\n");
  } else if (version == 10) {
    head.append("Connection: keep-alive\r\n");
  }
  if (framing == ClientFraming::Chunked) head.append("Transfer-Encoding: chunked\r\n");
  head.append("\r\n");
}

}  // namespace

std::string_view client_credential(const http::RequestHeader& head, const BackendRuntime& backend,
                                   std::string_view prefix) {
  const auto strip = [](std::string_view v, std::string_view p) {
    if (!p.empty() && v.size() >= p.size() && iequals(v.substr(0, p.size()), p)) v.remove_prefix(p.size());
    return v;
  };
  if (auto it = head.find(backend.auth_header); it != head.end()) return strip(it->value(), prefix);
  if (auto it = head.find(bhttp::field::authorization); it != head.end()) return strip(it->value(), "Bearer ");
  for (const char* name : {"x-api-key", "api-key", "x-goog-api-key"})
    if (auto it = head.find(name); it != head.end()) return it->value();
  return {};
}

// The upstream request head, serialized directly: client headers minus hop-by-hop ones and
// replaced credentials, the header edits, Host, the backend's credentials, body framing.
std::string build_upstream_head(const http::RequestHeader& request, const BackendRuntime& backend, HeaderEdits edits,
                                const UpstreamHeadSpec& spec) {
  std::string head;
  head.reserve(512 + request.method_string().size() + spec.target.size());
  head.append(request.method_string()).append(" ").append(spec.target).append(" HTTP/1.1\r\n");
  const ConnectionOptions connection_options(request);
  for (const auto& field : request) {
    if (is_hop_by_hop(field.name())) continue;
    const std::string_view name = field.name_string();
    if (!connection_options.empty() && connection_options.names(name)) continue;
    if (spec.injects_credential && is_account_header(name) && !forwarded_by_backend(name, backend)) continue;
    if (spec.replace_auth && (is_credential_header(name) || iequals(name, backend.auth_header))) continue;
    if (spec.translated && is_client_format_header(name)) continue;
    bool overridden = false;
    for (const auto& [extra_name, value] : spec.extra) overridden = overridden || iequals(name, extra_name);
    if (overridden && (spec.translated || !iequals(name, "anthropic-version"))) continue;
    if (!edits.empty() && filtered_out(name, edits)) continue;
    if (!spec.request_id.empty() && iequals(name, kRequestId)) continue;
    if (!spec.traceparent.empty() && (iequals(name, "traceparent") || iequals(name, "tracestate"))) continue;
    append_header(head, name, field.value());
  }
  if (!spec.request_id.empty() && (edits.empty() || !filtered_out(kRequestId, edits)))
    append_header(head, kRequestId, spec.request_id);
  if (!spec.traceparent.empty()) {
    append_header(head, "traceparent", spec.traceparent);
    if (!spec.tracestate.empty()) append_header(head, "tracestate", spec.tracestate);
  }
  append_filter_headers(
      head, edits,
      spec.replace_auth && !spec.auth_value.empty() ? std::string_view(backend.auth_header) : std::string_view{});
  append_header(head, "Host", spec.host);
  if (spec.replace_auth && !spec.auth_value.empty()) append_header(head, backend.auth_header, spec.auth_value);
  for (const auto& [name, value] : spec.extra) {
    // A static header the client set itself (its own anthropic-version) is kept as sent.
    if (!spec.translated && iequals(name, "anthropic-version") && request.find(name) != request.end()) continue;
    append_header(head, name, value);
  }
  if (spec.translated) append_header(head, "Content-Type", "application/json");
  if (spec.framing == BodyFraming::Chunked) {
    append_header(head, "Transfer-Encoding", "chunked");
  } else if (spec.framing == BodyFraming::Length) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, spec.body_size);
    append_header(head, "Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  head.append("\r\n");
  return head;
}

// The client response head: upstream status and headers minus hop-by-hop ones, the
// response header edits, and framing Sluice chooses for the client.
std::string build_client_head(const http::ResponseHeader& response, unsigned version, bool keep_alive,
                              ClientFraming framing, HeaderEdits edits, std::string_view extra,
                              std::string_view request_id) {
  std::string head;
  head.reserve(512);
  append_status_line(head, version, response.result_int(), response.reason());
  const ConnectionOptions connection_options(response);
  for (const auto& field : response) {
    switch (field.name()) {
      case bhttp::field::connection:
      case bhttp::field::keep_alive:
      case bhttp::field::proxy_connection:
      case bhttp::field::te:
      case bhttp::field::trailer:
      case bhttp::field::upgrade:
      case bhttp::field::transfer_encoding:
        continue;
      case bhttp::field::content_length:
        if (framing == ClientFraming::Chunked || framing == ClientFraming::UntilClose) continue;
        break;
      default:
        break;
    }
    const std::string_view name = field.name_string();
    if (!connection_options.empty() && connection_options.names(name)) continue;
    if (!edits.empty() && filtered_out(name, edits)) continue;
    append_response_header(head, name, field.value(), request_id);
  }
  append_client_tail(head, version, keep_alive, framing, edits, extra);
  return head;
}

namespace {

// The same value under OpenAI's and Anthropic's names.
struct HeaderAlias {
  std::string_view openai;
  std::string_view anthropic;
};
constexpr HeaderAlias kHeaderAliases[] = {
    {"x-request-id", "request-id"},
    {"x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit"},
    {"x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining"},
    {"x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset"},
    {"x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-limit"},
    {"x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining"},
    {"x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-reset"},
};

// The upstream's request id and rate-limit headers under the client's names, where the
// provider gave them under the other convention only.
void append_header_aliases(std::string& head, const http::ResponseHeader& upstream, HeaderNaming naming,
                           HeaderEdits edits, std::string_view request_id) {
  if (naming == HeaderNaming::AsIs) return;
  const bool to_openai = naming == HeaderNaming::OpenAI;
  for (const auto& alias : kHeaderAliases) {
    const auto from = to_openai ? alias.anthropic : alias.openai;
    const auto to = to_openai ? alias.openai : alias.anthropic;
    const auto found = upstream.find(from);
    if (found == upstream.end() || upstream.find(to) != upstream.end()) continue;
    if (!edits.empty() && filtered_out(to, edits)) continue;
    if (!request_id.empty() && iequals(to, kRequestId)) continue;  // Sluice's id has that name
    append_header(head, to, found->value());
  }
}

}  // namespace

std::string build_translated_head(const http::ResponseHeader* upstream, unsigned status, std::string_view content_type,
                                  std::size_t content_length, unsigned version, bool keep_alive, ClientFraming framing,
                                  HeaderEdits edits, std::string_view extra, HeaderNaming naming,
                                  std::string_view request_id) {
  std::string head;
  head.reserve(512);
  append_status_line(head, version, status, {});
  if (upstream != nullptr) {
    const ConnectionOptions connection_options(*upstream);
    for (const auto& field : *upstream) {
      switch (field.name()) {
        case bhttp::field::content_length:
        case bhttp::field::content_type:
        case bhttp::field::content_encoding:
        case bhttp::field::transfer_encoding:
        case bhttp::field::connection:
        case bhttp::field::keep_alive:
        case bhttp::field::proxy_connection:
        case bhttp::field::te:
        case bhttp::field::trailer:
        case bhttp::field::upgrade:
        case bhttp::field::cache_control:
          continue;
        default:
          break;
      }
      const std::string_view name = field.name_string();
      if (!connection_options.empty() && connection_options.names(name)) continue;
      if (!edits.empty() && filtered_out(name, edits)) continue;
      append_response_header(head, name, field.value(), request_id);
    }
    append_header_aliases(head, *upstream, naming, edits, request_id);
  }
  append_header(head, "Content-Type", content_type);
  if (framing == ClientFraming::ContentLength) {
    char digits[24];
    const auto written = std::to_chars(digits, digits + sizeof digits, content_length);
    append_header(head, "Content-Length", std::string_view(digits, static_cast<std::size_t>(written.ptr - digits)));
  } else {
    append_header(head, "Cache-Control", "no-cache");
  }
  append_client_tail(head, version, keep_alive, framing, edits, extra);
  return head;
}

}  // namespace sluice::proxy
