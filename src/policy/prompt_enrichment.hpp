// Prompt enrichment (TrafficPolicy `ai.promptEnrichment`): messages added before (`prepend`) and
// after (`append`) the client's conversation. A system message lands where the client's schema
// keeps the system prompt (Anthropic `system`), and a translation carries it to where the
// provider's format keeps it. Embeddings requests are left alone. A RequestBody stage on the
// parsed body; immutable and thread-safe.
#pragma once

#include <memory>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_prompt_enrichment_stage(config::PromptEnrichment enrichment);

}  // namespace sluice::policy
