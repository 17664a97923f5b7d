// Azure OpenAI routing: …/openai/deployments/{deployment}/chat/completions|embeddings
// (?api-version= required; the deployment is the model) and …/openai/v1/chat/completions|embeddings
// (no api-version; the body's model names the deployment). Auth: api-key header or
// Authorization: Bearer. The bodies and replies are the OpenAI format (openai_api); errors on
// the Azure-specific checks are Azure's {"error":{"code","message"}}.
#pragma once

#include <optional>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::azure {

bool matches(std::string_view path);

std::optional<ApiReply> handle(const ApiRequest& request);

}  // namespace sluice::mock::azure
