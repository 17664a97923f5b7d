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

namespace sluice::route {

enum class ApiKind { ChatCompletions, Embeddings, Models, ModelGet, Messages, Responses, Other };

// Classifies by suffix: ".../chat/completions", ".../embeddings", ".../models", ".../responses"
// (creating a response; ".../responses/{id}" and below are Other), and Anthropic's
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

}  // namespace sluice::route
