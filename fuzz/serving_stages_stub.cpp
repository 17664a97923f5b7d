// The stages that wait on Redis (global rate limits and budgets, the response cache), for fuzz
// targets that link the configuration loader (and so the registry entries that make stages) but
// never serve a request: the real stages' asio coroutines do not compile with clang 14 and the
// sanitizers (see guard_call_stub.cpp). Never called with a snapshot: they make no stage.
#include "policy/global_rate_limit.hpp"
#include "policy/response_cache.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_global_limit_stage(GlobalLimitSettings,
                                                               std::shared_ptr<GlobalLimitsRuntime>,
                                                               const proxy::Snapshot*) {
  return nullptr;
}

std::shared_ptr<const pipeline::Stage> make_response_cache_stage(const config::ExactCache&, const std::string&,
                                                                 const SectionContext&) {
  return nullptr;
}

}  // namespace sluice::policy
