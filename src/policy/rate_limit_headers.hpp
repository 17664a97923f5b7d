// The OpenAI-style rate-limit headers every answer of a rate-limited request carries:
//   x-ratelimit-limit-requests / -tokens      the limit
//   x-ratelimit-remaining-requests / -tokens  what is left after this request
//   x-ratelimit-reset-requests / -tokens      until the limit is whole again ("1s", "6m0s", "20ms")
// for the tightest applicable limit of each kind (the smallest share left), across the local
// and global limits of the request. Each limit stage offers its readings; the lines are one
// block of RequestContext::response_header_lines (which the responder writes on every answer,
// relayed, converted, local or an error), rewritten when a tighter reading arrives.
// Per request; not thread-safe (one request's coroutine).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pipeline/stage.hpp"

namespace sluice::policy {

struct LimitReading {
  bool tokens = false;  // a token limit (else a request limit)
  std::uint64_t limit = 0;
  double remaining = 0;
  std::chrono::milliseconds reset{0};
};

void offer_limit_reading(pipeline::RequestContext& request, const LimitReading& reading);

// "20ms", "1s", "1.5s", "6m0s", "2h0m0s" (Go's duration format, as OpenAI sends it).
std::string format_reset(std::chrono::milliseconds reset);

}  // namespace sluice::policy
