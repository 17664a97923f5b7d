// Diagnostics: the problems found while loading configuration, each pinned to a file, a line,
// a resource (`Kind/name`) and a field path, so a user can go straight to the mistake.
// Plain value types; not thread-safe (one loader fills one Diagnostics).
#pragma once

#include <string>
#include <vector>

namespace sluice::config {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string file;
  int line = 0;          // 1-based; 0 when unknown
  std::string resource;  // "Backend/openrouter"; empty for file-level problems
  std::string field;     // "spec.ai.llm.openai.authToken.kind"; empty for resource-level problems
  std::string message;   // what is wrong and what would be right

  // "config.yaml:12: error: Backend/openrouter: spec.ai.llm.host: expected a string"
  std::string format() const;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  bool has_errors() const;
  std::size_t error_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string format_all() const;  // one line per diagnostic

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace sluice::config
