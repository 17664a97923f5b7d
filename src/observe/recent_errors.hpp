// RecentErrors: the last few failed requests of one worker (status 400 and above, or a request
// that needed a failover), for the admin /status document and the status page. A ring of
// kSlots fixed-size slots written by the worker that owns it, at the end of a failed request,
// with relaxed atomic stores and no lock, no allocation; read from the admin thread with a
// sequence number per slot (a seqlock over atomic words), so a slot being rewritten is skipped,
// never torn. Each field is cut to fit its slot. Single writer; any number of readers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/request_record.hpp"

namespace sluice::observe {

struct RecentError {
  std::int64_t unix_ms = 0;
  unsigned status = 0;
  std::string route;
  std::string backend;
  std::string provider;
  std::string model;
  std::string error;  // the access log's `error` text; empty: the status alone says it
};

class RecentErrors {
 public:
  static constexpr std::size_t kSlots = 16;
  static constexpr std::size_t kTextWords = 48;  // 384 bytes: route, backend, provider, model, error

  // Owner thread. Records `record` when it failed (status >= 400, or an error such as a
  // failover's); does nothing otherwise.
  void record(const pipeline::RequestRecord& record, std::int64_t unix_ms);
  // Any thread: appends every complete slot to `out` (unordered).
  void collect(std::vector<RecentError>& out) const;

 private:
  struct Slot {
    std::atomic<std::uint64_t> sequence{0};  // odd while being written; 0: never written
    std::atomic<std::int64_t> unix_ms{0};
    std::atomic<std::uint32_t> status{0};
    std::array<std::atomic<std::uint64_t>, kTextWords> text{};  // NUL-separated fields
  };
  std::array<Slot, kSlots> slots_;
  std::size_t next_ = 0;  // owner thread only
};

// The most recent `limit` of `errors`, newest first.
std::vector<RecentError> newest(std::vector<RecentError> errors, std::size_t limit);

}  // namespace sluice::observe
