#include "route/route_table.hpp"

#include <algorithm>

namespace sluice::route {

namespace {

std::shared_ptr<const RE2> compile(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(pattern, options);
  return re->ok() ? re : nullptr;
}

bool value_matches(const config::ValueMatch& m, const std::shared_ptr<const RE2>& re, std::string_view value) {
  if (m.type == config::ValueMatchType::Exact) return value == m.value;
  return re && RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re);
}

}  // namespace

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

RouteTable RouteTable::build(const config::Config& config) {
  RouteTable table;
  std::size_t order = 0;
  for (const auto& route : config.routes) {
    // One entry per hostname, each ranked by its own kind, so a route's wildcard never
    // borrows the precedence of its exact names.
    std::vector<std::pair<std::vector<std::string>, int>> host_groups;
    if (route.hostnames.empty()) host_groups.push_back({{}, 2});
    for (const auto& h : route.hostnames) host_groups.push_back({{h}, h.rfind("*.", 0) == 0 ? 1 : 0});
    for (const auto& rule : route.rules) {
      auto compiled = std::make_unique<CompiledRule>();
      compiled->route = &route;
      compiled->rule = &rule;
      compiled->id = config::rule_id(route.origin.name, rule.name);
      for (const auto& f : rule.filters) {
        switch (f.type) {
          case config::FilterType::URLRewrite:
            compiled->rewrite = &f.urlRewrite;
            break;
          case config::FilterType::RequestHeaderModifier:
            compiled->request_header_filters.push_back(&f.headerModifier);
            break;
          case config::FilterType::ResponseHeaderModifier:
            compiled->response_header_filters.push_back(&f.headerModifier);
            break;
          case config::FilterType::CORS:
            break;  // a stage of the rule's chain (policy/cors.hpp)
        }
      }
      for (const auto& ref : rule.backendRefs) compiled->total_weight += ref.weight;
      for (const auto& m : rule.matches) {
        Entry e{compiled.get(), &m, {}, 2, nullptr, {}, {}, order++};
        if (m.path.type == config::PathMatchType::RegularExpression) e.path_regex = compile(m.path.value);
        for (const auto& h : m.headers)
          e.header_regex.push_back(h.type == config::ValueMatchType::RegularExpression ? compile(h.value) : nullptr);
        for (const auto& q : m.queryParams)
          e.query_regex.push_back(q.type == config::ValueMatchType::RegularExpression ? compile(q.value) : nullptr);
        for (const auto& [hostnames, rank] : host_groups) {
          e.hostnames = hostnames;
          e.host_rank = rank;
          table.entries_.push_back(e);
        }
      }
      compiled->index = table.rules_.size();
      table.rules_.push_back(std::move(compiled));
    }
  }
  auto path_rank = [](const config::PathMatch& p) {
    switch (p.type) {
      case config::PathMatchType::Exact:
        return 0;
      case config::PathMatchType::PathPrefix:
        return 1;
      case config::PathMatchType::RegularExpression:
        break;
    }
    return 2;
  };
  std::stable_sort(table.entries_.begin(), table.entries_.end(), [&](const Entry& a, const Entry& b) {
    if (a.host_rank != b.host_rank) return a.host_rank < b.host_rank;
    const auto ra = path_rank(a.match->path), rb = path_rank(b.match->path);
    if (ra != rb) return ra < rb;
    if (ra == 1 && a.match->path.value.size() != b.match->path.value.size())
      return a.match->path.value.size() > b.match->path.value.size();
    if (a.match->method.has_value() != b.match->method.has_value()) return a.match->method.has_value();
    if (a.match->headers.size() != b.match->headers.size()) return a.match->headers.size() > b.match->headers.size();
    if (a.match->queryParams.size() != b.match->queryParams.size())
      return a.match->queryParams.size() > b.match->queryParams.size();
    return a.order < b.order;
  });
  return table;
}

bool RouteTable::host_matches(const Entry& entry, std::string_view host) {
  if (entry.hostnames.empty()) return true;
  for (const auto& h : entry.hostnames) {
    if (h.rfind("*.", 0) == 0) {
      const std::string_view suffix(h.data() + 1, h.size() - 1);  // ".example.com"
      if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix) return true;
    } else if (host == h) {
      return true;
    }
  }
  return false;
}

bool RouteTable::path_matches(const Entry& entry, std::string_view path) {
  const auto& p = entry.match->path;
  switch (p.type) {
    case config::PathMatchType::Exact:
      return path == p.value;
    case config::PathMatchType::PathPrefix:
      // Gateway API: element-wise prefix; "/v1" matches "/v1" and "/v1/x", not "/v1x".
      if (p.value == "/") return true;
      if (path.substr(0, p.value.size()) != p.value) return false;
      return path.size() == p.value.size() || path[p.value.size()] == '/';
    case config::PathMatchType::RegularExpression:
      return entry.path_regex && RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *entry.path_regex);
  }
  return false;
}

std::optional<RouteMatchResult> RouteTable::match(const RequestView& request) const {
  for (const auto& entry : entries_) {
    if (!host_matches(entry, request.host)) continue;
    if (!path_matches(entry, request.path)) continue;
    const auto& m = *entry.match;
    if (m.method && *m.method != request.method) continue;
    bool ok = true;
    for (std::size_t i = 0; ok && i < m.headers.size(); ++i) {
      auto value = request.header ? request.header(request.header_ctx, m.headers[i].name) : std::nullopt;
      ok = value && value_matches(m.headers[i], entry.header_regex[i], *value);
    }
    for (std::size_t i = 0; ok && i < m.queryParams.size(); ++i) {
      auto value = query_param(request.query, m.queryParams[i].name);
      ok = value && value_matches(m.queryParams[i], entry.query_regex[i], *value);
    }
    if (!ok) continue;

    RouteMatchResult result;
    result.rule = entry.rule;
    if (m.path.type == config::PathMatchType::PathPrefix) result.matched_prefix = m.path.value;
    if (const auto* rw = entry.rule->rewrite) {
      if (rw->hostname) result.rewritten_host = *rw->hostname;
      if (rw->pathType == config::RewritePathType::ReplaceFullPath) {
        result.rewritten_path = rw->pathValue;
      } else if (rw->pathType == config::RewritePathType::ReplacePrefixMatch &&
                 m.path.type == config::PathMatchType::PathPrefix) {
        // Gateway API: "/prefix/rest" with prefix "/prefix" and replacement "/new" -> "/new/rest".
        const auto prefix_len = m.path.value == "/" ? 0 : m.path.value.size();
        auto rest = request.path.substr(prefix_len);
        std::string replacement = rw->pathValue;
        if (replacement.size() > 1 && replacement.back() == '/' && !rest.empty() && rest.front() == '/')
          replacement.pop_back();
        if (replacement == "/" && !rest.empty()) replacement.clear();
        result.rewritten_path = replacement + std::string(rest);
        if (result.rewritten_path->empty()) result.rewritten_path = "/";
      }
    }
    return result;
  }
  return std::nullopt;
}

}  // namespace sluice::route
