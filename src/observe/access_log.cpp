#include "observe/access_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <iterator>

#include "http/syntax.hpp"

namespace sluice::observe {

namespace {
constexpr std::size_t kFlushThreshold = 32 * 1024;
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  unsigned cp = b0 & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

void append_json_escaped(std::string_view s, std::string& out) {
  // Bytes that need no escaping are appended a run at a time.
  const auto plain = [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 0x20 && b < 0x80 && c != '"' && c != '\\';
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto run_start = i;
    while (i < s.size() && plain(s[i])) ++i;
    out.append(s.data() + run_start, i - run_start);
    if (i == s.size()) break;
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Clients can send any byte in a path: invalid UTF-8 becomes U+FFFD so every line stays JSON.
      if (const auto len = utf8_sequence_length(s, i); len > 0) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        out += "\\ufffd";
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        constexpr char kHex[] = "0123456789abcdef";
        const auto b = static_cast<unsigned char>(c);
        const char escape[] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
        out.append(escape, sizeof escape);
      }
    }
    ++i;
  }
}

namespace {

// A query parameter name as the server reads it: %XX decoded, '+' as space.
std::string decode_name(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size() && http::hex_value(name[i + 1]) >= 0 &&
        http::hex_value(name[i + 2]) >= 0) {
      out += static_cast<char>(http::hex_value(name[i + 1]) * 16 + http::hex_value(name[i + 2]));
      i += 2;
    } else {
      out += name[i] == '+' ? ' ' : name[i];
    }
  }
  return out;
}

// Length of the longest prefix of the escaped text `s` not longer than `max` that ends between
// two escape sequences or UTF-8 characters.
std::size_t escaped_cut(std::string_view s, std::size_t max) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 1;
    const auto b = static_cast<unsigned char>(s[i]);
    if (s[i] == '\\') {
      len = i + 1 < s.size() && s[i + 1] == 'u' ? 6 : 2;
    } else if (b >= 0xF0) {
      len = 4;
    } else if (b >= 0xE0) {
      len = 3;
    } else if (b >= 0xC0) {
      len = 2;
    }
    if (i + len > max) break;
    i += len;
  }
  return i;
}

}  // namespace

std::string redact_query(std::string_view target, const std::vector<std::string>& names) {
  const auto q = target.find('?');
  if (q == std::string_view::npos || names.empty()) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view query = target.substr(q + 1);
  std::string_view fragment;
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const auto eq = param.find('=');
    const auto name = decode_name(param.substr(0, eq));
    bool redact = false;
    for (const auto& n : names) redact = redact || boost::beast::iequals(name, n);
    if (redact && eq != std::string_view::npos) {
      out.append(param.substr(0, eq + 1));
      out += "REDACTED";
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  out.append(fragment);
  return out;
}

namespace {

// Per-field caps on escaped text (npos: none) and the escaped length each text field had.
using FieldSizes = std::array<std::size_t, kAccessLogFieldCount>;

// Writes one line's fields. With `caps`, a text field longer than its cap is cut to it and ends
// with kTruncatedMarker; `lengths` receives each text field's escaped length (the longest
// element for failover_reasons).
class LineWriter {
 public:
  LineWriter(const AccessLogEntry& e, std::string_view path, std::string_view upstream_path, std::string& out,
             const FieldSizes* caps, FieldSizes* lengths)
      : e_(e), path_(path), upstream_path_(upstream_path), out_(out), caps_(caps), lengths_(lengths) {}

  void write(std::span<const AccessLogField> fields) {
    out_ += '{';
    for (const auto field : fields) put(field);
    out_ += "}\n";
  }

 private:
  void name(AccessLogField field) {
    if (out_.back() != '{') out_ += ',';
    out_ += '"';
    out_ += kAccessLogFieldNames[static_cast<std::size_t>(field)];
    out_ += "\":";
  }
  // The escaped text of `value` at the end of `out_`, cut to the field's cap.
  void escaped(AccessLogField field, std::string_view value) {
    const auto from = out_.size();
    append_json_escaped(value, out_);
    const auto index = static_cast<std::size_t>(field);
    const auto length = out_.size() - from;
    if (lengths_ != nullptr) (*lengths_)[index] = std::max((*lengths_)[index], length);
    if (caps_ != nullptr && length > (*caps_)[index]) {
      out_.resize(from + escaped_cut(std::string_view(out_).substr(from), (*caps_)[index]));
      out_ += kTruncatedMarker;
    }
  }
  void text(AccessLogField field, std::string_view value, bool always) {
    if (!always && value.empty()) return;
    name(field);
    out_ += '"';
    escaped(field, value);
    out_ += '"';
  }
  template <class T>
  void number(AccessLogField field, T value) {
    name(field);
    append_number(value);
  }
  template <class T>
  void append_number(T value) {
    char digits[32];
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
  }
  void milliseconds(AccessLogField field, double value) {
    name(field);
    char digits[64];
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed, 3).ptr);
  }
  void time() {
    // "2026-12-02T12:00:00.123Z"; the date and time to the second are formatted once per second
    // per thread.
    thread_local std::time_t cached_second = -1;
    thread_local char cached_text[32];
    const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(e_.start.time_since_epoch()).count();
    const std::time_t second = static_cast<std::time_t>(since_epoch / 1000);
    if (second != cached_second) {
      const auto end =
          fmt::format_to_n(cached_text, sizeof cached_text - 1, "{:%Y-%m-%dT%H:%M:%S}", fmt::gmtime(second)).out;
      *end = '\0';
      cached_second = second;
    }
    name(AccessLogField::Time);
    out_ += '"';
    out_ += cached_text;
    const auto millis = static_cast<int>(since_epoch % 1000);
    const char fraction[] = {'.',
                             static_cast<char>('0' + millis / 100),
                             static_cast<char>('0' + millis / 10 % 10),
                             static_cast<char>('0' + millis % 10),
                             'Z',
                             '"'};
    out_.append(fraction, sizeof fraction);
  }

  void put(AccessLogField field) {
    using F = AccessLogField;
    switch (field) {
      case F::Time:
        return time();
      case F::RequestId:
        return text(field, e_.request_id, false);
      case F::TraceId:
        return text(field, e_.trace_id, false);
      case F::Client:
        return text(field, e_.client, true);
      case F::Method:
        return text(field, e_.method, true);
      case F::Path:
        return text(field, path_, true);
      case F::Protocol:
        return text(field, e_.protocol, false);
      case F::Route:
        return text(field, e_.route, true);
      case F::Backend:
        return text(field, e_.backend, true);
      case F::Principal:
        return text(field, e_.principal, false);
      case F::Upstream:
        return text(field, e_.upstream, true);
      case F::UpstreamPath:
        return text(field, upstream_path_, true);
      case F::PathSource:
        return text(field, e_.path_source, true);
      case F::Model:
        return text(field, e_.model, true);
      case F::RequestedModel:
        return text(field, e_.requested_model, false);
      case F::Stream:
        name(field);
        out_ += e_.stream ? "true" : "false";
        return;
      case F::Status:
        return number(field, e_.status);
      case F::BytesReceived:
        return number(field, e_.bytes_received);
      case F::BytesSent:
        return number(field, e_.bytes_sent);
      case F::DurationMs:
        return milliseconds(field, e_.duration_ms);
      case F::UpstreamFirstByteMs:
        if (e_.upstream_first_byte_ms >= 0) milliseconds(field, e_.upstream_first_byte_ms);
        return;
      case F::TimeToFirstTokenMs:
        if (e_.time_to_first_token_ms >= 0) milliseconds(field, e_.time_to_first_token_ms);
        return;
      case F::Provider:
        return text(field, e_.provider, false);
      case F::Attempts:
        if (e_.attempts > 1) number(field, e_.attempts);
        return;
      case F::Translation:
        return text(field, e_.translation, false);
      case F::Guard:
        return text(field, e_.guard, false);
      case F::Limit:
        return text(field, e_.limit, false);
      case F::Cache:
        return text(field, e_.cache, false);
      case F::PromptTokens:
        if (e_.prompt_tokens >= 0) number(field, e_.prompt_tokens);
        return;
      case F::CompletionTokens:
        if (e_.completion_tokens >= 0) number(field, e_.completion_tokens);
        return;
      case F::CachedTokens:
        if (e_.cached_tokens > 0) number(field, e_.cached_tokens);
        return;
      case F::CostUsd:
        // A string so no JSON reader rounds it.
        if (e_.cost_micros >= 0) {
          name(field);
          out_ += '"';
          append_number(e_.cost_micros / 1'000'000);
          const auto micros = e_.cost_micros % 1'000'000;
          char fraction[8] = {'.', '0', '0', '0', '0', '0', '0', '"'};
          for (int digit = 6, rest = static_cast<int>(micros); digit >= 1; --digit, rest /= 10) {
            fraction[digit] = static_cast<char>('0' + rest % 10);
          }
          out_.append(fraction, sizeof fraction);
        }
        return;
      case F::FinishReason:
        return text(field, e_.finish_reason, false);
      case F::ResponseModel:
        return text(field, e_.response_model, false);
      case F::Error:
        return text(field, e_.error, false);
      case F::FailoverReasons:
        if (e_.failover_reasons.empty()) return;
        name(field);
        out_ += '[';
        for (std::size_t i = 0; i < e_.failover_reasons.size(); ++i) {
          if (i > 0) out_ += ',';
          out_ += '"';
          escaped(field, e_.failover_reasons[i]);
          out_ += '"';
        }
        out_ += ']';
        return;
    }
  }

  const AccessLogEntry& e_;
  std::string_view path_;
  std::string_view upstream_path_;
  std::string& out_;
  const FieldSizes* caps_;
  FieldSizes* lengths_;
};

}  // namespace

void format_access_log(const AccessLogEntry& e, std::string& out, const AccessLogOptions& options) {
  const auto line_start = out.size();
  // Paths with a query may carry credentials: redacted copies; others are used as they are.
  std::string path_redacted;
  std::string upstream_path_redacted;
  std::string_view path = e.path;
  std::string_view upstream_path = e.upstream_path;
  if (!options.redact_query_params.empty()) {
    if (path.find('?') != std::string_view::npos)
      path = path_redacted = redact_query(path, options.redact_query_params);
    if (upstream_path.find('?') != std::string_view::npos)
      upstream_path = upstream_path_redacted = redact_query(upstream_path, options.redact_query_params);
  }
  const std::span<const AccessLogField> fields =
      options.fields.empty() ? default_access_log_fields() : std::span<const AccessLogField>(options.fields);
  LineWriter(e, path, upstream_path, out, nullptr, nullptr).write(fields);
  if (out.size() - line_start <= kMaxAccessLogLineBytes) return;

  // Too long for one atomic write: written again with the longest text fields cut, one at a
  // time, until the line fits (numbers are never cut).
  constexpr std::size_t kKeep = 32;  // a cut field keeps at least this much of its text
  FieldSizes caps;
  caps.fill(std::string::npos);
  for (std::size_t round = 0; round <= kAccessLogFieldCount; ++round) {
    FieldSizes lengths{};
    out.resize(line_start);
    LineWriter(e, path, upstream_path, out, &caps, &lengths).write(fields);
    const auto size = out.size() - line_start;
    if (size <= kMaxAccessLogLineBytes) return;
    std::size_t longest = 0;
    for (std::size_t i = 1; i < lengths.size(); ++i) {
      if (std::min(lengths[i], caps[i]) > std::min(lengths[longest], caps[longest])) longest = i;
    }
    const auto current = std::min(lengths[longest], caps[longest]);
    if (current <= kKeep) break;  // cannot happen: the fixed parts are small
    const auto over = size - kMaxAccessLogLineBytes;
    caps[longest] = current > over + kTruncatedMarker.size() + kKeep ? current - over - kTruncatedMarker.size() : kKeep;
  }
}

void AccessLogBuffer::write(const AccessLogEntry& entry) {
  if (fd_ < 0) return;
  format_access_log(entry, buffer_, options_);
  if (buffer_.size() >= kFlushThreshold) flush();
}

AccessLogBuffer::AccessLogBuffer(int fd, AccessLogOptions options)
    : fd_(fd), atomic_write_bytes_(PIPE_BUF), options_(std::move(options)) {
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) atomic_write_bytes_ = 64 * 1024;
}

void AccessLogBuffer::flush() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    // The longest run of whole lines that fits one atomic write (a longer single line alone).
    std::size_t end = done;
    for (;;) {
      const auto nl = buffer_.find('\n', end);
      if (nl == std::string::npos) {
        end = buffer_.size();
        break;
      }
      if (nl + 1 - done > atomic_write_bytes_ && end > done) break;
      end = nl + 1;
      if (end - done >= atomic_write_bytes_) break;
    }
    while (done < end) {
      const auto n = ::write(fd_, buffer_.data() + done, end - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        buffer_.clear();  // the log is best-effort: never stall the worker on a broken log file
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  buffer_.clear();
}

}  // namespace sluice::observe
