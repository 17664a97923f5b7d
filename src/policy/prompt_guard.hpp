// Prompt guard on requests (TrafficPolicy `ai.promptGuard.request`): every text the model will
// read — system prompt, messages, tool calls and tool results, Anthropic system blocks,
// embeddings input — is searched, through the canonical request view, before any translation,
// with the builtin detectors (SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL: precise, e.g. cards by Luhn)
// and named RE2 patterns (src/guard). REJECT answers customResponse.statusCode (default 403,
// never 2xx) with its message in the client's error schema; MASK replaces each match with a
// placeholder naming its kind (<CREDIT_CARD>, <ticket>). The rule names — never the matched
// text — go to the access log (`guard`). A RequestBody stage on the parsed body; the compiled
// matcher is immutable and shared by every worker (RE2 is thread-safe).
#pragma once

#include <memory>
#include <string>

#include "config/resources.hpp"
#include "guard/matcher.hpp"
#include "pipeline/stage.hpp"

namespace sluice::policy {

// The detectors of a guard's regex section (request or response) as the matcher's spec.
guard::GuardSpec guard_spec(const std::vector<std::string>& builtins, const std::vector<config::GuardPattern>& matches);

// The guard's spec compiled, or null with `error` naming the builtin or pattern at fault.
std::shared_ptr<const pipeline::Stage> make_request_guard_stage(const config::RequestGuard& guard, std::string& error);

}  // namespace sluice::policy
