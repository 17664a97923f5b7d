#include "policy/model_alias.hpp"

#include "policy/ai.hpp"

namespace sluice::policy {

namespace {

class ModelAliasStage final : public pipeline::Stage {
 public:
  explicit ModelAliasStage(const std::map<std::string, std::string>& aliases)
      : aliases_(aliases.begin(), aliases.end()) {}
  std::string_view name() const override { return "model-alias"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }

  const std::map<std::string, std::string, std::less<>>& aliases() const { return aliases_; }

  pipeline::Verdict on_request_body(pipeline::RequestContext& request) const override {
    const auto found = aliases_.find(request.info.model);
    if (found == aliases_.end()) return pipeline::Verdict::proceed();
    auto view = client_view(request);
    if (!view) return pipeline::Verdict::proceed();
    request.requested_model = request.info.model;
    request.record.requested_model = request.info.model;
    view->set_model(found->second);
    request.info.model = found->second;
    request.document_changed = true;
    return pipeline::Verdict::proceed();
  }

 private:
  std::map<std::string, std::string, std::less<>> aliases_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_model_alias_stage(std::map<std::string, std::string> aliases) {
  return std::make_shared<const ModelAliasStage>(std::move(aliases));
}

const std::map<std::string, std::string, std::less<>>* model_aliases(const pipeline::Chain& chain) {
  for (const auto& stage : chain.stages())
    if (const auto* aliases = dynamic_cast<const ModelAliasStage*>(stage.get())) return &aliases->aliases();
  return nullptr;
}

}  // namespace sluice::policy
