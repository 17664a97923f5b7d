// Access log: one JSON object per line per request. Each worker formats into its own buffer
// and hands whole lines to the file descriptor with write(2) when the buffer fills or at the
// worker's housekeeping tick (every 50 ms), so logging costs no lock and few system calls. Each
// write carries whole lines only and is small enough to be atomic, so workers' lines never mix.
// Credentials in query strings are redacted and every line stays below PIPE_BUF. Which fields a
// line has, and in which order, is the Gateway's spec.accessLog.fields (AccessLogOptions);
// formatting appends to the worker's buffer and allocates nothing for a line that fits.
// AccessLogBuffer is single-threaded (its worker's); the fd is shared and only written whole
// lines at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "observe/access_log_fields.hpp"

namespace sluice::observe {

struct AccessLogEntry {
  std::chrono::system_clock::time_point start;
  std::string_view request_id;  // observe/request_id.hpp
  std::string_view trace_id;    // W3C trace id (32 hex digits); empty: none (omitted)
  std::string_view client;      // the client's address (the TCP peer, or from X-Forwarded-For)
  std::string_view method;
  std::string_view path;      // client target
  std::string_view protocol;  // HTTP/1.0, HTTP/1.1 or HTTP/2; empty: not known (omitted)
  std::string_view route;     // "route/rule"
  std::string_view backend;
  std::string_view principal;      // the authenticated caller; empty: none (omitted)
  std::string_view upstream;       // "host:port"
  std::string_view upstream_path;  // path (and query) actually sent upstream
  std::string_view path_source;    // full | prefix | rewrite | default | client
  std::string_view model;
  std::string_view requested_model;  // the client's name for `model` when an alias resolved it
  bool stream = false;
  unsigned status = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  double duration_ms = 0;
  double upstream_first_byte_ms = -1;  // -1: no upstream response
  double time_to_first_token_ms = -1;  // -1: not measured (omitted)
  std::string_view translation;        // "openai->anthropic", ... empty when the provider speaks the client's API
  std::string_view guard;              // what a prompt guard did: direction, action, rule names
  std::string_view limit;              // the rate limit or budget that refused the request (429)
  std::string_view cache;              // the response cache's lookup: hit, miss, bypass; empty: no cache
  std::string_view provider;           // the AI Backend's provider that answered (or was tried last)
  unsigned attempts = 0;               // providers tried (0: none, e.g. refused before routing)
  std::int64_t prompt_tokens = -1;     // -1: not known
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
  std::int64_t cost_micros = -1;    // micro-USD; -1: not known (omitted)
  std::string_view finish_reason;   // as the provider said it
  std::string_view response_model;  // the model the provider says answered
  std::string_view error;           // why the request failed, if it did
  // Why each attempt before the last failed ("provider: why"), also when the last succeeded.
  std::span<const std::string> failover_reasons;
};

// How lines are written: query parameters whose values are replaced by REDACTED in `path` and
// `upstream_path` (names compared case-insensitively; the Gateway's spec.accessLog
// .redactQueryParams, whose default list is in config/resources.hpp).
// `fields`: the fields of a line, in order (empty: default_access_log_fields()).
struct AccessLogOptions {
  std::vector<std::string> redact_query_params;
  std::vector<AccessLogField> fields;
};

// Longest line written, newline included: one line stays below PIPE_BUF (4096), the size a pipe
// writes atomically. Longer string fields are cut and end with kTruncatedMarker.
inline constexpr std::size_t kMaxAccessLogLineBytes = 4095;
inline constexpr std::string_view kTruncatedMarker = "\u2026(truncated)";

// Appends `entry` as one JSON line (at most kMaxAccessLogLineBytes) to `out`.
void format_access_log(const AccessLogEntry& entry, std::string& out, const AccessLogOptions& options = {});

// `target` with the value of every query parameter named in `names` replaced by REDACTED.
std::string redact_query(std::string_view target, const std::vector<std::string>& names);

// Appends `s` JSON-escaped (no quotes) to `out`.
void append_json_escaped(std::string_view s, std::string& out);

class AccessLogBuffer {
 public:
  explicit AccessLogBuffer(int fd, AccessLogOptions options = {});
  ~AccessLogBuffer() { flush(); }
  AccessLogBuffer(const AccessLogBuffer&) = delete;
  AccessLogBuffer& operator=(const AccessLogBuffer&) = delete;

  bool enabled() const { return fd_ >= 0; }
  void write(const AccessLogEntry& entry);
  void flush();
  bool empty() const { return buffer_.empty(); }

 private:
  int fd_;
  // Largest write that stays one piece when several workers share the descriptor: PIPE_BUF for
  // a pipe or socket (a container's stdout), more for a file opened O_APPEND.
  std::size_t atomic_write_bytes_;
  std::string buffer_;
  AccessLogOptions options_;
};

}  // namespace sluice::observe
