#include "policy/budget.hpp"

#include <charconv>

#include "config/yaml_reader.hpp"
#include "policy/limit_key.hpp"
#include "pricing/catalog.hpp"

namespace sluice::policy {

namespace {

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

std::string two(unsigned v) {
  return (v < 10 ? "0" : "") + std::to_string(v);
}

}  // namespace

PeriodSpan period_of(config::BudgetPeriod period, std::chrono::system_clock::time_point now) {
  const std::int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t day = floor_div(seconds, 86400);
  switch (period) {
    case config::BudgetPeriod::Hour: {
      const std::int64_t start = floor_div(seconds, 3600) * 3600;
      return {start, start + 3600};
    }
    case config::BudgetPeriod::Day:
      return {day * 86400, (day + 1) * 86400};
    case config::BudgetPeriod::Week: {
      // 1970-01-01 was a Thursday: Monday is 3 days before it.
      const std::int64_t monday = floor_div(day + 3, 7) * 7 - 3;
      return {monday * 86400, (monday + 7) * 86400};
    }
    case config::BudgetPeriod::Month: {
      const auto date = civil_from_days(day);
      const std::int64_t first = days_from_civil(date.year, date.month, 1);
      const std::int64_t next =
          date.month == 12 ? days_from_civil(date.year + 1, 1, 1) : days_from_civil(date.year, date.month + 1, 1);
      return {first * 86400, next * 86400};
    }
  }
  return {day * 86400, (day + 1) * 86400};
}

std::string period_label(config::BudgetPeriod period, const PeriodSpan& span) {
  const auto date = civil_from_days(floor_div(span.start, 86400));
  const std::string ymd = std::to_string(date.year) + "-" + two(date.month) + "-" + two(date.day);
  switch (period) {
    case config::BudgetPeriod::Hour:
      return ymd + "T" + two(static_cast<unsigned>(floor_div(span.start, 3600) % 24));
    case config::BudgetPeriod::Day:
    case config::BudgetPeriod::Week:
      return ymd;
    case config::BudgetPeriod::Month:
      return std::to_string(date.year) + "-" + two(date.month);
  }
  return ymd;
}

std::string_view period_name(config::BudgetPeriod period) {
  switch (period) {
    case config::BudgetPeriod::Hour:
      return "Hour";
    case config::BudgetPeriod::Day:
      return "Day";
    case config::BudgetPeriod::Week:
      return "Week";
    case config::BudgetPeriod::Month:
      return "Month";
  }
  return "";
}

std::vector<config::Budget> decode_budgets(config::YamlMap& ai) {
  const auto& ctx = ai.ctx();
  std::vector<config::Budget> out;
  const auto list = ai.take("budgets");
  const auto path = ai.field("budgets");
  if (!list.IsSequence()) {
    ctx.error(list, path, "expected a list of budgets ({by, limit, period})");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto item_path = path + "[" + std::to_string(i) + "]";
    config::YamlMap m(list[i], item_path, ctx, config::Need::Required);
    config::Budget budget;
    budget.policy = ctx.resource;
    budget.name = ctx.resource + " " + item_path;
    if (auto by = m.strings("by")) budget.by = std::move(*by);
    std::string error;
    if (!LimitKey::parse(budget.by, &error)) ctx.error(list[i]["by"], m.field("by"), error);
    if (auto limit = m.str("limit", config::Need::Required)) {
      std::string error;
      if (auto micros = pricing::parse_usd_micros(*limit, error, pricing::kMaxBudgetMicros, "USD")) {
        budget.limit = *micros;
      } else {
        ctx.error(list[i]["limit"], m.field("limit"), error);
      }
    }
    if (auto period = m.enumeration<config::BudgetPeriod>("period",
                                                          {{"Hour", config::BudgetPeriod::Hour},
                                                           {"Day", config::BudgetPeriod::Day},
                                                           {"Week", config::BudgetPeriod::Week},
                                                           {"Month", config::BudgetPeriod::Month}},
                                                          config::Need::Required))
      budget.period = *period;
    assign_identity(budget, "budget", period_name(budget.period), i, out);
    out.push_back(std::move(budget));
  }
  return out;
}

}  // namespace sluice::policy
