#include "config/yaml_reader.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace sluice::config {

namespace {

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

const char* type_name(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

}  // namespace

std::optional<std::string> expand_env(std::string_view text, std::string* missing) {
  if (text.find("${") == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        out.append(text.substr(i));
        break;
      }
      const std::string name(text.substr(i + 2, close - i - 2));
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        if (missing != nullptr) *missing = name;
        return std::nullopt;
      }
      out += value;
      i = close + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    const auto* begin = text.data() + i;
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), number);
    if (ec != std::errc{} || end == begin || number < 0) return std::nullopt;
    i = static_cast<std::size_t>(end - text.data());
    std::size_t unit_len = 0;
    while (i + unit_len < text.size() && std::isalpha(static_cast<unsigned char>(text[i + unit_len]))) ++unit_len;
    const auto unit = text.substr(i, unit_len);
    i += unit_len;
    std::int64_t factor = 0;
    if (unit == "ms")
      factor = 1;
    else if (unit == "s")
      factor = 1000;
    else if (unit == "m")
      factor = 60'000;
    else if (unit == "h")
      factor = 3'600'000;
    else
      return std::nullopt;
    if (number > (std::numeric_limits<std::int64_t>::max() - total_ms) / factor) return std::nullopt;
    total_ms += number * factor;
  }
  return Duration{total_ms};
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t factor = 1;
  if (unit.empty())
    factor = 1;
  else if (unit == "Ki" || unit == "K" || unit == "KiB")
    factor = 1024;
  else if (unit == "Mi" || unit == "M" || unit == "MiB")
    factor = 1024 * 1024;
  else if (unit == "Gi" || unit == "G" || unit == "GiB")
    factor = 1024ULL * 1024 * 1024;
  else
    return std::nullopt;
  if (number > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
  return number * factor;
}

void DecodeContext::error(const YAML::Node& at, const std::string& field, std::string message) const {
  diags.add(Diagnostic{Severity::Error, file, line_of(at), resource, field, std::move(message)});
}

void DecodeContext::warning(const YAML::Node& at, const std::string& field, std::string message) const {
  diags.add(Diagnostic{Severity::Warning, file, line_of(at), resource, field, std::move(message)});
}

void DecodeContext::known_field(const std::string& field) const {
  const auto slash = resource.find('/');
  std::string path = resource.substr(0, slash) + ".";
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '[') {
      const auto close = field.find(']', i);
      if (close != std::string::npos) {
        path += "[]";
        i = close;
        continue;
      }
    }
    path += field[i];
  }
  fields->insert(std::move(path));
}

std::string shown(const YAML::Node& node) {
  std::string out = "\"";
  for (const char c : node.IsDefined() && node.IsScalar() ? node.Scalar() : std::string()) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool head_safe(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::optional<std::string> scalar_string(const YAML::Node& node, const std::string& field, const DecodeContext& ctx) {
  if (!node.IsDefined() || !node.IsScalar()) {
    ctx.error(node, field, std::string("expected a string, found ") + type_name(node));
    return std::nullopt;
  }
  std::string missing;
  auto expanded = expand_env(node.Scalar(), &missing);
  if (!expanded) {
    ctx.error(node, field, "environment variable " + missing + " is not set");
    return std::nullopt;
  }
  if (!head_safe(*expanded)) {
    const bool from_env = node.Scalar().find("${") != std::string::npos;
    ctx.error(node, field,
              std::string(from_env ? "the value of " : "") + shown(node) +
                  " contains a line break (CR or LF) or NUL, which cannot go into an HTTP head or URL");
    return std::nullopt;
  }
  return expanded;
}

bool is_sequence(const YAML::Node& node, const std::string& field, const DecodeContext& ctx) {
  if (node.IsDefined() && node.IsSequence()) return true;
  ctx.error(node, field, std::string("expected a list, found ") + type_name(node));
  return false;
}

YamlMap::YamlMap(YAML::Node node, std::string path, const DecodeContext& ctx, Need need)
    : node_(std::move(node)), path_(std::move(path)), ctx_(ctx) {
  if (!node_.IsDefined() || node_.IsNull()) {
    if (need == Need::Required) ctx_.error(node_, path_, "is required");
    return;
  }
  if (!node_.IsMap()) {
    ctx_.error(node_, path_, std::string("expected a mapping, found ") + type_name(node_));
    return;
  }
  present_ = true;
}

YamlMap::~YamlMap() {
  if (!present_) return;
  for (const auto& entry : node_) {
    const auto key = entry.first.as<std::string>("");
    if (!known_.contains(key)) {
      ctx_.error(entry.first, field(key), "unknown field");
    }
  }
}

bool YamlMap::has(std::string_view key) const {
  if (!present_) return false;
  const auto child = node_[std::string(key)];
  return child.IsDefined();
}

void YamlMap::ignore(std::string_view key) {
  known_.insert(std::string(key));
  if (ctx_.fields != nullptr) ctx_.known_field(field(key));
}

void YamlMap::accept_any_key() {
  if (!present_) return;
  for (const auto& entry : node_) known_.insert(entry.first.as<std::string>(""));
}

YAML::Node YamlMap::take(std::string_view key) {
  known_.insert(std::string(key));
  if (ctx_.fields != nullptr) ctx_.known_field(field(key));
  if (!present_) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& const_node = node_;
  return const_node[std::string(key)];
}

std::string YamlMap::field(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void YamlMap::require(std::string_view key, std::string_view what) {
  if (!has(key)) ctx_.error(node_, field(key), "is required (" + std::string(what) + ")");
}

std::optional<std::string> YamlMap::str(std::string_view key, Need need) {
  const auto child = take(key);
  if (!child.IsDefined() || child.IsNull()) {
    if (need == Need::Required && present_) ctx_.error(node_, field(key), "is required");
    return std::nullopt;
  }
  return scalar_string(child, field(key), ctx_);
}

std::optional<std::int64_t> YamlMap::integer(std::string_view key, std::int64_t min, std::int64_t max, Need need) {
  auto text = str(key, need);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) {
    ctx_.error(take(key), field(key), "expected an integer, found " + shown(take(key)));
    return std::nullopt;
  }
  if (value < min || value > max) {
    ctx_.error(
        take(key), field(key),
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", found " + take(key).Scalar());
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>> YamlMap::strings(std::string_view key) {
  auto node = take(key);
  const auto path = field(key);
  if (!node.IsDefined() || node.IsNull() || !is_sequence(node, path, ctx_)) return std::nullopt;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i)
    if (auto v = scalar_string(node[i], path + "[" + std::to_string(i) + "]", ctx_)) out.push_back(*v);
  return out;
}

std::optional<bool> YamlMap::boolean(std::string_view key) {
  auto text = str(key);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  ctx_.error(take(key), field(key), "expected true or false, found " + shown(take(key)));
  return std::nullopt;
}

std::optional<Duration> YamlMap::duration(std::string_view key) {
  auto text = str(key);
  if (!text) return std::nullopt;
  auto value = parse_duration(*text);
  if (!value) {
    ctx_.error(take(key), field(key),
               "expected a duration such as \"500ms\", \"10s\", \"1m30s\", found " + shown(take(key)));
  }
  return value;
}

std::optional<std::uint64_t> YamlMap::bytes(std::string_view key) {
  auto text = str(key);
  if (!text) return std::nullopt;
  auto value = parse_bytes(*text);
  if (!value) {
    ctx_.error(take(key), field(key), "expected a size such as 65536, \"64Ki\" or \"32Mi\", found " + shown(take(key)));
  }
  return value;
}

}  // namespace sluice::config
