#include "translate/sse_parser.hpp"

#include <charconv>

namespace sluice::translate {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// WHATWG: "If the field value consists of only ASCII digits" (so no sign, no space, not empty).
std::optional<std::uint64_t> parse_retry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t ms = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;  // overflow
  return ms;
}

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  return feed(bytes, [&out](const SseEvent& event) { out.push_back(event); });
}

std::size_t SseParser::buffered_bytes() const {
  return line_.size() + pending_.event.size() + pending_.data.size() + pending_.id.size();
}

bool SseParser::fits(std::size_t extra_line_bytes) {
  if (buffered_bytes() + extra_line_bytes <= max_event_bytes_) return true;
  error_ = "SSE event exceeds " + std::to_string(max_event_bytes_) + " bytes";
  line_.clear();
  line_.shrink_to_fit();
  return false;
}

bool SseParser::feed_impl(std::string_view bytes, EventSink sink) {
  if (failed()) return false;
  // A leading BOM may arrive split across chunks; bytes that turn out not to be one are data.
  while (!bom_done_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBom.size()) bom_done_ = true;
    } else {
      bom_done_ = true;
      feed_lines(kBom.substr(0, bom_matched_), sink);
    }
  }
  if (!failed()) feed_lines(bytes, sink);
  return !failed();
}

namespace {

// The first CR or LF at or after `pos`. std::string_view::find_first_of with a two-character set
// calls memchr on the set once per input byte; this scans the input once.
std::size_t find_line_end(std::string_view bytes, std::size_t pos) {
  const char* data = bytes.data();
  for (std::size_t i = pos; i < bytes.size(); ++i) {
    if (data[i] == '\n' || data[i] == '\r') return i;
  }
  return std::string_view::npos;
}

}  // namespace

void SseParser::feed_lines(std::string_view bytes, EventSink sink) {
  std::size_t pos = 0;
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes.front() == '\n') pos = 1;
  }
  while (pos < bytes.size() && !failed()) {
    const std::size_t eol = find_line_end(bytes, pos);
    if (eol == std::string_view::npos) {
      // Unterminated line: keep it for the next chunk (comments are dropped as they stream by).
      const std::string_view tail = bytes.substr(pos);
      if (!in_line_) skipping_comment_ = tail.front() == ':';
      in_line_ = true;
      if (!skipping_comment_ && fits(tail.size())) line_.append(tail);
      return;
    }
    const std::string_view segment = bytes.substr(pos, eol - pos);
    if (skipping_comment_) {
      skipping_comment_ = false;  // the rest of a comment line: nothing to do
    } else if (line_.empty()) {
      process_line(segment, sink);  // the common case: the whole line is in this chunk
    } else {
      if (fits(segment.size())) {
        line_.append(segment);
        process_line(line_, sink);
      }
      line_.clear();
    }
    in_line_ = false;
    pos = eol + 1;
    if (bytes[eol] == '\r') {
      if (pos < bytes.size()) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        after_cr_ = true;
      }
    }
  }
}

void SseParser::process_line(std::string_view line, EventSink sink) {
  if (line.empty()) {
    if (has_data_) sink.deliver(sink.context, pending_);
    pending_.event.clear();
    pending_.data.clear();
    pending_.retry.reset();
    has_data_ = false;
    has_fields_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment, e.g. ": OPENROUTER PROCESSING"
  // The line being processed may live in line_, which counts as buffered already.
  if (!fits(line.data() == line_.data() ? 0 : line.size())) return;
  has_fields_ = true;

  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) pending_.id.assign(value);
  } else if (field == "retry") {
    if (const auto ms = parse_retry(value)) {
      pending_.retry = ms;
      reconnection_time_ = ms;
    }
  }
  // Any other field is ignored.
}

SseParser::End SseParser::finish() {
  End end = End::kClean;
  if (failed()) {
    end = End::kError;
  } else if (has_fields_ || (in_line_ && !skipping_comment_) || (!bom_done_ && bom_matched_ > 0)) {
    end = End::kPartialEvent;
  }
  *this = SseParser(max_event_bytes_);
  return end;
}

}  // namespace sluice::translate
