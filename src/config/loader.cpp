#include "config/loader.hpp"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/string.hpp>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <sstream>

#include "config/yaml_bounds.hpp"
#include "config/yaml_reader.hpp"
#include "http/syntax.hpp"
#include "observe/access_log_fields.hpp"
#include "policy/section.hpp"
#include "pricing/catalog.hpp"
#include "provider/provider.hpp"
#include "route/api_path.hpp"

namespace sluice::config {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSluiceApi = "sluice.dev/v1alpha1";
constexpr std::string_view kGatewayApiV1 = "gateway.networking.k8s.io/v1";
constexpr std::string_view kGatewayApiV1beta1 = "gateway.networking.k8s.io/v1beta1";

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Kubernetes object names (RFC 1123). A resource's metadata.name is a subdomain: at most 253
// lowercase letters, digits, '-' and '.', starting and ending with a letter or digit. A rule's
// name and a priority-group provider's name are labels: the same without '.', at most 63. No
// name can hold '/', so ids joined as "route/rule" or "Kind/name" are unambiguous.
bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool rfc1123_label(std::string_view name) {
  return !name.empty() && name.size() <= 63 && lower_alnum(name.front()) && lower_alnum(name.back()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool rfc1123_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  while (true) {
    const auto dot = name.find('.');
    if (!rfc1123_label(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

void check_subdomain(const std::string& name, const YAML::Node& at, const std::string& field,
                     const DecodeContext& ctx) {
  if (!rfc1123_subdomain(name))
    ctx.error(at, field,
              shown(at) +
                  " is not a valid name: at most 253 lowercase letters, digits, '-' and '.', "
                  "starting and ending with a letter or digit (RFC 1123 subdomain, as in Kubernetes)");
}

void check_label(const std::string& name, const YAML::Node& at, const std::string& field, const DecodeContext& ctx) {
  if (!rfc1123_label(name))
    ctx.error(at, field,
              shown(at) +
                  " is not a valid name: at most 63 lowercase letters, digits and '-', starting and "
                  "ending with a letter or digit (RFC 1123 label, as in Kubernetes)");
}

// ------------------------------------------------------------------ shared small decoders

std::optional<std::uint16_t> decode_port(YamlMap& m, std::string_view key, Need need) {
  auto port = m.integer(key, 0, 65535, need);
  if (!port) return std::nullopt;
  return static_cast<std::uint16_t>(*port);
}

BackendTls decode_tls(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  BackendTls tls;
  YamlMap m(node, path, ctx);
  if (!m.present()) return tls;
  if (auto mode = m.enumeration<TlsMode>(
          "mode", {{"Auto", TlsMode::Auto}, {"Enabled", TlsMode::Enabled}, {"Disabled", TlsMode::Disabled}}))
    tls.mode = *mode;
  if (auto sni = m.str("sni")) tls.sni = *sni;
  if (auto skip = m.boolean("insecureSkipVerify")) tls.insecureSkipVerify = *skip;
  YamlMap ca(m.take("caCertificateRef"), m.field("caCertificateRef"), ctx);
  if (ca.present()) {
    SecretKeyRef ref;
    if (auto name = ca.str("name", Need::Required)) ref.name = *name;
    ref.key = ca.str("key").value_or("ca.crt");
    tls.caCertificate = ref;
  }
  if (tls.mode == TlsMode::Disabled && (tls.caCertificate || !tls.sni.empty() || tls.insecureSkipVerify)) {
    ctx.warning(node, path, "sni, caCertificateRef and insecureSkipVerify have no effect with mode: Disabled");
  }
  return tls;
}

BackendTimeouts decode_backend_timeouts(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  BackendTimeouts t;
  YamlMap m(node, path, ctx);
  if (auto v = m.duration("connect")) t.connect = *v;
  if (auto v = m.duration("firstByte")) t.firstByte = *v;
  if (auto v = m.duration("streamIdle")) t.streamIdle = *v;
  if (auto v = m.duration("poolIdle")) t.poolIdle = *v;
  return t;
}

// ------------------------------------------------------------------ Gateway

// "host:port", "host" (port 6379), "[v6]:port" or "[v6]"; false when it is none of those.
bool split_redis_address(const std::string& address, std::string& host, std::uint16_t& port) {
  std::string_view rest = address;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(host, ec);
    if (ec) return false;
  } else {
    const auto colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    if (host.empty() || host.find_first_of(" /[]@") != std::string::npos) return false;
  }
  port = 6379;
  if (rest.empty()) return true;
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return false;
  unsigned value = 0;
  for (const char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

RedisSettings decode_redis(YamlMap& m) {
  const auto& ctx = m.ctx();
  RedisSettings r;
  if (auto address = m.str("address", Need::Required)) {
    r.address = *address;
    if (!split_redis_address(r.address, r.host, r.port))
      ctx.error(m.node()["address"], m.field("address"),
                "\"" + r.address + "\" is not a Redis address; expected host:port, host (port 6379) or [IPv6]:port");
  }
  if (auto v = m.str("username")) r.username = *v;
  YamlMap password(m.take("passwordRef"), m.field("passwordRef"), ctx);
  if (password.present()) {
    SecretKeyRef ref;
    if (auto name = password.str("name", Need::Required)) ref.name = *name;
    ref.key = password.str("key").value_or("password");
    r.passwordRef = ref;
  }
  if (!r.username.empty() && !r.passwordRef)
    ctx.error(m.node()["username"], m.field("username"), "needs passwordRef: Redis AUTH takes a user and a password");
  YamlMap tls(m.take("tls"), m.field("tls"), ctx);
  if (tls.present()) {
    if (auto mode = tls.enumeration<RedisTlsMode>(
            "mode", {{"Disabled", RedisTlsMode::Disabled}, {"Enabled", RedisTlsMode::Enabled}}))
      r.tls.mode = *mode;
    if (auto sni = tls.str("sni")) r.tls.sni = *sni;
    if (auto skip = tls.boolean("insecureSkipVerify")) r.tls.insecureSkipVerify = *skip;
    YamlMap ca(tls.take("caCertificateRef"), tls.field("caCertificateRef"), ctx);
    if (ca.present()) {
      SecretKeyRef ref;
      if (auto name = ca.str("name", Need::Required)) ref.name = *name;
      ref.key = ca.str("key").value_or("ca.crt");
      r.tls.caCertificate = ref;
    }
    if (r.tls.mode == RedisTlsMode::Disabled && (r.tls.caCertificate || !r.tls.sni.empty() || r.tls.insecureSkipVerify))
      ctx.warning(tls.node(), m.field("tls"),
                  "sni, caCertificateRef and insecureSkipVerify have no effect with mode: Disabled");
  }
  if (auto v = m.str("keyPrefix")) r.keyPrefix = *v;
  if (auto v = m.duration("timeout")) {
    if (v->count() <= 0)
      ctx.error(m.node()["timeout"], m.field("timeout"), "must be positive");
    else
      r.timeout = *v;
  }
  if (auto v = m.integer("database", 0, 1'000'000)) r.database = static_cast<unsigned>(*v);
  return r;
}

// A price in USD per 1M tokens, a YAML string or number read as an exact decimal.
std::optional<std::int64_t> decode_price(YamlMap& m, std::string_view key, Need need) {
  const auto text = m.str(key, need);
  if (!text) return std::nullopt;
  std::string problem;
  const auto micros = pricing::parse_usd_micros(*text, problem);
  if (!micros) m.ctx().error(m.take(key), m.field(key), problem);
  return micros;
}

// spec.responseStore: where the Responses API's stored responses live, and for how long.
ResponseStore decode_response_store(YamlMap& m, bool gateway_redis) {
  const auto& ctx = m.ctx();
  ResponseStore out;
  if (auto kind = m.enumeration<ResponseStoreKind>(
          "store", {{"Memory", ResponseStoreKind::Memory}, {"Redis", ResponseStoreKind::Redis}})) {
    out.store = *kind;
    if (out.store == ResponseStoreKind::Redis && !gateway_redis)
      ctx.error(m.node()["store"], m.field("store"), "Redis needs the Gateway's spec.redis (the server to use)");
  }
  if (auto ttl = m.duration("ttl")) {
    if (ttl->count() <= 0)
      ctx.error(m.node()["ttl"], m.field("ttl"), "must be longer than 0 (e.g. \"1h\")");
    else
      out.ttl = *ttl;
  }
  if (auto bytes = m.bytes("maxBytes")) {
    if (*bytes < 1024 * 1024)
      ctx.error(m.node()["maxBytes"], m.field("maxBytes"), "must be at least 1Mi (e.g. \"64Mi\")");
    else
      out.maxBytes = *bytes;
  }
  if (auto bytes = m.bytes("maxEntryBytes")) {
    if (*bytes == 0)
      ctx.error(m.node()["maxEntryBytes"], m.field("maxEntryBytes"), "must be more than 0 (e.g. \"1Mi\")");
    else
      out.maxEntryBytes = *bytes;
  }
  return out;
}

// spec.pricing: per-model prices over the built-in catalog, and what an unknown model costs.
void decode_pricing(YamlMap& pricing, Pricing& out) {
  const auto& ctx = pricing.ctx();
  out.unknownModel = pricing.enumeration<UnknownModelPricing>(
      "unknownModel", {{"Reject", UnknownModelPricing::Reject}, {"Free", UnknownModelPricing::Free}});
  if (auto report = pricing.boolean("reportCost")) out.reportCost = *report;
  const auto models = pricing.take("models");
  if (!models.IsDefined() || models.IsNull()) return;
  if (!models.IsMap()) {
    ctx.error(models, pricing.field("models"), "expected a map of model name to prices");
    return;
  }
  for (const auto& entry : models) {
    const auto name = entry.first.as<std::string>("");
    YamlMap m(entry.second, pricing.field("models") + "[" + name + "]", ctx, Need::Required);
    if (name.empty()) ctx.error(entry.first, pricing.field("models"), "a model name must not be empty");
    ModelPrice price;
    const auto input = decode_price(m, "input", Need::Required);
    const auto output = decode_price(m, "output", Need::Optional);
    price.cachedInput = decode_price(m, "cachedInput", Need::Optional);
    if (!input) continue;
    price.input = *input;
    price.output = output.value_or(0);
    out.models[name] = price;
  }
}

// An OTLP/HTTP endpoint, "http[s]://host[:port][/path]" (port default 4318).
bool split_otlp_endpoint(const std::string& text, OtlpSettings& out, std::string& problem) {
  std::string_view rest = text;
  out.tls = rest.starts_with("https://");
  if (!out.tls && !rest.starts_with("http://")) {
    problem = "expected an http:// or https:// URL such as \"http://otel-collector:4318\"";
    return false;
  }
  rest.remove_prefix(out.tls ? 8 : 7);
  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?#") != std::string_view::npos) {
    problem = "must not carry a query or fragment";
    return false;
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      problem = "unterminated IPv6 address";
      return false;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        problem = "expected :port after the IPv6 address";
        return false;
      }
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) {
    problem = "needs a host (and no user info)";
    return false;
  }
  out.port = 4318;
  if (!port.empty() || authority.ends_with(":")) {
    unsigned value = 0;
    const bool digits =
        !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
    if (digits)
      for (const char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
    if (!digits || value == 0 || value > 65535) {
      problem = "the port must be 1-65535";
      return false;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  out.base_path = std::string(path);
  out.endpoint = (out.tls ? "https://" : "http://") + std::string(authority) + out.base_path;
  return true;
}

// spec.telemetry: the OTLP exporter, trace sampling, the metrics' export interval, what content
// spans may carry and the principal labels of the GenAI metrics.
void decode_telemetry(YamlMap& t, Telemetry& out) {
  const auto& ctx = t.ctx();
  YamlMap otlp(t.take("otlp"), t.field("otlp"), ctx);
  if (otlp.present()) {
    OtlpSettings settings;
    if (auto endpoint = otlp.str("endpoint", Need::Required)) {
      std::string problem;
      if (!split_otlp_endpoint(*endpoint, settings, problem))
        ctx.error(otlp.node()["endpoint"], otlp.field("endpoint"), shown(otlp.node()["endpoint"]) + ": " + problem);
    }
    if (auto protocol = otlp.enumeration<OtlpProtocol>(
            "protocol", {{"http/protobuf", OtlpProtocol::HttpProtobuf}, {"http/json", OtlpProtocol::HttpJson}}))
      settings.protocol = *protocol;
    if (auto skip = otlp.boolean("insecureSkipVerify")) {
      settings.insecureSkipVerify = *skip;
      if (*skip && !settings.tls)
        ctx.warning(otlp.node()["insecureSkipVerify"], otlp.field("insecureSkipVerify"),
                    "has no effect with an http:// endpoint");
    }
    if (auto timeout = otlp.duration("timeout")) {
      if (timeout->count() <= 0)
        ctx.error(otlp.node()["timeout"], otlp.field("timeout"), "must be positive (e.g. \"10s\")");
      else
        settings.timeout = *timeout;
    }
    const auto headers = otlp.take("headers");
    if (headers.IsDefined() && !headers.IsNull()) {
      if (!headers.IsMap()) {
        ctx.error(headers, otlp.field("headers"), "expected a map of header name to value");
      } else {
        for (const auto& entry : headers) {
          const auto name = entry.first.as<std::string>("");
          const auto path = otlp.field("headers") + "[" + name + "]";
          if (!http::valid_field_name(name)) {
            ctx.error(entry.first, path, "\"" + name + "\" is not a valid HTTP header name");
            continue;
          }
          std::string lower = name;
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (lower == "host" || lower == "content-type" || lower == "content-length" || lower == "connection" ||
              lower == "transfer-encoding") {
            ctx.error(entry.first, path, "\"" + name + "\" is set by the exporter itself");
            continue;
          }
          if (auto value = scalar_string(entry.second, path, ctx)) {
            if (!http::valid_field_value(*value)) {
              ctx.error(entry.second, path, "the value has a control character (CR, LF, NUL, ...)");
              continue;
            }
            settings.headers.emplace_back(name, *value);
          }
        }
      }
    }
    out.otlp = std::move(settings);
  }
  YamlMap traces(t.take("traces"), t.field("traces"), ctx);
  if (auto text = traces.str("sampling")) {
    double value = -1;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || !(value >= 0.0 && value <= 1.0))
      ctx.error(traces.node()["sampling"], traces.field("sampling"),
                "expected a ratio from 0 to 1 (e.g. 0.1), found " + shown(traces.node()["sampling"]));
    else
      out.sampling = value;
  }
  YamlMap metrics(t.take("metrics"), t.field("metrics"), ctx);
  if (auto interval = metrics.duration("exportInterval")) {
    if (interval->count() < 1000)
      ctx.error(metrics.node()["exportInterval"], metrics.field("exportInterval"), "must be at least 1s");
    else
      out.exportInterval = *interval;
  }
  if (auto capture = t.enumeration<CaptureContent>(
          "captureContent",
          {{"None", CaptureContent::None}, {"Metadata", CaptureContent::Metadata}, {"Full", CaptureContent::Full}}))
    out.captureContent = *capture;
  if (auto labels = t.strings("metricLabels")) {
    // principal.id or principal.metadata.<key>; the Prometheus label is the path with every
    // character outside [a-zA-Z0-9_] made '_' (principal_metadata_team), so two paths must not
    // make the same one.
    constexpr std::string_view kMetadata = "principal.metadata.";
    constexpr std::size_t kMaxLabels = 4;  // observe::kMetricLabelsMax
    std::vector<std::string> derived;
    for (std::size_t i = 0; i < labels->size(); ++i) {
      const auto& path = (*labels)[i];
      const auto node = t.node()["metricLabels"][i];
      const auto field = t.field("metricLabels") + "[" + std::to_string(i) + "]";
      const bool metadata = path.starts_with(kMetadata) && path.size() > kMetadata.size();
      if (path != "principal.id" && !metadata) {
        ctx.error(node, field,
                  "unknown principal attribute \"" + path +
                      "\": expected principal.id or principal.metadata.<key> (e.g. principal.metadata.team)");
        continue;
      }
      std::string label;
      for (const char c : path) label += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
      if (std::find(derived.begin(), derived.end(), label) != derived.end()) {
        ctx.error(node, field, "\"" + path + "\" makes the Prometheus label " + label + " an earlier entry makes");
        continue;
      }
      if (out.metricLabels.size() == kMaxLabels) {
        ctx.error(node, field, "at most " + std::to_string(kMaxLabels) + " metric labels");
        break;
      }
      derived.push_back(std::move(label));
      out.metricLabels.push_back(path);
    }
  }
}

// A listener's tls: the certificate Secret (tls.crt, tls.key, optional ca.crt) and how client
// certificates are handled. The Secret's keys are checked when the snapshot is compiled.
ListenerTls decode_listener_tls(YamlMap& m) {
  const auto& ctx = m.ctx();
  ListenerTls tls;
  YamlMap cert(m.take("certificateRef"), m.field("certificateRef"), ctx, Need::Required);
  if (cert.present()) {
    if (auto name = cert.str("name", Need::Required)) tls.certificateSecret = *name;
  }
  YamlMap ca(m.take("caCertificateRef"), m.field("caCertificateRef"), ctx);
  if (ca.present()) {
    SecretKeyRef ref;
    if (auto name = ca.str("name", Need::Required)) ref.name = *name;
    ref.key = ca.str("key").value_or("ca.crt");
    tls.caCertificate = ref;
  }
  tls.clientValidation = m.enumeration<ClientValidation>("clientValidation", {{"None", ClientValidation::None},
                                                                              {"Optional", ClientValidation::Optional},
                                                                              {"Require", ClientValidation::Require}});
  if (tls.clientValidation == ClientValidation::None && tls.caCertificate)
    ctx.warning(m.node(), m.field("caCertificateRef"), "has no effect with clientValidation: None");
  return tls;
}

void decode_gateway(YamlMap& spec, Gateway& gw) {
  const auto& ctx = spec.ctx();
  auto& s = gw.spec;
  auto listeners = spec.take("listeners");
  if (listeners.IsDefined() && is_sequence(listeners, spec.field("listeners"), ctx)) {
    s.listeners.clear();
    for (std::size_t i = 0; i < listeners.size(); ++i) {
      YamlMap l(listeners[i], spec.field("listeners") + "[" + std::to_string(i) + "]", ctx, Need::Required);
      Listener listener;
      listener.name = l.str("name").value_or("listener" + std::to_string(i));
      listener.address = l.str("address").value_or("0.0.0.0");
      YamlMap tls(l.take("tls"), l.field("tls"), ctx);
      if (tls.present()) listener.tls = decode_listener_tls(tls);
      if (auto h2 = l.boolean("http2")) listener.http2 = *h2;
      if (auto port = decode_port(l, "port", Need::Required)) listener.port = *port;
      s.listeners.push_back(listener);
    }
    if (s.listeners.empty()) ctx.error(listeners, spec.field("listeners"), "needs at least one listener");
  }
  YamlMap admin(spec.take("admin"), spec.field("admin"), ctx);
  if (auto a = admin.str("address")) s.admin.address = *a;
  if (auto p = decode_port(admin, "port", Need::Optional)) s.admin.port = *p;
  if (auto e = admin.boolean("enabled")) s.admin.enabled = *e;

  YamlMap limits(spec.take("limits"), spec.field("limits"), ctx);
  if (auto v = limits.bytes("maxRequestHeaderBytes")) s.limits.maxRequestHeaderBytes = *v;
  if (auto v = limits.bytes("maxRequestBodyBytes")) s.limits.maxRequestBodyBytes = *v;
  if (auto v = limits.bytes("maxTranslatedResponseBytes")) s.limits.maxTranslatedResponseBytes = *v;
  if (auto v = limits.duration("requestHeaderTimeout")) s.limits.requestHeaderTimeout = *v;
  if (auto v = limits.duration("idleTimeout")) s.limits.idleTimeout = *v;
  if (auto v = limits.duration("drainTimeout")) s.limits.drainTimeout = *v;
  if (auto v = limits.integer("maxConcurrentStreams", 1, 10000))
    s.limits.maxConcurrentStreams = static_cast<std::uint32_t>(*v);

  YamlMap log(spec.take("accessLog"), spec.field("accessLog"), ctx);
  if (auto v = log.boolean("enabled")) s.accessLog.enabled = *v;
  if (auto v = log.str("path")) s.accessLog.path = *v;
  if (auto v = log.boolean("captureUsage")) s.accessLog.captureUsage = *v;
  if (auto names = log.take("redactQueryParams");
      names.IsDefined() && is_sequence(names, log.field("redactQueryParams"), ctx)) {
    s.accessLog.redactQueryParams.clear();
    for (std::size_t i = 0; i < names.size(); ++i)
      if (auto name = scalar_string(names[i], log.field("redactQueryParams") + "[" + std::to_string(i) + "]", ctx))
        s.accessLog.redactQueryParams.push_back(*name);
  }
  if (auto names = log.take("fields"); names.IsDefined() && is_sequence(names, log.field("fields"), ctx)) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto where = log.field("fields") + "[" + std::to_string(i) + "]";
      auto name = scalar_string(names[i], where, ctx);
      if (!name) continue;
      if (!observe::access_log_field(*name)) {
        ctx.error(names[i], where, "unknown access-log field \"" + *name + "\" (see docs/operations.md#access-log)");
      } else if (std::find(s.accessLog.fields.begin(), s.accessLog.fields.end(), *name) != s.accessLog.fields.end()) {
        ctx.error(names[i], where, "access-log field \"" + *name + "\" is listed twice");
      } else {
        s.accessLog.fields.push_back(*name);
      }
    }
    if (names.size() == 0)
      ctx.error(names, log.field("fields"), "needs at least one field (or leave it out: every field)");
  }
  if (auto v = log.boolean("trustRequestId")) s.accessLog.trustRequestId = *v;

  YamlMap client_address(spec.take("clientAddress"), spec.field("clientAddress"), ctx);
  if (auto hops = client_address.integer("xffTrustedHops", 0, 32))
    s.clientAddress.xffTrustedHops = static_cast<unsigned>(*hops);

  if (auto w = spec.integer("workers", 0, 256)) s.workers = static_cast<unsigned>(*w);

  YamlMap redis(spec.take("redis"), spec.field("redis"), ctx);
  if (redis.present()) s.redis = decode_redis(redis);
  YamlMap pricing(spec.take("pricing"), spec.field("pricing"), ctx);
  decode_pricing(pricing, s.pricing);
  YamlMap store(spec.take("responseStore"), spec.field("responseStore"), ctx);
  if (store.present()) s.responseStore = decode_response_store(store, s.redis.has_value());
  YamlMap telemetry(spec.take("telemetry"), spec.field("telemetry"), ctx);
  if (telemetry.present()) decode_telemetry(telemetry, s.telemetry);

  // Two listeners on one port, or the admin port reused, cannot both bind.
  for (std::size_t i = 0; i < s.listeners.size(); ++i) {
    for (std::size_t j = i + 1; j < s.listeners.size(); ++j) {
      if (s.listeners[i].port == s.listeners[j].port && s.listeners[i].port != 0)
        ctx.error(listeners, spec.field("listeners") + "[" + std::to_string(j) + "].port",
                  "port " + std::to_string(s.listeners[j].port) + " is already used by listener \"" +
                      s.listeners[i].name + "\"");
    }
    if (s.admin.enabled && s.admin.port == s.listeners[i].port && s.admin.port != 0)
      ctx.error(
          spec.node(), spec.field("admin.port"),
          "port " + std::to_string(s.admin.port) + " is already used by listener \"" + s.listeners[i].name + "\"");
  }
}

// ------------------------------------------------------------------ Secret

// `echo key | base64` and YAML block scalars leave one line break after a key; kubectl users
// expect it gone. Only one "\n" or "\r\n" is removed; any other CR, LF or NUL stays, and a
// credential holding one is refused (check_head_secret).
std::string trim_one_newline(std::string value) {
  if (value.ends_with("\r\n"))
    value.resize(value.size() - 2);
  else if (value.ends_with('\n'))
    value.pop_back();
  return value;
}

void decode_secret(YamlMap& doc, Secret& secret) {
  const auto& ctx = doc.ctx();
  doc.ignore("type");
  doc.ignore("immutable");
  YamlMap string_data(doc.take("stringData"), "stringData", ctx);
  if (string_data.present()) {
    string_data.accept_any_key();
    for (const auto& entry : string_data.node()) {
      const auto key = entry.first.as<std::string>("");
      if (!entry.second.IsScalar()) {
        ctx.error(entry.second, "stringData." + key, "expected a string");
        continue;
      }
      SecretValue value;
      std::string missing;
      if (auto expanded = expand_env(entry.second.Scalar(), &missing)) {
        value.value = trim_one_newline(std::move(*expanded));
      } else {
        value.problem = "environment variable " + missing + " is not set (Secret/" + secret.origin.name +
                        " stringData." + key + ")";
      }
      secret.data[key] = std::move(value);
    }
  }
  YamlMap data(doc.take("data"), "data", ctx);
  if (data.present()) {
    namespace b64 = boost::beast::detail::base64;
    data.accept_any_key();
    for (const auto& entry : data.node()) {
      const auto key = entry.first.as<std::string>("");
      if (secret.data.contains(key)) continue;  // stringData wins over data, as in Kubernetes
      if (!entry.second.IsScalar()) {
        ctx.error(entry.second, "data." + key, "expected a base64 string");
        continue;
      }
      std::string encoded;
      for (char c : entry.second.Scalar())
        if (!std::isspace(static_cast<unsigned char>(c))) encoded += c;
      std::size_t padding = 0;
      while (padding < 2 && padding < encoded.size() && encoded[encoded.size() - 1 - padding] == '=') ++padding;
      const auto payload = encoded.size() - padding;
      if (encoded.size() % 4 != 0) {
        ctx.error(entry.second, "data." + key, "is not valid base64");
        continue;
      }
      std::string decoded(b64::decoded_size(encoded.size()), '\0');
      const auto [written, read] = b64::decode(decoded.data(), encoded.data(), encoded.size());
      if (read != payload) {
        ctx.error(entry.second, "data." + key, "is not valid base64");
        continue;
      }
      decoded.resize(written);
      secret.data[key] = SecretValue{trim_one_newline(std::move(decoded)), {}};
    }
  }
}

// ------------------------------------------------------------------ Backend

AuthToken decode_auth_token(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  AuthToken token;
  YamlMap m(node, path, ctx);
  if (!m.present()) return token;
  auto kind = m.enumeration<AuthKind>(
      "kind",
      {{"Inline", AuthKind::Inline}, {"SecretRef", AuthKind::SecretRef}, {"Passthrough", AuthKind::Passthrough}},
      Need::Required);
  if (!kind) {
    m.ignore("inline");
    m.ignore("secretRef");
    return token;
  }
  token.kind = *kind;
  switch (*kind) {
    case AuthKind::Inline:
      if (auto v = m.str("inline", Need::Required)) token.inlineValue = *v;
      m.ignore("secretRef");
      break;
    case AuthKind::SecretRef: {
      YamlMap ref(m.take("secretRef"), m.field("secretRef"), ctx, Need::Required);
      if (auto name = ref.str("name", Need::Required)) token.secretRef.name = *name;
      token.secretRef.key = ref.str("key").value_or("apiKey");
      m.ignore("inline");
      break;
    }
    case AuthKind::Passthrough:
    case AuthKind::None:
      m.ignore("inline");
      m.ignore("secretRef");
      break;
  }
  return token;
}

// models: the models a provider serves, for /v1/models: names a request may use (no spaces or
// control characters), each once.
void decode_models(YamlMap& provider_map, std::vector<std::string>& models) {
  const auto& ctx = provider_map.ctx();
  const auto node = provider_map.take("models");
  const auto field = provider_map.field("models");
  if (!node.IsDefined() || node.IsNull() || !is_sequence(node, field, ctx)) return;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto item = field + "[" + std::to_string(i) + "]";
    auto model = scalar_string(node[i], item, ctx);
    if (!model) continue;
    if (model->empty()) {
      ctx.error(node[i], item, "must not be empty");
      continue;
    }
    if (std::any_of(model->begin(), model->end(), [](char c) { return static_cast<unsigned char>(c) <= ' '; })) {
      ctx.error(node[i], item, shown(node[i]) + " is not a model name: it holds a space or a control character");
      continue;
    }
    if (std::find(models.begin(), models.end(), *model) != models.end()) {
      ctx.warning(node[i], item, shown(node[i]) + " is listed twice");
      continue;
    }
    models.push_back(std::move(*model));
  }
}

// ai.llm (or a priority-group provider): exactly one provider key. The fields every provider has
// (authToken, model, host, port, path, authHeader, tls) are read here; the provider's own fields
// by its traits' decode (src/provider/<provider>.cpp).
void decode_llm(YamlMap& llm, LlmProvider& p) {
  const auto& ctx = llm.ctx();
  std::vector<std::string> found;
  for (const auto* traits : provider::all_providers()) {
    const std::string name(traits->name);
    if (!llm.has(name)) continue;
    found.push_back(name);
    if (found.size() > 1) {
      llm.take(name);
      continue;
    }
    p.kind = traits->kind;
    YamlMap provider_map(llm.take(name), llm.field(name), ctx);
    if (provider_map.has("authToken")) {
      p.authToken = decode_auth_token(provider_map.take("authToken"), provider_map.field("authToken"), ctx);
    } else if (traits->requires_auth_token) {
      provider_map.require("authToken", "{kind: Inline | SecretRef | Passthrough}");
    }
    p.model = provider_map.str("model");
    if (p.model && p.model->empty())
      ctx.error(provider_map.node()["model"], provider_map.field("model"), "must not be empty");
    decode_models(provider_map, p.models);
    traits->decode(provider_map, p);
  }
  if (found.empty()) {
    ctx.error(llm.node(), llm.path(),
              "needs one provider: openai, anthropic, gemini, vertexai, azureopenai, bedrock or ollama");
  } else if (found.size() > 1) {
    ctx.error(llm.node(), llm.path(), "names several providers (" + join(found) + "); choose one");
  }

  p.host = llm.str("host");
  if (p.host && p.host->empty()) ctx.error(llm.node()["host"], llm.field("host"), "must not be empty");
  if (auto port = decode_port(llm, "port", Need::Optional)) {
    if (*port == 0) ctx.error(llm.node()["port"], llm.field("port"), "must be between 1 and 65535");
    p.port = *port;
  }
  YamlMap path(llm.take("path"), llm.field("path"), ctx);
  if (path.present()) {
    p.path.full = path.str("full");
    p.path.prefix = path.str("prefix");
    if (p.path.full && p.path.prefix) ctx.error(path.node(), llm.field("path"), "set either full or prefix, not both");
    if (!p.path.full && !p.path.prefix)
      ctx.error(path.node(), llm.field("path"),
                "needs full (exact upstream path) or prefix (prepended to the API path)");
    for (const auto* v : {&p.path.full, &p.path.prefix}) {
      if (*v && (v->value().empty() || v->value().front() != '/'))
        ctx.error(path.node(), llm.field(v == &p.path.full ? "path.full" : "path.prefix"),
                  "must start with \"/\", found " + shown(path.node()[v == &p.path.full ? "full" : "prefix"]));
    }
    if (p.path.prefix && p.path.prefix->size() > 1 && p.path.prefix->back() == '/') p.path.prefix->pop_back();
  }
  YamlMap header(llm.take("authHeader"), llm.field("authHeader"), ctx);
  if (header.present()) {
    AuthHeader h;
    if (auto name = header.str("headerName")) {
      if (!http::valid_field_name(*name))
        ctx.error(header.node()["headerName"], header.field("headerName"),
                  shown(header.node()["headerName"]) + " is not a valid header name");
      // Authorization keeps the Bearer scheme; any other header carries the bare key unless a
      // prefix is given.
      if (!boost::beast::iequals(*name, "Authorization")) h.prefix = "";
      h.headerName = *name;
    }
    if (auto prefix = header.str("prefix")) h.prefix = *prefix;
    p.authHeader = h;
  }
  p.tls = decode_tls(llm.take("tls"), llm.field("tls"), ctx);
}

void decode_passthrough(YamlMap& ai, Passthrough& out) {
  const auto& ctx = ai.ctx();
  YamlMap pt(ai.take("passthrough"), ai.field("passthrough"), ctx);
  if (!pt.present()) return;
  const auto& kApis = route::passthrough_api_names();
  auto apis = pt.take("apis");
  if (apis.IsDefined() && is_sequence(apis, pt.field("apis"), ctx)) {
    for (std::size_t i = 0; i < apis.size(); ++i) {
      const auto field = pt.field("apis") + "[" + std::to_string(i) + "]";
      auto api = scalar_string(apis[i], field, ctx);
      if (!api) continue;
      if (std::find(kApis.begin(), kApis.end(), *api) == kApis.end()) {
        ctx.error(apis[i], field, "unknown API \"" + *api + "\"; expected one of: " + join(kApis));
        continue;
      }
      out.apis.push_back(*api);
    }
  }
  auto paths = pt.take("paths");
  if (paths.IsDefined() && is_sequence(paths, pt.field("paths"), ctx)) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const auto field = pt.field("paths") + "[" + std::to_string(i) + "]";
      auto path = scalar_string(paths[i], field, ctx);
      if (!path) continue;
      if (path->empty() || path->front() != '/') {
        ctx.error(paths[i], field, "must start with \"/\", found " + shown(paths[i]));
        continue;
      }
      out.paths.push_back(*path);
    }
  }
}

// ai.forwardClientHeaders: which of the headers Sluice drops when it injects its own credential
// (they choose the account or project that pays, or carry the client's cookies) still go through.
void decode_forward_client_headers(YamlMap& ai, std::vector<std::string>& out) {
  const auto& ctx = ai.ctx();
  auto names = ai.take("forwardClientHeaders");
  if (!names.IsDefined() || !is_sequence(names, ai.field("forwardClientHeaders"), ctx)) return;
  static const std::vector<std::string> kDroppable = {"OpenAI-Organization", "OpenAI-Project", "x-goog-user-project",
                                                      "Cookie"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto field = ai.field("forwardClientHeaders") + "[" + std::to_string(i) + "]";
    auto name = scalar_string(names[i], field, ctx);
    if (!name) continue;
    const auto known = std::find_if(kDroppable.begin(), kDroppable.end(),
                                    [&](const std::string& k) { return boost::beast::iequals(k, *name); });
    if (known == kDroppable.end()) {
      ctx.error(names[i], field,
                "\"" + *name + "\" is not a header Sluice drops; expected one of: " + join(kDroppable));
      continue;
    }
    out.push_back(*known);
  }
}

void decode_policy(YamlMap& spec, TrafficPolicy& policy) {
  const auto& ctx = spec.ctx();
  auto refs = spec.take("targetRefs");
  if (!refs.IsDefined()) {
    spec.require("targetRefs", "a list of {kind: Gateway | HTTPRoute | Backend, name}");
  } else if (is_sequence(refs, spec.field("targetRefs"), ctx)) {
    if (refs.size() == 0) ctx.error(refs, spec.field("targetRefs"), "needs at least one target");
    for (std::size_t i = 0; i < refs.size(); ++i) {
      YamlMap ref(refs[i], spec.field("targetRefs") + "[" + std::to_string(i) + "]", ctx, Need::Required);
      if (!ref.present()) continue;
      PolicyTargetRef target;
      ref.ignore("group");
      const auto kind = ref.enumeration<PolicyTargetKind>("kind",
                                                          {{"Gateway", PolicyTargetKind::Gateway},
                                                           {"HTTPRoute", PolicyTargetKind::HTTPRoute},
                                                           {"Backend", PolicyTargetKind::Backend}},
                                                          Need::Required);
      if (kind) target.kind = *kind;
      if (auto name = ref.str("name", Need::Required)) target.name = *name;
      if (!kind) {
        ref.ignore("sectionName");
        continue;  // nothing to attach to
      }
      if (auto section = ref.str("sectionName")) {
        if (target.kind != PolicyTargetKind::HTTPRoute)
          ctx.error(ref.node()["sectionName"], ref.field("sectionName"),
                    "only an HTTPRoute target names a section (a rule)");
        target.sectionName = *section;
      }
      policy.targetRefs.push_back(std::move(target));
    }
  }
  // Each registered section decodes its own field. The section maps report their unknown fields
  // when destroyed, as this function returns.
  std::list<YamlMap> sections;
  for (const auto& section : policy::policy_sections()) {
    if (section.decode == nullptr) continue;
    auto& map = sections.emplace_back(spec.take(section.key), spec.field(section.key), ctx);
    if (map.present()) section.decode(map, policy);
  }
  for (const char* section : {"ai", "timeouts", "rateLimit", "auth"}) {
    if (!spec.has(section) || policy::find_policy_section(section) != nullptr) continue;
    spec.take(section);
    ctx.error(
        spec.node()[section], spec.field(section),
        "the " + std::string(section) + " section of a TrafficPolicy is not supported by this version of Sluice yet");
  }
}

// ai.priorityGroups[].providers[]: each provider is an ai.llm map plus `name` and `weight`.
void decode_priority_groups(YamlMap& ai, std::vector<PriorityGroup>& groups) {
  const auto& ctx = ai.ctx();
  const auto field = ai.field("priorityGroups");
  auto node = ai.take("priorityGroups");
  if (!is_sequence(node, field, ctx)) return;
  if (node.size() == 0) ctx.error(node, field, "needs at least one group");
  std::vector<std::string> names;
  for (std::size_t g = 0; g < node.size(); ++g) {
    const auto group_field = field + "[" + std::to_string(g) + "]";
    YamlMap group(node[g], group_field, ctx, Need::Required);
    PriorityGroup out;
    auto providers = group.take("providers");
    if (!providers.IsDefined()) {
      if (group.present()) group.require("providers", "a list of providers, each {name, <provider>: {...}}");
    } else if (is_sequence(providers, group.field("providers"), ctx)) {
      if (providers.size() == 0) ctx.error(providers, group.field("providers"), "needs at least one provider");
      for (std::size_t i = 0; i < providers.size(); ++i) {
        YamlMap entry(providers[i], group.field("providers") + "[" + std::to_string(i) + "]", ctx, Need::Required);
        if (!entry.present()) continue;
        GroupProvider provider;
        if (auto name = entry.str("name", Need::Required)) {
          check_label(*name, entry.node()["name"], entry.field("name"), ctx);
          if (std::find(names.begin(), names.end(), *name) != names.end()) {
            ctx.error(
                entry.node()["name"], entry.field("name"),
                "provider name \"" + *name + "\" is used twice in this Backend; names must be unique across groups");
          }
          names.push_back(*name);
          provider.name = *name;
        }
        if (auto weight = entry.integer("weight", 0, 1'000'000)) provider.weight = static_cast<unsigned>(*weight);
        decode_llm(entry, provider.llm);
        out.providers.push_back(std::move(provider));
      }
      unsigned total = 0;
      for (const auto& p : out.providers) total += p.weight;
      if (!out.providers.empty() && total == 0)
        ctx.error(providers, group.field("providers"),
                  "every provider has weight 0; at least one needs a positive weight");
    }
    groups.push_back(std::move(out));
  }
}

void decode_backend(YamlMap& spec, Backend& b) {
  const auto& ctx = spec.ctx();
  auto type =
      spec.enumeration<BackendType>("type", {{"AI", BackendType::AI}, {"Static", BackendType::Static}}, Need::Required);
  if (type) b.type = *type;
  b.timeouts = decode_backend_timeouts(spec.take("timeouts"), spec.field("timeouts"), ctx);

  if (type == BackendType::AI) {
    YamlMap ai(spec.take("ai"), spec.field("ai"), ctx, Need::Required);
    if (ai.present()) {
      if (ai.has("priorityGroups")) {
        if (ai.has("llm")) {
          ai.take("llm");
          ctx.error(ai.node()["llm"], ai.field("llm"), "set either llm (one provider) or priorityGroups, not both");
        }
        decode_priority_groups(ai, b.priorityGroups);
      } else {
        YamlMap llm(ai.take("llm"), ai.field("llm"), ctx, Need::Required);
        if (llm.present()) decode_llm(llm, b.llm);
      }
      decode_passthrough(ai, b.passthrough);
      decode_forward_client_headers(ai, b.forwardClientHeaders);
      YamlMap check(ai.take("healthCheck"), ai.field("healthCheck"), ctx);
      if (check.present()) {
        auto& hc = b.healthCheck;
        hc.enabled = true;
        if (auto v = check.duration("interval")) hc.interval = *v;
        if (auto v = check.duration("timeout")) hc.timeout = *v;
        if (auto v = check.str("path")) {
          if (v->empty() || v->front() != '/')
            ctx.error(check.node()["path"], check.field("path"),
                      "must start with \"/\", found " + shown(check.node()["path"]));
          hc.path = *v;
        }
        if (auto v = check.integer("unhealthyThreshold", 1, 100)) hc.unhealthyThreshold = static_cast<unsigned>(*v);
        if (auto v = check.integer("healthyThreshold", 1, 100)) hc.healthyThreshold = static_cast<unsigned>(*v);
        if (hc.interval.count() <= 0) ctx.error(check.node()["interval"], check.field("interval"), "must be positive");
        if (hc.timeout.count() <= 0) ctx.error(check.node()["timeout"], check.field("timeout"), "must be positive");
      }
      YamlMap list(ai.take("modelList"), ai.field("modelList"), ctx);
      if (list.present()) {
        auto& ml = b.modelList;
        if (auto v = list.boolean("fetch")) ml.fetch = *v;
        if (auto v = list.duration("refreshInterval")) {
          if (v->count() < 1000)
            ctx.error(list.node()["refreshInterval"], list.field("refreshInterval"), "must be at least 1s");
          ml.refreshInterval = *v;
        }
        if (auto v = list.duration("timeout")) {
          if (v->count() <= 0) ctx.error(list.node()["timeout"], list.field("timeout"), "must be positive");
          ml.timeout = *v;
        }
      }
      YamlMap breaker(ai.take("circuitBreaker"), ai.field("circuitBreaker"), ctx);
      if (breaker.present()) {
        if (auto v = breaker.integer("maxRequests", 0, 1'000'000))
          b.circuitBreaker.maxRequests = static_cast<unsigned>(*v);
      }
      YamlMap outlier(ai.take("outlierDetection"), ai.field("outlierDetection"), ctx);
      if (outlier.present()) {
        b.outlierDetection.enabled = true;
        if (auto v = outlier.integer("consecutiveFailures", 1, 1000))
          b.outlierDetection.consecutiveFailures = static_cast<unsigned>(*v);
        if (auto v = outlier.duration("baseEjectionTime")) b.outlierDetection.baseEjectionTime = *v;
        if (auto v = outlier.integer("maxEjectionPercent", 0, 100))
          b.outlierDetection.maxEjectionPercent = static_cast<unsigned>(*v);
        if (auto v = outlier.integer("failurePercentage", 1, 100))
          b.outlierDetection.failurePercentage = static_cast<unsigned>(*v);
        if (auto v = outlier.integer("minimumRequests", 1, 1'000'000))
          b.outlierDetection.minimumRequests = static_cast<unsigned>(*v);
        if (auto v = outlier.duration("interval")) {
          if (v->count() <= 0) ctx.error(outlier.node()["interval"], outlier.field("interval"), "must be positive");
          b.outlierDetection.interval = *v;
        }
      }
    }
    if (spec.has("static")) {
      spec.take("static");
      ctx.error(spec.node()["static"], spec.field("static"), "only allowed with type: Static");
    }
  } else if (type == BackendType::Static) {
    YamlMap st(spec.take("static"), spec.field("static"), ctx, Need::Required);
    auto hosts = st.take("hosts");
    if (st.present()) {
      if (!hosts.IsDefined()) {
        st.require("hosts", "a list of {host, port}");
      } else if (is_sequence(hosts, st.field("hosts"), ctx)) {
        for (std::size_t i = 0; i < hosts.size(); ++i) {
          YamlMap h(hosts[i], st.field("hosts") + "[" + std::to_string(i) + "]", ctx, Need::Required);
          StaticHost sh;
          if (auto host = h.str("host", Need::Required)) sh.host = *host;
          if (auto port = decode_port(h, "port", Need::Required)) sh.port = *port;
          if (h.present()) b.hosts.push_back(sh);
        }
        if (hosts.size() == 0) ctx.error(hosts, st.field("hosts"), "needs at least one host");
      }
    }
    b.staticTls = decode_tls(st.take("tls"), st.field("tls"), ctx);
    if (spec.has("ai")) {
      spec.take("ai");
      ctx.error(spec.node()["ai"], spec.field("ai"), "only allowed with type: AI");
    }
  } else {
    spec.ignore("ai");
    spec.ignore("static");
  }
}

// ------------------------------------------------------------------ HTTPRoute

void check_regex(const std::string& pattern, const YAML::Node& at, const std::string& field, const DecodeContext& ctx) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  if (!re.ok()) ctx.error(at, field, "invalid regular expression \"" + pattern + "\": " + re.error());
}

std::vector<ValueMatch> decode_value_matches(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  std::vector<ValueMatch> out;
  if (!node.IsDefined() || !is_sequence(node, path, ctx)) return out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto item_path = path + "[" + std::to_string(i) + "]";
    YamlMap m(node[i], item_path, ctx, Need::Required);
    ValueMatch v;
    if (auto t = m.enumeration<ValueMatchType>(
            "type", {{"Exact", ValueMatchType::Exact}, {"RegularExpression", ValueMatchType::RegularExpression}}))
      v.type = *t;
    if (auto name = m.str("name", Need::Required)) v.name = *name;
    if (auto value = m.str("value", Need::Required)) v.value = *value;
    if (v.type == ValueMatchType::RegularExpression) check_regex(v.value, node[i], item_path + ".value", ctx);
    out.push_back(v);
  }
  return out;
}

// Headers Sluice owns on the way upstream: framing and Host (use URLRewrite hostname).
bool reserved_header(std::string_view name) {
  for (auto reserved : {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
                        "trailer", "proxy-connection"})
    if (boost::beast::iequals(name, reserved)) return true;
  return false;
}

HeaderModifier decode_header_modifier(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  HeaderModifier mod;
  YamlMap m(node, path, ctx, Need::Required);
  auto pairs = [&](std::string_view key, std::vector<std::pair<std::string, std::string>>& out) {
    auto list = m.take(key);
    if (!list.IsDefined() || !is_sequence(list, m.field(key), ctx)) return;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto item_path = m.field(key) + "[" + std::to_string(i) + "]";
      YamlMap h(list[i], item_path, ctx, Need::Required);
      auto name = h.str("name", Need::Required);
      auto value = h.str("value", Need::Required);
      if (name && !http::valid_field_name(*name))
        ctx.error(list[i], item_path + ".name", shown(list[i]["name"]) + " is not a valid header name");
      if (name && reserved_header(*name))
        ctx.error(list[i], item_path + ".name",
                  shown(list[i]["name"]) +
                      " is managed by Sluice and cannot be modified (for Host, use a URLRewrite "
                      "hostname)");
      if (name && value) out.emplace_back(*name, *value);
    }
  };
  pairs("set", mod.set);
  pairs("add", mod.add);
  auto remove = m.take("remove");
  if (remove.IsDefined() && is_sequence(remove, m.field("remove"), ctx)) {
    for (std::size_t i = 0; i < remove.size(); ++i) {
      const auto item_path = m.field("remove") + "[" + std::to_string(i) + "]";
      if (auto name = scalar_string(remove[i], item_path, ctx)) {
        if (reserved_header(*name))
          ctx.error(remove[i], item_path, shown(remove[i]) + " is managed by Sluice and cannot be removed");
        else if (!http::valid_field_name(*name))
          ctx.error(remove[i], item_path, shown(remove[i]) + " is not a valid header name");
        mod.remove.push_back(*name);
      }
    }
  }
  return mod;
}

RouteFilter decode_filter(YAML::Node node, const std::string& path, const DecodeContext& ctx) {
  RouteFilter f;
  YamlMap m(node, path, ctx, Need::Required);
  auto type = m.enumeration<FilterType>("type",
                                        {{"URLRewrite", FilterType::URLRewrite},
                                         {"RequestHeaderModifier", FilterType::RequestHeaderModifier},
                                         {"ResponseHeaderModifier", FilterType::ResponseHeaderModifier},
                                         {"CORS", FilterType::CORS}},
                                        Need::Required);
  if (!type) {
    for (auto k : {"urlRewrite", "requestHeaderModifier", "responseHeaderModifier", "cors", "requestRedirect",
                   "requestMirror", "extensionRef"})
      m.ignore(k);
    return f;
  }
  f.type = *type;
  switch (*type) {
    case FilterType::URLRewrite: {
      YamlMap rw(m.take("urlRewrite"), m.field("urlRewrite"), ctx, Need::Required);
      f.urlRewrite.hostname = rw.str("hostname");
      YamlMap p(rw.take("path"), rw.field("path"), ctx);
      if (p.present()) {
        auto t = p.enumeration<RewritePathType>("type",
                                                {{"ReplaceFullPath", RewritePathType::ReplaceFullPath},
                                                 {"ReplacePrefixMatch", RewritePathType::ReplacePrefixMatch}},
                                                Need::Required);
        f.urlRewrite.pathType = t;
        if (t == RewritePathType::ReplaceFullPath) {
          if (auto v = p.str("replaceFullPath", Need::Required)) f.urlRewrite.pathValue = *v;
          p.ignore("replacePrefixMatch");
        } else if (t == RewritePathType::ReplacePrefixMatch) {
          if (auto v = p.str("replacePrefixMatch", Need::Required)) f.urlRewrite.pathValue = *v;
          p.ignore("replaceFullPath");
        }
        if (t && (f.urlRewrite.pathValue.empty() || f.urlRewrite.pathValue.front() != '/'))
          ctx.error(p.node(), p.field(t == RewritePathType::ReplaceFullPath ? "replaceFullPath" : "replacePrefixMatch"),
                    "must start with \"/\"");
      }
      break;
    }
    case FilterType::RequestHeaderModifier:
      f.headerModifier = decode_header_modifier(m.take("requestHeaderModifier"), m.field("requestHeaderModifier"), ctx);
      break;
    case FilterType::ResponseHeaderModifier:
      f.headerModifier =
          decode_header_modifier(m.take("responseHeaderModifier"), m.field("responseHeaderModifier"), ctx);
      break;
    case FilterType::CORS: {
      // The same fields and checks as a TrafficPolicy's spec.cors: decoded by that section.
      YamlMap cors(m.take("cors"), m.field("cors"), ctx, Need::Required);
      TrafficPolicy decoded;
      if (const auto* section = policy::find_policy_section("cors"); section != nullptr && cors.present())
        section->decode(cors, decoded);
      if (decoded.cors) f.cors = std::move(*decoded.cors);
      break;
    }
  }
  return f;
}

void decode_route(YamlMap& spec, HttpRoute& route) {
  const auto& ctx = spec.ctx();
  spec.ignore("parentRefs");
  auto hostnames = spec.take("hostnames");
  if (hostnames.IsDefined() && is_sequence(hostnames, spec.field("hostnames"), ctx)) {
    for (std::size_t i = 0; i < hostnames.size(); ++i) {
      if (auto h = scalar_string(hostnames[i], spec.field("hostnames") + "[" + std::to_string(i) + "]", ctx)) {
        std::string lower = *h;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        route.hostnames.push_back(lower);
      }
    }
  }
  auto rules = spec.take("rules");
  if (!rules.IsDefined()) {
    spec.require("rules", "a list of rules");
    return;
  }
  if (!is_sequence(rules, spec.field("rules"), ctx)) return;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const auto rule_path = spec.field("rules") + "[" + std::to_string(r) + "]";
    YamlMap rm(rules[r], rule_path, ctx, Need::Required);
    RouteRule rule;
    if (auto name = rm.str("name")) {
      check_label(*name, rm.node()["name"], rm.field("name"), ctx);
      rule.name = *name;
    } else {
      rule.name = "rule" + std::to_string(r);
    }

    auto matches = rm.take("matches");
    if (matches.IsDefined() && is_sequence(matches, rm.field("matches"), ctx)) {
      for (std::size_t i = 0; i < matches.size(); ++i) {
        const auto match_path = rm.field("matches") + "[" + std::to_string(i) + "]";
        YamlMap mm(matches[i], match_path, ctx, Need::Required);
        RouteMatch match;
        YamlMap pm(mm.take("path"), mm.field("path"), ctx);
        if (pm.present()) {
          if (auto t = pm.enumeration<PathMatchType>("type", {{"Exact", PathMatchType::Exact},
                                                              {"PathPrefix", PathMatchType::PathPrefix},
                                                              {"RegularExpression", PathMatchType::RegularExpression}}))
            match.path.type = *t;
          if (auto v = pm.str("value")) match.path.value = *v;
          if (match.path.type == PathMatchType::RegularExpression) {
            check_regex(match.path.value, pm.node(), pm.field("value"), ctx);
          } else if (match.path.value.empty() || match.path.value.front() != '/') {
            ctx.error(pm.node(), pm.field("value"), "must start with \"/\", found " + shown(pm.node()["value"]));
          }
          if (match.path.type == PathMatchType::PathPrefix && match.path.value.size() > 1 &&
              match.path.value.back() == '/')
            match.path.value.pop_back();
        }
        if (auto method = mm.str("method")) {
          static const std::vector<std::string> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                            "CONNECT", "OPTIONS", "TRACE", "PATCH"};
          if (std::find(kMethods.begin(), kMethods.end(), *method) == kMethods.end())
            ctx.error(mm.node()["method"], mm.field("method"),
                      "unknown method \"" + *method + "\"; expected one of " + join(kMethods));
          match.method = *method;
        }
        match.headers = decode_value_matches(mm.take("headers"), mm.field("headers"), ctx);
        match.queryParams = decode_value_matches(mm.take("queryParams"), mm.field("queryParams"), ctx);
        rule.matches.push_back(std::move(match));
      }
    }
    if (rule.matches.empty()) rule.matches.push_back(RouteMatch{});

    auto filters = rm.take("filters");
    if (filters.IsDefined() && is_sequence(filters, rm.field("filters"), ctx)) {
      for (std::size_t i = 0; i < filters.size(); ++i) {
        const auto filter_path = rm.field("filters") + "[" + std::to_string(i) + "]";
        auto filter = decode_filter(filters[i], filter_path, ctx);
        if (filter.type == FilterType::URLRewrite &&
            filter.urlRewrite.pathType == RewritePathType::ReplacePrefixMatch) {
          for (const auto& match : rule.matches) {
            if (match.path.type != PathMatchType::PathPrefix) {
              ctx.error(filters[i], filter_path + ".urlRewrite.path",
                        "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match");
              break;
            }
          }
        }
        rule.filters.push_back(std::move(filter));
      }
    }

    auto refs = rm.take("backendRefs");
    if (!refs.IsDefined()) {
      rm.require("backendRefs", "at least one {kind: Backend, name}");
    } else if (is_sequence(refs, rm.field("backendRefs"), ctx)) {
      for (std::size_t i = 0; i < refs.size(); ++i) {
        const auto ref_path = rm.field("backendRefs") + "[" + std::to_string(i) + "]";
        YamlMap bm(refs[i], ref_path, ctx, Need::Required);
        BackendRef ref;
        const auto group = bm.str("group").value_or("sluice.dev");
        const auto kind = bm.str("kind").value_or("Backend");
        if (kind != "Backend" || group != "sluice.dev")
          ctx.error(refs[i], ref_path,
                    "refers to " + (group.empty() ? std::string("core") : group) + " " + kind +
                        "; Sluice routes to sluice.dev Backends (group: sluice.dev, kind: Backend)");
        if (auto name = bm.str("name", Need::Required)) ref.name = *name;
        if (auto w = bm.integer("weight", 0, 1'000'000)) ref.weight = static_cast<unsigned>(*w);
        bm.ignore("namespace");
        bm.ignore("port");
        rule.backendRefs.push_back(ref);
      }
      if (rule.backendRefs.empty()) ctx.error(refs, rm.field("backendRefs"), "needs at least one backend");
    }
    YamlMap timeouts(rm.take("timeouts"), rm.field("timeouts"), ctx);
    rule.timeouts.request = timeouts.duration("request");
    rule.timeouts.backendRequest = timeouts.duration("backendRequest");
    route.rules.push_back(std::move(rule));
  }
  // Rule names must be unique within a route: metrics and logs are labelled with them.
  for (std::size_t i = 0; i < route.rules.size(); ++i)
    for (std::size_t j = i + 1; j < route.rules.size(); ++j)
      if (route.rules[i].name == route.rules[j].name)
        ctx.error(rules[j], spec.field("rules") + "[" + std::to_string(j) + "].name",
                  "duplicate rule name \"" + route.rules[j].name + "\"");
}

// ------------------------------------------------------------------ documents

std::string scalar_or_empty(const YAML::Node& node) {
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : std::string();
}

struct Loader {
  const LoadOptions& options;
  LoadResult result;

  void load_document(const YAML::Node& doc, const std::string& file) {
    if (!doc.IsDefined() || doc.IsNull()) return;
    DecodeContext file_ctx{result.diagnostics, file, ""};
    if (!doc.IsMap()) {
      file_ctx.error(doc, "", "a document must be a mapping with apiVersion, kind, metadata");
      return;
    }
    const auto api = scalar_or_empty(doc["apiVersion"]);
    const auto kind = scalar_or_empty(doc["kind"]);
    const auto meta_node = doc["metadata"];
    const auto name = meta_node.IsDefined() && meta_node.IsMap() ? scalar_or_empty(meta_node["name"]) : std::string();
    DecodeContext ctx{result.diagnostics, file,
                      (kind.empty() ? "<no kind>" : kind) + "/" + (name.empty() ? "<no name>" : name), options.fields};
    YamlMap top(doc, "", ctx);
    top.take("apiVersion");
    top.take("kind");
    top.ignore("status");
    {
      YamlMap meta(top.take("metadata"), "metadata", ctx, Need::Required);
      if (meta.str("name", Need::Required)) check_subdomain(name, meta.node()["name"], meta.field("name"), ctx);
      for (auto k : {"namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp"})
        meta.ignore(k);
    }
    Origin origin{file, doc.Mark().line + 1, kind, name};

    auto expect_api = [&](std::initializer_list<std::string_view> apis) {
      for (auto a : apis)
        if (api == a) return true;
      std::string expected;
      for (auto a : apis) expected += (expected.empty() ? "" : " or ") + std::string(a);
      ctx.error(doc["apiVersion"], "apiVersion",
                "expected " + expected + " for kind " + kind + ", found \"" + api + "\"");
      return false;
    };

    if (kind == "Gateway") {
      top.ignore("spec");
      if (!expect_api({kSluiceApi})) return;
      if (result.config.gateway) {
        ctx.error(doc, "",
                  "a second Gateway; Sluice serves one Gateway (the first is " + result.config.gateway->origin.id() +
                      " in " + result.config.gateway->origin.file + ")");
        return;
      }
      Gateway gw{origin, {}};
      YamlMap spec(top.take("spec"), "spec", ctx);
      decode_gateway(spec, gw);
      result.config.gateway = std::move(gw);
    } else if (kind == "Secret") {
      if (!expect_api({"v1"})) {
        top.ignore("stringData");
        top.ignore("data");
        top.ignore("type");
        return;
      }
      Secret secret{origin, {}};
      decode_secret(top, secret);
      add_unique(result.config.secrets, std::move(secret), doc, ctx);
    } else if (kind == "Backend") {
      top.ignore("spec");
      if (!expect_api({kSluiceApi})) return;
      Backend backend;
      backend.origin = origin;
      YamlMap spec(top.take("spec"), "spec", ctx, Need::Required);
      if (spec.present()) decode_backend(spec, backend);
      add_unique(result.config.backends, std::move(backend), doc, ctx);
    } else if (kind == "HTTPRoute") {
      top.ignore("spec");
      if (!expect_api({kGatewayApiV1, kGatewayApiV1beta1})) return;
      for (const auto& existing : result.config.routes) {
        if (existing.origin.name == name) {
          ctx.error(doc, "metadata.name",
                    "duplicate HTTPRoute name (first defined in " + existing.origin.file + ":" +
                        std::to_string(existing.origin.line) + ")");
          return;
        }
      }
      HttpRoute route;
      route.origin = origin;
      YamlMap spec(top.take("spec"), "spec", ctx, Need::Required);
      if (spec.present()) decode_route(spec, route);
      result.config.routes.push_back(std::move(route));
    } else if (kind == "TrafficPolicy") {
      top.ignore("spec");
      if (!expect_api({kSluiceApi})) return;
      TrafficPolicy policy;
      policy.origin = origin;
      YamlMap spec(top.take("spec"), "spec", ctx, Need::Required);
      if (spec.present()) decode_policy(spec, policy);
      add_unique(result.config.policies, std::move(policy), doc, ctx);
    } else {
      for (auto k : {"spec", "data", "stringData", "type"}) top.ignore(k);
      if (kind.empty()) {
        ctx.error(doc, "kind", "is required (one of Gateway, HTTPRoute, Backend, TrafficPolicy, Secret)");
      } else {
        ctx.error(doc["kind"], "kind",
                  "unknown kind \"" + kind + "\"; expected one of Gateway, HTTPRoute, Backend, TrafficPolicy, Secret");
      }
    }
  }

  template <typename T>
  void add_unique(std::map<std::string, T>& into, T item, const YAML::Node& doc, const DecodeContext& ctx) {
    const auto name = item.origin.name;
    if (name.empty()) return;
    auto [it, inserted] = into.emplace(name, std::move(item));
    if (!inserted)
      ctx.error(doc, "metadata.name",
                "duplicate " + it->second.origin.kind + " name (first defined in " + it->second.origin.file + ":" +
                    std::to_string(it->second.origin.line) + ")");
  }

  void file_error(const std::string& file, int line, std::string message) {
    result.diagnostics.add(Diagnostic{Severity::Error, file, line, "", "", std::move(message)});
  }

  void load_text(const std::string& text, const std::string& file) {
    result.config.sources.push_back(file);
    std::vector<YAML::Node> docs;
    try {
      if (auto problem = check_yaml_bounds(text)) {
        file_error(file, problem->line, problem->message);
        return;
      }
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      file_error(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax error: " + e.msg);
      return;
    } catch (const std::bad_alloc&) {
      file_error(file, 0, "out of memory while parsing this file");
      return;
    } catch (const std::exception& e) {
      file_error(file, 0, std::string("cannot parse this file: ") + e.what());
      return;
    }
    for (const auto& doc : docs) {
      const int line = doc.Mark().line >= 0 ? doc.Mark().line + 1 : 0;
      try {
        load_document(doc, file);
      } catch (const YAML::Exception& e) {
        // A shape the decoder did not expect must become a message, never a crash.
        file_error(file, e.mark.line >= 0 ? e.mark.line + 1 : line, "cannot decode this document: " + e.msg);
      } catch (const std::bad_alloc&) {
        file_error(file, line, "out of memory while decoding this document");
      } catch (const std::exception& e) {
        file_error(file, line, std::string("cannot decode this document: ") + e.what());
      }
    }
  }

  // ---------------------------------------------------------------- cross-references
  void secret_problem(const Origin& origin, const std::string& field, const std::string& message) {
    result.diagnostics.add(Diagnostic{options.strictSecrets ? Severity::Error : Severity::Warning, origin.file,
                                      origin.line, origin.id(), field, message});
  }

  // `origin` is the resource naming the Secret (a Backend, the Gateway).
  void check_secret_ref(const Origin& origin, const SecretKeyRef& ref, const std::string& field) {
    if (ref.name.empty()) return;  // already reported as a missing required field
    const auto it = result.config.secrets.find(ref.name);
    if (it == result.config.secrets.end()) {
      std::vector<std::string> names;
      for (const auto& [n, _] : result.config.secrets) names.push_back(n);
      secret_problem(
          origin, field + ".name",
          "Secret \"" + ref.name + "\" not found" +
              (names.empty() ? std::string("; no Secrets are defined") : "; defined Secrets: " + join(names)));
      return;
    }
    const auto key = it->second.data.find(ref.key);
    if (key == it->second.data.end()) {
      std::vector<std::string> keys;
      for (const auto& [k, _] : it->second.data) keys.push_back(k);
      secret_problem(origin, field + ".key",
                     "Secret \"" + ref.name + "\" has no key \"" + ref.key + "\"" +
                         (keys.empty() ? std::string("") : "; its keys: " + join(keys)));
    } else if (!key->second.problem.empty()) {
      secret_problem(origin, field, key->second.problem);
    }
  }

  // A Secret key used as a credential goes into a request head: it must hold no CR, LF or NUL.
  // The message names the Secret and key, never the value.
  void check_head_secret(const Backend& b, const std::string& secret, const std::string& key,
                         const std::string& field) {
    const auto it = result.config.secrets.find(secret);
    if (it == result.config.secrets.end()) return;
    const auto value = it->second.data.find(key);
    if (value == it->second.data.end() || !value->second.problem.empty() || head_safe(value->second.value)) return;
    result.diagnostics.add(Diagnostic{Severity::Error, b.origin.file, b.origin.line, b.origin.id(), field,
                                      "Secret \"" + secret + "\" key \"" + key + "\" (" + it->second.origin.file + ":" +
                                          std::to_string(it->second.origin.line) +
                                          ") holds a line break (CR or LF) or NUL inside its value (only one "
                                          "trailing newline is trimmed); it cannot be sent in an HTTP head"});
  }

  // A TrafficPolicy's targets must exist; a section must name a rule of its HTTPRoute.
  void check_policy_targets() {
    // Plain references, not structured bindings: lambdas below capture them (clang 14 cannot).
    for (const auto& entry : result.config.policies) {
      const auto& policy = entry.second;
      for (const auto& section : policy::policy_sections())
        if (section.check_references) section.check_references(policy, result.config, result.diagnostics);
      for (std::size_t i = 0; i < policy.targetRefs.size(); ++i) {
        const auto& ref = policy.targetRefs[i];
        const auto field = "spec.targetRefs[" + std::to_string(i) + "]";
        auto problem = [&](const std::string& f, const std::string& message) {
          result.diagnostics.add(
              Diagnostic{Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(), f, message});
        };
        if (ref.name.empty()) continue;
        switch (ref.kind) {
          case PolicyTargetKind::Gateway:
            if (!result.config.gateway || result.config.gateway->origin.name != ref.name)
              problem(field + ".name",
                      "Gateway \"" + ref.name + "\" not found" +
                          (result.config.gateway ? "; the Gateway is \"" + result.config.gateway->origin.name + "\""
                                                 : std::string("; no Gateway is defined")));
            break;
          case PolicyTargetKind::Backend:
            if (!result.config.backends.contains(ref.name)) {
              std::vector<std::string> names;
              for (const auto& [n, _] : result.config.backends) names.push_back(n);
              problem(field + ".name", "Backend \"" + ref.name + "\" not found" +
                                           (names.empty() ? std::string("; no Backends are defined")
                                                          : "; defined Backends: " + join(names)));
            }
            break;
          case PolicyTargetKind::HTTPRoute: {
            const HttpRoute* route = nullptr;
            for (const auto& r : result.config.routes)
              if (r.origin.name == ref.name) route = &r;
            if (route == nullptr) {
              std::vector<std::string> names;
              for (const auto& r : result.config.routes) names.push_back(r.origin.name);
              problem(field + ".name", "HTTPRoute \"" + ref.name + "\" not found" +
                                           (names.empty() ? std::string("; no HTTPRoutes are defined")
                                                          : "; defined HTTPRoutes: " + join(names)));
            } else if (!ref.sectionName.empty()) {
              std::vector<std::string> rules;
              for (const auto& rule : route->rules) rules.push_back(rule.name);
              if (std::find(rules.begin(), rules.end(), ref.sectionName) == rules.end())
                problem(field + ".sectionName", "HTTPRoute \"" + ref.name + "\" has no rule \"" + ref.sectionName +
                                                    "\"; its rules: " + join(rules));
            }
            break;
          }
        }
      }
    }
  }

  void check_references() {
    if (result.config.gateway && result.config.gateway->spec.redis) {
      const auto& gateway = *result.config.gateway;
      const auto& redis = *gateway.spec.redis;
      if (redis.passwordRef) check_secret_ref(gateway.origin, *redis.passwordRef, "spec.redis.passwordRef");
      if (redis.tls.caCertificate && redis.tls.mode == RedisTlsMode::Enabled && !redis.tls.insecureSkipVerify)
        check_secret_ref(gateway.origin, *redis.tls.caCertificate, "spec.redis.tls.caCertificateRef");
    }
    for (const auto& entry : result.config.backends) {
      const auto& b = entry.second;
      if (b.type != BackendType::AI) {
        if (b.staticTls.caCertificate)
          check_secret_ref(b.origin, *b.staticTls.caCertificate, "spec.static.tls.caCertificateRef");
        continue;
      }
      auto check_provider = [&](const LlmProvider& llm, const std::string& base) {
        const std::string provider(provider_key(llm.kind));
        if (llm.authToken.kind == AuthKind::SecretRef) {
          const auto& ref = llm.authToken.secretRef;
          const auto field = base + "." + provider + ".authToken.secretRef";
          check_secret_ref(b.origin, ref, field);
          check_head_secret(b, ref.name, ref.key, field);
          // Rotated keys (apiKey2, apiKey3, ...) are sent too.
          const auto secret = result.config.secrets.find(ref.name);
          for (int n = 2;
               secret != result.config.secrets.end() && secret->second.data.contains(ref.key + std::to_string(n)); ++n)
            check_head_secret(b, ref.name, ref.key + std::to_string(n), field);
        }
        if (llm.kind == ProviderKind::Bedrock && !llm.bedrock.credentialsSecret.empty()) {
          for (const char* key : {"accessKeyId", "secretAccessKey"})
            check_secret_ref(b.origin, SecretKeyRef{llm.bedrock.credentialsSecret, key},
                             base + ".bedrock.credentials.secretRef");
          for (const char* key : {"accessKeyId", "secretAccessKey", "sessionToken"})
            check_head_secret(b, llm.bedrock.credentialsSecret, key, base + ".bedrock.credentials.secretRef");
        }
        if (llm.tls.caCertificate) check_secret_ref(b.origin, *llm.tls.caCertificate, base + ".tls.caCertificateRef");
      };
      if (b.priorityGroups.empty()) {
        check_provider(b.llm, "spec.ai.llm");
      } else {
        for (std::size_t g = 0; g < b.priorityGroups.size(); ++g)
          for (std::size_t i = 0; i < b.priorityGroups[g].providers.size(); ++i)
            check_provider(b.priorityGroups[g].providers[i].llm,
                           "spec.ai.priorityGroups[" + std::to_string(g) + "].providers[" + std::to_string(i) + "]");
      }
    }
    for (const auto& route : result.config.routes) {
      for (std::size_t r = 0; r < route.rules.size(); ++r) {
        const auto& rule = route.rules[r];
        for (std::size_t i = 0; i < rule.backendRefs.size(); ++i) {
          const auto& ref = rule.backendRefs[i];
          if (ref.name.empty() || result.config.backends.contains(ref.name)) continue;
          std::vector<std::string> names;
          for (const auto& [n, _] : result.config.backends) names.push_back(n);
          result.diagnostics.add(Diagnostic{
              Severity::Error, route.origin.file, route.origin.line, route.origin.id(),
              "spec.rules[" + std::to_string(r) + "].backendRefs[" + std::to_string(i) + "].name",
              "Backend \"" + ref.name + "\" not found" +
                  (names.empty() ? std::string("; no Backends are defined") : "; defined Backends: " + join(names))});
        }
        unsigned total_weight = 0;
        for (const auto& ref : rule.backendRefs) total_weight += ref.weight;
        if (!rule.backendRefs.empty() && total_weight == 0)
          result.diagnostics.add(Diagnostic{Severity::Error, route.origin.file, route.origin.line, route.origin.id(),
                                            "spec.rules[" + std::to_string(r) + "].backendRefs",
                                            "every backendRef has weight 0; at least one needs a positive weight"});
      }
    }
  }
};

// Reads a regular file of at most kMaxConfigFileBytes; nullopt (and why in `error`) otherwise.
std::optional<std::string> read_file(const fs::path& path, std::string* error) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) {
    *error = "cannot read file: " + ec.message();
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    *error = "not a regular file; a configuration path names YAML files or a directory of them";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read file: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  std::string text;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      *error = "file is larger than the limit of " + std::to_string(kMaxConfigFileBytes) + " bytes";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    *error = "cannot read file: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  return text;
}

bool yaml_extension(const fs::path& path) {
  const auto ext = path.extension();
  return ext == ".yaml" || ext == ".yml";
}

// The files `path` names, in load order; problems with entries go to `errors`.
std::vector<fs::path> list_files(const std::string& path, Diagnostics& errors) {
  std::error_code ec;
  const fs::path root(path);
  std::vector<fs::path> files;
  const auto status = fs::status(root, ec);
  if (ec || !fs::exists(status)) {
    errors.add(Diagnostic{Severity::Error, path, 0, "", "",
                          ec && ec != std::errc::no_such_file_or_directory ? "cannot read: " + ec.message()
                                                                           : "no such file or directory"});
    return files;
  }
  if (!fs::is_directory(status)) {
    files.push_back(root);
    return files;
  }
  fs::directory_iterator it(root, ec);
  if (ec) {
    errors.add(Diagnostic{Severity::Error, path, 0, "", "", "cannot read directory: " + ec.message()});
    return files;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      errors.add(Diagnostic{Severity::Error, path, 0, "", "", "cannot read directory: " + ec.message()});
      break;
    }
    const auto& entry_path = it->path();
    if (!yaml_extension(entry_path)) continue;
    // Subdirectories are not read (documented). Every other *.yaml entry must be a readable
    // regular file: a symlink loop, a dangling link or a FIFO is reported (read_file says why).
    std::error_code status_ec;
    if (fs::is_directory(it->status(status_ec)) && !status_ec) continue;
    files.push_back(entry_path);
  }
  std::sort(files.begin(), files.end());
  if (files.empty() && !errors.has_errors())
    errors.add(Diagnostic{Severity::Error, path, 0, "", "", "directory holds no *.yaml or *.yml files"});
  return files;
}

// What to report when loading failed with an exception nothing more specific caught.
Diagnostic load_failure(const std::string& where, const char* what) {
  return Diagnostic{Severity::Error, where, 0, "", "", std::string("cannot load the configuration: ") + what};
}

}  // namespace

LoadResult load_sources(const std::vector<Source>& sources, const LoadOptions& options) {
  Loader loader{options, {}};
  try {
    for (const auto& source : sources) loader.load_text(source.text, source.label);
    loader.check_references();
    loader.check_policy_targets();
  } catch (const std::bad_alloc&) {
    loader.result.diagnostics.add(
        load_failure(sources.empty() ? std::string() : sources.front().label, "out of memory"));
  } catch (const std::exception& e) {
    loader.result.diagnostics.add(load_failure(sources.empty() ? std::string() : sources.front().label, e.what()));
  }
  return std::move(loader.result);
}

LoadResult load_path(const std::string& path, const LoadOptions& options) {
  try {
    std::vector<Source> sources;
    Diagnostics read_errors;
    for (const auto& file : list_files(path, read_errors)) {
      std::string error;
      if (auto text = read_file(file, &error)) {
        sources.push_back(Source{file.string(), std::move(*text)});
      } else {
        read_errors.add(Diagnostic{Severity::Error, file.string(), 0, "", "", error});
      }
    }
    auto result = load_sources(sources, options);
    for (const auto& d : read_errors.items()) result.diagnostics.add(d);
    return result;
  } catch (const std::bad_alloc&) {
    LoadResult result;
    result.diagnostics.add(load_failure(path, "out of memory"));
    return result;
  } catch (const std::exception& e) {
    LoadResult result;
    result.diagnostics.add(load_failure(path, e.what()));
    return result;
  }
}

}  // namespace sluice::config
