// The AWS Bedrock Runtime wire format: POST …/model/{modelId}/converse, /converse-stream
// (binary application/vnd.amazon.eventstream frames) and /invoke (Titan and Cohere
// embeddings). Requests must carry a valid AWS SigV4 Authorization (service "bedrock",
// recomputed from the received request with the mock's --aws-access-key-id/--aws-secret-access-key)
// or a Bedrock API key as Authorization: Bearer. Errors are {"message"} with the exception name
// in x-amzn-errortype.
// Promises: Converse bodies are validated like the real API (roles, alternation, content block
// kinds, toolUse/toolResult pairing, toolConfig, inferenceConfig); never throws.
#pragma once

#include <optional>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::bedrock {

// True when `path` is an endpoint of this format (…/model/{id}/{action}).
bool matches(std::string_view path);

std::optional<ApiReply> handle(const ApiRequest& request);

// {"message":…} with x-amzn-errortype: <type>:http://internal.amazon.com/coral/<namespace>/.
FullReply error(unsigned status, std::string_view type, std::string_view message);

// The error Bedrock sends with `status` (429 ThrottlingException, 500 InternalServerException, …).
FullReply injected_error(unsigned status);

}  // namespace sluice::mock::bedrock
