#include "translate/openai_response_reader.hpp"

#include <boost/json.hpp>
#include <cstring>

#include "http/sse.hpp"
#include "translate/content_event.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// The longest model name or finish reason kept (they reach the access log).
constexpr std::size_t kMaxNameBytes = 256;

// The end of the first event in `bytes` (the index just past its blank line), or npos.
// Lines end in LF, CRLF or CR; an event ends at an empty line. `scanned` and `line_start` carry
// the scan over between calls (bytes already looked at, and where the current line began).
std::size_t event_end(std::string_view bytes, std::size_t& scanned, std::size_t& line_start) {
  for (std::size_t i = scanned; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    if (c == '\r') {
      if (i + 1 >= bytes.size()) {
        scanned = i;  // a CR LF may be split: look again when more arrives
        return std::string_view::npos;
      }
      if (bytes[i + 1] == '\n') continue;  // the LF ends the line
    }
    std::size_t line_end = i;
    if (c == '\n' && i > line_start && bytes[i - 1] == '\r') line_end = i - 1;
    if (line_end == line_start) return i + 1;
    line_start = i + 1;
  }
  scanned = bytes.size();
  return std::string_view::npos;
}

// The first `needle` in `haystack` at or after `from`, or npos. glibc's memmem skips ahead by
// byte pairs; std::string_view::find stops at every occurrence of the needle's first byte, and
// the '"' that starts a JSON member name is the most common byte of a chunk.
std::size_t find_bytes(std::string_view haystack, std::string_view needle, std::size_t from = 0) {
  if (from > haystack.size()) return std::string_view::npos;
  const void* at = ::memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  return at == nullptr ? std::string_view::npos
                       : static_cast<std::size_t>(static_cast<const char*>(at) - haystack.data());
}

// event_end for a stream whose lines end in LF only (no CR seen): the end of the first event
// is just past the first "\n\n" (or the "\n" of an empty line at the very start). `scanned`
// carries the search over between calls.
std::size_t event_end_lf(std::string_view bytes, std::size_t& scanned) {
  if (!bytes.empty() && bytes.front() == '\n') return 1;
  const auto from = scanned > 0 ? scanned - 1 : 0;  // a "\n\n" may straddle two reads
  const auto at = find_bytes(bytes, "\n\n", from);
  if (at != std::string_view::npos) return at + 2;
  scanned = bytes.size();
  return std::string_view::npos;
}

std::uint64_t count(const json::object& usage, std::string_view key) {
  const auto* value = usage.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0) return static_cast<std::uint64_t>(value->as_int64());
  return 0;
}

// Whether a member named `quoted_name` has a value starting with `first` (JSON whitespace
// allowed around the colon).
bool member_value_starts(std::string_view raw, std::string_view quoted_name, char first) {
  for (auto at = find_bytes(raw, quoted_name); at != std::string_view::npos;
       at = find_bytes(raw, quoted_name, at + 1)) {
    auto i = at + quoted_name.size();
    while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
    if (i >= raw.size() || raw[i] != ':') continue;
    ++i;
    while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
    if (i < raw.size() && raw[i] == first) return true;
  }
  return false;
}

}  // namespace

OpenAiResponseReader::OpenAiResponseReader(bool stream, bool drop_usage_chunk, std::size_t max_bytes)
    : stream_(stream), drop_usage_chunk_(drop_usage_chunk), max_bytes_(max_bytes) {}

void OpenAiResponseReader::feed(std::string_view in, std::string& out) {
  if (!stream_) {
    out.append(in);
    if (stepped_aside_) return;
    if (held_.size() + in.size() > max_bytes_) {
      stepped_aside_ = true;
      held_.clear();
      held_.shrink_to_fit();
      return;
    }
    held_.append(in);
    return;
  }
  if (stepped_aside_) {
    out.append(in);
    return;
  }
  // Complete events are read where they lie: in `in` itself while nothing is held (the usual
  // case: a read brings whole events), else in held_ once `in` is added to it. Only the
  // incomplete tail is copied into held_.
  if (!saw_cr_ && std::memchr(in.data(), '\r', in.size()) != nullptr) {
    // From here on lines may end in CR or CRLF: the held tail is scanned again, line by line.
    saw_cr_ = true;
    scanned_ = 0;
    line_start_ = 0;
  }
  std::string_view bytes = in;
  if (!held_.empty()) {
    held_.append(in);
    bytes = held_;
  }
  std::size_t consumed = 0;
  for (;;) {
    const std::string_view rest = bytes.substr(consumed);
    const auto end = saw_cr_ ? event_end(rest, scanned_, line_start_) : event_end_lf(rest, scanned_);
    if (end == std::string_view::npos) break;
    read_event(rest.substr(0, end), out);
    consumed += end;
    scanned_ = 0;
    line_start_ = 0;
  }
  if (bytes.data() == in.data()) {
    held_.assign(in.substr(consumed));  // scanned_ and line_start_ are offsets into this tail
  } else if (consumed > 0) {
    held_.erase(0, consumed);
  }
  if (held_.size() > max_bytes_) {
    // One event beyond the bound: pass everything through from here on.
    stepped_aside_ = true;
    out.append(held_);
    held_.clear();
    held_.shrink_to_fit();
  }
}

void OpenAiResponseReader::finish(std::string& out) {
  if (stream_) {
    out.append(held_);
    held_.clear();
    return;
  }
  if (!stepped_aside_ && !held_.empty()) {
    bool usage_only = false;
    read_document(held_, false, usage_only);
  }
  held_.clear();
}

void OpenAiResponseReader::read_event(std::string_view raw, std::string& out) {
  // Only events that can say something are parsed.
  const bool first = first_event_;
  first_event_ = false;
  if (!content_seen_) [[unlikely]]
    content_seen_ = sse_event_carries_content(raw);
  // One search per member name, then a look at the value's first character.
  const bool has_usage = member_value_starts(raw, "\"usage\"", '{');
  const bool has_finish = member_value_starts(raw, "\"finish_reason\"", '"');
  if (first || has_usage || has_finish) {
    const auto data = http::sse_event_data(raw);
    if (!data.empty() && data != "[DONE]") {
      bool usage_only = false;
      read_document(data, true, usage_only);
      if (usage_only && drop_usage_chunk_) return;
    }
  }
  if (drop_usage_chunk_) {
    // With include_usage the provider adds "usage":null to every chunk; the client did not ask.
    for (const std::string_view member : {std::string_view(",\"usage\":null"), std::string_view("\"usage\":null,")}) {
      const auto at = find_bytes(raw, member);
      if (at == std::string_view::npos) continue;
      out.append(raw.substr(0, at));
      out.append(raw.substr(at + member.size()));
      return;
    }
  }
  out.append(raw);
}

void OpenAiResponseReader::read_document(std::string_view text, bool from_stream, bool& usage_only) {
  // The document lives only for this call: a stack buffer holds it (a typical chunk or answer
  // needs no heap at all), the heap only what does not fit.
  unsigned char scratch[4096];
  json::monotonic_resource arena(scratch, sizeof scratch);
  boost::system::error_code ec;
  const auto value = json::parse(text, ec, &arena);
  if (ec || !value.is_object()) return;
  const auto& object = value.as_object();
  if (const auto* model = object.if_contains("model"); model && model->is_string() && model_.empty())
    model_ = std::string(std::string_view(model->as_string()).substr(0, kMaxNameBytes));
  const auto* choices = object.if_contains("choices");
  if (choices && choices->is_array()) {
    for (const auto& choice : choices->as_array()) {
      if (!choice.is_object()) continue;
      const auto* reason = choice.as_object().if_contains("finish_reason");
      if (reason && reason->is_string())
        finish_reason_ = std::string(std::string_view(reason->as_string()).substr(0, kMaxNameBytes));
    }
  }
  const auto* usage = object.if_contains("usage");
  if (usage && usage->is_object()) {
    const auto& u = usage->as_object();
    usage_.prompt_tokens = count(u, "prompt_tokens");
    usage_.completion_tokens = count(u, "completion_tokens");
    usage_.total_tokens = count(u, "total_tokens");
    if (const auto* details = u.if_contains("prompt_tokens_details"); details && details->is_object())
      usage_.cached_tokens = count(details->as_object(), "cached_tokens");
    if (const auto* details = u.if_contains("completion_tokens_details"); details && details->is_object())
      usage_.reasoning_tokens = count(details->as_object(), "reasoning_tokens");
    usage_.known = true;
    // The chunk include_usage adds: usage and no choice.
    usage_only = from_stream && choices && choices->is_array() && choices->as_array().empty();
  }
}

}  // namespace sluice::translate
