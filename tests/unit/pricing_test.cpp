// The price catalog, spec.pricing decoding and the cost of a response (src/pricing/catalog.hpp).
#include <gtest/gtest.h>

#include <limits>

#include "config/loader.hpp"
#include "pipeline/request_record.hpp"
#include "pricing/catalog.hpp"

namespace sluice::pricing {
namespace {

using config::ModelPrice;
using config::ProviderKind;

std::optional<std::int64_t> parse(std::string_view text) {
  std::string error;
  return parse_usd_micros(text, error);
}

std::string parse_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_usd_micros(text, error).has_value()) << text;
  return error;
}

TEST(PricingDecimal, ParsesExactly) {
  EXPECT_EQ(parse("0.15"), 150'000);
  EXPECT_EQ(parse("0.075"), 75'000);
  EXPECT_EQ(parse("15"), 15'000'000);
  EXPECT_EQ(parse("0"), 0);
  EXPECT_EQ(parse("0.000001"), 1);
  EXPECT_EQ(parse("007.5"), 7'500'000);
  EXPECT_EQ(parse("1000000"), kMaxPriceMicros);
  EXPECT_EQ(parse("0.1"), 100'000);  // no binary floating-point error: 0.1 is not 0.1000000000000000055
  EXPECT_EQ(parse("2.675"), 2'675'000);
}

TEST(PricingDecimal, RejectsWhatIsNotAPrice) {
  EXPECT_NE(parse_error("-0.15").find("negative"), std::string::npos);
  EXPECT_NE(parse_error("0.0000001").find("6 decimals"), std::string::npos);
  EXPECT_NE(parse_error("1000000.000001").find("above"), std::string::npos);
  EXPECT_NE(parse_error("99999999999999999999").find("above"), std::string::npos);
  for (const auto* text : {"", "abc", "1e-6", "0x10", " 1", "1 ", ".5", "1.", "1.2.3", "+1", "1,5", "NaN"})
    EXPECT_FALSE(parse(text).has_value()) << text;
}

TEST(PricingDecimal, FormatsSixDecimals) {
  EXPECT_EQ(format_usd_micros(123), "0.000123");
  EXPECT_EQ(format_usd_micros(0), "0.000000");
  EXPECT_EQ(format_usd_micros(1'500'000), "1.500000");
  EXPECT_EQ(format_usd_micros(std::numeric_limits<std::int64_t>::max()), "9223372036854.775807");
}

TEST(PricingCost, ChargesInputCachedAndOutputRoundedUp) {
  const ModelPrice price{150'000, 600'000, 75'000};  // gpt-4o-mini: 0.15 / 0.60 / 0.075 per 1M
  // 1000 prompt tokens of which 400 cached, 500 output:
  // 600 x 0.15 + 400 x 0.075 + 500 x 0.60 = 90 + 30 + 300 = 420 micro-USD (exact).
  EXPECT_EQ(cost_micros(price, Usage{1000, 400, 500, 0}), 420);
  // 7 input tokens: 7 x 0.15 = 1.05 micro-USD, rounded up to 2.
  EXPECT_EQ(cost_micros(price, Usage{7, 0, 0, 0}), 2);
  EXPECT_EQ(cost_micros(price, Usage{0, 0, 0, 0}), 0);
  // One token is never free at a non-zero price.
  EXPECT_EQ(cost_micros(price, Usage{0, 0, 1, 0}), 1);
}

TEST(PricingCost, CachedWithoutCachedPriceCostsTheInputPrice) {
  const ModelPrice price{1'000'000, 2'000'000, std::nullopt};
  EXPECT_EQ(cost_micros(price, Usage{1000, 1000, 0, 0}), 1000);
  EXPECT_EQ(cost_micros(price, Usage{1000, 0, 0, 0}), 1000);
}

TEST(PricingCost, ReasoningIsInsideOutputAndNotChargedTwice) {
  const ModelPrice price{0, 1'000'000, std::nullopt};
  EXPECT_EQ(cost_micros(price, Usage{0, 0, 1000, 800}), cost_micros(price, Usage{0, 0, 1000, 0}));
}

TEST(PricingCost, ClampsNegativeAndExcessCachedCounts) {
  const ModelPrice price{1'000'000, 1'000'000, 0};
  EXPECT_EQ(cost_micros(price, Usage{-5, -1, -7, 0}), 0);
  EXPECT_EQ(cost_micros(price, Usage{100, 500, 0, 0}), 0);  // all 100 input tokens cached, at 0
}

TEST(PricingCost, SaturatesInsteadOfOverflowing) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const ModelPrice price{kMaxPriceMicros, kMaxPriceMicros, kMaxPriceMicros};
  EXPECT_EQ(cost_micros(price, Usage{kMax, kMax / 2, kMax, 0}), kMax);
  // Large but representable: 2^40 tokens at 1 USD per 1M tokens = 2^40 micro-USD.
  const ModelPrice dollar{1'000'000, 0, std::nullopt};
  EXPECT_EQ(cost_micros(dollar, Usage{std::int64_t{1} << 40, 0, 0, 0}), std::int64_t{1} << 40);
}

const ModelPrice& found(const Catalog& catalog, std::string_view model, ProviderKind kind) {
  static const ModelPrice none{-1, -1, std::nullopt};
  const auto* price = catalog.find(model, kind);
  EXPECT_NE(price, nullptr) << model;
  return price ? *price : none;
}

TEST(PricingCatalog, EveryRuleCompiles) {
  const auto& catalog = Catalog::builtin();
  EXPECT_GT(catalog.rule_count(), 500u);
  EXPECT_EQ(catalog.unusable_rule_count(), 0u);
  EXPECT_EQ(catalog.source(), "@pydantic/genai-prices 0.1.8 (2026-12-02)");
}

TEST(PricingCatalog, WellKnownModelsHaveTheDatasetsPrices) {
  const auto& catalog = Catalog::builtin();
  const auto& mini = found(catalog, "gpt-4o-mini", ProviderKind::OpenAI);
  EXPECT_EQ(mini.input, 150'000);
  EXPECT_EQ(mini.output, 600'000);
  EXPECT_EQ(mini.cachedInput, 75'000);
  EXPECT_EQ(found(catalog, "gpt-4o-mini-2024-07-18", ProviderKind::OpenAI).input, 150'000);

  const auto& sonnet = found(catalog, "claude-3-5-sonnet-20241022", ProviderKind::Anthropic);
  EXPECT_EQ(sonnet.input, 3'000'000);
  EXPECT_EQ(sonnet.output, 15'000'000);
  EXPECT_EQ(sonnet.cachedInput, 300'000);

  const auto& flash = found(catalog, "gemini-1.5-flash", ProviderKind::Gemini);
  EXPECT_EQ(flash.input, 75'000);
  EXPECT_EQ(flash.output, 300'000);
  EXPECT_EQ(flash.cachedInput, 18'750);
  EXPECT_EQ(found(catalog, "gemini-1.5-flash-002", ProviderKind::VertexAI).input, 75'000);
}

TEST(PricingCatalog, ProviderKindsAndFallbacks) {
  const auto& catalog = Catalog::builtin();
  // Names are compared lower-cased, as the dataset does.
  EXPECT_EQ(found(catalog, "GPT-4o-mini", ProviderKind::OpenAI).input, 150'000);
  // Azure falls back to OpenAI's models; Vertex AI (Google) to Anthropic's.
  EXPECT_EQ(found(catalog, "gpt-4o-mini", ProviderKind::AzureOpenAI).output, 600'000);
  EXPECT_EQ(found(catalog, "claude-3-5-sonnet@20240620", ProviderKind::VertexAI).input, 3'000'000);
  // Bedrock model ids.
  EXPECT_EQ(found(catalog, "anthropic.claude-3-5-sonnet-20240620-v1:0", ProviderKind::Bedrock).input, 3'000'000);
  // An OpenAI-compatible Backend in front of another vendor: the model's own provider.
  EXPECT_EQ(found(catalog, "claude-3-5-sonnet-20241022", ProviderKind::OpenAI).input, 3'000'000);
  // Local models have no catalog price; unknown names neither.
  EXPECT_EQ(catalog.find("gpt-4o-mini", ProviderKind::Ollama), nullptr);
  EXPECT_EQ(catalog.find("mock-gpt", ProviderKind::OpenAI), nullptr);
  EXPECT_EQ(catalog.find("", ProviderKind::OpenAI), nullptr);
}

TEST(PricingCatalog, CompactDatesAreTriedDashed) {
  const auto& catalog = Catalog::builtin();
  // The dataset lists gpt-4o-mini-2024-07-18; a compact date is tried again dashed.
  EXPECT_EQ(found(catalog, "gpt-4o-mini-20240718", ProviderKind::OpenAI).input, 150'000);
  // Not a date (month 13): no second try.
  EXPECT_EQ(catalog.find("gpt-4o-mini-20241318", ProviderKind::OpenAI), nullptr);
}

TEST(PricingPriceBook, OverridesWinByExactName) {
  config::Pricing pricing;
  pricing.models["gpt-4o-mini"] = ModelPrice{1, 2, 3};
  pricing.models["mock-gpt"] = ModelPrice{4, 5, std::nullopt};
  const PriceBook book(pricing);
  EXPECT_EQ(book.find("gpt-4o-mini", ProviderKind::OpenAI)->input, 1);
  EXPECT_EQ(book.find("gpt-4o-mini", ProviderKind::Ollama)->output, 2);  // any provider kind
  EXPECT_EQ(book.find("mock-gpt", ProviderKind::OpenAI)->input, 4);
  // Overrides are exact: another case goes to the catalog.
  EXPECT_EQ(book.find("GPT-4o-mini", ProviderKind::OpenAI)->input, 150'000);
  EXPECT_EQ(book.unknown_model(), config::UnknownModelPricing::Reject);
  pricing.unknownModel = config::UnknownModelPricing::Free;
  EXPECT_EQ(PriceBook(pricing).unknown_model(), config::UnknownModelPricing::Free);
}

TEST(PricingRecordCost, PricesTheAnsweringModel) {
  config::Pricing pricing;
  pricing.models["served"] = ModelPrice{1'000'000, 2'000'000, 500'000};
  const PriceBook book(pricing);
  pipeline::RequestRecord record;
  record.model = "asked";
  record.response_model = "served";
  record_cost(book, ProviderKind::OpenAI, record);
  EXPECT_EQ(record.cost_micros, -1);  // no usage reported
  record.prompt_tokens = 100;
  record.cached_tokens = 40;
  record.completion_tokens = 10;
  record_cost(book, ProviderKind::OpenAI, record);
  EXPECT_EQ(record.cost_micros, 60 + 20 + 20);  // 60 x 1 + 40 x 0.5 + 10 x 2, micro-USD
  // The requested model's price when the answering name has none.
  record.response_model = "unpriced";
  record.model = "served";
  record.cost_micros = -1;
  record_cost(book, ProviderKind::OpenAI, record);
  EXPECT_EQ(record.cost_micros, 100);
  record.model = "also-unpriced";
  record.cost_micros = -1;
  record_cost(book, ProviderKind::OpenAI, record);
  EXPECT_EQ(record.cost_micros, -1);
}

config::Config load(const std::string& yaml, config::Diagnostics& diags) {
  auto loaded = config::load_sources({{"pricing.yaml", yaml}});
  diags = std::move(loaded.diagnostics);
  return std::move(loaded.config);
}

const std::string kGateway = R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080}]
)";

TEST(PricingConfig, DecodesModelsAsExactDecimals) {
  config::Diagnostics diags;
  const auto cfg = load(kGateway + R"(  pricing:
    unknownModel: Free
    models:
      gpt-4o-mini: {input: "0.15", output: "0.60", cachedInput: "0.075"}
      my-model: {input: 0.1, output: 3}
      embed: {input: 0.02}
)",
                        diags);
  ASSERT_FALSE(diags.has_errors()) << diags.format_all();
  const auto& pricing = cfg.gatewaySpec().pricing;
  EXPECT_EQ(pricing.unknownModel, config::UnknownModelPricing::Free);
  ASSERT_EQ(pricing.models.size(), 3u);
  EXPECT_EQ(pricing.models.at("gpt-4o-mini").input, 150'000);
  EXPECT_EQ(pricing.models.at("gpt-4o-mini").output, 600'000);
  EXPECT_EQ(pricing.models.at("gpt-4o-mini").cachedInput, 75'000);
  EXPECT_EQ(pricing.models.at("my-model").input, 100'000);
  EXPECT_EQ(pricing.models.at("my-model").output, 3'000'000);
  EXPECT_FALSE(pricing.models.at("my-model").cachedInput.has_value());
  EXPECT_EQ(pricing.models.at("embed").output, 0);
}

TEST(PricingConfig, RejectsBadPricesNamingTheField) {
  config::Diagnostics diags;
  load(kGateway + R"(  pricing:
    unknownModel: Maybe
    models:
      a: {input: "-1"}
      b: {input: "0.1234567"}
      c: {input: "cheap"}
      d: {input: "2000000"}
      e: {output: "1"}
      f: {input: "1", extra: 2}
)",
       diags);
  const auto text = diags.format_all();
  EXPECT_NE(text.find("spec.pricing.unknownModel"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.pricing.models[a].input"), std::string::npos) << text;
  EXPECT_NE(text.find("negative"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.pricing.models[b].input"), std::string::npos) << text;
  EXPECT_NE(text.find("6 decimals"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.pricing.models[c].input"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.pricing.models[d].input"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.pricing.models[e].input"), std::string::npos) << text;  // required
  EXPECT_NE(text.find("spec.pricing.models[f].extra"), std::string::npos) << text;
  EXPECT_NE(text.find("Gateway/gw"), std::string::npos) << text;
  EXPECT_NE(text.find("pricing.yaml"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::pricing
