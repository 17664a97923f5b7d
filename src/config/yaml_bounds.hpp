// YAML bounds: checks a YAML text before it is decoded, so a hostile or broken file cannot make
// the loader use unbounded time or memory. Walks the event stream once (yaml-cpp's parser, no
// node graph) and counts every node each document would have with every alias expanded, the way
// a decoder reading the whole tree sees it; a "billion laughs" alias bomb is refused after a
// few kilobytes of parsing. Pure function; safe from any thread. May throw what yaml-cpp throws
// on a syntax error (YAML::Exception) or std::bad_alloc; the loader turns both into diagnostics.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// Largest configuration file read, in bytes (docs/configuration.md "Limits of the loader").
inline constexpr std::size_t kMaxConfigFileBytes = 16 * 1024 * 1024;
// Most nodes one document may have once its aliases are expanded.
inline constexpr std::size_t kMaxExpandedYamlNodes = 1'000'000;

struct YamlBoundsProblem {
  int line = 0;  // 1-based; 0 when unknown
  std::string message;
};

// nullopt when `text` is within the bounds; else where and why not.
std::optional<YamlBoundsProblem> check_yaml_bounds(std::string_view text,
                                                   std::size_t max_nodes = kMaxExpandedYamlNodes);

}  // namespace sluice::config
