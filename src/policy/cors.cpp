#include "policy/cors.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <charconv>

#include "config/yaml_reader.hpp"
#include "http/syntax.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

namespace bhttp = boost::beast::http;
using boost::beast::iequals;

namespace {

constexpr std::string_view kSeparator = "://";

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme.front()))) return false;
  return std::all_of(scheme.begin(), scheme.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
}

bool valid_label(std::string_view label) {
  return !label.empty() && std::all_of(label.begin(), label.end(),
                                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

bool valid_port(std::string_view port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

// A host name (dot-separated labels) or a bracketed IPv6 address.
bool valid_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const auto inside = host.substr(1, host.size() - 2);
    return std::all_of(inside.begin(), inside.end(),
                       [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
  }
  for (std::size_t start = 0;;) {
    const auto dot = host.find('.', start);
    if (!valid_label(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Splits "host[:port]" (the host possibly a bracketed IPv6 address); false when the port is not one.
bool split_authority(std::string_view authority, std::string_view& host, std::string_view& port) {
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    host = authority;
    port = {};
    return true;
  }
  host = authority.substr(0, colon);
  port = authority.substr(colon + 1);
  return valid_port(port);
}

// Calls `each` with every item of a comma-separated list, spaces trimmed, empty items skipped.
template <class F>
bool all_of_list(std::string_view list, F each) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty() && !each(item)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return iequals(n, name); });
}

std::string header_line(std::string_view name, const std::vector<std::string>& values) {
  if (values.empty()) return {};
  std::string line(name);
  line.append(": ");
  for (std::size_t i = 0; i < values.size(); ++i) line.append(i == 0 ? "" : ", ").append(values[i]);
  return line.append("\r\n");
}

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string cors_origin_problem(std::string_view pattern) {
  if (pattern == "*") return {};
  const auto separator = pattern.find(kSeparator);
  if (separator == std::string_view::npos)
    return "\"" + std::string(pattern) +
           "\" is not an origin: expected scheme://host[:port] (e.g. https://app.example.com), a wildcard origin "
           "(https://*.example.com) or \"*\"";
  if (!valid_scheme(pattern.substr(0, separator)))
    return "\"" + std::string(pattern) + "\" does not start with a URL scheme (e.g. https://)";
  const auto authority = pattern.substr(separator + kSeparator.size());
  if (authority.find_first_of("/?#") != std::string_view::npos)
    return "\"" + std::string(pattern) + "\" has a path, query or fragment: an origin is scheme://host[:port] only";
  std::string_view host;
  std::string_view port;
  if (!split_authority(authority, host, port))
    return "\"" + std::string(pattern) + "\" has an invalid port (1 to 65535)";
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.find('*') != std::string_view::npos)
    return "\"" + std::string(pattern) +
           "\": a wildcard is only allowed as the first label of the host (https://*.example.com)";
  if (!valid_host(host)) return "\"" + std::string(pattern) + "\" has an invalid host";
  return {};
}

OriginPattern::OriginPattern(std::string_view pattern) {
  if (pattern == "*") return;
  const auto separator = pattern.find(kSeparator);
  const auto authority = pattern.substr(separator + kSeparator.size());
  if (authority.starts_with("*.")) {
    kind_ = Kind::Subdomains;
    scheme_ = pattern.substr(0, separator + kSeparator.size());
    rest_ = authority.substr(1);  // ".example.com[:port]"
  } else {
    kind_ = Kind::Exact;
    rest_ = pattern;
  }
}

bool OriginPattern::matches(std::string_view origin) const {
  switch (kind_) {
    case Kind::Any:
      return true;
    case Kind::Exact:
      return iequals(origin, rest_);
    case Kind::Subdomains: {
      if (origin.size() <= scheme_.size() + rest_.size()) return false;
      if (!iequals(origin.substr(0, scheme_.size()), scheme_)) return false;
      if (!iequals(origin.substr(origin.size() - rest_.size()), rest_)) return false;
      const auto labels = origin.substr(scheme_.size(), origin.size() - scheme_.size() - rest_.size());
      return valid_host(labels);
    }
  }
  return false;
}

CorsRules::CorsRules(const config::CorsPolicy& merged) : credentials_(merged.allowCredentials.value_or(false)) {
  for (const auto& origin : merged.allowOrigins.value_or(std::vector<std::string>{})) {
    origins_.emplace_back(origin);
    any_origin_ = any_origin_ || origins_.back().any();
  }
  for (const auto& method : merged.allowMethods.value_or(std::vector<std::string>{})) {
    if (method == "*") {
      any_method_ = true;
    } else {
      methods_.push_back(method);
      std::transform(methods_.back().begin(), methods_.back().end(), methods_.back().begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
  }
  for (const auto& header : merged.allowHeaders.value_or(std::vector<std::string>{})) {
    if (header == "*") {
      any_header_ = true;
    } else {
      headers_.push_back(header);
    }
  }
  // A wildcard method or header list is answered with what the preflight asked for (always
  // valid, with credentials too, and the only way `*` covers Authorization).
  if (!any_method_) methods_line_ = header_line("Access-Control-Allow-Methods", methods_);
  if (!any_header_) headers_line_ = header_line("Access-Control-Allow-Headers", headers_);
  expose_line_ =
      header_line("Access-Control-Expose-Headers", merged.exposeHeaders.value_or(std::vector<std::string>{}));
  if (merged.maxAge) max_age_line_ = "Access-Control-Max-Age: " + std::to_string(*merged.maxAge) + "\r\n";
}

bool CorsRules::allows_origin(std::string_view origin) const {
  return std::any_of(origins_.begin(), origins_.end(), [&](const OriginPattern& p) { return p.matches(origin); });
}

bool CorsRules::allows_method(std::string_view method) const {
  // GET, HEAD and POST are CORS-safelisted: a browser never needs them listed.
  return any_method_ || method == "GET" || method == "HEAD" || method == "POST" || contains(methods_, method);
}

bool CorsRules::allows_headers(std::string_view request_headers) const {
  return any_header_ || all_of_list(request_headers, [&](std::string_view name) { return contains(headers_, name); });
}

// `*` only when any origin is allowed without credentials (the Fetch standard refuses `*` with
// credentials): otherwise the origin itself, and the answer varies by Origin.
void CorsRules::append_origin(std::string_view origin, std::string& out) const {
  if (any_origin_ && !credentials_) {
    out.append("Access-Control-Allow-Origin: *\r\n");
    return;
  }
  append_line(out, "Access-Control-Allow-Origin", origin);
  out.append("Vary: Origin\r\n");
}

void CorsRules::preflight_headers(std::string_view origin, std::string_view method, std::string_view request_headers,
                                  std::string& out) const {
  if (!allows_origin(origin) || !allows_method(method) || !allows_headers(request_headers)) {
    if (!any_origin_ || credentials_) out.append("Vary: Origin\r\n");
    return;
  }
  out.reserve(out.size() + 160 + origin.size() + methods_line_.size() + headers_line_.size() + request_headers.size());
  append_origin(origin, out);
  if (any_method_) {
    append_line(out, "Access-Control-Allow-Methods", method);
  } else {
    out.append(methods_line_);
  }
  if (any_header_) {
    if (!request_headers.empty()) append_line(out, "Access-Control-Allow-Headers", request_headers);
  } else {
    out.append(headers_line_);
  }
  out.append(max_age_line_);
  if (credentials_) out.append("Access-Control-Allow-Credentials: true\r\n");
}

void CorsRules::actual_headers(std::string_view origin, std::string& out) const {
  if (!allows_origin(origin)) {
    if (!any_origin_ || credentials_) out.append("Vary: Origin\r\n");
    return;
  }
  out.reserve(out.size() + 96 + origin.size() + expose_line_.size());
  append_origin(origin, out);
  if (credentials_) out.append("Access-Control-Allow-Credentials: true\r\n");
  out.append(expose_line_);
}

config::CorsPolicy merge(const config::CorsPolicy& general, const config::CorsPolicy& specific) {
  config::CorsPolicy out = general;
  if (specific.allowOrigins) out.allowOrigins = specific.allowOrigins;
  if (specific.allowMethods) out.allowMethods = specific.allowMethods;
  if (specific.allowHeaders) out.allowHeaders = specific.allowHeaders;
  if (specific.exposeHeaders) out.exposeHeaders = specific.exposeHeaders;
  if (specific.maxAge) out.maxAge = specific.maxAge;
  if (specific.allowCredentials) out.allowCredentials = specific.allowCredentials;
  return out;
}

config::CorsPolicy CorsSection::decode(config::YamlMap& section) {
  config::CorsPolicy cors;
  cors.allowOrigins = section.strings("allowOrigins");
  cors.allowMethods = section.strings("allowMethods");
  cors.allowHeaders = section.strings("allowHeaders");
  cors.exposeHeaders = section.strings("exposeHeaders");
  if (auto seconds = section.integer("maxAge", 0, 86400)) cors.maxAge = static_cast<unsigned>(*seconds);
  cors.allowCredentials = section.boolean("allowCredentials");
  return cors;
}

void CorsSection::validate(const config::CorsPolicy& value, const config::YamlMap& section) {
  const auto& ctx = section.ctx();
  const auto each = [&](std::string_view key, const std::optional<std::vector<std::string>>& list, auto problem) {
    if (!list) return;
    const auto node = section.node()[std::string(key)];
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto message = problem((*list)[i]);
      if (!message.empty()) ctx.error(node[i], section.field(key) + "[" + std::to_string(i) + "]", message);
    }
  };
  each("allowOrigins", value.allowOrigins, [](const std::string& origin) { return cors_origin_problem(origin); });
  const auto token = [](std::string_view what) {
    return [what](const std::string& name) {
      if (name == "*" || http::valid_field_name(name)) return std::string();
      return "\"" + name + "\" is not " + std::string(what) + " (an HTTP token) or \"*\"";
    };
  };
  each("allowMethods", value.allowMethods, token("a method"));
  each("allowHeaders", value.allowHeaders, token("a header name"));
  each("exposeHeaders", value.exposeHeaders, token("a header name"));
}

namespace {

// Response headers of the upstream that the CORS stage answers for instead.
config::HeaderModifier upstream_cors_headers() {
  config::HeaderModifier strip;
  strip.remove = {"Access-Control-Allow-Origin",  "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                  "Access-Control-Allow-Headers", "Access-Control-Expose-Headers",    "Access-Control-Max-Age"};
  return strip;
}

class CorsStage final : public pipeline::Stage {
 public:
  CorsStage(const std::optional<config::CorsPolicy>& rule,
            std::span<const std::pair<const config::Backend*, config::CorsPolicy>> backends)
      : strip_(upstream_cors_headers()) {
    if (rule) rule_.emplace(*rule);
    for (const auto& [backend, policy] : backends) backends_.emplace_back(backend, CorsRules(policy));
  }

  std::string_view name() const override { return "cors"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::RequestHead); }

  pipeline::Verdict on_request_head(pipeline::RequestContext& request) const override {
    const CorsRules* rules = rules_for(request.backend.spec);
    if (rules == nullptr) return pipeline::Verdict::proceed();
    request.response_header_edits.push_back(&strip_);
    const auto& head = *request.head;
    const auto origin = head.find(bhttp::field::origin);
    if (origin == head.end()) return pipeline::Verdict::proceed();
    const auto method = head.find(bhttp::field::access_control_request_method);
    if (head.method() == bhttp::verb::options && method != head.end()) {
      const auto asked = head.find(bhttp::field::access_control_request_headers);
      rules->preflight_headers(origin->value(), method->value(),
                               asked == head.end() ? std::string_view() : std::string_view(asked->value()),
                               request.response_header_lines);
      return pipeline::Verdict::answer(pipeline::LocalResponse{204, {}, {}});
    }
    rules->actual_headers(origin->value(), request.response_header_lines);
    return pipeline::Verdict::proceed();
  }

 private:
  const CorsRules* rules_for(const config::Backend* backend) const {
    for (const auto& [own, rules] : backends_)
      if (own == backend) return &rules;
    return rule_ ? &*rule_ : nullptr;
  }

  config::HeaderModifier strip_;
  std::optional<CorsRules> rule_;
  std::vector<std::pair<const config::Backend*, CorsRules>> backends_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_cors_stage(
    const std::optional<config::CorsPolicy>& rule,
    std::span<const std::pair<const config::Backend*, config::CorsPolicy>> backends) {
  if (!rule && backends.empty()) return nullptr;
  return std::make_shared<const CorsStage>(rule, backends);
}

std::shared_ptr<const pipeline::Stage> CorsSection::make_stage(config::CorsPolicy merged, const SectionContext&) {
  return make_cors_stage(merged, {});
}

Stages compile_cors(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context) {
  if (context.level != AttachLevel::Rule) return {};
  auto merged = merge_section<CorsSection>(attached);
  std::vector<std::pair<const config::Backend*, config::CorsPolicy>> backends;
  if (context.rule != nullptr) {
    for (const auto& filter : context.rule->filters)
      if (filter.type == config::FilterType::CORS) merged = merged ? merge(*merged, filter.cors) : filter.cors;
    for (const auto& ref : context.rule->backendRefs) {
      if (context.backend_policies == nullptr) break;
      const auto policies = context.backend_policies->find(ref.name);
      const auto backend = context.config.backends.find(ref.name);
      if (policies == context.backend_policies->end() || backend == context.config.backends.end()) continue;
      const auto own = merge_section<CorsSection>(policies->second);
      const bool listed = std::any_of(backends.begin(), backends.end(),
                                      [&](const auto& entry) { return entry.first == &backend->second; });
      if (own && !listed) backends.emplace_back(&backend->second, merged ? merge(*merged, *own) : *own);
    }
  }
  auto stage = make_cors_stage(merged, backends);
  if (!stage) return {};
  return Stages{std::move(stage)};
}

}  // namespace sluice::policy
