#include "scripted_text.hpp"

#include <charconv>

#include "text.hpp"

namespace sluice::mock {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::size_t> positive_integer(std::string_view text) {
  text = trim_spaces(text);
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (text.empty() || result.ec != std::errc{} || result.ptr != end || value == 0) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> decode_uri_component(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size()) return std::nullopt;
    const int high = hex_value(value[i + 1]);
    const int low = hex_value(value[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (!is_valid_utf8(out)) return std::nullopt;
  return out;
}

std::optional<SplitSpec> parse_split(std::string_view value) {
  SplitSpec split;
  if (value.find(',') == std::string_view::npos) {
    const auto size = positive_integer(value);
    if (!size) return std::nullopt;
    split.piece_bytes = *size;
    return split;
  }
  while (true) {
    const std::size_t comma = value.find(',');
    const auto cut = positive_integer(value.substr(0, comma));
    if (!cut || (!split.cuts.empty() && *cut <= split.cuts.back())) return std::nullopt;
    split.cuts.push_back(*cut);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return split;
}

std::optional<ScriptedText> cut_text(std::string text, const SplitSpec& split) {
  ScriptedText scripted;
  const std::size_t size = text.size();
  if (split.piece_bytes > 0) {
    for (std::size_t begin = 0; begin < size;) {
      std::size_t end = size - begin > split.piece_bytes ? begin + split.piece_bytes : size;
      while (end < size && is_continuation(text[end])) ++end;
      scripted.ends.push_back(end);
      begin = end;
    }
  } else {
    for (const std::size_t cut : split.cuts) {
      if (cut >= size || is_continuation(text[cut])) return std::nullopt;
      scripted.ends.push_back(cut);
    }
    scripted.ends.push_back(size);
  }
  scripted.text = std::move(text);
  return scripted;
}

ScriptedText cut_evenly(std::string text, std::size_t pieces) {
  ScriptedText scripted;
  const std::size_t characters = utf8_length(text);
  if (characters == 0) {
    scripted.text = std::move(text);
    return scripted;
  }
  if (pieces == 0) pieces = 1;
  if (pieces > characters) pieces = characters;
  scripted.ends.reserve(pieces);
  std::size_t character = 0;  // code points before `pos`
  std::size_t next = 1;       // the piece whose end is looked for
  for (std::size_t pos = 0; next < pieces; ++pos) {
    if (is_continuation(text[pos])) continue;
    if (character == next * characters / pieces) {
      scripted.ends.push_back(pos);
      ++next;
    }
    ++character;
  }
  scripted.ends.push_back(text.size());
  scripted.text = std::move(text);
  return scripted;
}

}  // namespace sluice::mock
