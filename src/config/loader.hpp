// Loader: turns YAML files (one file, or every *.yaml / *.yml in a directory, each possibly
// multi-document) into a Config plus every problem found, decoding and cross-checking all
// resources before reporting, so `sluice validate` can list every mistake in one run. A
// TrafficPolicy section is decoded by its policy-registry entry (policy/section.hpp), a
// provider's own ai.llm.<provider> fields by its ProviderTraits::decode (provider/provider.hpp).
// Pure function of its inputs and the environment; safe to call from any thread.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/resources.hpp"

namespace sluice::config {

struct LoadOptions {
  // Problems resolving a Secret a Backend needs (missing Secret, missing key, unset ${ENV} in
  // a Secret) are errors when true (`validate`), warnings when false (`serve`: the gateway
  // starts and requests to that backend fail with a 500 naming the Secret).
  bool strictSecrets = true;
  // When set, receives every field path the decoder knows for the resources loaded
  // ("Backend.spec.ai.llm.openai.model", list indices as "[]"); see config/schema.hpp.
  std::set<std::string>* fields = nullptr;
};

struct LoadResult {
  Config config;
  Diagnostics diagnostics;
};

struct Source {
  std::string label;  // file name used in messages
  std::string text;
};

// Loads a file or a directory of YAML files.
LoadResult load_path(const std::string& path, const LoadOptions& options = {});

// Loads already-read sources (the embedded quick start, tests).
LoadResult load_sources(const std::vector<Source>& sources, const LoadOptions& options = {});

}  // namespace sluice::config
