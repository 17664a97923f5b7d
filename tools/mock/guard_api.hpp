// Guard services, for Sluice's prompt-guard tests: the kgateway / agentgateway guard webhook
// contract and OpenAI's moderation endpoint. Decisions follow marker words in the text:
//   POST …/request   {"body":{"messages":[{"role","content"},…]}}
//   POST …/response  {"body":{"choices":[{"message":{"role","content"}},…]}}
//     BLOCKME   → {"action":{"body":"blocked by mock guard","status_code":403,"reason":…}}
//     MASKME    → {"action":{"body":{same shape, MASKME replaced by [MASKED]},"reason":…}}
//     SLOWGUARD → the answer (pass unless another marker says otherwise) waits 3 s
//     otherwise → {"action":{"reason":"passed by mock guard"}}
//   POST …/moderations  {"model"?,"input":"…" | ["…",…] | [{"type":"text","text":"…"},…]}
//     → {"id","model","results":[{"flagged","categories","category_scores"}, one per input]},
//       flagged (category harassment) when the input contains FLAGME.
// Pure: no I/O, no timers (the delay is returned for the server to apply).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::guard {

inline constexpr std::chrono::milliseconds kSlowGuardDelay{3000};

struct GuardReply {
  FullReply reply;
  std::chrono::milliseconds delay{0};
};

bool matches(std::string_view method, std::string_view path);
GuardReply handle(const ApiRequest& request);

}  // namespace sluice::mock::guard
