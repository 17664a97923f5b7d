#include "pricing/catalog.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "pipeline/request_record.hpp"

namespace sluice::pricing {

namespace {

struct CatalogCondition {
  MatchKind kind;
  std::string_view pattern;
};
struct CatalogProvider {
  std::string_view id;
  std::string_view fallbacks;  // provider ids separated by spaces
};
struct CatalogProviderMatch {
  std::string_view provider;
  CatalogCondition first, second;
};
struct CatalogEntry {
  std::string_view provider;
  std::string_view model;
  CatalogCondition first, second;
  std::int64_t input, output, cached_input;  // micro-USD per 1M tokens; cached -1: none
};

#include "pricing/catalog_data.inc"

// The dataset provider whose prices a provider kind pays; empty: none (Ollama runs locally).
std::string_view dataset_provider(config::ProviderKind kind) {
  switch (kind) {
    case config::ProviderKind::OpenAI:
      return "openai";
    case config::ProviderKind::AzureOpenAI:
      return "azure";
    case config::ProviderKind::Anthropic:
      return "anthropic";
    case config::ProviderKind::Gemini:
    case config::ProviderKind::VertexAI:
      return "google";
    case config::ProviderKind::Bedrock:
      return "aws";
    case config::ProviderKind::Ollama:
      return "";
  }
  return "";
}

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  return out;
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The dataset's second try: each "-YYYYMMDD" (a real date, followed by '-', ':' or the end)
// written "-YYYY-MM-DD".
std::string dashed_dates(std::string_view name) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    const bool candidate = name[i] == '-' && i + 9 <= name.size() && is_digits(name.substr(i + 1, 8)) &&
                           name.substr(i + 1, 2) == "20" &&
                           (i + 9 == name.size() || name[i + 9] == '-' || name[i + 9] == ':');
    if (candidate) {
      const int year = std::stoi(std::string(name.substr(i + 1, 4)));
      const int month = std::stoi(std::string(name.substr(i + 5, 2)));
      const int day = std::stoi(std::string(name.substr(i + 7, 2)));
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      if (month >= 1 && month <= 12 && day >= 1 && day <= kDays[month - 1] && (month != 2 || day <= 28 || leap)) {
        out += '-';
        out.append(name.substr(i + 1, 4)).append("-").append(name.substr(i + 5, 2)).append("-");
        out.append(name.substr(i + 7, 2));
        i += 9;
        continue;
      }
    }
    out += name[i++];
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ money

std::optional<std::int64_t> parse_usd_micros(std::string_view text, std::string& error, std::int64_t max_micros,
                                             std::string_view unit) {
  const auto too_large = [&] {
    error = "is above " + std::to_string(max_micros / 1'000'000) + " " + std::string(unit);
    return std::nullopt;
  };
  if (text.starts_with('-')) {
    error = "must not be negative";
    return std::nullopt;
  }
  const auto dot = text.find('.');
  const auto whole = text.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (!is_digits(whole) || (dot != std::string_view::npos && !is_digits(fraction))) {
    error = "expected a decimal number of US dollars (such as \"0.15\"), found \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  if (fraction.size() > 6) {
    error = "has more than 6 decimals (amounts are kept in whole micro-dollars)";
    return std::nullopt;
  }
  const auto significant = whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
  std::int64_t dollars = 0;
  if (significant.size() > 13 ||
      std::from_chars(significant.data(), significant.data() + significant.size(), dollars).ec != std::errc{}) {
    if (!significant.empty()) return too_large();
  }
  std::int64_t micros_part = 0;
  for (std::size_t i = 0; i < 6; ++i) micros_part = micros_part * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  const std::int64_t micros = dollars * 1'000'000 + micros_part;
  if (micros > max_micros) return too_large();
  return micros;
}

std::string format_usd_micros(std::int64_t micros) {
  const bool negative = micros < 0;
  const auto magnitude = negative ? -static_cast<__int128>(micros) : static_cast<__int128>(micros);
  const auto dollars = static_cast<std::uint64_t>(magnitude / 1'000'000);
  const auto rest = static_cast<unsigned>(magnitude % 1'000'000);
  std::string fraction = std::to_string(rest);
  return (negative ? "-" : "") + std::to_string(dollars) + "." + std::string(6 - fraction.size(), '0') + fraction;
}

std::int64_t cost_micros(const config::ModelPrice& price, const Usage& usage) {
  const auto input = static_cast<__int128>(std::max<std::int64_t>(usage.input, 0));
  const auto cached = std::min(static_cast<__int128>(std::max<std::int64_t>(usage.cached_input, 0)), input);
  const auto output = static_cast<__int128>(std::max<std::int64_t>(usage.output, 0));
  const auto cached_price = price.cachedInput.value_or(price.input);
  const __int128 per_million = (input - cached) * std::max<std::int64_t>(price.input, 0) +
                               cached * std::max<std::int64_t>(cached_price, 0) +
                               output * std::max<std::int64_t>(price.output, 0);
  const __int128 cost = (per_million + 999'999) / 1'000'000;
  return cost > std::numeric_limits<std::int64_t>::max() ? std::numeric_limits<std::int64_t>::max()
                                                         : static_cast<std::int64_t>(cost);
}

// ------------------------------------------------------------------ Catalog

bool Catalog::Condition::matches(std::string_view name) const {
  switch (kind) {
    case MatchKind::None:
      return true;
    case MatchKind::Equals:
      return name == pattern;
    case MatchKind::StartsWith:
      return name.starts_with(pattern);
    case MatchKind::EndsWith:
      return name.ends_with(pattern);
    case MatchKind::Contains:
      return name.find(pattern) != std::string_view::npos;
    case MatchKind::Regex:
      return RE2::PartialMatch(name, *regex);
    case MatchKind::NotRegex:
      return !RE2::PartialMatch(name, *regex);
  }
  return false;
}

Catalog::Catalog() {
  const auto condition = [&](const CatalogCondition& c, bool& usable) {
    Condition out{c.kind, std::string(c.pattern), nullptr};
    if (c.kind == MatchKind::Regex || c.kind == MatchKind::NotRegex) {
      RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const re2::RE2>(c.pattern, options);
      usable = usable && regex->ok();
      out.regex = std::move(regex);
    }
    return out;
  };
  const auto index_of = [&](std::string_view id) {
    for (std::size_t i = 0; i < providers_.size(); ++i)
      if (providers_[i].id == id) return i;
    return providers_.size();
  };
  for (const auto& p : kCatalogProviders) providers_.push_back(Provider{std::string(p.id), {}, {}, {}, {}});
  for (const auto& p : kCatalogProviders) {
    auto& provider = providers_[index_of(p.id)];
    for (std::string_view rest = p.fallbacks; !rest.empty();) {
      const auto space = rest.find(' ');
      const auto id = rest.substr(0, space);
      if (const auto i = index_of(id); i < providers_.size()) provider.fallbacks.push_back(i);
      rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
  }
  for (const auto& m : kCatalogProviderMatches) {
    bool usable = true;
    auto first = condition(m.first, usable);
    auto second = condition(m.second, usable);
    if (usable) detection_.push_back({index_of(m.provider), {std::move(first), std::move(second)}});
  }
  for (const auto& e : kCatalogEntries) {
    auto& provider = providers_[index_of(e.provider)];
    bool usable = true;
    Rule rule{condition(e.first, usable), condition(e.second, usable), provider.rules.size(), {}};
    if (!usable) {
      ++unusable_;
      continue;
    }
    rule.price.input = e.input;
    rule.price.output = e.output;
    if (e.cached_input >= 0) rule.price.cachedInput = e.cached_input;
    if (rule.first.kind == MatchKind::Equals && rule.second.kind == MatchKind::None)
      provider.exact.try_emplace(rule.first.pattern, rule.position);
    else
      provider.patterns.push_back(rule.position);
    provider.rules.push_back(std::move(rule));
    ++rule_count_;
  }
}

Catalog::~Catalog() = default;

const Catalog& Catalog::builtin() {
  static const Catalog catalog;
  return catalog;
}

std::string_view Catalog::source() const {
  return kCatalogSource;
}
std::size_t Catalog::rule_count() const {
  return rule_count_;
}
std::size_t Catalog::unusable_rule_count() const {
  return unusable_;
}

// The provider's first rule matching `name` (lower-cased): the first exact name, unless a
// pattern rule before it matches.
const Catalog::Rule* Catalog::find_in(const Provider& provider, std::string_view name) const {
  std::size_t found = provider.rules.size();
  if (const auto it = provider.exact.find(name); it != provider.exact.end()) found = it->second;
  for (const auto position : provider.patterns) {
    if (position >= found) break;
    const auto& rule = provider.rules[position];
    if (rule.first.matches(name) && rule.second.matches(name)) return &rule;
  }
  return found < provider.rules.size() ? &provider.rules[found] : nullptr;
}

const Catalog::Rule* Catalog::find_with_fallbacks(std::size_t provider, std::string_view name) const {
  if (const auto* rule = find_in(providers_[provider], name)) return rule;
  for (const auto fallback : providers_[provider].fallbacks)
    if (const auto* rule = find_in(providers_[fallback], name)) return rule;
  return nullptr;
}

const Catalog::Rule* Catalog::find_lowered(std::size_t provider, std::string_view name) const {
  if (const auto* rule = find_with_fallbacks(provider, name)) return rule;
  const auto dashed = dashed_dates(name);
  return dashed == name ? nullptr : find_with_fallbacks(provider, dashed);
}

const config::ModelPrice* Catalog::find(std::string_view model, config::ProviderKind kind) const {
  const auto id = dataset_provider(kind);
  if (id.empty() || model.empty()) return nullptr;
  std::size_t provider = providers_.size();
  for (std::size_t i = 0; i < providers_.size(); ++i)
    if (providers_[i].id == id) provider = i;
  if (provider == providers_.size()) return nullptr;
  std::string name = lowered(model);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  if (const auto* rule = find_lowered(provider, name)) return &rule->price;
  if (kind != config::ProviderKind::OpenAI) return nullptr;
  for (const auto& [owner, conditions] : detection_) {
    if (!conditions.first.matches(name) || !conditions.second.matches(name)) continue;
    if (owner == provider) return nullptr;
    const auto* rule = find_lowered(owner, name);
    return rule ? &rule->price : nullptr;
  }
  return nullptr;
}

// ------------------------------------------------------------------ PriceBook

PriceBook::PriceBook(const config::Pricing& pricing, const Catalog& catalog)
    : catalog_(catalog),
      overrides_(pricing.models.begin(), pricing.models.end()),
      unknown_model_(pricing.unknownModel.value_or(config::UnknownModelPricing::Reject)) {}

const config::ModelPrice* PriceBook::find(std::string_view model, config::ProviderKind kind) const {
  if (const auto it = overrides_.find(model); it != overrides_.end()) return &it->second;
  return catalog_.find(model, kind);
}

void record_cost(const PriceBook& prices, config::ProviderKind kind, pipeline::RequestRecord& record) {
  if (record.prompt_tokens < 0 && record.completion_tokens < 0) return;
  const auto& model = record.response_model.empty() ? record.model : record.response_model;
  const auto* price = prices.find(model, kind);
  if (price == nullptr && !record.response_model.empty() && !record.model.empty())
    price = prices.find(record.model, kind);
  if (price == nullptr) return;
  record.cost_micros = cost_micros(
      *price, Usage{record.prompt_tokens, record.cached_tokens, record.completion_tokens, record.reasoning_tokens});
}

}  // namespace sluice::pricing
