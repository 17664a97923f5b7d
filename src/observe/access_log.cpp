#include "observe/access_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

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

void format_access_log(const AccessLogEntry& e, std::string& out) {
  auto field = [&out](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":\"";
    append_json_escaped(value, out);
    out += '"';
  };
  // The date and time to the second are formatted once per second per thread.
  thread_local std::time_t cached_second = -1;
  thread_local char cached_text[32];
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(e.start.time_since_epoch()).count();
  const std::time_t second = static_cast<std::time_t>(since_epoch / 1000);
  if (second != cached_second) {
    const auto end = fmt::format_to_n(cached_text, sizeof cached_text - 1, "{:%Y-%m-%dT%H:%M:%S}", fmt::gmtime(second)).out;
    *end = '\0';
    cached_second = second;
  }
  out += "{\"time\":\"";
  out += cached_text;
  out += fmt::format(".{:03d}Z\"", static_cast<int>(since_epoch % 1000));
  field("client", e.client);
  field("method", e.method);
  field("path", e.path);
  field("route", e.route);
  field("backend", e.backend);
  field("upstream", e.upstream);
  field("upstream_path", e.upstream_path);
  field("path_source", e.path_source);
  field("model", e.model);
  out += fmt::format(",\"stream\":{},\"status\":{},\"bytes_received\":{},\"bytes_sent\":{},\"duration_ms\":{:.3f}",
                     e.stream, e.status, e.bytes_received, e.bytes_sent, e.duration_ms);
  if (e.upstream_first_byte_ms >= 0) out += fmt::format(",\"upstream_first_byte_ms\":{:.3f}", e.upstream_first_byte_ms);
  if (!e.provider.empty()) field("provider", e.provider);
  if (e.attempts > 1) out += fmt::format(",\"attempts\":{}", e.attempts);
  if (!e.translation.empty()) field("translation", e.translation);
  if (e.prompt_tokens >= 0) out += fmt::format(",\"prompt_tokens\":{}", e.prompt_tokens);
  if (e.completion_tokens >= 0) out += fmt::format(",\"completion_tokens\":{}", e.completion_tokens);
  if (!e.error.empty()) field("error", e.error);
  out += "}\n";
}

void AccessLogBuffer::write(const AccessLogEntry& entry) {
  if (fd_ < 0) return;
  format_access_log(entry, buffer_);
  if (buffer_.size() >= kFlushThreshold) flush();
}

AccessLogBuffer::AccessLogBuffer(int fd) : fd_(fd), atomic_write_bytes_(PIPE_BUF) {
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
