#include "policy/local_rate_limit.hpp"

#include <boost/container/small_vector.hpp>
#include <cmath>

#include "policy/global_rate_limit.hpp"
#include "policy/limit_key.hpp"
#include "policy/rate_limit_headers.hpp"

namespace sluice::policy {

using pipeline::Phase;
using pipeline::RequestContext;
using pipeline::Verdict;

double unit_seconds(config::RateUnit unit) {
  switch (unit) {
    case config::RateUnit::Second:
      return 1;
    case config::RateUnit::Minute:
      return 60;
    case config::RateUnit::Hour:
      return 3600;
    case config::RateUnit::Day:
      return 86400;
  }
  return 1;
}

std::string_view unit_name(config::RateUnit unit) {
  switch (unit) {
    case config::RateUnit::Second:
      return "Second";
    case config::RateUnit::Minute:
      return "Minute";
    case config::RateUnit::Hour:
      return "Hour";
    case config::RateUnit::Day:
      return "Day";
  }
  return "";
}

namespace {

struct CompiledLimit {
  LimitKey key;
  state::TokenBuckets::Limit bucket;
  std::uint64_t burst = 0;
  std::string identity;
  std::string name;  // for the access log's `limit`
};

class LocalRateLimitStage final : public pipeline::Stage {
 public:
  LocalRateLimitStage(std::vector<CompiledLimit> limits, std::shared_ptr<state::TokenBuckets> buckets,
                      std::shared_ptr<GlobalLimitsRuntime> runtime)
      : limits_(std::move(limits)), buckets_(std::move(buckets)), runtime_(std::move(runtime)) {
    for (const auto& limit : limits_) at_body_ = at_body_ || limit.key.needs_body();
  }

  std::string_view name() const override { return "local-rate-limit"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::RequestHead) | (at_body_ ? pipeline::bit(Phase::RequestBody) : 0);
  }

  // A key naming the model waits for the body, unless the request has none to read (a
  // passthrough request is limited at its head, its model unknown).
  Verdict on_request_head(RequestContext& request) const override {
    if (at_body_ && request.json_api) return Verdict::proceed();
    return take(request);
  }
  Verdict on_request_body(RequestContext& request) const override { return take(request); }

 private:
  Verdict take(RequestContext& request) const {
    const auto now = state::TokenBuckets::Clock::now();
    boost::container::small_vector<std::string, 4> taken;
    std::string key;
    for (const auto& limit : limits_) {
      key.assign(limit.identity);
      limit.key.append_values(request, key);
      const auto outcome = buckets_->take(key, 1, limit.bucket, now);
      offer_limit_reading(request, {false, limit.burst, outcome.remaining, outcome.reset});
      if (!outcome.allowed) {
        runtime_->count_local(false);
        for (std::size_t i = 0; i < taken.size(); ++i) buckets_->adjust(taken[i], 1, limits_[i].bucket, now);
        const auto seconds = std::max<std::int64_t>(1, (outcome.retry_after.count() + 999) / 1000);
        request.record.limit = limit.name;
        return Verdict::fail({429,
                              "requests",
                              "rate_limit_exceeded",
                              "Rate limit reached: " + std::to_string(limit.burst) + " requests by " +
                                  (limit.key.description().empty() ? std::string("gateway") : limit.key.description()) +
                                  " (local limit); retry after " + std::to_string(seconds) + "s",
                              {}},
                             std::to_string(seconds));
      }
      taken.push_back(key);
    }
    runtime_->count_local(true);
    return Verdict::proceed();
  }

  std::vector<CompiledLimit> limits_;
  std::shared_ptr<state::TokenBuckets> buckets_;
  std::shared_ptr<GlobalLimitsRuntime> runtime_;
  bool at_body_ = false;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_local_rate_limit_stage(std::vector<config::LocalRateLimit> limits,
                                                                   std::shared_ptr<state::TokenBuckets> buckets,
                                                                   std::shared_ptr<GlobalLimitsRuntime> runtime) {
  std::vector<CompiledLimit> compiled;
  for (auto& limit : limits) {
    auto key = LimitKey::parse(limit.by, nullptr);
    if (!key) continue;  // refused by the loader
    const double burst = static_cast<double>(limit.burst != 0 ? limit.burst : limit.requests);
    compiled.push_back({std::move(*key),
                        {burst, static_cast<double>(limit.requests) / unit_seconds(limit.unit)},
                        static_cast<std::uint64_t>(burst),
                        limit.identity + "|",
                        limit.name});
  }
  if (compiled.empty()) return nullptr;
  if (!buckets) buckets = std::make_shared<state::TokenBuckets>();
  if (!runtime) runtime = std::make_shared<GlobalLimitsRuntime>();
  return std::make_shared<LocalRateLimitStage>(std::move(compiled), std::move(buckets), std::move(runtime));
}

}  // namespace sluice::policy
