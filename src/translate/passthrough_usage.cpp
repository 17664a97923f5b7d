#include "translate/passthrough_usage.hpp"

#include <boost/json.hpp>

#include "http/sse.hpp"
#include "translate/content_event.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxModelBytes = 256;

std::uint64_t count(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0) return static_cast<std::uint64_t>(value->as_int64());
  return 0;
}

bool has_any(const json::object& object, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys)
    if (object.contains(key)) return true;
  return false;
}

}  // namespace

void PassthroughUsageReader::feed(std::string_view in) {
  if (too_large_ && !stream_) return;
  if (!stream_) {
    if (held_.size() + in.size() > max_bytes_) {
      too_large_ = true;
      held_.clear();
      held_.shrink_to_fit();
      return;
    }
    held_.append(in);
    return;
  }
  held_.append(in);
  for (;;) {
    const auto end = http::sse_event_end(held_);
    if (end == std::string_view::npos) break;
    if (!too_large_) read_event(std::string_view(held_).substr(0, end));
    too_large_ = false;  // the oversized event ended: the next one is read
    held_.erase(0, end);
  }
  if (held_.size() > max_bytes_) {
    // This event is past the bound: skipped up to its end.
    too_large_ = true;
    held_.erase(0, held_.size() > 4 ? held_.size() - 4 : 0);  // keep what may start its blank line
  }
}

void PassthroughUsageReader::finish() {
  if (!stream_) {
    if (!too_large_ && !held_.empty()) read_document(held_);
  } else if (!too_large_ && !held_.empty()) {
    read_event(held_);
  }
  held_.clear();
}

void PassthroughUsageReader::read_event(std::string_view raw) {
  if (!content_seen_) [[unlikely]]
    content_seen_ = sse_event_carries_content(raw);
  if (raw.find("\"usage\"") == std::string_view::npos && raw.find("\"usageMetadata\"") == std::string_view::npos)
    return;
  const auto data = http::sse_event_data(raw);
  if (!data.empty() && data != "[DONE]") read_document(data);
}

void PassthroughUsageReader::read_document(std::string_view text) {
  boost::system::error_code ec;
  json::monotonic_resource arena;
  const auto value = json::parse(text, ec, &arena);
  if (ec) return;
  // A Gemini JSON-array stream read whole: its last element that reports usage.
  if (value.is_array()) {
    for (const auto& element : value.as_array())
      if (element.is_object()) read_object(element.as_object());
    return;
  }
  if (value.is_object()) read_object(value.as_object());
}

void PassthroughUsageReader::read_object(const json::object& object) {
  if (const auto* metadata = object.if_contains("usageMetadata"); metadata != nullptr && metadata->is_object()) {
    read_gemini(metadata->as_object(), object);
    return;
  }
  // The object holding the usage: the document, or its "response" (Responses API events).
  const json::object* holder = &object;
  const auto* usage = holder->if_contains("usage");
  if (usage == nullptr || !usage->is_object()) {
    const auto* response = holder->if_contains("response");
    if (response == nullptr || !response->is_object()) return;
    holder = &response->as_object();
    usage = holder->if_contains("usage");
    if (usage == nullptr || !usage->is_object()) return;
  }
  const auto& u = usage->as_object();
  if (!has_any(u, {"prompt_tokens", "input_tokens", "completion_tokens", "output_tokens"})) return;
  llm::Usage read;
  read.prompt_tokens = count(u, "prompt_tokens") + count(u, "input_tokens");
  read.completion_tokens = count(u, "completion_tokens") + count(u, "output_tokens");
  for (const std::string_view details : {"prompt_tokens_details", "input_tokens_details"})
    if (const auto* d = u.if_contains(details); d != nullptr && d->is_object())
      read.cached_tokens += count(d->as_object(), "cached_tokens");
  for (const std::string_view details : {"completion_tokens_details", "output_tokens_details"})
    if (const auto* d = u.if_contains(details); d != nullptr && d->is_object())
      read.reasoning_tokens += count(d->as_object(), "reasoning_tokens");
  // Anthropic: input_tokens leave out what was read from or written to the prompt cache.
  const auto cache_read = count(u, "cache_read_input_tokens");
  const auto cache_write = count(u, "cache_creation_input_tokens");
  read.prompt_tokens += cache_read + cache_write;
  read.cached_tokens += cache_read;
  read.cache_creation_tokens = cache_write;
  read.total_tokens = read.prompt_tokens + read.completion_tokens;
  read.known = true;
  usage_ = read;
  if (const auto* model = holder->if_contains("model"); model != nullptr && model->is_string())
    model_ = std::string(model->as_string().subview().substr(0, kMaxModelBytes));
}

// Gemini: thoughts are counted apart from the candidates (completion = candidates + thoughts).
void PassthroughUsageReader::read_gemini(const json::object& metadata, const json::object& holder) {
  if (!has_any(metadata, {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"})) return;
  llm::Usage read;
  read.prompt_tokens = count(metadata, "promptTokenCount");
  read.reasoning_tokens = count(metadata, "thoughtsTokenCount");
  read.completion_tokens = count(metadata, "candidatesTokenCount") + read.reasoning_tokens;
  read.cached_tokens = count(metadata, "cachedContentTokenCount");
  read.total_tokens = read.prompt_tokens + read.completion_tokens;
  read.known = true;
  usage_ = read;
  if (const auto* model = holder.if_contains("modelVersion"); model != nullptr && model->is_string())
    model_ = std::string(model->as_string().subview().substr(0, kMaxModelBytes));
}

}  // namespace sluice::translate
