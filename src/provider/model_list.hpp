// Model lists: which list call a provider answers, the path of each page, and the decoding of
// each provider's answer into one shape. The model fetcher (proxy/model_fetcher.hpp) asks, the
// model catalog (proxy/model_catalog.hpp) publishes and answers clients. Pure functions;
// thread-safe.
//
//   OpenAI format (openai, ollama, azureopenai with apiVersion v1): GET {base}/models,
//     {"object":"list","data":[{"id","created","owned_by"}]}, one page.
//   Anthropic: GET /v1/models?limit=1000[&after_id=<last_id>],
//     {"data":[{"id","display_name","created_at"}],"has_more","last_id"}.
//   Gemini: GET /{apiVersion}/models?pageSize=1000[&pageToken=<nextPageToken>],
//     {"models":[{"name":"models/x","displayName","supportedGenerationMethods"}],"nextPageToken"};
//     only models that generate content or embed are kept.
//   Vertex AI, Bedrock, Azure's classic form: no list call that names what the runtime endpoint
//     serves; described by the configuration (`model`, `models`, the deployment).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"

namespace sluice::provider {

// One model as a provider lists it.
struct ListedModel {
  std::string id;                    // the name a request uses (Gemini's without "models/")
  std::string display_name;          // empty when the provider gives none
  std::int64_t created = 0;          // Unix seconds; 0 when unknown
  std::string owned_by;              // OpenAI lists; empty otherwise
  std::vector<std::string> methods;  // Gemini's supportedGenerationMethods; empty otherwise
};

enum class ListApi { None, OpenAI, Anthropic, Gemini };

// The list call a provider answers; None when it is described by the configuration alone.
ListApi list_api(const config::LlmProvider& provider);

// The target of one page: `models_path` (the provider's ".../models", no query) with the page
// parameters; `cursor` is the previous page's (empty for the first page).
std::string list_page_target(ListApi api, std::string_view models_path, std::string_view cursor);

struct ListPage {
  std::vector<ListedModel> models;
  std::string cursor;  // where the next page starts; empty on the last page
  std::string error;   // non-empty: the body is not a model list (why)
};

// Decodes one page of `api`'s answer.
ListPage decode_list_page(ListApi api, std::string_view body);

// RFC 3339 timestamps ("2025-02-19T00:00:00Z", fractions and offsets allowed) as Unix seconds,
// nullopt when malformed; and back, always UTC with "Z".
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
std::string format_rfc3339(std::int64_t seconds);

}  // namespace sluice::provider
