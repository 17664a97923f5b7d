// The OpenAI wire format: chat completions (plain and SSE streaming), embeddings, the model
// list, and OpenAI error bodies.
// Promises: request bodies are validated strictly (400 with an OpenAI error object naming the
// offending param); replies are deterministic for a given request apart from `id` and `created`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api.hpp"

namespace sluice::mock::openai {

// The reply for an OpenAI endpoint (matched by path suffix), or nullopt if the path is not one.
std::optional<ApiReply> handle(const ApiRequest& request);

// POST chat/completions and embeddings; a non-empty `model_override` replaces the body's model
// (which is then optional), as an Azure deployment path does.
ApiReply chat_completions(const ApiRequest& request, std::string_view model_override);
ApiReply embeddings(const ApiRequest& request, std::string_view model_override);

// The embedding of `text` as a JSON array of `dimensions` numbers, the values OpenAI embeddings
// give the same text.
std::string embedding_array(std::string_view text, int dimensions);

// {"error":{"message":…,"type":…,"param":…,"code":…}}; an empty param or code is written as null.
FullReply error(unsigned status, std::string_view message, std::string_view type = "invalid_request_error",
                std::string_view param = {}, std::string_view code = {});

// The error OpenAI would send with `status`: rate_limit_error for 429, server_error for 5xx,
// invalid_request_error otherwise.
FullReply injected_error(unsigned status);

// 404 for a path that no endpoint serves.
FullReply unknown_url(std::string_view method, std::string_view target);

}  // namespace sluice::mock::openai
