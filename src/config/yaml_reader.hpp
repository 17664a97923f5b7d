// YamlMap: a checked view of one YAML mapping inside a resource. Every typed getter records a
// precise diagnostic (file, line, resource, field path, expectation) instead of throwing, and
// every key that no getter asked for is reported as unknown when the view is destroyed, so a
// misspelt field never passes silently. Strings go through ${ENV_VAR} expansion; messages quote
// values as written (the ${ENV_VAR} reference, never its value).
// Not thread-safe; lives for the duration of one decode.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/resources.hpp"

namespace sluice::config {

// Expands ${NAME} from the environment. Returns nullopt and sets `missing` to the first unset
// variable's name when one is not set. Text without ${ is returned unchanged.
std::optional<std::string> expand_env(std::string_view text, std::string* missing);

// Parses a Gateway API duration ("500ms", "10s", "1m30s", "1h"). nullopt when malformed.
std::optional<Duration> parse_duration(std::string_view text);

// Parses a byte size: a plain integer or one with a Ki/Mi/Gi (or K/M/G) suffix.
std::optional<std::uint64_t> parse_bytes(std::string_view text);

// How a diagnostic quotes the value read from `node`: the text as written in the file, in
// quotes, so a value that came from ${ENV} is shown as the reference and never expanded (it may
// be a credential). Control characters are escaped.
std::string shown(const YAML::Node& node);

// True when `value` can be sent in an HTTP head or URL: it holds no CR, LF or NUL.
bool head_safe(std::string_view value);

// Per-resource decoding context: where messages go and how to label them.
struct DecodeContext {
  Diagnostics& diags;
  std::string file;
  std::string resource;  // "Kind/name"
  // When set, every field a YamlMap of this resource knows (reads or ignores) is added as
  // "Kind.path", list indices written "[]": the loader's schema (config/schema.hpp).
  std::set<std::string>* fields = nullptr;

  void error(const YAML::Node& at, const std::string& field, std::string message) const;
  void warning(const YAML::Node& at, const std::string& field, std::string message) const;
  void known_field(const std::string& field) const;  // adds `field` to `fields` (set)
};

enum class Need { Optional, Required };

class YamlMap {
 public:
  // `node` may be undefined/null (an absent optional section): the view is then empty and valid.
  YamlMap(YAML::Node node, std::string path, const DecodeContext& ctx, Need need = Need::Optional);
  ~YamlMap();
  YamlMap(const YamlMap&) = delete;
  YamlMap& operator=(const YamlMap&) = delete;

  bool present() const { return present_; }
  bool has(std::string_view key) const;
  YAML::Node node() const { return node_; }
  const std::string& path() const { return path_; }
  const DecodeContext& ctx() const { return ctx_; }

  // Returns the child node (possibly undefined) and marks the key as known.
  YAML::Node take(std::string_view key);
  std::string field(std::string_view key) const;  // "spec.ai.llm" + "." + key

  std::optional<std::string> str(std::string_view key, Need need = Need::Optional);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      Need need = Need::Optional);
  std::optional<bool> boolean(std::string_view key);
  // A list of strings (each as scalar_string reads it; an item that is not one is reported and
  // left out); nullopt when the key is absent or null, or not a list (reported).
  std::optional<std::vector<std::string>> strings(std::string_view key);
  std::optional<Duration> duration(std::string_view key);
  std::optional<std::uint64_t> bytes(std::string_view key);

  template <typename E>
  std::optional<E> enumeration(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> values,
                               Need need = Need::Optional) {
    auto text = str(key, need);
    if (!text) return std::nullopt;
    std::string expected;
    for (const auto& [name, value] : values) {
      if (*text == name) return value;
      expected += expected.empty() ? "" : ", ";
      expected += name;
    }
    ctx_.error(node_[std::string(key)], field(key),
               "unknown value " + shown(node_[std::string(key)]) + "; expected one of " + expected);
    return std::nullopt;
  }

  // Marks a key as known without reading it (fields accepted for compatibility and ignored).
  void ignore(std::string_view key);

  // Marks every key present as known: a mapping whose keys are data (a Secret's stringData),
  // not fields.
  void accept_any_key();

  // Reports a missing key as an error.
  void require(std::string_view key, std::string_view what);

 private:
  YAML::Node node_;
  std::string path_;
  const DecodeContext& ctx_;
  bool present_ = false;
  std::set<std::string, std::less<>> known_;
};

// A scalar as a string with ${ENV} expanded; records an error on a non-scalar, an unset variable
// or a value holding CR, LF or NUL (no configuration string may: they end up in HTTP heads).
std::optional<std::string> scalar_string(const YAML::Node& node, const std::string& field, const DecodeContext& ctx);

// Iterates a YAML sequence; reports an error (and yields nothing) when the node is not one.
bool is_sequence(const YAML::Node& node, const std::string& field, const DecodeContext& ctx);

}  // namespace sluice::config
