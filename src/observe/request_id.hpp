// Request ids: the id that names one request in the access log, in the x-request-id header sent
// upstream and in the one returned to the client. Generated (16 random bytes as 32 lower-case hex
// digits, from a per-thread generator seeded from the system's random source: no lock, no
// allocation), or the client's own x-request-id when the Gateway trusts it
// (spec.accessLog.trustRequestId) and it is a valid id (1 to kMaxRequestIdBytes visible ASCII
// characters). RequestId holds the text inline. Functions are thread-safe (thread-local state).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::observe {

inline constexpr std::size_t kMaxRequestIdBytes = 128;

class RequestId {
 public:
  std::string_view view() const { return {bytes_.data(), size_}; }
  bool empty() const { return size_ == 0; }
  // `text` must be a valid id (valid_request_id); longer text is cut to kMaxRequestIdBytes.
  void assign(std::string_view text);

 private:
  std::array<char, kMaxRequestIdBytes> bytes_{};
  std::uint8_t size_ = 0;
};

// 1 to kMaxRequestIdBytes characters, each visible ASCII (0x21-0x7E).
bool valid_request_id(std::string_view text);

// A new random id (32 hex digits).
RequestId generate_request_id();

// The client's id when `trusted` and valid, else a new one.
RequestId choose_request_id(std::string_view incoming, bool trusted);

}  // namespace sluice::observe
