// The Anthropic Messages wire format: POST …/v1/messages (x-api-key or Bearer auth,
// anthropic-version header) and the same format behind Vertex AI
// (…/publishers/anthropic/models/{m}:rawPredict / :streamRawPredict, Bearer auth, no `model` in
// the body, `anthropic_version` in the body). Replies are Anthropic messages or Anthropic SSE
// with named events; errors are {"type":"error","error":{"type","message"}}.
// Promises: requests are validated like the real API (roles, alternation, tool_use/tool_result
// pairing, block shapes, tools, tool_choice, sampling ranges); never throws.
#pragma once

#include <optional>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::anthropic {

// True when `path` is an endpoint of this format (Anthropic or Vertex Anthropic).
bool matches(std::string_view path);

std::optional<ApiReply> handle(const ApiRequest& request);

// GET …/v1/models carrying an anthropic-version header: the model list, paginated (limit,
// after_id, before_id; has_more, first_id, last_id); nullopt for any other request.
std::optional<ApiReply> list_models(const ApiRequest& request);

// {"type":"error","error":{"type":…,"message":…}}.
FullReply error(unsigned status, std::string_view type, std::string_view message);

// The error Anthropic sends with `status` (529 overloaded_error, 429 rate_limit_error, …).
FullReply injected_error(unsigned status);

}  // namespace sluice::mock::anthropic
