// Model aliases (TrafficPolicy `ai.modelAliases`): the client's model name is replaced by the
// configured one before any provider is chosen, so routing, limits, logs and metrics see the
// resolved model and the access log keeps the alias (`requested_model`). A RequestBody stage on
// the parsed body; immutable and thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_model_alias_stage(std::map<std::string, std::string> aliases);

}  // namespace sluice::policy
