#include "route/api_path.hpp"

#include <algorithm>
#include <array>

namespace sluice::route {

namespace {

bool ends_with_segment(std::string_view path, std::string_view suffix) {
  if (path.size() < suffix.size() || path.substr(path.size() - suffix.size()) != suffix) return false;
  return path.size() == suffix.size() || path[path.size() - suffix.size() - 1] == '/' || suffix.front() == '/';
}

std::string_view strip_trailing_slash(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

constexpr std::array<std::string_view, 16> kApiFamilies = {
    "chat",      "completions", "embeddings", "models",  "audio",       "images",        "files",    "batches",
    "responses", "moderations", "rerank",     "uploads", "fine_tuning", "vector_stores", "messages", "realtime"};

// The methods Gemini and Vertex AI call on a model: ".../models/{m}:{method}" is that API, not
// the model {m}:{method} (an OpenAI fine-tuned model id holds ':' too: "ft:gpt-4o:org::id").
constexpr std::array<std::string_view, 19> kModelMethods = {
    "generateContent",      "streamGenerateContent",  "countTokens",    "embedContent",    "batchEmbedContents",
    "batchGenerateContent", "asyncBatchEmbedContent", "generateAnswer", "predict",         "predictLongRunning",
    "rawPredict",           "streamRawPredict",       "computeTokens",  "generateMessage", "generateText",
    "countMessageTokens",   "countTextTokens",        "embedText",      "batchEmbedText"};

bool names_model_method(std::string_view id) {
  const auto colon = id.rfind(':');
  if (colon == std::string_view::npos) return false;
  const auto method = id.substr(colon + 1);
  for (const auto m : kModelMethods)
    if (method == m) return true;
  return false;
}

}  // namespace

std::optional<GeminiCall> gemini_call(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto segment = path.substr(slash + 1);
  const auto colon = segment.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || !names_model_method(segment)) return std::nullopt;
  const auto parent = path.substr(0, slash);
  if (!ends_with_segment(parent, "/models") && parent != "models") return std::nullopt;
  return GeminiCall{segment.substr(0, colon), segment.substr(colon + 1)};
}

std::string_view model_get_id(std::string_view path) {
  path = strip_trailing_slash(path);
  // The API suffix starts at the last "/v1" segment, else at the first API family segment
  // ("/v1beta/models/x" -> "/models/x").
  static constexpr std::string_view kModels = "/models/";
  std::size_t start = std::string_view::npos;
  for (std::size_t pos = path.rfind("/v1"); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : path.rfind("/v1", pos - 1)) {
    if (pos + 3 < path.size() && path[pos + 3] == '/') {
      start = pos + 3;
      break;
    }
  }
  if (start == std::string_view::npos) {
    // The first segment naming an API family.
    for (std::size_t at = 0; at < path.size();) {
      const auto next = path.find('/', at + 1);
      const auto segment = path.substr(at + 1, (next == std::string_view::npos ? path.size() : next) - at - 1);
      bool family = false;
      for (auto f : kApiFamilies) family = family || segment == f;
      if (family) {
        start = at;
        break;
      }
      if (next == std::string_view::npos) break;
      at = next;
    }
  }
  if (start == std::string_view::npos) return {};
  const auto suffix = path.substr(start);
  if (!suffix.starts_with(kModels) || suffix.size() == kModels.size()) return {};
  const auto id = suffix.substr(kModels.size());
  if (names_model_method(id)) return {};
  return id;
}

ApiKind classify_api(std::string_view path) {
  path = strip_trailing_slash(path);
  if (const auto call = gemini_call(path)) {
    if (call->action == "generateContent" || call->action == "streamGenerateContent") return ApiKind::GeminiGenerate;
    if (call->action == "countTokens") return ApiKind::GeminiCountTokens;
    if (call->action == "embedContent" || call->action == "batchEmbedContents") return ApiKind::GeminiEmbed;
    return ApiKind::Other;
  }
  if (ends_with_segment(path, "/chat/completions")) return ApiKind::ChatCompletions;
  if (ends_with_segment(path, "/embeddings")) return ApiKind::Embeddings;
  if (ends_with_segment(path, "/models")) return ApiKind::Models;
  if (path == "/messages" || ends_with_segment(path, "/v1/messages")) return ApiKind::Messages;
  if (path == "/messages/count_tokens" || ends_with_segment(path, "/v1/messages/count_tokens"))
    return ApiKind::MessagesCountTokens;
  if (ends_with_segment(path, "/responses")) return ApiKind::Responses;
  if (!model_get_id(path).empty()) return ApiKind::ModelGet;
  return ApiKind::Other;
}

std::string_view api_kind_name(ApiKind kind) {
  switch (kind) {
    case ApiKind::ChatCompletions:
      return "chat.completions";
    case ApiKind::Embeddings:
      return "embeddings";
    case ApiKind::Models:
      return "models";
    case ApiKind::ModelGet:
      return "models.retrieve";
    case ApiKind::Messages:
      return "messages";
    case ApiKind::MessagesCountTokens:
      return "messages.count_tokens";
    case ApiKind::Responses:
      return "responses";
    case ApiKind::GeminiGenerate:
      return "gemini.generateContent";
    case ApiKind::GeminiCountTokens:
      return "gemini.countTokens";
    case ApiKind::GeminiEmbed:
      return "gemini.embedContent";
    case ApiKind::Other:
      break;
  }
  return "other";
}

std::string api_suffix(std::string_view path, std::string_view matched_prefix) {
  // After the last "/v1" segment.
  for (std::size_t pos = path.rfind("/v1"); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : path.rfind("/v1", pos - 1)) {
    const auto end = pos + 3;
    if (end == path.size()) return "/";
    if (path[end] == '/') return std::string(path.substr(end));
  }
  // From the first known API family segment.
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] != '/') break;
    const auto next = path.find('/', start + 1);
    const auto segment = path.substr(start + 1, (next == std::string_view::npos ? path.size() : next) - start - 1);
    for (auto family : kApiFamilies)
      if (segment == family) return std::string(path.substr(start));
    if (next == std::string_view::npos) break;
    start = next;
  }
  if (!matched_prefix.empty() && matched_prefix != "/" && path.substr(0, matched_prefix.size()) == matched_prefix) {
    auto rest = path.substr(matched_prefix.size());
    return rest.empty() ? std::string("/") : std::string(rest);
  }
  return std::string(path);
}

std::string_view path_source_name(PathSource source) {
  switch (source) {
    case PathSource::Full:
      return "full";
    case PathSource::Prefix:
      return "prefix";
    case PathSource::Rewrite:
      return "rewrite";
    case PathSource::Default:
      return "default";
    case PathSource::Client:
      break;
  }
  return "client";
}

std::optional<std::string> prefer_client_query_param(std::string& url, std::string_view name,
                                                     std::string_view client_query) {
  // The parameters of a query, in order, as name / value views.
  const auto params = [](std::string_view query) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto param = query.substr(0, amp);
      const auto eq = param.find('=');
      out.emplace_back(param.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1));
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
    return out;
  };
  std::optional<std::string_view> chosen;
  for (const auto& [key, value] : params(client_query)) {
    if (key != name) continue;
    if (chosen) return "query parameter " + std::string(name) + " is given more than once";
    chosen = value;
  }
  if (!chosen) return std::nullopt;
  const bool safe = !chosen->empty() && std::all_of(chosen->begin(), chosen->end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
  });
  if (!safe) return "query parameter " + std::string(name) + " must be letters, digits, '-', '.' or '_'";
  const auto qpos = url.find('?');
  std::string rebuilt = url.substr(0, qpos);
  char separator = '?';
  if (qpos != std::string::npos) {
    for (const auto& [key, value] : params(std::string_view(url).substr(qpos + 1))) {
      if (key == name) continue;
      rebuilt.push_back(separator);
      rebuilt.append(key);
      if (value.data() != nullptr && (value.data() > key.data() + key.size() || !value.empty()))
        rebuilt.append("=").append(value);
      separator = '&';
    }
  }
  rebuilt.push_back(separator);
  rebuilt.append(name).append("=").append(*chosen);
  url = std::move(rebuilt);
  return std::nullopt;
}

const std::vector<std::string>& passthrough_api_names() {
  static const std::vector<std::string> kNames = {
      "audio",         "images",      "files",       "batches",  "responses",
      "models",        "moderations", "completions", "uploads",  "fine_tuning",
      "vector_stores", "rerank",      "realtime",    "messages", "*"};
  return kNames;
}

bool is_passthrough_api_name(std::string_view name) {
  const auto& names = passthrough_api_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string_view json_api_method(ApiKind kind) {
  switch (kind) {
    case ApiKind::ChatCompletions:
    case ApiKind::Embeddings:
    case ApiKind::Messages:
    case ApiKind::MessagesCountTokens:
    case ApiKind::Responses:
    case ApiKind::GeminiGenerate:
    case ApiKind::GeminiCountTokens:
    case ApiKind::GeminiEmbed:
      return "POST";
    case ApiKind::Models:
    case ApiKind::ModelGet:
      return "GET";
    case ApiKind::Other:
      break;
  }
  return {};
}

std::string api_family(std::string_view path, std::string_view matched_prefix) {
  const auto suffix = api_suffix(path, matched_prefix);
  if (suffix.size() < 2 || suffix.front() != '/') return {};
  const auto end = suffix.find('/', 1);
  return suffix.substr(1, end == std::string::npos ? std::string::npos : end - 1);
}

UpstreamPath resolve_upstream_path(const UpstreamPathInput& in) {
  if (in.backend_full) return {std::string(*in.backend_full), PathSource::Full};
  // The suffix comes from the path the route produced, so a rewrite's result is respected.
  const auto effective = in.rewritten ? *in.rewritten : in.client_path;
  if (in.backend_prefix) {
    const auto prefix = *in.backend_prefix == "/" ? std::string_view{} : *in.backend_prefix;
    if (in.upstream_suffix) return {std::string(prefix) + std::string(*in.upstream_suffix), PathSource::Prefix};
    return {std::string(prefix) + api_suffix(effective, in.rewritten ? std::string_view{} : in.matched_prefix),
            PathSource::Prefix};
  }
  if (in.rewritten) return {std::string(*in.rewritten), PathSource::Rewrite};
  if (in.provider_base) {
    if (in.upstream_suffix)
      return {std::string(*in.provider_base) + std::string(*in.upstream_suffix), PathSource::Default};
    return {std::string(*in.provider_base) + api_suffix(in.client_path, in.matched_prefix), PathSource::Default};
  }
  return {std::string(in.client_path), PathSource::Client};
}

std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    const auto eq = param.find('=');
    if (param.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return std::nullopt;
}

std::string query_without(std::string_view query, std::string_view name) {
  std::string out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    if (param.substr(0, param.find('=')) != name) {
      if (!out.empty()) out.push_back('&');
      out.append(param);
    }
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

bool query_has(std::string_view query, std::string_view name, std::string_view value) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && param.substr(0, eq) == name && param.substr(eq + 1) == value) return true;
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return false;
}

std::string with_query(std::string path, std::string_view query) {
  if (query.empty()) return path;
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += query;
  return path;
}

}  // namespace sluice::route
