#include "observe/recent_errors.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::observe {

void RecentErrors::record(const pipeline::RequestRecord& record, std::int64_t unix_ms) {
  if (record.status < 400 && record.error.empty() && record.failover_reasons.empty()) return;
  // The fields, NUL-separated, cut so the whole fits the slot (the error gets what is left).
  char text[kTextWords * 8] = {};
  std::size_t at = 0;
  const auto put = [&](std::string_view field, std::size_t max) {
    auto n = std::min({field.size(), max, sizeof text - 1 - at});
    // Cut on a character boundary: never before a UTF-8 continuation byte.
    while (n > 0 && n < field.size() && (static_cast<unsigned char>(field[n]) & 0xC0) == 0x80) --n;
    if (n > 0) std::memcpy(text + at, field.data(), n);  // an empty view may hold a null pointer
    at += n;
    if (at < sizeof text - 1) text[at++] = '\0';
  };
  put(record.route, 96);
  put(record.backend, 64);
  put(record.provider, 64);
  put(record.model, 64);
  if (!record.error.empty() || record.failover_reasons.empty()) {
    put(record.error, sizeof text);
  } else {  // served after a failover: why the providers before were given up, the last one shown
    constexpr std::string_view kFailedOver = "failed over: ";
    const auto n = std::min(kFailedOver.size(), sizeof text - 1 - at);
    std::memcpy(text + at, kFailedOver.data(), n);
    at += n;
    put(record.failover_reasons.back(), sizeof text);
  }
  auto& slot = slots_[next_];
  next_ = (next_ + 1) % kSlots;
  const auto sequence = slot.sequence.load(std::memory_order_relaxed);
  slot.sequence.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.unix_ms.store(unix_ms, std::memory_order_relaxed);
  slot.status.store(record.status, std::memory_order_relaxed);
  for (std::size_t i = 0; i < kTextWords; ++i) {
    std::uint64_t word;
    std::memcpy(&word, text + i * 8, 8);
    slot.text[i].store(word, std::memory_order_relaxed);
  }
  slot.sequence.store(sequence + 2, std::memory_order_release);
}

void RecentErrors::collect(std::vector<RecentError>& out) const {
  for (const auto& slot : slots_) {
    const auto before = slot.sequence.load(std::memory_order_acquire);
    if (before == 0 || before % 2 == 1) continue;
    RecentError error;
    error.unix_ms = slot.unix_ms.load(std::memory_order_relaxed);
    error.status = slot.status.load(std::memory_order_relaxed);
    char text[kTextWords * 8 + 1] = {};
    for (std::size_t i = 0; i < kTextWords; ++i) {
      const auto word = slot.text[i].load(std::memory_order_relaxed);
      std::memcpy(text + i * 8, &word, 8);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.sequence.load(std::memory_order_relaxed) != before) continue;  // rewritten meanwhile
    std::string* fields[] = {&error.route, &error.backend, &error.provider, &error.model, &error.error};
    const char* at = text;
    const char* end = text + kTextWords * 8;
    for (auto* field : fields) {
      const auto n = strnlen(at, static_cast<std::size_t>(end - at));
      field->assign(at, n);
      at = std::min(end, at + n + 1);
    }
    out.push_back(std::move(error));
  }
}

std::vector<RecentError> newest(std::vector<RecentError> errors, std::size_t limit) {
  std::stable_sort(errors.begin(), errors.end(),
                   [](const RecentError& a, const RecentError& b) { return a.unix_ms > b.unix_ms; });
  if (errors.size() > limit) errors.resize(limit);
  return errors;
}

}  // namespace sluice::observe
