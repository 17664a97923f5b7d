// Model aliases (TrafficPolicy `ai.modelAliases`): the client's model name is replaced by the
// configured one before any provider is chosen, so routing, limits, logs and metrics see the
// resolved model and the access log keeps the alias (`requested_model`). A RequestBody stage on
// the parsed body; immutable and thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "pipeline/chain.hpp"
#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_model_alias_stage(std::map<std::string, std::string> aliases);

// The aliases (alias -> model) of `chain`'s model-alias stage, or null when it has none: the
// model list (proxy/model_catalog.hpp) names them next to their models.
const std::map<std::string, std::string, std::less<>>* model_aliases(const pipeline::Chain& chain);

}  // namespace sluice::policy
