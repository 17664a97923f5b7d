#include "translate/common.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <random>

#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace json = boost::json;

void append_sse_data(std::string& out, std::string_view data) {
  out.append("data: ").append(data).append("\n\n");
}

void append_sse_event(std::string& out, std::string_view name, std::string_view data) {
  out.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
}

void append_openai_error_event(std::string& out, const http::ApiError& error) {
  append_sse_data(out, http::openai_error_body(error));
}

void append_anthropic_error_event(std::string& out, const http::ApiError& error) {
  append_sse_event(out, "error", http::anthropic_error_body(error));
}

void append_sse_done(std::string& out) {
  out.append("data: [DONE]\n\n");
}

namespace {
void append_serialized(std::string& out, const json::value& value) {
  json::serializer serializer;
  serializer.reset(&value);
  char buffer[2048];
  while (!serializer.done()) out.append(serializer.read(buffer));
}
}  // namespace

void append_sse_json(std::string& out, const json::value& value) {
  out.append("data: ");
  append_serialized(out, value);
  out.append("\n\n");
}

void append_sse_json_event(std::string& out, std::string_view name, const json::value& value) {
  out.append("event: ").append(name).append("\n");
  append_sse_json(out, value);
}

void append_sse_event_lines(std::string& out, const SseEvent& event) {
  if (!event.event.empty()) out.append("event: ").append(event.event).append("\n");
  std::string_view data = event.data;
  for (;;) {
    const auto end = data.find('\n');
    out.append("data: ").append(data.substr(0, end)).append("\n");
    if (end == std::string_view::npos) break;
    data.remove_prefix(end + 1);
  }
  out.append("\n");
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(text.substr(run));
  out.push_back('"');
}

http::ApiError invalid_request(std::string message, std::string param, std::string_view code) {
  return http::ApiError{400, "invalid_request_error", code, std::move(message), std::move(param)};
}

http::ApiError bad_upstream(std::string message) {
  return http::ApiError{502, "server_error", "upstream_bad_response", std::move(message), std::nullopt};
}

json::object openai_usage(const Usage& u) {
  return json::object{
      {"prompt_tokens", u.prompt_tokens},
      {"completion_tokens", u.completion_tokens},
      {"total_tokens", u.total_tokens},
      {"prompt_tokens_details", json::object{{"cached_tokens", u.cached_tokens}}},
      {"completion_tokens_details", json::object{{"reasoning_tokens", u.reasoning_tokens}}},
  };
}

const json::object* object_or_null(const json::value* v) {
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_or_null(const json::value* v) {
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::string_view string_or_empty(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

std::string_view string_or(const json::object& object, std::string_view key, std::string_view fallback) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string()) : fallback;
}

std::uint64_t json_count(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() > 0 ? static_cast<std::uint64_t>(v->get_int64()) : 0;
  if (v->is_double()) {
    const double d = v->get_double();
    return d > 0 && d < 1.8e19 ? static_cast<std::uint64_t>(d) : 0;
  }
  return 0;
}

std::string indexed(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string_view openai_error_type(unsigned status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string new_id(std::string_view prefix) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  id.reserve(prefix.size() + 24);
  std::uint64_t bits = 0;
  for (int i = 0; i < 24; ++i) {
    if (i % 10 == 0) bits = rng();
    id.push_back(kAlphabet[bits % kAlphabet.size()]);
    bits /= kAlphabet.size();
  }
  return id;
}

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<DataUri> parse_data_uri(std::string_view uri) {
  if (uri.substr(0, 5) != "data:") return std::nullopt;
  const auto comma = uri.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  const auto meta = uri.substr(5, comma - 5);
  static constexpr std::string_view kBase64 = ";base64";
  if (meta.size() < kBase64.size() || meta.substr(meta.size() - kBase64.size()) != kBase64) return std::nullopt;
  auto media_type = meta.substr(0, meta.size() - kBase64.size());
  if (const auto semi = media_type.find(';'); semi != std::string_view::npos) media_type = media_type.substr(0, semi);
  return DataUri{media_type, uri.substr(comma + 1)};
}

namespace {
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                   std::uint8_t(bytes[i + 2]);
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(kB64[(n >> 6) & 63]);
    out.push_back(kB64[n & 63]);
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kB64[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::array<int, 256> table;
  table.fill(-1);
  for (std::size_t i = 0; i < kB64.size(); ++i) table[static_cast<unsigned char>(kB64[i])] = static_cast<int>(i);
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string embedding_to_base64(const json::array& values) {
  std::string bytes;
  bytes.resize(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& v = values[i];
    const float f = v.is_double()   ? static_cast<float>(v.get_double())
                    : v.is_int64()  ? static_cast<float>(v.get_int64())
                    : v.is_uint64() ? static_cast<float>(v.get_uint64())
                                    : 0.0f;
    auto bits = std::bit_cast<std::uint32_t>(f);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    std::memcpy(bytes.data() + i * 4, &bits, 4);
  }
  return base64_encode(bytes);
}

std::string content_text(const json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string text;
  if (!content.is_array()) return text;
  bool first = true;
  for (const auto& part : content.get_array()) {
    if (!part.is_object()) continue;
    const auto& obj = part.get_object();
    const auto* type = obj.if_contains("type");
    const auto* value = obj.if_contains("text");
    if (type == nullptr || !type->is_string() || type->get_string() != "text" || value == nullptr ||
        !value->is_string())
      continue;
    if (!first) text.push_back('\n');
    text.append(value->get_string());
    first = false;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Pivot extensions

void strip_pivot_extensions(json::object& pivot) {
  for (auto it = pivot.begin(); it != pivot.end();) {
    if (std::string_view(it->key()).starts_with("x_sluice_"))
      it = pivot.erase(it);
    else
      ++it;
  }
  auto* messages = pivot.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return;
  for (auto& m : messages->get_array()) {
    if (!m.is_object()) continue;
    m.get_object().erase(kPivotThinkingBlocks);
    auto* calls = m.get_object().if_contains("tool_calls");
    if (calls == nullptr || !calls->is_array()) continue;
    for (auto& c : calls->get_array())
      if (c.is_object()) c.get_object().erase("extra_content");
  }
}

std::string_view pivot_call_signature(const json::object& call) {
  const auto* extra = object_or_null(call.if_contains("extra_content"));
  const auto* google = extra != nullptr ? object_or_null(extra->if_contains("google")) : nullptr;
  return google != nullptr ? string_or(*google, "thought_signature") : std::string_view{};
}

std::optional<http::ApiError> read_reasoning(const json::object& pivot, ReasoningAsk& ask) {
  ask = ReasoningAsk{};
  if (const auto* effort = pivot.if_contains("reasoning_effort"); effort != nullptr && !effort->is_null()) {
    const auto value = string_or_empty(effort);
    static constexpr std::string_view kEfforts[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
    bool known = false;
    for (const auto e : kEfforts) known = known || value == e;
    if (!effort->is_string() || !known)
      return invalid_request("reasoning_effort must be one of none, minimal, low, medium, high, xhigh",
                             "reasoning_effort");
    ask.effort = value;
  }
  if (const auto* budget = pivot.if_contains(kPivotThinkingBudget); budget != nullptr && budget->is_number()) {
    if (budget->is_int64() && budget->get_int64() == -1) {
      ask.dynamic = true;
    } else if (const auto tokens = json_count(budget); tokens > 0) {
      ask.budget = tokens;
    }
  }
  return std::nullopt;
}

bool gemini_takes_thinking_level(std::string_view model) {
  if (const auto slash = model.rfind('/'); slash != std::string_view::npos) model.remove_prefix(slash + 1);
  constexpr std::string_view kPrefix = "gemini-";
  if (!model.starts_with(kPrefix)) return false;
  model.remove_prefix(kPrefix.size());
  unsigned major = 0;
  std::size_t digits = 0;
  while (digits < model.size() && digits < 3 && model[digits] >= '0' && model[digits] <= '9')
    major = major * 10 + static_cast<unsigned>(model[digits++] - '0');
  return digits > 0 && major >= 3;
}

bool claude_takes_adaptive_thinking(std::string_view model) {
  const auto at = model.find("claude-");
  if (at == std::string_view::npos) return false;
  std::string_view rest = model.substr(at + 7);
  if (rest.starts_with("mythos")) return true;
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos) return false;
  const auto family = rest.substr(0, dash);
  if (family != "opus" && family != "sonnet" && family != "fable") return false;
  rest.remove_prefix(dash + 1);
  // major, then minor: one or two digits each, ended by the name's end or a separator (a date
  // has 8 digits: claude-opus-4-20250514 is 4.0).
  unsigned version[2] = {0, 0};
  for (auto& part : version) {
    std::size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0 || n > 2) break;
    for (std::size_t i = 0; i < n; ++i) part = part * 10 + static_cast<unsigned>(rest[i] - '0');
    rest.remove_prefix(n < rest.size() ? n + 1 : n);
  }
  return version[0] > 4 || (version[0] == 4 && version[1] >= 6);
}

std::string_view claude_adaptive_effort(const ReasoningAsk& ask, std::string_view model) {
  if (ask.dynamic) return {};
  if (ask.effort == "minimal" || ask.effort == "low") return "low";
  if (ask.effort == "medium") return "medium";
  if (ask.effort == "xhigh" && model.find("opus") != std::string_view::npos) return "max";
  return "high";
}

std::optional<std::uint64_t> claude_thinking_budget(const ReasoningAsk& ask) {
  if (!ask.enabled()) return std::nullopt;
  constexpr std::uint64_t kMinimum = 1024;
  if (ask.budget) return std::max(*ask.budget, kMinimum);
  if (ask.effort == "medium") return 8192;
  if (ask.effort == "high") return 16384;
  if (ask.effort == "xhigh") return 32768;
  return kMinimum;  // minimal, low
}

std::optional<http::ApiError> claude_thinking_conflicts(const json::object& pivot) {
  const auto number = [&](std::string_view key) -> std::optional<double> {
    const auto* v = pivot.if_contains(key);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    boost::system::error_code ec;
    const double d = v->to_number<double>(ec);
    return ec ? std::nullopt : std::optional<double>(d);
  };
  if (const auto t = number("temperature"); t && *t != 1.0)
    return invalid_request("temperature must be 1 (or absent) when reasoning is enabled for Claude", "temperature",
                           "unsupported_parameter");
  if (const auto p = number("top_p"); p && *p < 0.95)
    return invalid_request("top_p must be at least 0.95 (or absent) when reasoning is enabled for Claude", "top_p",
                           "unsupported_parameter");
  if (const auto* choice = pivot.if_contains("tool_choice"); choice != nullptr && !choice->is_null()) {
    const bool forced = choice->is_object() || (choice->is_string() && choice->get_string() == "required");
    if (forced)
      return invalid_request(
          "a tool_choice that forces a tool (required or a named function) cannot be combined with reasoning for "
          "Claude; use auto or none",
          "tool_choice", "unsupported_parameter");
  }
  return std::nullopt;
}

json::array signed_thinking_blocks(const json::object& message) {
  json::array out;
  const auto* blocks = array_or_null(message.if_contains(kPivotThinkingBlocks));
  if (blocks == nullptr) return out;
  for (const auto& b : *blocks) {
    const auto* block = object_or_null(&b);
    if (block == nullptr) continue;
    const auto type = string_or_empty(block->if_contains("type"));
    if (type == "thinking") {
      const auto signature = string_or_empty(block->if_contains("signature"));
      if (signature.empty()) continue;
      out.push_back(json::object{{"type", "thinking"},
                                 {"thinking", string_or_empty(block->if_contains("thinking"))},
                                 {"signature", signature}});
    } else if (type == "redacted_thinking") {
      const auto data = string_or_empty(block->if_contains("data"));
      if (!data.empty()) out.push_back(json::object{{"type", "redacted_thinking"}, {"data", data}});
    }
  }
  return out;
}

}  // namespace sluice::translate
