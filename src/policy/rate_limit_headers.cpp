#include "policy/rate_limit_headers.hpp"

#include <cmath>

namespace sluice::policy {

namespace {

struct Tightest {
  bool set = false;
  LimitReading reading;
};

// The request's readings: one per kind.
struct HeaderState final : pipeline::StageState {
  Tightest requests;
  Tightest tokens;
};

// The slot of HeaderState among a request's stage states (shared by every limit stage).
constexpr char kHeaderStateSlot = 0;

double share_left(const LimitReading& reading) {
  return reading.limit == 0 ? 0 : reading.remaining / static_cast<double>(reading.limit);
}

void append_lines(std::string& out, std::string_view kind, const LimitReading& reading) {
  const auto remaining = static_cast<std::uint64_t>(std::max(0.0, std::floor(reading.remaining)));
  out += "x-ratelimit-limit-";
  out += kind;
  out += ": " + std::to_string(reading.limit) + "\r\n";
  out += "x-ratelimit-remaining-";
  out += kind;
  out += ": " + std::to_string(remaining) + "\r\n";
  out += "x-ratelimit-reset-";
  out += kind;
  out += ": " + format_reset(reading.reset) + "\r\n";
}

}  // namespace

std::string format_reset(std::chrono::milliseconds reset) {
  const std::int64_t ms = std::max<std::int64_t>(0, reset.count());
  if (ms < 1000) return std::to_string(ms) + "ms";
  const std::int64_t hours = ms / 3'600'000;
  const std::int64_t minutes = (ms / 60'000) % 60;
  const std::int64_t seconds = (ms / 1000) % 60;
  const std::int64_t millis = ms % 1000;
  std::string out;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (millis > 0) {
    std::string fraction = std::to_string(millis);
    fraction.insert(0, 3 - fraction.size(), '0');
    while (fraction.back() == '0') fraction.pop_back();
    out += "." + fraction;
  }
  out += "s";
  return out;
}

void offer_limit_reading(pipeline::RequestContext& request, const LimitReading& reading) {
  auto& state = request.state<HeaderState>(&kHeaderStateSlot);
  auto& tightest = reading.tokens ? state.tokens : state.requests;
  if (tightest.set && share_left(tightest.reading) <= share_left(reading)) return;
  tightest = {true, reading};
  std::string lines;
  if (state.requests.set) append_lines(lines, "requests", state.requests.reading);
  if (state.tokens.set) append_lines(lines, "tokens", state.tokens.reading);
  request.set_response_header_block(&kHeaderStateSlot, lines);
}

}  // namespace sluice::policy
