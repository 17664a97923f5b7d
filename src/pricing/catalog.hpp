// Prices of models and the cost of responses, in integer micro-dollars (micro-USD).
//
// - parse_usd_micros / format_usd_micros: exact decimal USD amounts ("0.15") to and from
//   micro-USD, without floating point.
// - Catalog: the built-in price catalog, generated from a pinned dataset into catalog_data.inc
//   (tools/prices/generate.mjs) and compiled once per process (Catalog::builtin(), thread-safe
//   static initialisation); immutable, read by every worker without a lock. Lookups follow the
//   dataset's rules: names compared lower-cased, the first rule of the provider that matches
//   wins, a provider falls back to the providers the dataset names, and a name with a compact
//   date (-20240718) is tried again with a dashed one (-2024-07-18).
// - PriceBook: the catalog plus a Gateway's spec.pricing overrides (exact, case-sensitive model
//   names, which win); one per snapshot, immutable, shared by the workers.
// - cost_micros: what a response cost under a price; record_cost: the one place a request's
//   record gets its cost.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/resources.hpp"

namespace re2 {
class RE2;
}

namespace sluice::pipeline {
struct RequestRecord;
}

namespace sluice::pricing {

// The most a price may be: 1,000,000 USD per 1M tokens.
inline constexpr std::int64_t kMaxPriceMicros = 1'000'000'000'000;

// The most a budget may be: 1e12 USD.
inline constexpr std::int64_t kMaxBudgetMicros = 1'000'000'000'000'000'000;

// "0.15" -> 150000. Accepts digits with at most one '.' and at most 6 decimals, nothing else
// (no sign, exponent or spaces); nullopt with `error` set otherwise, or above `max_micros` (the
// message then names the maximum and `unit`).
std::optional<std::int64_t> parse_usd_micros(std::string_view text, std::string& error,
                                             std::int64_t max_micros = kMaxPriceMicros,
                                             std::string_view unit = "(USD per 1M tokens)");

// 123 -> "0.000123", 1500000 -> "1.500000": whole dollars, '.', exactly 6 decimals.
std::string format_usd_micros(std::int64_t micros);

// Token counts of one response, in OpenAI's sense: `input` includes `cached_input`, `output`
// includes `reasoning` (OpenAI's completion_tokens already count reasoning tokens, and the
// translators report the others the same way), so reasoning is not charged a second time.
struct Usage {
  std::int64_t input = 0;
  std::int64_t cached_input = 0;
  std::int64_t output = 0;
  std::int64_t reasoning = 0;
};

// (input - cached) x input price + cached x cached price (the input price when the model has
// none) + output x output price, over 1M tokens, rounded up to a whole micro-dollar (a
// response is never counted cheaper than it cost). Negative counts count as 0, cached counts
// above `input` as `input`. Computed in 128 bits; a result above INT64_MAX is INT64_MAX.
std::int64_t cost_micros(const config::ModelPrice& price, const Usage& usage);

enum class MatchKind : std::uint8_t { None, Equals, StartsWith, EndsWith, Contains, Regex, NotRegex };

// The built-in catalog, compiled from catalog_data.inc.
class Catalog {
 public:
  static const Catalog& builtin();

  // The price of `model` served by a provider of `kind`, or null. Ollama (local models) has no
  // catalog prices. An OpenAI-kind Backend (often pointed at another OpenAI-compatible vendor)
  // also tries the provider the model's name belongs to (claude-*, gemini-*, deepseek*, grok...).
  const config::ModelPrice* find(std::string_view model, config::ProviderKind kind) const;

  std::string_view source() const;          // "@pydantic/genai-prices 0.1.8 (2026-12-02)"
  std::size_t rule_count() const;           // usable rules
  std::size_t unusable_rule_count() const;  // rules dropped (a regex RE2 cannot compile)
  ~Catalog();

 private:
  struct Condition {
    MatchKind kind = MatchKind::None;
    std::string pattern;
    std::shared_ptr<const re2::RE2> regex;
    bool matches(std::string_view lowered) const;
  };
  struct Rule {
    Condition first, second;
    std::size_t position = 0;  // in the provider's order
    config::ModelPrice price;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  struct Provider {
    std::string id;
    std::vector<std::size_t> fallbacks;
    // Rules that are one `equals`: the lower-cased name -> the first such rule.
    std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> exact;
    std::vector<Rule> rules;            // every rule, in order
    std::vector<std::size_t> patterns;  // the rules that are not one `equals`, in order
  };
  Catalog();
  const Rule* find_in(const Provider& provider, std::string_view lowered) const;
  const Rule* find_with_fallbacks(std::size_t provider, std::string_view lowered) const;
  const Rule* find_lowered(std::size_t provider, std::string_view lowered) const;

  std::vector<Provider> providers_;
  std::vector<std::pair<std::size_t, std::pair<Condition, Condition>>> detection_;
  std::size_t rule_count_ = 0;
  std::size_t unusable_ = 0;
};

class PriceBook {
 public:
  explicit PriceBook(const config::Pricing& pricing, const Catalog& catalog = Catalog::builtin());

  // spec.pricing.models[model] when set (exact name), else the catalog's price; null: unknown.
  const config::ModelPrice* find(std::string_view model, config::ProviderKind kind) const;
  config::UnknownModelPricing unknown_model() const { return unknown_model_; }

 private:
  const Catalog& catalog_;
  std::map<std::string, config::ModelPrice, std::less<>> overrides_;
  config::UnknownModelPricing unknown_model_;
};

// Sets record.cost_micros from its token counts and the model that answered (response_model,
// else model) under `prices`, for a provider of `kind`; leaves -1 (unknown) when the response
// reported no usage or the model has no price.
void record_cost(const PriceBook& prices, config::ProviderKind kind, pipeline::RequestRecord& record);

}  // namespace sluice::pricing
