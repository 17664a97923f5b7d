// OpenAI Chat Completions client -> Anthropic Messages provider (api.anthropic.com, and Anthropic
// models on Vertex AI when RequestContext::model_in_body is false and anthropic_body_version is
// set). Converts the chat request to a Messages body, the Messages reply to a chat.completion, an
// Anthropic SSE stream to chat.completion.chunk events, and Anthropic error bodies to ApiErrors.
// Promises: one object per request (it keeps stream position, tool indexes and usage), not
// thread-safe, never throws (every problem becomes an http::ApiError or an OpenAI error event).
// Structured output (output_config.format or the json_response tool) and reasoning (thinking,
// signed thinking blocks replayed, the 400s Claude needs): docs/providers.md, "Structured output
// and reasoning".
#pragma once

#include <memory>

#include "translate/translator.hpp"

namespace sluice::translate {

std::unique_ptr<Translator> make_openai_to_anthropic(RequestContext context);

}  // namespace sluice::translate
