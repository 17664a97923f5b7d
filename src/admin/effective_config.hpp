// The admin /config document: the running configuration as Sluice understood it — every
// resource after decoding, defaults filled in — as JSON with a stable shape:
//   {"generation": N, "sources": [files], "resources": [
//     {"apiVersion", "kind", "metadata": {"name", "file", "line"}, "spec" | "data"}, ...]}
// in the order Gateway (its defaults when no Gateway resource was given), Secrets, Backends
// (by name), HTTPRoutes (load order), TrafficPolicies (by name). Field names are the YAML ones;
// durations are strings ("30s", "250ms"), prices and budget limits USD decimal strings.
// Nothing secret is ever written: Secret values, inline credentials (authToken inline), API key
// hashes, inline JWKS and every header value the configuration sets (header modifiers, and any
// map field named `headers`) are "REDACTED"; Secret references (names and keys) are shown.
// Every struct of config/resources.hpp is described field by field in the .cpp, and a struct
// that gains a field fails to compile until its description names it. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "config/resources.hpp"

namespace sluice::admin {

inline constexpr std::string_view kRedacted = "REDACTED";

std::string render_config(const config::Config& config, std::uint64_t generation);

}  // namespace sluice::admin
