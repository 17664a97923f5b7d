#include "observe/request_id.hpp"

#include <algorithm>
#include <random>

namespace sluice::observe {

namespace {

// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, seeded once per thread.
class Xoshiro256 {
 public:
  Xoshiro256() {
    std::random_device device;
    for (auto& word : state_) word = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    if (std::all_of(state_.begin(), state_.end(), [](std::uint64_t w) { return w == 0; })) state_[0] = 1;
  }
  std::uint64_t next() {
    const auto result = rotl(state_[1] * 5, 7) * 9;
    const auto t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

}  // namespace

void RequestId::assign(std::string_view text) {
  size_ = static_cast<std::uint8_t>(std::min(text.size(), kMaxRequestIdBytes));
  std::copy_n(text.data(), size_, bytes_.data());
}

bool valid_request_id(std::string_view text) {
  if (text.empty() || text.size() > kMaxRequestIdBytes) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

RequestId generate_request_id() {
  thread_local Xoshiro256 generator;
  static constexpr char kHex[] = "0123456789abcdef";
  char text[32];
  for (int half = 0; half < 2; ++half) {
    auto bits = generator.next();
    for (int i = 0; i < 16; ++i) {
      text[half * 16 + i] = kHex[bits & 0xF];
      bits >>= 4;
    }
  }
  RequestId id;
  id.assign(std::string_view(text, sizeof text));
  return id;
}

RequestId choose_request_id(std::string_view incoming, bool trusted) {
  if (trusted && valid_request_id(incoming)) {
    RequestId id;
    id.assign(incoming);
    return id;
  }
  return generate_request_id();
}

}  // namespace sluice::observe
