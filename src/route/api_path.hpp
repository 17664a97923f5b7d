// API path logic: which OpenAI API a request path names (by its suffix, so any route prefix
// works) and which path the upstream receives. Pure functions; thread-safe.
//
// Upstream path precedence (first that applies wins):
//   1. the Backend's path.full                      -> source "full"
//   2. the Backend's path.prefix + the API suffix   -> source "prefix"
//   3. the route's URLRewrite result                -> source "rewrite"
//   4. the provider's default base + the API suffix -> source "default"
//      (Static backends have no default base: the client path is kept -> source "client")
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::route {

enum class ApiKind {
  ChatCompletions,
  Embeddings,
  Models,
  ModelGet,  // …/models/{id}
  Messages,
  MessagesCountTokens,  // Anthropic's …/v1/messages/count_tokens
  Responses,
  GeminiGenerate,     // …/models/{model}:generateContent and :streamGenerateContent
  GeminiCountTokens,  // …/models/{model}:countTokens
  GeminiEmbed,        // …/models/{model}:embedContent and :batchEmbedContents
  Other
};

// A Gemini API call: the last path segment is "{model}:{action}" below a "models" segment
// (/v1beta/models/gemini-2.5-flash:generateContent, and Vertex AI's
// /v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:streamGenerateContent).
struct GeminiCall {
  std::string_view model;
  std::string_view action;  // generateContent, streamGenerateContent, countTokens, embedContent, ...
  bool stream() const { return action == "streamGenerateContent"; }
};
std::optional<GeminiCall> gemini_call(std::string_view path);

// Classifies by suffix: a Gemini call (gemini_call), ".../chat/completions", ".../embeddings", ".../models",
// ".../responses" (creating a response; ".../responses/{id}" and below are Other), and Anthropic's
// ".../v1/messages" or "/messages" (not the Assistants API's /threads/{id}/messages); query excluded.
// ModelGet: ".../models/{id}" (one model of the list; the id may hold "/"), but not a Gemini
// or Vertex action on a model (".../models/{m}:generateContent" and the other methods: Other).
ApiKind classify_api(std::string_view path);
std::string_view api_kind_name(ApiKind kind);

// The model id a ModelGet path names, still percent-encoded as the canonical path keeps it
// ("/v1/models/gpt-4o" -> "gpt-4o", "/v1beta/models/gemini-2.0-flash" -> "gemini-2.0-flash");
// empty when the path is not a ModelGet.
std::string_view model_get_id(std::string_view path);

// The API part of a path, with any route prefix and version segment removed:
//   "/openrouter/api/v1/chat/completions" -> "/chat/completions"
//   "/llm/embeddings"                     -> "/embeddings"
// Rule: the text after the last "/v1" segment if there is one; else from the first segment
// naming a known OpenAI API family (chat, completions, embeddings, models, audio, images,
// files, batches, responses, moderations, rerank, uploads, fine_tuning, vector_stores,
// messages, realtime);
// else the part after `matched_prefix` (the route's PathPrefix), else the whole path.
std::string api_suffix(std::string_view path, std::string_view matched_prefix = {});

// `url` (a path with an optional query) with the client's value of query parameter `name` in
// place of its own: every `name` parameter of `url` is removed and the client's appended, when
// `client_query` has one. Returns the error message when the client's value is given twice or
// holds a character outside A-Z a-z 0-9 - . _ (it goes into the provider's URL as is).
std::optional<std::string> prefer_client_query_param(std::string& url, std::string_view name,
                                                     std::string_view client_query);

// The API families a Backend's spec.ai.passthrough.apis may name ("*": all), in the order the
// configuration reference lists them.
const std::vector<std::string>& passthrough_api_names();
bool is_passthrough_api_name(std::string_view name);

// The method a JSON API path takes ("POST" for chat, embeddings, Messages and Responses; "GET"
// for the model list); empty for other kinds.
std::string_view json_api_method(ApiKind kind);

// The API family of a path for passthrough decisions: the first segment of api_suffix()
// ("/audio/speech" -> "audio", "/files/f1/content" -> "files"); "" when there is none.
std::string api_family(std::string_view path, std::string_view matched_prefix = {});

enum class PathSource { Full, Prefix, Rewrite, Default, Client };
std::string_view path_source_name(PathSource source);

struct UpstreamPathInput {
  std::string_view client_path;               // path as received (no query)
  std::optional<std::string_view> rewritten;  // the route's URLRewrite result, if any
  std::string_view matched_prefix;            // the route's PathPrefix value, if any
  std::optional<std::string_view> backend_full;
  std::optional<std::string_view> backend_prefix;
  std::optional<std::string_view> provider_base;  // "/v1" for OpenAI-compatible; none for Static
  // The upstream API suffix when the provider decides it (translated requests: Gemini's
  // "/models/{m}:generateContent"); otherwise it is taken from the client's (or rewritten) path.
  std::optional<std::string_view> upstream_suffix;
};

struct UpstreamPath {
  std::string path;
  PathSource source;
};

UpstreamPath resolve_upstream_path(const UpstreamPathInput& in);

// Joins a path and the client's query string ("a=b"); a path that already carries a query
// gets the client's parameters after '&'.
std::string with_query(std::string path, std::string_view query);

// The value of the first parameter `name` of `query` (without '?'), as written; nullopt when
// absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name);
// `query` without its `name` parameters.
std::string query_without(std::string_view query, std::string_view name);

// Whether `query` (without '?') has the parameter `name` with exactly `value` ("alt=sse").
bool query_has(std::string_view query, std::string_view name, std::string_view value);

}  // namespace sluice::route
