// Header modifier stage: an HTTPRoute rule's RequestHeaderModifier and ResponseHeaderModifier
// filters (set, add, remove), in the order the rule lists them. RequestHead phase: the stage
// adds the rule's edits to the request's header edits, which the upstream request head and the
// client's response head apply as they are written (one pass, no header copies). Built per rule
// with filters; immutable and thread-safe; the rule (owned by the snapshot) outlives it.
#pragma once

#include <memory>

#include "pipeline/stage.hpp"

namespace sluice::policy {

// Null when the rule has no header modifier filter.
std::shared_ptr<const pipeline::Stage> make_header_modifier_stage(const route::CompiledRule& rule);

}  // namespace sluice::policy
