// The Google Gemini wire format, on AI Studio (…/models/{m}:generateContent,
// :streamGenerateContent, :embedContent, :batchEmbedContents; key in x-goog-api-key or ?key=)
// and on Vertex AI (…/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent,
// :streamGenerateContent, :predict; Authorization: Bearer). Streams are SSE `data:` events
// (with ?alt=sse, no [DONE]) or an incrementally written JSON array (without). Errors are
// {"error":{"code","message","status"}}.
// Promises: requests are validated like the real API (unknown fields, roles, part kinds,
// functionCall/functionResponse pairing, generationConfig types, tools); never throws.
#pragma once

#include <optional>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::gemini {

// True when `path` is an endpoint of this format (…/models/{m}:{action}).
bool matches(std::string_view path);

std::optional<ApiReply> handle(const ApiRequest& request);

// GET …/models (not Vertex AI) with an API key (x-goog-api-key or ?key=): the model list,
// paginated (pageSize, pageToken; nextPageToken); nullopt for any other request.
std::optional<ApiReply> list_models(const ApiRequest& request);

// {"error":{"code":status,"message":…,"status":…}}; an empty status name is derived from `status`.
FullReply error(unsigned status, std::string_view message, std::string_view status_name = {});

// The error Google sends with `status` (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, …).
FullReply injected_error(unsigned status);

}  // namespace sluice::mock::gemini
