// Principal: who is calling, as the authentication stage established it (policy/auth.hpp). One
// per configured credential, built with the snapshot and shared read-only by every request that
// presents that credential; a request points at it (RequestContext::principal), so limits,
// budgets, logs and the model list read the same identity. Immutable; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::pipeline {

// A model name pattern of `allowedModels`: exact, "prefix*", "*suffix" or "*".
inline bool model_pattern_matches(std::string_view pattern, std::string_view model) {
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern.back() == '*') return model.starts_with(pattern.substr(0, pattern.size() - 1));
  if (pattern.size() > 1 && pattern.front() == '*') return model.ends_with(pattern.substr(1));
  return pattern == model;
}

// Whether `pattern` is one: "exact", "prefix*", "*suffix" or "*".
inline bool is_model_pattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  if (pattern == "*") return true;
  const bool leading = pattern.front() == '*';
  const bool trailing = pattern.back() == '*';
  if (leading && trailing) return false;
  const auto inner = pattern.substr(leading ? 1 : 0, pattern.size() - (leading ? 1 : 0) - (trailing ? 1 : 0));
  return !inner.empty() && inner.find('*') == std::string_view::npos;
}

struct Principal {
  std::string id;                               // the key's name, or a JWT's principal claim
  std::map<std::string, std::string> metadata;  // from the config, or JWT claims
  std::vector<std::string> allowed_models;      // patterns; empty: every model, unless models_restricted
  // A JWT's allowedModelsClaim named the models, possibly none: an empty list allows nothing.
  bool models_restricted = false;

  bool allows(std::string_view model) const {
    if (allowed_models.empty()) return !models_restricted;
    for (const auto& pattern : allowed_models)
      if (model_pattern_matches(pattern, model)) return true;
    return false;
  }
};

}  // namespace sluice::pipeline
