// The request's content for the SERVER span (Gateway spec.telemetry.captureContent), read from
// the request body as the upstream receives it (after the prompt guard's masking and every stage
// that rewrote it), in the client's API:
// - OpenAI chat: `messages` (system and developer messages as role "system", assistant
//   `tool_calls` as tool_call parts, `tool` messages as tool_call_response parts);
// - Anthropic Messages: `system` as gen_ai.system_instructions; `messages` with text, tool_use
//   (tool_call), tool_result (tool_call_response) and thinking (reasoning) blocks;
// - the Responses API: `instructions` as gen_ai.system_instructions; `input` as a string or as
//   items (messages, function_call, function_call_output, reasoning summaries);
// - Gemini: `systemInstruction` as gen_ai.system_instructions; `contents` (role "model" as
//   "assistant") with text, thought (reasoning), functionCall and functionResponse parts;
// - embeddings: `input` (a string or strings) as user text.
// Images, audio and files are not captured. The shapes are observe/genai_messages.hpp's: Full
// keeps the content (each part at most kMaxCapturedPart bytes, all of them at most
// kMaxCapturedInput, the oldest messages dropped first), Metadata only roles, part types and
// sizes.
//
// A pure function of its inputs; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string>

#include "route/api_path.hpp"

namespace sluice::proxy {

struct CapturedInput {
  std::string system_instructions;  // gen_ai.system_instructions (JSON), empty when none
  std::string messages;             // gen_ai.input.messages (JSON), empty when none
  bool truncated = false;           // a limit cut or dropped content
};

inline constexpr std::size_t kMaxCapturedPart = 16 * 1024;
inline constexpr std::size_t kMaxCapturedInput = 64 * 1024;

CapturedInput capture_input(const boost::json::object& body, route::ApiKind api, bool full);

}  // namespace sluice::proxy
