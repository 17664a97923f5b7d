#include "config/diagnostics.hpp"

#include <algorithm>

namespace sluice::config {

std::string Diagnostic::format() const {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) out += ":" + std::to_string(line);
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  if (!resource.empty()) out += resource + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

bool Diagnostics::has_errors() const {
  return error_count() > 0;
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

std::string Diagnostics::format_all() const {
  std::string out;
  for (const auto& d : items_) out += d.format() + "\n";
  return out;
}

}  // namespace sluice::config
