// Model override stage: a provider pinned to a model (`model` on the provider or `ai.llm`) is
// asked for that model whatever the client named. A translated request takes the model from
// the attempt; a native one has its body's "model" rewritten (a DOM round trip, only on this
// path), in the body an earlier Attempt stage already rewrote when there is one (the usage
// capture's stream_options.include_usage is kept). Attempt phase; stateless, thread-safe.
#pragma once

#include <memory>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_model_override_stage();

}  // namespace sluice::policy
