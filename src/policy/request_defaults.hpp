// Request defaults (TrafficPolicy `ai.defaults`): a field of the client's request set when the
// client did not send it, or always with `override: true`, with the value's JSON type kept.
// `field` is a top-level name or a dot path (`reasoning.effort`; missing objects on the way are
// created). The sampling parameters every chat schema has — temperature, top_p, max_tokens,
// stop — go to the member the client's schema uses (an OpenAI client's max_completion_tokens
// counts as max_tokens; Anthropic's stop_sequences as stop). A RequestBody stage on the parsed
// body; immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"

namespace sluice::policy {

// The JSON type a known request field takes ("number", "integer", "string", "boolean",
// "object", "array", "string or array", ...), or nullopt for a field Sluice does not know.
std::optional<std::string_view> default_field_type(std::string_view field);

// Whether the JSON text `value` has the type `type` names.
bool default_value_fits(std::string_view type, std::string_view value);

std::shared_ptr<const pipeline::Stage> make_request_defaults_stage(std::vector<config::RequestDefault> defaults);

}  // namespace sluice::policy
