#include "observe/access_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cerrno>
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
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Clients can send any byte in a path: invalid UTF-8 becomes U+FFFD so every line stays JSON.
      if (const auto len = utf8_sequence_length(s, i); len > 0) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        out += "\\ufffd";
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
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
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

struct TextField {
  std::string_view name;
  std::string escaped;
  bool always = true;  // written even when empty
};

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

// What the response said about itself: the response cache's lookup (a fixed word), token
// counts, finish reason, answering model (both
// bounded where they are read, so this part of a line stays small).
void append_usage(const AccessLogEntry& e, std::string& out) {
  if (!e.cache.empty()) fmt::format_to(std::back_inserter(out), ",\"cache\":\"{}\"", e.cache);
  if (e.prompt_tokens >= 0) fmt::format_to(std::back_inserter(out), ",\"prompt_tokens\":{}", e.prompt_tokens);
  if (e.completion_tokens >= 0)
    fmt::format_to(std::back_inserter(out), ",\"completion_tokens\":{}", e.completion_tokens);
  if (e.cached_tokens > 0) fmt::format_to(std::back_inserter(out), ",\"cached_tokens\":{}", e.cached_tokens);
  if (e.cost_micros >= 0)
    fmt::format_to(std::back_inserter(out), ",\"cost_usd\":\"{}.{:06}\"", e.cost_micros / 1'000'000,
                   e.cost_micros % 1'000'000);
  if (!e.finish_reason.empty()) {
    out += ",\"finish_reason\":\"";
    append_json_escaped(e.finish_reason, out);
    out += '"';
  }
  if (!e.response_model.empty()) {
    out += ",\"response_model\":\"";
    append_json_escaped(e.response_model, out);
    out += '"';
  }
}

// `{"time":"2026-12-02T12:00:00.123Z"`; the date and time to the second are formatted once per
// second per thread.
void append_line_head(const AccessLogEntry& e, std::string& out) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached_text[32];
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(e.start.time_since_epoch()).count();
  const std::time_t second = static_cast<std::time_t>(since_epoch / 1000);
  if (second != cached_second) {
    const auto end =
        fmt::format_to_n(cached_text, sizeof cached_text - 1, "{:%Y-%m-%dT%H:%M:%S}", fmt::gmtime(second)).out;
    *end = '\0';
    cached_second = second;
  }
  out += "{\"time\":\"";
  out += cached_text;
  fmt::format_to(std::back_inserter(out), ".{:03d}Z\"", static_cast<int>(since_epoch % 1000));
}

void append_numbers(const AccessLogEntry& e, std::string& out) {
  fmt::format_to(std::back_inserter(out),
                 ",\"stream\":{},\"status\":{},\"bytes_received\":{},\"bytes_sent\":{},\"duration_ms\":{:.3f}",
                 e.stream, e.status, e.bytes_received, e.bytes_sent, e.duration_ms);
  if (e.upstream_first_byte_ms >= 0)
    fmt::format_to(std::back_inserter(out), ",\"upstream_first_byte_ms\":{:.3f}", e.upstream_first_byte_ms);
  if (e.time_to_first_token_ms >= 0)
    fmt::format_to(std::back_inserter(out), ",\"time_to_first_token_ms\":{:.3f}", e.time_to_first_token_ms);
}

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
  auto field = [&out](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":\"";
    append_json_escaped(value, out);
    out += '"';
  };
  append_line_head(e, out);
  field("client", e.client);
  field("method", e.method);
  field("path", path);
  field("route", e.route);
  field("backend", e.backend);
  if (!e.principal.empty()) field("principal", e.principal);
  field("upstream", e.upstream);
  field("upstream_path", upstream_path);
  field("path_source", e.path_source);
  field("model", e.model);
  if (!e.requested_model.empty()) field("requested_model", e.requested_model);
  append_numbers(e, out);
  if (!e.provider.empty()) field("provider", e.provider);
  if (e.attempts > 1) fmt::format_to(std::back_inserter(out), ",\"attempts\":{}", e.attempts);
  if (!e.translation.empty()) field("translation", e.translation);
  if (!e.guard.empty()) field("guard", e.guard);
  append_usage(e, out);
  if (!e.error.empty()) field("error", e.error);
  out += "}\n";
  if (out.size() - line_start <= kMaxAccessLogLineBytes) return;

  // Too long for one atomic write: rebuild the line with the longest text fields cut.
  out.resize(line_start);
  auto escape = [](std::string_view v) {
    std::string s;
    append_json_escaped(v, s);
    return s;
  };
  std::vector<TextField> fields = {{"client", escape(e.client)},
                                   {"method", escape(e.method)},
                                   {"path", escape(path)},
                                   {"route", escape(e.route)},
                                   {"backend", escape(e.backend)},
                                   {"principal", escape(e.principal), false},
                                   {"upstream", escape(e.upstream)},
                                   {"upstream_path", escape(upstream_path)},
                                   {"path_source", escape(e.path_source)},
                                   {"model", escape(e.model)},
                                   {"requested_model", escape(e.requested_model), false},
                                   {"provider", escape(e.provider), false},
                                   {"translation", escape(e.translation), false},
                                   {"guard", escape(e.guard), false},
                                   {"error", escape(e.error), false}};
  std::string head;
  append_line_head(e, head);
  std::string numbers;
  append_numbers(e, numbers);
  std::string tail;
  if (e.attempts > 1) fmt::format_to(std::back_inserter(tail), ",\"attempts\":{}", e.attempts);
  append_usage(e, tail);
  auto total = [&] {
    std::size_t n = head.size() + numbers.size() + tail.size() + 2;  // "}\n"
    for (const auto& f : fields)
      if (f.always || !f.escaped.empty()) n += f.name.size() + 6 + f.escaped.size();  // ,"name":"..."
    return n;
  };
  constexpr std::size_t kKeep = 32;  // a cut field keeps at least this much of its text
  for (std::size_t size = total(); size > kMaxAccessLogLineBytes; size = total()) {
    auto longest = std::max_element(fields.begin(), fields.end(), [](const TextField& a, const TextField& b) {
      return a.escaped.size() < b.escaped.size();
    });
    if (longest->escaped.size() <= kKeep + kTruncatedMarker.size()) break;  // cannot happen: fixed parts are small
    const auto over = size - kMaxAccessLogLineBytes;
    const auto room = longest->escaped.size() > over + kTruncatedMarker.size() + kKeep
                          ? longest->escaped.size() - over - kTruncatedMarker.size()
                          : kKeep;
    longest->escaped.resize(escaped_cut(longest->escaped, room));
    longest->escaped += kTruncatedMarker;
  }
  out += head;
  auto put = [&](const TextField& f) {
    if (!f.always && f.escaped.empty()) return;
    out += ",\"";
    out += f.name;
    out += "\":\"";
    out += f.escaped;
    out += '"';
  };
  for (std::size_t i = 0; i < 11; ++i) put(fields[i]);  // client .. requested_model
  out += numbers;
  put(fields[11]);  // provider
  if (e.attempts > 1) fmt::format_to(std::back_inserter(out), ",\"attempts\":{}", e.attempts);
  put(fields[12]);  // translation
  put(fields[13]);  // guard
  append_usage(e, out);
  put(fields[14]);  // error
  out += "}\n";
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
