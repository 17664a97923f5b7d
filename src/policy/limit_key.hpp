// LimitKey: what a rate limit or a budget counts separately — its `by` list compiled once
// (principal, principal.metadata.<key>, model, route, backend, header:<name>, clientIP) — and the
// values one request gives those parts. Each distinct combination of values has its own
// counter; the values are written into a counter's identity (`append_values`) unambiguously
// (every value length-prefixed, so "a|b" + "c" never equals "a" + "b|c").
//
// A part a request has no value for counts under a value of its own: an anonymous caller (no
// principal) under "-", a missing principal metadata key or header under "" — so anonymous
// callers share one counter, never escape the limit. `model` is the model after aliasing
// (RequestContext::info.model), known from RequestBody on; a key that names it needs the body.
// Immutable after parsing; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/stage.hpp"

namespace sluice::policy {

struct LimitKeyPart {
  enum class Kind { Principal, PrincipalMetadata, Model, Route, Backend, Header, ClientIP };
  Kind kind = Kind::Principal;
  std::string name;  // PrincipalMetadata: the key; Header: the lowercase header name
};

class LimitKey {
 public:
  // Parses a `by` list; on a part it does not know, nullopt and `error` saying which and what is
  // accepted.
  static std::optional<LimitKey> parse(const std::vector<std::string>& by, std::string* error);

  const std::vector<LimitKeyPart>& parts() const { return parts_; }
  // Whether a value comes from the request body (the model): the key is then read at RequestBody.
  bool needs_body() const;
  // The `by` list as written, for names in logs and /status ("principal,model").
  const std::string& description() const { return description_; }

  // Appends the request's values of every part to `out`.
  void append_values(const pipeline::RequestContext& request, std::string& out) const;
  // The same values as "part=value" pairs joined by ",", for people (/spend, /status).
  std::string describe_values(const pipeline::RequestContext& request) const;

 private:
  std::vector<LimitKeyPart> parts_;
  std::string description_;
};

// Sets `entry.identity` (a rate limit or a budget: it has `policy`, `by` and `identity`): the
// policy, the kind ("local", "requests", "tokens|Total", "budget"), the unit or period and the
// `by` parts — not the numbers, so a reload that changes a limit keeps its counters. An entry
// identical in those to one `before` it in the same list gets its position appended.
template <typename Entry>
void assign_identity(Entry& entry, std::string_view kind, std::string_view unit, std::size_t index,
                     const std::vector<Entry>& before) {
  entry.identity = entry.policy + "|" + std::string(kind) + "|" + std::string(unit) + "|";
  for (const auto& part : entry.by) entry.identity += part + ",";
  for (const auto& seen : before)
    if (seen.identity == entry.identity) entry.identity += "#" + std::to_string(index);
}

// What `by` accepts, for messages.
inline constexpr std::string_view kLimitKeyParts =
    "principal, principal.metadata.<key>, model, route, backend, header:<name>, clientIP";

}  // namespace sluice::policy
