#include "policy/prompt_enrichment.hpp"

#include "policy/ai.hpp"

namespace sluice::policy {

namespace {

class PromptEnrichmentStage final : public pipeline::Stage {
 public:
  explicit PromptEnrichmentStage(config::PromptEnrichment enrichment) : enrichment_(std::move(enrichment)) {}
  std::string_view name() const override { return "prompt-enrichment"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }

  pipeline::Verdict on_request_body(pipeline::RequestContext& request) const override {
    auto view = client_view(request);
    if (!view || view->schema() == llm::Schema::OpenAIEmbeddings || view->schema() == llm::Schema::GeminiEmbed)
      return pipeline::Verdict::proceed();
    // Prepended in reverse, each at the start: they end up in the configured order.
    for (auto it = enrichment_.prepend.rbegin(); it != enrichment_.prepend.rend(); ++it)
      view->add_message(it->role, it->content, true);
    for (const auto& message : enrichment_.append) view->add_message(message.role, message.content, false);
    request.document_changed = true;
    return pipeline::Verdict::proceed();
  }

 private:
  config::PromptEnrichment enrichment_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_prompt_enrichment_stage(config::PromptEnrichment enrichment) {
  return std::make_shared<const PromptEnrichmentStage>(std::move(enrichment));
}

}  // namespace sluice::policy
