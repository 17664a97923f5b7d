// Prompt guard on responses (TrafficPolicy `ai.promptGuard.response`): the text a model answers
// — every choice's content and reasoning, tool-call arguments, Anthropic text and tool_use
// blocks — is searched with the same detectors as the request guard (src/guard: builtins and
// named RE2 patterns), complete replies whole and streams as they stream. MASK replaces each
// match with its placeholder (<CREDIT_CARD>); streamed text is held back only as long as a match
// could still be completing (guard::StreamMasker: at most the longest match plus a lookahead per
// channel), so a secret split over many events never reaches the client. REJECT ends the
// response as soon as a match is certain: a complete reply becomes customResponse.statusCode
// (default 403) with its message in the client's error schema; a stream ends with its choice
// finished as content_filter and an error event. The rule names, never the matched text, go to
// the access log (`guard`).
//
// A ResponseText stage: it gives each 2xx chat or messages reply a filter (llm/text_filter.hpp)
// holding one StreamMasker per channel; the compiled matcher is immutable and shared by every
// worker.
#pragma once

#include <memory>
#include <string>

#include "config/resources.hpp"
#include "guard/matcher.hpp"
#include "llm/text_filter.hpp"
#include "pipeline/stage.hpp"

namespace sluice::policy {

// The guard's spec compiled, or null with `error` naming the builtin or pattern at fault.
std::shared_ptr<const pipeline::Stage> make_response_guard_stage(const config::ResponseGuard& guard,
                                                                 std::string& error);

// The filter one response gets: a StreamMasker per channel of `matcher` (which must outlive it);
// REJECT when `reject`, with `rejection` as the error; matched rule names noted in `record`.
std::unique_ptr<llm::TextFilter> make_response_guard_filter(const guard::Matcher& matcher, bool reject,
                                                            const http::ApiError& rejection,
                                                            pipeline::RequestRecord& record);

}  // namespace sluice::policy
