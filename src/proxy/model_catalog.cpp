#include "proxy/model_catalog.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "policy/model_alias.hpp"
#include "provider/aws_sigv4.hpp"
#include "route/api_path.hpp"

namespace sluice::proxy {

namespace json = boost::json;

namespace {

// The methods a configured model is listed with in Gemini's shape (no list says otherwise).
const std::vector<std::string>& default_methods() {
  static const std::vector<std::string> kMethods{"generateContent", "countTokens"};
  return kMethods;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The canonical path keeps reserved characters percent-encoded ("ft%3Agpt-4o"); ids are compared
// decoded.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// Gemini names a model "models/x" or "x"; a request may use either, the list says "x".
std::string_view bare_id(const BackendRuntime& provider, std::string_view id) {
  if (provider.llm != nullptr && provider.llm->kind == config::ProviderKind::Gemini && id.starts_with("models/"))
    id.remove_prefix(7);
  return id;
}

class Collector {
 public:
  explicit Collector(std::vector<CatalogEntry>& out) : out_(out) {}

  bool has(std::string_view id) const { return find(id) != nullptr; }
  const CatalogEntry* find(std::string_view id) const {
    for (const auto& e : out_)
      if (e.id == id) return &e;
    return nullptr;
  }

  void configured(const BackendRuntime& provider, std::string_view id) {
    id = bare_id(provider, id);
    if (id.empty() || has(id)) return;
    CatalogEntry entry;
    entry.id = id;
    entry.owned_by = provider.provider->name;
    out_.push_back(std::move(entry));
  }

  void listed(const BackendRuntime& provider, const provider::ListedModel& model) {
    if (has(model.id)) return;
    CatalogEntry entry;
    entry.id = model.id;
    entry.owned_by = model.owned_by.empty() ? std::string(provider.provider->name) : model.owned_by;
    entry.display_name = model.display_name;
    entry.created = model.created;
    entry.methods = model.methods;
    out_.push_back(std::move(entry));
  }

  void alias(std::string_view alias, std::string_view target) {
    if (has(alias)) return;
    const auto* model = find(target);
    if (model == nullptr) return;  // what it stands for is not served here
    CatalogEntry entry = *model;
    entry.id = alias;
    entry.display_name = alias;
    out_.push_back(std::move(entry));
  }

 private:
  std::vector<CatalogEntry>& out_;
};

void add_provider(Collector& collector, const BackendRuntime& provider) {
  if (provider.model) collector.configured(provider, *provider.model);
  if (provider.llm != nullptr) {
    for (const auto& id : provider.llm->models) collector.configured(provider, id);
    const auto& azure = provider.llm->azureopenai;
    if (provider.llm->kind == config::ProviderKind::AzureOpenAI && azure.apiVersion != "v1" && !provider.model &&
        provider.llm->models.empty())
      collector.configured(provider, azure.deploymentName);
  }
  if (provider.listed_models) {
    if (const auto list = provider.listed_models->current())
      for (const auto& model : list->models) collector.listed(provider, model);
  }
}

void add_aliases(Collector& collector, const pipeline::Chain& chain) {
  if (const auto* aliases = policy::model_aliases(chain))
    for (const auto& [alias, target] : *aliases) collector.alias(alias, target);
}

json::object openai_model(const CatalogEntry& model) {
  return json::object{{"id", model.id}, {"object", "model"}, {"created", model.created}, {"owned_by", model.owned_by}};
}

json::object anthropic_model(const CatalogEntry& model) {
  return json::object{{"type", "model"},
                      {"id", model.id},
                      {"display_name", model.display_name.empty() ? model.id : model.display_name},
                      {"created_at", provider::format_rfc3339(model.created)}};
}

json::object gemini_model(const CatalogEntry& model) {
  json::array methods;
  for (const auto& m : model.methods.empty() ? default_methods() : model.methods) methods.emplace_back(m);
  return json::object{{"name", "models/" + model.id},
                      {"displayName", model.display_name.empty() ? model.id : model.display_name},
                      {"supportedGenerationMethods", std::move(methods)}};
}

}  // namespace

std::optional<ListSource> list_source(const BackendRuntime& provider) {
  if (!provider.ai || provider.llm == nullptr || provider.provider == nullptr) return std::nullopt;
  if (provider.spec != nullptr && !provider.spec->modelList.fetch) return std::nullopt;
  const auto api = provider::list_api(*provider.llm);
  if (api == provider::ListApi::None || provider.model || provider.path.full || provider.endpoints.empty())
    return std::nullopt;
  if (provider.auth_kind == config::AuthKind::Passthrough && provider.llm->kind != config::ProviderKind::Ollama)
    return std::nullopt;
  const provider::PathRequest request{provider::Operation::Other, {}, false, "/models", {}};
  auto native = provider.provider->path(*provider.llm, request);
  if (provider.path.prefix) native.base = *provider.path.prefix == "/" ? std::string() : *provider.path.prefix;
  return ListSource{api, native.base + native.suffix};
}

std::shared_ptr<ProviderModels> provider_models(const BackendRuntime& provider, state::RuntimeRegistry& registry,
                                                const state::StateKey& identity, state::StateClaims& claims) {
  const auto source = list_source(provider);
  if (!source) return nullptr;
  const std::string& credential = provider.auth_values.empty() ? provider.auth_value : provider.auth_values.front();
  const std::string key = std::to_string(static_cast<int>(source->api)) + " " + provider.endpoints.front().pool_key +
                          " " + source->path + " " + provider::sha256_hex(credential);
  return registry.state_for<ProviderModels>(
      identity, claims, [&] { return std::make_shared<ProviderModels>(key); },
      [&](const ProviderModels& kept) { return kept.source() == key; });
}

ModelShape model_shape(std::string_view api_path, bool anthropic_version) {
  if (api_path.find("/v1beta/") != std::string_view::npos) return ModelShape::Gemini;
  return anthropic_version ? ModelShape::Anthropic : ModelShape::OpenAI;
}

std::vector<CatalogEntry> rule_models(const Snapshot& snapshot, const route::CompiledRule& rule,
                                      const pipeline::Principal* principal) {
  std::vector<CatalogEntry> out;
  Collector collector(out);
  std::vector<const BackendRuntime*> backends;
  for (const auto& ref : rule.rule->backendRefs) {
    const auto it = snapshot.backends.find(ref.name);
    if (it == snapshot.backends.end() || !it->second.ai) continue;
    backends.push_back(&it->second);
    for (const auto& group : it->second.groups)
      for (const auto& provider : group) add_provider(collector, provider);
  }
  if (rule.index < snapshot.rule_chains.size()) add_aliases(collector, snapshot.rule_chains[rule.index]);
  for (const auto* backend : backends) add_aliases(collector, backend->chain);
  if (principal != nullptr) std::erase_if(out, [principal](const CatalogEntry& e) { return !principal->allows(e.id); });
  return out;
}

std::string render_model_list(const std::vector<CatalogEntry>& models, ModelShape shape) {
  json::array data;
  data.reserve(models.size());
  switch (shape) {
    case ModelShape::OpenAI: {
      for (const auto& m : models) data.emplace_back(openai_model(m));
      return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
    }
    case ModelShape::Anthropic: {
      for (const auto& m : models) data.emplace_back(anthropic_model(m));
      json::object out{{"data", std::move(data)}, {"has_more", false}};
      out["first_id"] = models.empty() ? json::value(nullptr) : json::value(models.front().id);
      out["last_id"] = models.empty() ? json::value(nullptr) : json::value(models.back().id);
      return json::serialize(out);
    }
    case ModelShape::Gemini: {
      for (const auto& m : models) data.emplace_back(gemini_model(m));
      return json::serialize(json::object{{"models", std::move(data)}});
    }
  }
  return {};
}

std::string render_model(const CatalogEntry& model, ModelShape shape) {
  switch (shape) {
    case ModelShape::OpenAI:
      return json::serialize(openai_model(model));
    case ModelShape::Anthropic:
      return json::serialize(anthropic_model(model));
    case ModelShape::Gemini:
      return json::serialize(gemini_model(model));
  }
  return {};
}

std::string render_model_not_found(std::string_view id, ModelShape shape) {
  switch (shape) {
    case ModelShape::OpenAI:
      return json::serialize(
          json::object{{"error", json::object{{"message", "The model '" + std::string(id) + "' does not exist"},
                                              {"type", "invalid_request_error"},
                                              {"param", "model"},
                                              {"code", "model_not_found"}}}});
    case ModelShape::Anthropic:
      return json::serialize(
          json::object{{"type", "error"},
                       {"error", json::object{{"type", "not_found_error"}, {"message", "model: " + std::string(id)}}}});
    case ModelShape::Gemini:
      return json::serialize(
          json::object{{"error", json::object{{"code", 404},
                                              {"message", "models/" + std::string(id) + " is not found"},
                                              {"status", "NOT_FOUND"}}}});
  }
  return {};
}

ModelsAnswer answer_models(const Snapshot& snapshot, const route::CompiledRule& rule, const http::RequestHeader& head,
                           std::string_view api_path, const pipeline::Principal* principal) {
  const auto shape = model_shape(api_path, head.find("anthropic-version") != head.end());
  const auto models = rule_models(snapshot, rule, principal);
  const auto encoded = route::model_get_id(api_path);
  if (encoded.empty()) return {200, render_model_list(models, shape)};
  std::string id = percent_decode(encoded);
  if (shape == ModelShape::Gemini && std::string_view(id).starts_with("models/")) id.erase(0, 7);
  for (const auto& m : models)
    if (m.id == id) return {200, render_model(m, shape)};
  return {404, render_model_not_found(id, shape)};
}

}  // namespace sluice::proxy
