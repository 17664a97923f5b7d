#include "translate/openai_response_reader.hpp"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cstring>

#include "http/sse.hpp"
#include "translate/content_event.hpp"

namespace sluice::translate {

namespace json = boost::json;
using boost::system::error_code;

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

// A basic_parser handler reading, in one pass and without building the document, what
// read_document keeps: the top-level "model" string, each choice's "finish_reason" string, the
// top-level "usage" object's counts, and whether "choices" is an empty array. Nothing is taken
// unless the whole text parses (the reader commits after a successful parse). Duplicate members:
// the last one wins, as in a parsed document.
class DocumentScan {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit DocumentScan(const Usage& current) : usage(current), before_(current) {}

  bool top_level_object = false;
  bool has_model = false;
  std::string model;
  bool has_finish_reason = false;
  std::string finish_reason;
  bool has_usage = false;
  Usage usage;
  bool choices_array = false;
  bool choices_empty = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    count(0);  // a count that is an object counts 0
    if (depth_ == 0) {
      top_level_object = true;
    } else if (depth_ == 1 && top_ == Top::Usage) {
      // The three counts are always set; the details only where their objects are.
      has_usage = true;
      usage_seen_ = before_;  // a duplicate "usage" replaces the earlier one whole
      usage_seen_.prompt_tokens = usage_seen_.completion_tokens = usage_seen_.total_tokens = 0;
    } else if (depth_ == 2 && top_ == Top::Usage && member_ == Member::PromptDetails) {
      usage_seen_.cached_tokens = 0;
      in_details_ = Member::PromptDetails;
    } else if (depth_ == 2 && top_ == Top::Usage && member_ == Member::CompletionDetails) {
      usage_seen_.reasoning_tokens = 0;
      in_details_ = Member::CompletionDetails;
    } else if (depth_ == 2 && top_ == Top::Choices && choices_array) {  // an element of the array
      in_choice_ = true;
      choice_has_reason_ = false;
    }
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    if (depth_ == 1 && top_ == Top::Usage) usage = usage_seen_;
    if (depth_ == 2) in_details_ = Member::None;
    if (depth_ == 2 && top_ == Top::Choices && in_choice_) {
      in_choice_ = false;
      if (choice_has_reason_) {
        has_finish_reason = true;
        finish_reason = std::move(choice_reason_);
      }
    }
    return value_done();
  }
  bool on_array_begin(error_code&) {
    count(0);
    if (depth_ == 1 && top_ == Top::Choices) choices_array = true;
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t size, error_code&) {
    --depth_;
    if (depth_ == 1 && top_ == Top::Choices) choices_empty = size == 0;
    return value_done();
  }
  bool on_key_part(json::string_view part, std::size_t, error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, error_code&) {
    key_.append(part.data(), part.size());
    if (depth_ == 1) {
      top_ = key_ == "model"     ? Top::Model
             : key_ == "choices" ? Top::Choices
             : key_ == "usage"   ? Top::Usage
                                 : Top::Other;
      // A member seen again replaces what the earlier one said, as in a parsed document.
      if (top_ == Top::Model) has_model = false;
      if (top_ == Top::Usage) has_usage = false;  // until its value proves an object
      if (top_ == Top::Choices) {
        choices_array = false;
        has_finish_reason = false;
      }
    } else if (depth_ == 2 && top_ == Top::Usage) {
      member_ = key_ == "prompt_tokens"               ? Member::PromptTokens
                : key_ == "completion_tokens"         ? Member::CompletionTokens
                : key_ == "total_tokens"              ? Member::TotalTokens
                : key_ == "prompt_tokens_details"     ? Member::PromptDetails
                : key_ == "completion_tokens_details" ? Member::CompletionDetails
                                                      : Member::None;
      // Details that are not an object leave the count as it was before this document.
      if (member_ == Member::PromptDetails) usage_seen_.cached_tokens = before_.cached_tokens;
      if (member_ == Member::CompletionDetails) usage_seen_.reasoning_tokens = before_.reasoning_tokens;
    } else if (depth_ == 3 && in_details_ != Member::None) {
      member_ = in_details_ == Member::PromptDetails && key_ == "cached_tokens"          ? Member::CachedTokens
                : in_details_ == Member::CompletionDetails && key_ == "reasoning_tokens" ? Member::ReasoningTokens
                                                                                         : Member::None;
    } else if (depth_ == 3 && in_choice_) {
      member_ = key_ == "finish_reason" ? Member::FinishReason : Member::None;
      if (member_ == Member::FinishReason) choice_has_reason_ = false;  // the last one counts
    } else {
      member_ = Member::None;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view part, std::size_t, error_code&) {
    append_string(part);
    return true;
  }
  bool on_string(json::string_view part, std::size_t, error_code&) {
    append_string(part);
    if (depth_ == 1 && top_ == Top::Model) {
      has_model = true;
      model = std::move(string_);
    } else if (depth_ == 3 && in_choice_ && member_ == Member::FinishReason) {
      choice_has_reason_ = true;
      choice_reason_ = std::move(string_);
    } else {
      count(0);
    }
    string_.clear();
    return value_done();
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, json::string_view, error_code&) {
    count(v > 0 ? static_cast<std::uint64_t>(v) : 0);
    return value_done();
  }
  bool on_uint64(std::uint64_t v, json::string_view, error_code&) {
    count(v);
    return value_done();
  }
  bool on_double(double, json::string_view, error_code&) {
    count(0);
    return value_done();
  }
  bool on_bool(bool, error_code&) {
    count(0);
    return value_done();
  }
  bool on_null(error_code&) {
    count(0);
    return value_done();
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  enum class Top { Other, Model, Choices, Usage };
  enum class Member {
    None,
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    PromptDetails,
    CompletionDetails,
    CachedTokens,
    ReasoningTokens,
    FinishReason
  };

  bool value_done() {
    if (depth_ == 1) top_ = Top::Other;
    return true;
  }
  // The string being read, kept only where it may be the model or a finish reason (bounded).
  void append_string(json::string_view part) {
    const bool wanted =
        (depth_ == 1 && top_ == Top::Model) || (depth_ == 3 && in_choice_ && member_ == Member::FinishReason);
    if (!wanted || string_.size() >= kMaxNameBytes) return;
    string_.append(part.data(), std::min(part.size(), kMaxNameBytes - string_.size()));
  }
  // A scalar value inside "usage": the count of the member it is the value of (a count that is
  // not a non-negative integer counts 0).
  void count(std::uint64_t value) {
    if (top_ != Top::Usage) return;
    if (depth_ == 2) {
      if (member_ == Member::PromptTokens) usage_seen_.prompt_tokens = value;
      if (member_ == Member::CompletionTokens) usage_seen_.completion_tokens = value;
      if (member_ == Member::TotalTokens) usage_seen_.total_tokens = value;
    } else if (depth_ == 3) {
      if (member_ == Member::CachedTokens) usage_seen_.cached_tokens = value;
      if (member_ == Member::ReasoningTokens) usage_seen_.reasoning_tokens = value;
    }
  }

  int depth_ = 0;
  Top top_ = Top::Other;
  Member member_ = Member::None;
  Member in_details_ = Member::None;
  bool in_choice_ = false;
  bool choice_has_reason_ = false;  // the choice being read has a finish reason: choice_reason_
  std::string choice_reason_;
  Usage before_;  // the reader's usage before this document
  Usage usage_seen_;
  std::string key_;
  std::string string_;
};

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
  json::basic_parser<DocumentScan> parser(json::parse_options{}, usage_);
  error_code ec;
  const auto consumed = parser.write_some(false, text.data(), text.size(), ec);
  const auto& scan = parser.handler();
  if (ec || consumed < text.size() || !scan.top_level_object) return;
  if (scan.has_model && model_.empty()) model_ = scan.model;
  if (scan.has_finish_reason) finish_reason_ = scan.finish_reason;
  if (scan.has_usage) {
    usage_ = scan.usage;
    usage_.known = true;
    // The chunk include_usage adds: usage and no choice.
    usage_only = from_stream && scan.choices_array && scan.choices_empty;
  }
}

}  // namespace sluice::translate
