// The model catalog: what `GET …/models` and `GET …/models/{id}` answer when Sluice answers them
// (an AI Backend that does not pass `models` through).
//
// Sources, per provider of the route rule's Backends (in backendRef, group and provider order):
//   - the configuration: the provider's `model` override, its `models` list, and for Azure's
//     classic form without either, its deployment;
//   - the provider's own model list (provider/model_list.hpp), for providers that can list and
//     are not pinned by `model` (a pinned provider serves that one model, whatever is asked):
//     fetched in the background by the model fetcher (proxy/model_fetcher.hpp), never on a
//     request, and published here;
//   - the rule's and the Backends' model aliases (TrafficPolicy ai.modelAliases), listed under
//     their alias names when the model they stand for is listed.
// The union, without repeats (first wins), is filtered by the caller's allowed models
// (Principal::allows) and written in the client's shape: Gemini's for a path with a "/v1beta/"
// segment, Anthropic's for a request with an `anthropic-version` header, else OpenAI's.
//
// Publication. Each provider that can list has one ProviderModels, kept across reloads by the
// RuntimeRegistry while its source (list API, endpoint, path, credential) is unchanged. The
// fetcher stores a new immutable FetchedModels in it; a request loads the current one (an
// atomic shared_ptr load: no lock shared with the fetcher or the other workers). Before the
// first successful fetch, or after failures past the list's shelf life, none is published and
// the configuration alone is listed: a failed list call never fails a client's request.
#pragma once

#include <atomic>
#include <boost/beast/http/message.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/fields.hpp"
#include "pipeline/principal.hpp"
#include "provider/model_list.hpp"
#include "proxy/snapshot.hpp"
#include "route/route_table.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::proxy {

// One provider's fetched list; immutable once published.
struct FetchedModels {
  std::vector<provider::ListedModel> models;
  std::chrono::system_clock::time_point fetched_at;
};

class ProviderModels {
 public:
  explicit ProviderModels(std::string source) : source_(std::move(source)) {}
  ProviderModels(const ProviderModels&) = delete;
  ProviderModels& operator=(const ProviderModels&) = delete;

  // What is listed and how (list API, endpoint, path, a digest of the credential): a reload
  // that changes it starts with nothing published.
  const std::string& source() const { return source_; }
  // Any thread: the list last published, or null.
  std::shared_ptr<const FetchedModels> current() const { return list_.load(std::memory_order_acquire); }
  // The fetcher: replaces the list for every reader (null: back to the configuration alone).
  void publish(std::shared_ptr<const FetchedModels> list) { list_.store(std::move(list), std::memory_order_release); }

 private:
  const std::string source_;
  std::atomic<std::shared_ptr<const FetchedModels>> list_;
};

// How a provider's list is asked for.
struct ListSource {
  provider::ListApi api = provider::ListApi::None;
  std::string path;  // ".../models", without the page parameters
};

// The list call of a compiled provider, or nullopt when the configuration describes it alone:
// no list API (Vertex AI, Bedrock, Azure's classic form), pinned by `model`, `path.full`, a
// Passthrough credential (the client's key: none to list with; Ollama needs none), or
// ai.modelList.fetch false.
std::optional<ListSource> list_source(const BackendRuntime& provider);

// Snapshot::build, per provider: its ProviderModels from `registry` (kept while its source is
// the same), null when it cannot list.
std::shared_ptr<ProviderModels> provider_models(const BackendRuntime& provider, state::RuntimeRegistry& registry,
                                                const state::StateKey& identity, state::StateClaims& claims);

enum class ModelShape { OpenAI, Anthropic, Gemini };

// The client's shape: Gemini for a path with a "/v1beta/" segment, Anthropic with an
// `anthropic-version` header, else OpenAI.
ModelShape model_shape(std::string_view api_path, bool anthropic_version);

// One model of a rule's list.
struct CatalogEntry {
  std::string id;
  std::string owned_by;              // the provider's answer, else the provider key ("anthropic")
  std::string display_name;          // empty: the id
  std::int64_t created = 0;          // Unix seconds
  std::vector<std::string> methods;  // Gemini's supportedGenerationMethods, when listed
};

// The models a rule's clients may use (see above); `principal` null: no filter.
std::vector<CatalogEntry> rule_models(const Snapshot& snapshot, const route::CompiledRule& rule,
                                      const pipeline::Principal* principal);

std::string render_model_list(const std::vector<CatalogEntry>& models, ModelShape shape);
std::string render_model(const CatalogEntry& model, ModelShape shape);
// The 404 for a model that is not listed, in the client's error shape.
std::string render_model_not_found(std::string_view id, ModelShape shape);

struct ModelsAnswer {
  unsigned status = 200;
  std::string body;  // JSON
};

// `GET …/models` or `GET …/models/{id}` (route::ApiKind::Models / ModelGet) on `rule`,
// answered locally.
ModelsAnswer answer_models(const Snapshot& snapshot, const route::CompiledRule& rule, const http::RequestHeader& head,
                           std::string_view api_path, const pipeline::Principal* principal);

}  // namespace sluice::proxy
