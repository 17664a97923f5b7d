// The OpenAI Responses API (POST …/responses), as much as the tests need: the generated reply
// as one output message, plain or streamed (response.created, response.in_progress,
// response.output_item.added, response.content_part.added, response.output_text.delta per
// piece, the .done events and response.completed with the usage, as the OpenAI SDKs parse them);
// a function_call output item instead when the request's function tools and tool_choice make the
// mock call one (openai::choose_function, the rule chat completions use), its arguments valid
// against the function's parameters, streamed as response.function_call_arguments.delta events;
// usage counted like chat (input tokens = max(1, characters of `input` and `instructions` / 4),
// output tokens = the pieces, 8 for a call). Promises: `model` must be a non-empty string and
// `input` a string or an array, tools and tool_choice well formed, and every function_call_output
// answers an earlier function_call (400 with an OpenAI error otherwise); replies are
// deterministic apart from ids and timestamps. Stateless: nothing is stored.
#pragma once

#include <optional>

#include "api.hpp"

namespace sluice::mock::openai_responses {

// The reply when the path ends in /responses, else nullopt.
std::optional<ApiReply> handle(const ApiRequest& request);

}  // namespace sluice::mock::openai_responses
