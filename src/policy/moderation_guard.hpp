// Moderation guard on requests (TrafficPolicy
// `ai.promptGuard.request.moderation.openAIModeration`): the user's text — every text of a
// "user" message and every embeddings input, through the canonical request view — is sent to an
// OpenAI-compatible moderation endpoint,
//   POST {provider base}/moderations   {"model":"omni-moderation-latest","input":["…", …]}
// with the credential of the named AI Backend's OpenAI provider (its configured key, the next
// one not benched when it has several; never the client's). Any result flagged rejects the
// request with the request guard's customResponse (status, default 403, and message) in the
// client's schema; the flagged categories go to the access log's `guard` field
// ("moderation:harassment,violence"), never the text. An endpoint that cannot be reached, answers
// late (timeout) or not 2xx, or answers something else than {"results":[{"flagged":…}]} is
// unavailable: failureMode FailClosed answers 503, FailOpen lets the request through
// ("moderation:unavailable"). The call runs on the worker's event loop and pool
// (policy/guard_call.hpp). The stage is immutable and thread-safe; it points to the provider of
// its own snapshot.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"

namespace sluice::proxy {
struct BackendRuntime;
}

namespace sluice::policy {

// {"model":…,"input":[…]}
std::string moderation_request_body(std::string_view model, const std::vector<std::string>& input);

struct ModerationVerdict {
  bool flagged = false;
  std::vector<std::string> categories;  // flagged categories, sorted, each once
};

// Reads a moderation answer; nullopt when it is not one (no "results" list of objects with a
// boolean "flagged").
std::optional<ModerationVerdict> parse_moderation_answer(std::string_view answer);

// `provider` is the OpenAI provider of the moderation Backend in the stage's snapshot (null: it
// is missing, every call counts as unavailable); `status` and `message` answer a flagged request.
std::shared_ptr<const pipeline::Stage> make_moderation_guard_stage(const config::ModerationGuard& moderation,
                                                                   const proxy::BackendRuntime* provider,
                                                                   unsigned status, std::string message);

}  // namespace sluice::policy
