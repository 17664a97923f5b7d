// The one registration list of TrafficPolicy sections (policy/section.hpp). Kept apart from
// registry.cpp so the config loader (and its fuzz target) links the sections without the
// snapshot and chain compilation.
#include <array>

#include "policy/ai.hpp"
#include "policy/auth.hpp"
#include "policy/cors.hpp"
#include "policy/rate_limit.hpp"
#include "policy/response_cache.hpp"
#include "policy/retry.hpp"
#include "policy/section.hpp"

namespace sluice::policy {

namespace {

// Every TrafficPolicy section, in the order their stages run: adding a section is one line here.
// cors precedes auth: a preflight is answered without a credential, and auth's refusals carry
// the CORS headers. rateLimit follows ai: limits keyed by model see the model after aliasing,
// and requests a guard refused are not counted (its local limits still run at RequestHead).
// ai.cache (decoded with ai) comes after the limits: a cached answer counts as a request.
constexpr std::array kPolicySections{
    cors_section_entry(),       section_entry<AuthSection>(), section_entry<AiSection>(),
    rate_limit_section_entry(), response_cache_entry(),       section_entry<RetrySection>(),
};

}  // namespace

std::span<const PolicySection> policy_sections() {
  return kPolicySections;
}

const PolicySection* find_policy_section(std::string_view key) {
  for (const auto& section : kPolicySections)
    if (section.key == key) return &section;
  return nullptr;
}

}  // namespace sluice::policy
