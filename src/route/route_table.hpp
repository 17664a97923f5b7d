// RouteTable: the compiled form of every HTTPRoute, answering "which rule serves this request?"
// in Gateway API precedence order: hostname specificity (exact > wildcard > any), then
// Exact path > longest PathPrefix > RegularExpression, then method match, then more header
// matches, then more query matches, then file order. Also applies the rule's URLRewrite.
// Immutable after build(); safe to share between threads.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"

namespace sluice::route {

// What the matcher needs to know of a request; header lookup is a callback so the caller's
// header container is used as is.
struct RequestView {
  std::string_view method;
  std::string_view host;  // Host header, port stripped, lower case
  std::string_view path;  // without query
  std::string_view query;
  // Returns the value of a request header (case-insensitive name), or nullopt.
  std::optional<std::string_view> (*header)(const void* ctx, std::string_view name) = nullptr;
  const void* header_ctx = nullptr;
};

struct CompiledRule {
  const config::HttpRoute* route = nullptr;
  const config::RouteRule* rule = nullptr;
  std::string id;         // "route/rule", the label in logs and metrics
  std::size_t index = 0;  // position in RouteTable::rules(): the key of per-rule compiled data
  std::vector<const config::HeaderModifier*> request_header_filters;
  std::vector<const config::HeaderModifier*> response_header_filters;
  const config::UrlRewrite* rewrite = nullptr;
  unsigned total_weight = 0;
};

struct RouteMatchResult {
  const CompiledRule* rule = nullptr;
  std::string_view matched_prefix;  // PathPrefix value when that kind of match won
  std::optional<std::string> rewritten_path;
  std::optional<std::string> rewritten_host;
};

class RouteTable {
 public:
  // `config` must outlive the table (the snapshot owns both).
  static RouteTable build(const config::Config& config);

  std::optional<RouteMatchResult> match(const RequestView& request) const;
  const std::vector<std::unique_ptr<CompiledRule>>& rules() const { return rules_; }

 private:
  struct Entry {
    const CompiledRule* rule;
    const config::RouteMatch* match;
    std::vector<std::string> hostnames;  // empty: any host
    int host_rank;                       // 0 exact, 1 wildcard, 2 any
    std::shared_ptr<const RE2> path_regex;
    std::vector<std::shared_ptr<const RE2>> header_regex;  // parallel to match->headers
    std::vector<std::shared_ptr<const RE2>> query_regex;   // parallel to match->queryParams
    std::size_t order;
  };

  static bool host_matches(const Entry& entry, std::string_view host);
  static bool path_matches(const Entry& entry, std::string_view path);

  std::vector<std::unique_ptr<CompiledRule>> rules_;
  std::vector<Entry> entries_;
};

// Looks up a query parameter's first value (no percent-decoding). Exposed for tests.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace sluice::route
