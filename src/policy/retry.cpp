#include "policy/retry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/yaml_reader.hpp"

namespace sluice::policy {

bool EffectiveRetry::retries_on_status(unsigned status) const {
  if (std::find(on.statusCodes.begin(), on.statusCodes.end(), status) != on.statusCodes.end()) return true;
  if (status == 429) return on.status429;
  return on.status5xx && status >= 500 && status != 501;
}

config::Duration EffectiveRetry::backoff(unsigned retry, double unit) const {
  if (backoff_base.count() <= 0 || retry == 0) return config::Duration{0};
  const double exponential = static_cast<double>(backoff_base.count()) * std::pow(2.0, std::min(retry - 1, 20u));
  const double capped =
      backoff_max.count() > 0 ? std::min(exponential, static_cast<double>(backoff_max.count())) : exponential;
  return config::Duration{static_cast<long>(capped * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0)))};
}

config::RetryPolicy merge(const config::RetryPolicy& general, const config::RetryPolicy& specific) {
  config::RetryPolicy out = general;
  if (specific.attempts) out.attempts = specific.attempts;
  if (specific.retryOn) out.retryOn = specific.retryOn;
  if (specific.perTryTimeout) out.perTryTimeout = specific.perTryTimeout;
  if (specific.backoffBaseInterval) out.backoffBaseInterval = specific.backoffBaseInterval;
  if (specific.backoffMaxInterval) out.backoffMaxInterval = specific.backoffMaxInterval;
  if (specific.budgetPercent) out.budgetPercent = specific.budgetPercent;
  return out;
}

std::optional<config::RetryPolicy> merge_attached(std::span<const config::TrafficPolicy* const> attached) {
  return merge_section<RetrySection>(attached);
}

namespace {

// retryOn: the conditions named; those not named are off.
config::RetryOn decode_retry_on(const YAML::Node& list, const std::string& path, const config::DecodeContext& ctx) {
  static const std::vector<std::string> kKinds = {"connect-failure", "reset", "timeout", "5xx", "429"};
  config::RetryOn kinds{false, false, false, false, false, {}};
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto field = path + "[" + std::to_string(i) + "]";
    auto kind = config::scalar_string(list[i], field, ctx);
    if (!kind) continue;
    if (*kind == "connect-failure") {
      kinds.connectFailure = true;
    } else if (*kind == "reset") {
      kinds.reset = true;
    } else if (*kind == "timeout") {
      kinds.timeout = true;
    } else if (*kind == "5xx") {
      kinds.status5xx = true;
    } else if (*kind == "429") {
      kinds.status429 = true;
    } else {
      std::string expected;
      for (const auto& k : kKinds) expected += (expected.empty() ? "" : ", ") + k;
      ctx.error(list[i], field,
                "unknown retry condition \"" + *kind + "\"; expected one of: " + expected +
                    " (and statusCodes for specific statuses)");
    }
  }
  return kinds;
}

// statusCodes: HTTP statuses 400-599 retried whatever the classes of retryOn say.
void decode_status_codes(const YAML::Node& list, const std::string& path, const config::DecodeContext& ctx,
                         std::vector<unsigned>& out) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto field = path + "[" + std::to_string(i) + "]";
    const auto text = list[i].IsScalar() ? list[i].Scalar() : std::string();
    char* end = nullptr;
    const long code = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || code < 400 || code > 599) {
      ctx.error(list[i], field, "expected an HTTP status between 400 and 599, found \"" + text + "\"");
      continue;
    }
    out.push_back(static_cast<unsigned>(code));
  }
}

}  // namespace

config::RetryPolicy RetrySection::decode(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  config::RetryPolicy r;
  if (auto v = section.integer("attempts", 1, 10)) r.attempts = static_cast<unsigned>(*v);
  auto on = section.take("retryOn");
  if (on.IsDefined() && config::is_sequence(on, section.field("retryOn"), ctx))
    r.retryOn = decode_retry_on(on, section.field("retryOn"), ctx);
  auto codes = section.take("statusCodes");
  if (codes.IsDefined() && config::is_sequence(codes, section.field("statusCodes"), ctx)) {
    if (!r.retryOn) r.retryOn = config::RetryOn{};  // statusCodes alone: in addition to the default conditions
    decode_status_codes(codes, section.field("statusCodes"), ctx, r.retryOn->statusCodes);
  }
  r.perTryTimeout = section.duration("perTryTimeout");
  r.backoffBaseInterval = section.duration("backoffBaseInterval");
  r.backoffMaxInterval = section.duration("backoffMaxInterval");
  if (auto v = section.integer("budgetPercent", 0, 100)) r.budgetPercent = static_cast<unsigned>(*v);
  return r;
}

void RetrySection::validate(const config::RetryPolicy& value, const config::YamlMap& section) {
  if (value.backoffBaseInterval && value.backoffMaxInterval && *value.backoffMaxInterval < *value.backoffBaseInterval)
    section.ctx().error(section.node()["backoffMaxInterval"], section.field("backoffMaxInterval"),
                        "must not be shorter than backoffBaseInterval");
}

namespace {

class RetryStage final : public pipeline::Stage {
 public:
  RetryStage(config::RetryPolicy merged, bool backend_level)
      : merged_(std::move(merged)), backend_level_(backend_level) {}
  std::string_view name() const override { return "retry"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::RequestHead); }
  pipeline::Verdict on_request_head(pipeline::RequestContext& request) const override {
    (backend_level_ ? request.retry.backend : request.retry.rule) = &merged_;
    return pipeline::Verdict::proceed();
  }

 private:
  config::RetryPolicy merged_;
  bool backend_level_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_retry_stage(config::RetryPolicy merged, bool backend_level) {
  return std::make_shared<const RetryStage>(std::move(merged), backend_level);
}

EffectiveRetry resolve(const config::RetryPolicy* rule, const config::RetryPolicy* backend, std::size_t providers) {
  EffectiveRetry out;
  const auto count = static_cast<unsigned>(std::max<std::size_t>(providers, 1));
  out.attempts = count;
  if (rule == nullptr && backend == nullptr) return out;
  config::RetryPolicy merged;
  if (rule != nullptr) merged = *rule;
  if (backend != nullptr) merged = merge(merged, *backend);
  if (merged.attempts) out.attempts = std::min(*merged.attempts, count);
  if (merged.retryOn) out.on = *merged.retryOn;
  out.per_try_timeout = merged.perTryTimeout;
  if (merged.backoffBaseInterval) out.backoff_base = *merged.backoffBaseInterval;
  out.backoff_max = merged.backoffMaxInterval.value_or(config::Duration{1000});
  out.budget_percent = merged.budgetPercent;
  return out;
}

}  // namespace sluice::policy
