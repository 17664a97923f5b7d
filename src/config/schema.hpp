// Schema: every field path the configuration loader accepts, as "Kind.path.to.field" with list
// indices written "[]" ("Backend.spec.ai.llm.openai.authToken.kind",
// "HTTPRoute.spec.rules[].backendRefs[].name"). It is read off the loader itself: a built-in
// configuration that enters every section and variant (each provider, auth kind, filter type,
// Backend type) is loaded with field recording on, and every key a decoder reads or accepts and
// ignores is listed, whether the built-in configuration sets it or not. `sluice fields` prints
// it; scripts/check-doc-fields.mjs compares it with docs/configuration.md.
// Pure function; safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostics.hpp"

namespace sluice::config {

struct Schema {
  std::vector<std::string> fields;  // sorted, unique
  Diagnostics diagnostics;          // of loading the built-in configuration; no errors expected
};

Schema accepted_fields();

}  // namespace sluice::config
