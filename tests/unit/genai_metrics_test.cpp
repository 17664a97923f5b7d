// The GenAI metrics: bucket math, the histograms kept in counters and merged over shards, the
// neutral collection, Prometheus name derivation (OpenTelemetry's exporter rules) and the text
// rendered from it; the first-content scan the native usage readings time the first token with.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "observe/metrics.hpp"
#include "translate/content_event.hpp"

// Allocations made by this thread while `g_counting` is set (the global operator new, replaced for
// the test binary, counts and otherwise behaves as the default).
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (g_counting) ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace sluice::observe {
namespace {

TEST(BucketIndex, BoundsAreInclusiveUpperBounds) {
  const std::vector<double> bounds = {0.01, 0.1, 1};
  EXPECT_EQ(bucket_index(bounds, 0), 0u);
  EXPECT_EQ(bucket_index(bounds, 0.01), 0u);
  EXPECT_EQ(bucket_index(bounds, 0.010001), 1u);
  EXPECT_EQ(bucket_index(bounds, 1), 2u);
  EXPECT_EQ(bucket_index(bounds, 1.5), 3u);
  EXPECT_EQ(bucket_index(kTokenBuckets, 67108864), kTokenBuckets.size() - 1);
  EXPECT_EQ(bucket_index(kTokenBuckets, 67108865), kTokenBuckets.size());
}

TEST(GenAiLayout, HistogramsFollowEachOther) {
  EXPECT_EQ(GenAiLayout::output_tokens, histogram_width(kTokenBuckets.size()));
  EXPECT_EQ(GenAiLayout::width,
            2 * histogram_width(14) + 2 * histogram_width(14) + histogram_width(16) + histogram_width(13));
  EXPECT_LE(GenAiLayout::width, kCounterGroupMax);
}

MetricFamily named(std::string name, std::string unit, MetricKind kind) {
  MetricFamily f;
  f.name = std::move(name);
  f.unit = std::move(unit);
  f.kind = kind;
  return f;
}

TEST(PrometheusName, DerivedAsOpenTelemetrysExporterDoes) {
  EXPECT_EQ(prometheus_name(named("gen_ai.client.token.usage", "{token}", MetricKind::Histogram)),
            "gen_ai_client_token_usage");
  EXPECT_EQ(prometheus_name(named("gen_ai.client.operation.duration", "s", MetricKind::Histogram)),
            "gen_ai_client_operation_duration_seconds");
  EXPECT_EQ(prometheus_name(named("gen_ai.server.time_to_first_token", "s", MetricKind::Histogram)),
            "gen_ai_server_time_to_first_token_seconds");
  EXPECT_EQ(prometheus_name(named("process.cpu", "s", MetricKind::Sum)), "process_cpu_seconds_total");
  EXPECT_EQ(prometheus_name(named("process.resident_memory", "By", MetricKind::Gauge)),
            "process_resident_memory_bytes");
  EXPECT_EQ(prometheus_name(named("sluice.circuit_open.refusals", "{attempt}", MetricKind::Sum)),
            "sluice_circuit_open_refusals_total");
  EXPECT_EQ(prometheus_name(named("http.requests_total", "", MetricKind::Sum)), "http_requests_total");
  EXPECT_EQ(prometheus_name(named("cache.hit", "1", MetricKind::Gauge)), "cache_hit_ratio");
  EXPECT_EQ(prometheus_name(named("cache.hits", "1", MetricKind::Sum)), "cache_hits_total");
  EXPECT_EQ(prometheus_name(named("queue.wait_seconds", "s", MetricKind::Histogram)), "queue_wait_seconds");
  EXPECT_EQ(prometheus_label("gen_ai.token.type"), "gen_ai_token_type");
  EXPECT_EQ(prometheus_label("error.type"), "error_type");
}

TEST(GenAiLabels, SameTextForTheSameSeriesAndRoundTrips) {
  std::string a;
  gen_ai_labels(a, "chat", "openai", "gpt \"4\"", "gpt \"4\"", {});
  EXPECT_EQ(a,
            "gen_ai.operation.name=\"chat\",gen_ai.provider.name=\"openai\",gen_ai.request.model=\"gpt \\\"4\\\"\","
            "gen_ai.response.model=\"gpt \\\"4\\\"\"");
  std::string b;
  gen_ai_labels(b, "chat", "openai", "other", {}, "503");
  const auto parsed = parse_label_text(b);
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_EQ(parsed[2], (MetricAttribute{"gen_ai.request.model", "other"}));
  EXPECT_EQ(parsed[3], (MetricAttribute{"error.type", "503"}));
  EXPECT_EQ(parse_label_text(a)[3].second, "gpt \"4\"");
}

// A finished chat as the exchange leaves its record.
pipeline::RequestRecord chat_record(const ProviderSeries& provider) {
  pipeline::RequestRecord r;
  r.provider_series = &provider;
  r.gen_ai_operation = "chat";
  r.model = "gpt-pinned";
  r.response_model = "gpt-pinned";
  r.status = 200;
  r.prompt_tokens = 10;
  r.completion_tokens = 300;
  r.upstream_ms = 200;
  r.first_token_ms = 50;
  r.exchange_start = std::chrono::steady_clock::now();
  return r;
}

const MetricFamily& family(const MetricCollection& c, std::string_view name) {
  for (const auto& f : c.families)
    if (f.name == name) return f;
  ADD_FAILURE() << "no family " << name;
  static const MetricFamily none;
  return none;
}

TEST(Collection, GenAiHistogramsMergedOverShards) {
  MetricSeries series;
  SeriesClaims claims;
  const std::vector<std::string> models = {"gpt-pinned"};
  auto provider = series.provider_series("b", "p", models, claims);
  provider.gen_ai_provider = "openai";
  std::string labels;
  gen_ai_labels(labels, "chat", "openai", "gpt-pinned", "gpt-pinned", {});
  claims.add_labelled(LabelledFamily::GenAi, labels);
  series.publish(claims);

  MetricsShard a, b;
  a.attach(&series);
  b.attach(&series);
  {
    const auto empty = collect_metrics(series, {&a, &b}, {});
    const auto& tokens = family(empty, "gen_ai.client.token.usage");
    ASSERT_EQ(tokens.points.size(), 2u) << "input and output, at 0 before anything was counted";
    EXPECT_EQ(tokens.points[0].count, 0u);
  }
  a.record(chat_record(provider), 0.3);
  auto failed = chat_record(provider);
  failed.status = 503;
  failed.first_token_ms = -1;
  b.record(failed, 0.02);
  auto other = chat_record(provider);
  other.model = "client-model";
  other.response_model = "client-model-2024";
  b.record(other, 1.5);

  const auto c = collect_metrics(series, {&a, &b}, {});
  const auto& tokens = family(c, "gen_ai.client.token.usage");
  EXPECT_EQ(tokens.unit, "{token}");
  EXPECT_EQ(tokens.kind, MetricKind::Histogram);
  EXPECT_EQ(tokens.bounds.size(), kTokenBuckets.size());
  // The configured model's series, the other model's and the failure's: 3 label sets × 2 types.
  ASSERT_EQ(tokens.points.size(), 6u);
  std::uint64_t input_count = 0;
  double input_sum = 0;
  for (const auto& p : tokens.points) {
    for (const auto& [k, v] : p.attributes) {
      EXPECT_NE(v, "client-model") << "a client's model never becomes a label";
      if (k == "gen_ai.token.type" && v == "input") {
        input_count += p.count;
        input_sum += p.sum;
      }
    }
  }
  EXPECT_EQ(input_count, 2u) << "the failure reports no tokens";
  EXPECT_EQ(input_sum, 20);
  const auto& ttft = family(c, "gen_ai.server.time_to_first_token");
  std::uint64_t observed = 0;
  for (const auto& p : ttft.points) {
    observed += p.count;
    if (p.count == 0) continue;
    // 0.05 s: above 0.04, within 0.06.
    std::size_t bucket = 0;
    while (p.bucket_counts[bucket] == 0) ++bucket;
    EXPECT_EQ(kTimeToFirstTokenBuckets[bucket], 0.06);
  }
  EXPECT_EQ(observed, 2u);
  const auto& request = family(c, "gen_ai.server.request.duration");
  double total = 0;
  for (const auto& p : request.points) total += p.sum;
  EXPECT_DOUBLE_EQ(total, 0.3 + 0.02 + 1.5);
  const auto& overhead = family(c, "sluice.gateway.overhead");
  ASSERT_EQ(overhead.points.size(), 1u);
  EXPECT_EQ(overhead.points[0].count, 3u);
  EXPECT_NEAR(overhead.points[0].sum, 0.1 + 0 + 1.3, 1e-9) << "total minus the upstream time, never below 0";
}

TEST(Recording, NoAllocationOnceALabelSetWasSeen) {
  MetricSeries series;
  SeriesClaims claims;
  const std::vector<std::string> models = {"gpt-pinned"};
  auto provider = series.provider_series("b", "p", models, claims);
  provider.gen_ai_provider = "openai";
  series.publish(claims);
  MetricsShard shard;
  shard.attach(&series);
  auto record = chat_record(provider);
  record.stream = true;
  shard.record(record, 0.5);  // the worker meets the label set: registered, cached
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 1000; ++i) shard.record(record, 0.5);
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
  const auto c = collect_metrics(series, {&shard}, {});
  std::uint64_t requests = 0;
  for (const auto& p : family(c, "gen_ai.server.request.duration").points) requests += p.count;
  EXPECT_EQ(requests, 1001u);
}

TEST(Recording, MetricLabelsAddPrincipalValuesBoundedPerLabel) {
  MetricSeries series;
  SeriesClaims claims;
  const std::vector<std::string> models = {"gpt-pinned"};
  auto provider = series.provider_series("b", "p", models, claims);
  provider.gen_ai_provider = "openai";
  provider.metric_labels = {MetricLabel{"principal.metadata.team", series.metric_label("principal.metadata.team")}};
  EXPECT_EQ(series.metric_label("principal.metadata.team"), provider.metric_labels[0].index) << "stable by key";
  series.publish(claims);
  MetricsShard a, b;
  a.attach(&series);
  b.attach(&series);
  const auto teams = kMetricLabelValuesMax + 20;
  for (std::uint32_t i = 0; i < teams; ++i) {
    auto record = chat_record(provider);
    record.metric_label_values = {"team-" + std::to_string(i)};
    (i % 2 == 0 ? a : b).record(record, 0.1);
  }
  auto none = chat_record(provider);
  none.metric_label_values = {""};
  a.record(none, 0.1);
  const auto c = collect_metrics(series, {&a, &b}, {});
  std::map<std::string, std::uint64_t> by_team;
  for (const auto& p : family(c, "gen_ai.server.request.duration").points) {
    std::string team = "(absent)";
    for (const auto& [k, v] : p.attributes)
      if (k == "principal.metadata.team") team = v;
    by_team[team] += p.count;
  }
  EXPECT_EQ(by_team.size(), kMetricLabelValuesMax + 1u) << "at most the bound, then other";
  EXPECT_EQ(by_team.count("(absent)"), 0u);
  EXPECT_EQ(by_team["team-0"], 1u);
  EXPECT_EQ(by_team["other"], 21u) << "the values past the bound and the empty one, admitted last";
}

TEST(Recording, ModelLabelIsAConfiguredNameOrOther) {
  MetricSeries series;
  SeriesClaims claims;
  const std::vector<std::string> models = {"gpt-4o-mini", "fast", "listed-a", "fast"};
  auto provider = series.provider_series("b", "p", models, claims);
  provider.gen_ai_provider = "openai";
  ASSERT_EQ(provider.models.size(), 3u) << "each name once";
  EXPECT_EQ(provider.bounded_model("listed-a"), "listed-a");
  EXPECT_EQ(provider.bounded_model("listed-b"), "other");
  EXPECT_EQ(provider.tokens_for("listed-b"), provider.other_tokens);
  series.publish(claims);
  MetricsShard shard;
  shard.attach(&series);
  for (const auto* model : {"gpt-4o-mini", "random-1", "random-2", "listed-a"}) {
    auto record = chat_record(provider);
    record.model = model;
    record.response_model = std::string(model) + "-2024";
    shard.record(record, 0.1);
  }
  const auto c = collect_metrics(series, {&shard}, {});
  std::map<std::pair<std::string, std::string>, std::uint64_t> seen;
  for (const auto& p : family(c, "gen_ai.server.request.duration").points) {
    std::string request, response;
    for (const auto& [k, v] : p.attributes) {
      if (k == "gen_ai.request.model") request = v;
      if (k == "gen_ai.response.model") response = v;
    }
    seen[{request, response}] += p.count;
  }
  EXPECT_EQ(seen[std::make_pair(std::string("gpt-4o-mini"), std::string("other"))], 1u);
  EXPECT_EQ(seen[std::make_pair(std::string("other"), std::string("other"))], 2u);
  EXPECT_EQ(seen[std::make_pair(std::string("listed-a"), std::string("other"))], 1u);
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Collection, RenderedAsPrometheusText) {
  MetricCollection c;
  MetricFamily h;
  h.name = "gen_ai.server.request.duration";
  h.unit = "s";
  h.description = "d";
  h.kind = MetricKind::Histogram;
  h.bounds = {0.1, 1};
  MetricPoint p;
  p.attributes = {{"gen_ai.request.model", "m\"x"}};
  p.bucket_counts = {1, 2, 3};
  p.count = 6;
  p.sum = 7.5;
  h.points.push_back(p);
  c.families.push_back(h);
  MetricFamily counter;
  counter.name = "sluice.retry_budget.refusals";
  counter.unit = "{attempt}";
  counter.description = "r";
  counter.kind = MetricKind::Sum;
  counter.points.push_back(MetricPoint{{{"backend", "b"}}, 4, {}, 0, 0});
  c.families.push_back(counter);
  EXPECT_EQ(render_collection(c),
            "# HELP gen_ai_server_request_duration_seconds d\n"
            "# TYPE gen_ai_server_request_duration_seconds histogram\n"
            "gen_ai_server_request_duration_seconds_bucket{gen_ai_request_model=\"m\\\"x\",le=\"0.1\"} 1\n"
            "gen_ai_server_request_duration_seconds_bucket{gen_ai_request_model=\"m\\\"x\",le=\"1\"} 3\n"
            "gen_ai_server_request_duration_seconds_bucket{gen_ai_request_model=\"m\\\"x\",le=\"+Inf\"} 6\n"
            "gen_ai_server_request_duration_seconds_sum{gen_ai_request_model=\"m\\\"x\"} 7.5\n"
            "gen_ai_server_request_duration_seconds_count{gen_ai_request_model=\"m\\\"x\"} 6\n"
            "# HELP sluice_retry_budget_refusals_total r\n"
            "# TYPE sluice_retry_budget_refusals_total counter\n"
            "sluice_retry_budget_refusals_total{backend=\"b\"} 4\n");
}

TEST(Collection, ProcessAndBuildFamilies) {
  MetricSeries series;
  CollectContext context;
  context.generation = 7;
  context.last_reload_ok = false;
  context.providers.push_back(ProviderState{"b", "p", false, true, 2});
  const auto c = collect_metrics(series, {}, context);
  EXPECT_EQ(family(c, "sluice.config.generation").points.at(0).value, 7);
  EXPECT_EQ(family(c, "sluice.config.last_reload.success").points.at(0).value, 0);
  EXPECT_EQ(family(c, "sluice.provider.ejected").points.at(0).value, 1);
  EXPECT_EQ(family(c, "sluice.provider.benched_keys").points.at(0).value, 2);
  EXPECT_EQ(family(c, "sluice.build.info").points.at(0).value, 1);
  EXPECT_GT(family(c, "process.resident_memory").points.at(0).value, 0);
  EXPECT_GT(family(c, "process.max_fds").points.at(0).value, 0);
  EXPECT_GT(family(c, "process.open_fds").points.at(0).value, 2);
  EXPECT_GT(c.time_unix_nanos, c.start_unix_nanos - 1);
}

}  // namespace
}  // namespace sluice::observe

namespace sluice::translate {
namespace {

TEST(ContentEvent, FirstContentOfEachFormat) {
  // OpenAI chat: the first chunk announces the role with empty content.
  EXPECT_FALSE(sse_event_carries_content(
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"));
  EXPECT_TRUE(sse_event_carries_content("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"));
  EXPECT_FALSE(sse_event_carries_content("data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"));
  EXPECT_TRUE(sse_event_carries_content("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n"));
  EXPECT_TRUE(sse_event_carries_content("data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Hm\"}}]}\n\n"));
  // Anthropic.
  EXPECT_FALSE(sse_event_carries_content(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[],\"model\":\"c\"}}\n\n"));
  EXPECT_FALSE(sse_event_carries_content(
      "event: content_block_start\ndata: {\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"));
  EXPECT_TRUE(sse_event_carries_content(
      "event: content_block_delta\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"));
  EXPECT_TRUE(
      sse_event_carries_content("data: {\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n"));
  EXPECT_FALSE(sse_event_carries_content("event: ping\ndata: {\"type\": \"ping\"}\n\n"));
  // Responses API.
  EXPECT_FALSE(sse_event_carries_content(
      "event: response.created\ndata: {\"response\":{\"output\":[],\"text\":{\"format\":{\"type\":\"text\"}}}}\n\n"));
  EXPECT_TRUE(sse_event_carries_content("event: response.output_text.delta\ndata: {\"delta\": \"Hi\"}\n\n"));
  // Gemini.
  EXPECT_TRUE(sse_event_carries_content("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n"));
  EXPECT_TRUE(
      sse_event_carries_content("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{}}]}}]}\n\n"));
  // An escaped member name inside a string is not a member.
  EXPECT_FALSE(sse_event_carries_content("data: {\"x\":\"a \\\"text\\\":\\\"b\"}\n\n"));
}

}  // namespace
}  // namespace sluice::translate
