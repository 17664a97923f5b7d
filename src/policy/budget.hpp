// Budgets (TrafficPolicy spec.ai.budgets): how much money a caller, team or model may spend per
// period. This file holds what budgets are made of — decoding, the calendar periods, amounts of
// money — and the enforcement lives with the global rate limits (policy/global_rate_limit.hpp),
// which reserve a request's worst-case cost in the same atomic Redis step as its token limits
// and settle the real cost when it ends.
//
// Money is integer micro-dollars (1 USD = 1'000'000). A period is calendar-aligned in UTC: an
// Hour starts at :00, a Day at 00:00, a Week on Monday 00:00, a Month on the 1st at 00:00; each
// period has its own counter, so a new one starts at 0 and never carries the old spend.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"

namespace sluice::config {
class YamlMap;
}

namespace sluice::policy {

// "500.00", "0.5", "25" → micro-USD; nullopt for anything else (negative, more than 6
// decimals, not a number, above 1e12 USD).
std::optional<std::int64_t> parse_usd(std::string_view text);
// micro-USD → "12.345678" (6 decimals).
std::string format_usd(std::int64_t micros);

// The period holding `now`: its first second and the first second of the next, in Unix seconds.
struct PeriodSpan {
  std::int64_t start = 0;
  std::int64_t end = 0;
};
PeriodSpan period_of(config::BudgetPeriod period, std::chrono::system_clock::time_point now);
// The period's name in counter keys and /spend: 2026-12 (Month), 2026-11-30 (Week: its Monday),
// 2026-12-02 (Day), 2026-12-02T13 (Hour).
std::string period_label(config::BudgetPeriod period, const PeriodSpan& span);
std::string_view period_name(config::BudgetPeriod period);

// spec.ai.budgets of `ai`, problems reported through the map's context.
std::vector<config::Budget> decode_budgets(config::YamlMap& ai);

}  // namespace sluice::policy
