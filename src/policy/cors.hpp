// CORS: the TrafficPolicy `cors` section and the HTTPRoute `CORS` filter (the Gateway API's
// HTTPCORSFilter fields), one stage for both. The stage runs at RequestHead, first among the
// TrafficPolicy stages (before auth):
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered by Sluice
//     with 204 — with the Access-Control-Allow-* headers when the origin, the method and the
//     headers asked for are allowed, without them otherwise — and never goes upstream, so it
//     needs no credential;
//   - an actual request from an allowed origin gets Access-Control-Allow-Origin (the origin
//     echoed, with Vary: Origin, or `*`), -Allow-Credentials and -Expose-Headers as configured,
//     through the request's response header lines, which the responder writes on every answer
//     (relayed, converted, local and errors, a 401 from auth included); the upstream's own
//     Access-Control-* headers are dropped.
// The rule's stage carries every level: the policies of the Gateway, the HTTPRoute and the rule,
// then the rule's CORS filter, then (per Backend the rule sends to) the Backend's policies, merged
// field by field, the specific winning. A Backend-level policy therefore makes no stage of its own.
//
// Stages and compiled rules are immutable and thread-safe; matching allocates nothing, the header
// lines of a request with an Origin are appended to its (per-request) string.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"

namespace sluice::policy {

// The problem with an allowOrigins entry, or empty when it is one of: `*`, an origin
// (scheme://host[:port], no path) or a wildcard origin (scheme://*.host[:port]).
std::string cors_origin_problem(std::string_view pattern);

// One allowOrigins entry, compiled.
class OriginPattern {
 public:
  explicit OriginPattern(std::string_view pattern);  // a valid pattern (cors_origin_problem is empty)
  // Whether an Origin header's value matches (scheme and host case-insensitively; the port
  // exactly, none matching none). `https://*.example.com` matches one or more labels before
  // .example.com, not example.com itself.
  bool matches(std::string_view origin) const;
  bool any() const { return kind_ == Kind::Any; }

 private:
  enum class Kind { Any, Exact, Subdomains };
  Kind kind_ = Kind::Any;
  std::string scheme_;  // Subdomains: "https://"
  std::string rest_;    // Exact: the whole origin; Subdomains: ".example.com[:port]"
};

// A merged CORS policy, compiled: the header lines a preflight and an actual request get.
class CorsRules {
 public:
  explicit CorsRules(const config::CorsPolicy& merged);

  bool allows_origin(std::string_view origin) const;
  // A preflight from `origin` asking for `method` and `request_headers` (the comma-separated
  // Access-Control-Request-Headers, possibly empty): appends its header lines ("name: value\r\n")
  // to `out` — the Access-Control-Allow-* ones only when all three are allowed.
  void preflight_headers(std::string_view origin, std::string_view method, std::string_view request_headers,
                         std::string& out) const;
  // An actual request from `origin`: appends its header lines to `out` (nothing but Vary when the
  // origin is not allowed).
  void actual_headers(std::string_view origin, std::string& out) const;

 private:
  bool allows_method(std::string_view method) const;
  bool allows_headers(std::string_view request_headers) const;
  void append_origin(std::string_view origin, std::string& out) const;

  std::vector<OriginPattern> origins_;
  bool any_origin_ = false;
  bool credentials_ = false;
  bool any_method_ = false;
  bool any_header_ = false;
  std::vector<std::string> methods_;
  std::vector<std::string> headers_;
  std::string methods_line_;  // "Access-Control-Allow-Methods: POST, GET\r\n", empty when none are listed
  std::string headers_line_;
  std::string expose_line_;
  std::string max_age_line_;
};

// `specific`'s set fields over `general`'s.
config::CorsPolicy merge(const config::CorsPolicy& general, const config::CorsPolicy& specific);

// The CORS stage of a rule: `rule` (null when only some Backends have a policy) for every Backend
// but those listed in `backends`, which get their own merged policy.
std::shared_ptr<const pipeline::Stage> make_cors_stage(
    const std::optional<config::CorsPolicy>& rule,
    std::span<const std::pair<const config::Backend*, config::CorsPolicy>> backends);

// TrafficPolicy spec.cors as a policy section (registered with cors_section_entry()).
struct CorsSection {
  using Value = config::CorsPolicy;
  static constexpr std::string_view key = "cors";
  static constexpr auto field = &config::TrafficPolicy::cors;
  static constexpr std::string_view every_branch = "{allowOrigins: [\"*\"]}";
  static Value decode(config::YamlMap& section);
  // Origins as cors_origin_problem accepts them; methods and header names as HTTP tokens (or `*`).
  static void validate(const Value& value, const config::YamlMap& section);
  static Value merge(const Value& general, const Value& specific) { return policy::merge(general, specific); }
  static std::shared_ptr<const pipeline::Stage> make_stage(Value merged, const SectionContext& context);
};

// The rule's stage from every level (the header comment): nothing at a Backend's level.
Stages compile_cors(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context);

// CorsSection's registry entry, compiled by compile_cors.
constexpr PolicySection cors_section_entry() {
  auto entry = section_entry<CorsSection>();
  entry.compile = &compile_cors;
  return entry;
}

}  // namespace sluice::policy
