#include "policy/rate_limit.hpp"

#include "config/diagnostics.hpp"
#include "config/yaml_reader.hpp"
#include "policy/global_rate_limit.hpp"
#include "policy/limit_key.hpp"
#include "policy/local_rate_limit.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::policy {

namespace {

std::optional<config::RateUnit> decode_unit(config::YamlMap& m) {
  return m.enumeration<config::RateUnit>("unit",
                                         {{"Second", config::RateUnit::Second},
                                          {"Minute", config::RateUnit::Minute},
                                          {"Hour", config::RateUnit::Hour},
                                          {"Day", config::RateUnit::Day}},
                                         config::Need::Required);
}

std::vector<std::string> decode_by(config::YamlMap& m) {
  auto by = m.strings("by").value_or(std::vector<std::string>{});
  std::string error;
  if (!LimitKey::parse(by, &error)) m.ctx().error(m.node()["by"], m.field("by"), error);
  return by;
}

std::vector<config::LocalRateLimit> decode_local(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  std::vector<config::LocalRateLimit> out;
  const auto list = section.take("local");
  if (!list.IsSequence()) {
    ctx.error(list, section.field("local"), "expected a list of limits ({requests, unit, burst, by})");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    config::YamlMap m(list[i], section.field("local") + "[" + std::to_string(i) + "]", ctx, config::Need::Required);
    config::LocalRateLimit limit;
    limit.policy = ctx.resource;
    limit.name = ctx.resource + " " + m.path();
    if (auto requests = m.integer("requests", 1, 1'000'000'000, config::Need::Required))
      limit.requests = static_cast<std::uint64_t>(*requests);
    if (auto unit = decode_unit(m)) limit.unit = *unit;
    if (auto burst = m.integer("burst", 1, 1'000'000'000)) limit.burst = static_cast<std::uint64_t>(*burst);
    limit.by = decode_by(m);
    assign_identity(limit, "local", unit_name(limit.unit), i, out);
    out.push_back(std::move(limit));
  }
  return out;
}

std::vector<config::GlobalRateLimit> decode_global_limits(config::YamlMap& global) {
  const auto& ctx = global.ctx();
  std::vector<config::GlobalRateLimit> out;
  const auto list = global.take("limits");
  if (!list.IsSequence()) {
    ctx.error(list, global.field("limits"), "expected a list of limits ({requests | tokens, unit, by, count})");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    config::YamlMap m(list[i], global.field("limits") + "[" + std::to_string(i) + "]", ctx, config::Need::Required);
    config::GlobalRateLimit limit;
    limit.policy = ctx.resource;
    limit.name = ctx.resource + " " + m.path();
    if (auto requests = m.integer("requests", 1, 1'000'000'000'000))
      limit.requests = static_cast<std::uint64_t>(*requests);
    if (auto tokens = m.integer("tokens", 1, 1'000'000'000'000)) limit.tokens = static_cast<std::uint64_t>(*tokens);
    if (auto unit = decode_unit(m)) limit.unit = *unit;
    limit.by = decode_by(m);
    const bool has_count = m.has("count");
    if (auto count = m.enumeration<config::TokenCount>("count", {{"Input", config::TokenCount::Input},
                                                                 {"Output", config::TokenCount::Output},
                                                                 {"Total", config::TokenCount::Total}}))
      limit.count = *count;
    if (limit.requests.has_value() == limit.tokens.has_value()) {
      ctx.error(list[i], m.path(), "a limit counts either requests or tokens: set exactly one of the two");
    } else if (has_count && limit.requests) {
      ctx.error(list[i]["count"], m.field("count"), "count applies to token limits (tokens: N), not to requests");
    }
    const std::string_view kind = !limit.tokens                               ? "requests"
                                  : limit.count == config::TokenCount::Input  ? "tokens|Input"
                                  : limit.count == config::TokenCount::Output ? "tokens|Output"
                                                                              : "tokens|Total";
    assign_identity(limit, kind, unit_name(limit.unit), i, out);
    out.push_back(std::move(limit));
  }
  return out;
}

}  // namespace

config::RateLimitPolicy RateLimitSection::decode(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  config::RateLimitPolicy policy;
  if (section.has("local")) policy.local = decode_local(section);
  if (section.has("global")) {
    config::YamlMap global(section.take("global"), section.field("global"), ctx);
    config::GlobalRateLimits limits;
    limits.failureMode = global.enumeration<config::RedisFailureMode>(
        "failureMode", {{"FailClosed", config::RedisFailureMode::FailClosed},
                        {"FailOpen", config::RedisFailureMode::FailOpen},
                        {"Local", config::RedisFailureMode::Local}});
    if (auto replicas = global.integer("replicas", 1, 10'000)) limits.replicas = static_cast<unsigned>(*replicas);
    if (global.has("limits")) limits.limits = decode_global_limits(global);
    policy.global = std::move(limits);
  }
  if (section.has("streams")) {
    config::YamlMap streams(section.take("streams"), section.field("streams"), ctx);
    config::StreamLimits limits;
    limits.onExceed = streams.enumeration<config::StreamExceed>(
        "onExceed", {{"Finish", config::StreamExceed::Finish}, {"Truncate", config::StreamExceed::Truncate}});
    policy.streams = limits;
  }
  if (auto tokens = section.integer("defaultMaxTokens", 1, 10'000'000))
    policy.defaultMaxTokens = static_cast<std::uint64_t>(*tokens);
  return policy;
}

void RateLimitSection::validate(const config::RateLimitPolicy& value, const config::YamlMap& section) {
  const auto& ctx = section.ctx();
  if (value.global && value.global->failureMode == config::RedisFailureMode::Local && !value.global->replicas)
    ctx.error(section.node()["global"], section.field("global") + ".replicas",
              "failureMode Local needs replicas (how many Sluice replicas share the limits): while Redis is down, "
              "each replica enforces limit / replicas");
}

config::RateLimitPolicy RateLimitSection::merge(const config::RateLimitPolicy& general,
                                                const config::RateLimitPolicy& specific) {
  config::RateLimitPolicy out = general;
  if (specific.local) out.local = specific.local;
  if (specific.global) {
    if (!out.global) out.global.emplace();
    if (specific.global->failureMode) out.global->failureMode = specific.global->failureMode;
    if (specific.global->replicas) out.global->replicas = specific.global->replicas;
    if (specific.global->limits) out.global->limits = specific.global->limits;
  }
  if (specific.streams && specific.streams->onExceed) {
    if (!out.streams) out.streams.emplace();
    out.streams->onExceed = specific.streams->onExceed;
  }
  if (specific.defaultMaxTokens) out.defaultMaxTokens = specific.defaultMaxTokens;
  return out;
}

void RateLimitSection::check_references(const config::RateLimitPolicy& value, const config::TrafficPolicy& policy,
                                        const config::Config& config, config::Diagnostics& diags) {
  if (!value.global || !value.global->limits || value.global->limits->empty() || config.gatewaySpec().redis) return;
  diags.add(config::Diagnostic{config::Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(),
                               "spec.rateLimit.global",
                               "global limits are counted in Redis, shared by every replica: the Gateway needs "
                               "spec.redis ({address: host:port}); for per-replica limits use rateLimit.local"});
}

namespace {

Stages limit_stages(const std::optional<config::RateLimitPolicy>& merged,
                    const std::optional<std::vector<config::Budget>>& budgets, const SectionContext& context) {
  GlobalLimitSettings settings;
  if (merged && merged->global) {
    const auto& global = *merged->global;
    if (global.limits) settings.limits = *global.limits;
    settings.failure_mode = global.failureMode.value_or(config::RedisFailureMode::FailClosed);
    settings.replicas = global.replicas.value_or(1);
  }
  if (merged && merged->streams && merged->streams->onExceed) settings.on_exceed = *merged->streams->onExceed;
  if (merged) settings.default_max_tokens = merged->defaultMaxTokens;
  if (budgets) settings.budgets = *budgets;
  const bool local = merged && merged->local && !merged->local->empty();
  if (!local && settings.limits.empty() && settings.budgets.empty()) return {};

  std::shared_ptr<GlobalLimitsRuntime> runtime;
  std::shared_ptr<state::TokenBuckets> buckets;
  if (context.registry != nullptr && context.claims != nullptr) {
    runtime = context.registry->state_for<GlobalLimitsRuntime>(kLimitsStateKey, *context.claims);
    if (local) buckets = context.registry->state_for<state::TokenBuckets>({"rateLimit", "local"}, *context.claims);
  } else {
    runtime = std::make_shared<GlobalLimitsRuntime>();
  }
  Stages stages;
  if (local) {
    if (auto stage = make_local_rate_limit_stage(*merged->local, std::move(buckets), runtime))
      stages.push_back(std::move(stage));
  }
  if (auto stage = make_global_limit_stage(std::move(settings), runtime, context.snapshot))
    stages.push_back(std::move(stage));
  return stages;
}

}  // namespace

Stages RateLimitSection::make_stage(config::RateLimitPolicy merged, const SectionContext& context) {
  return limit_stages(merged, std::nullopt, context);
}

Stages compile_rate_limits(std::span<const config::TrafficPolicy* const> attached, const SectionContext& context) {
  std::optional<std::vector<config::Budget>> budgets;
  for (const auto* policy : attached)
    if (policy->ai && policy->ai->budgets) budgets = policy->ai->budgets;
  return limit_stages(merge_section<RateLimitSection>(attached), budgets, context);
}

}  // namespace sluice::policy
