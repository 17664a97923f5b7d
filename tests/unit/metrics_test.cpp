#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "prometheus_text.hpp"

namespace sluice::observe {
namespace {

using testing_metrics::parse;
using testing_metrics::value;

// A registry with the series a test names, published as an installed snapshot's would be, and
// records filled the way the exchange fills them.
class Series {
 public:
  // The series of `route` through `backend` (with the Backend's upstream errors); "" and "" is
  // the unrouted series.
  const RouteSeries& route(const std::string& route, const std::string& backend) {
    const auto key = route + '\0' + backend;
    if (auto it = routes_.find(key); it != routes_.end()) return it->second;
    SeriesClaims claims;
    RouteSeries made = kUnroutedSeries;
    if (!route.empty() || !backend.empty()) {
      made.request = registry.request_series(route, backend, true, claims);
      made.upstream_errors = registry.backend_series(backend, false, claims);
    }
    registry.publish(claims);
    return routes_.emplace(key, made).first->second;
  }
  const ProviderSeries& provider(const std::string& backend, const std::string& provider,
                                 const std::vector<std::string>& models = {}) {
    const auto key = backend + '\0' + provider;
    if (auto it = providers_.find(key); it != providers_.end()) return it->second;
    SeriesClaims claims;
    auto made = registry.provider_series(backend, provider, models, claims);
    registry.publish(claims);
    return providers_.emplace(key, std::move(made)).first->second;
  }

  void record(MetricsShard& shard, const std::string& route, const std::string& backend, unsigned status,
              double seconds, std::uint64_t bytes = 0, std::string_view upstream_error = "") {
    pipeline::RequestRecord record;
    record.series = &this->route(route, backend);
    record.status = status;
    record.bytes_sent = bytes;
    record.upstream_error = upstream_error;
    shard.record(record, seconds);
  }
  void attempt(MetricsShard& shard, const std::string& backend, const std::string& provider, AttemptOutcome outcome) {
    shard.add(this->provider(backend, provider).attempts + static_cast<CounterSlot>(outcome));
  }
  std::string render(const std::vector<const MetricsShard*>& shards) const {
    return render_prometheus(registry, shards);
  }

  MetricSeries registry;

 private:
  std::map<std::string, RouteSeries> routes_;
  std::map<std::string, ProviderSeries> providers_;
};

int count_series(const std::map<std::string, std::string>& series, const std::string& name) {
  int n = 0;
  for (const auto& [k, v] : series) n += k.rfind(name + "{", 0) == 0;
  return n;
}

class MetricsTest : public ::testing::Test {
 protected:
  Series series_;
};

TEST(LatencyBucketTest, BoundsAreInclusiveAndAboveAllIsPastTheEnd) {
  EXPECT_EQ(latency_bucket(0.001), 0u);
  EXPECT_EQ(latency_bucket(0.005), 0u);  // bounds are inclusive
  EXPECT_EQ(latency_bucket(0.0051), 1u);
  EXPECT_EQ(latency_bucket(300), kLatencyBuckets.size() - 1);
  EXPECT_EQ(latency_bucket(1000), kLatencyBuckets.size()) << "above every bound: only count and sum";
}

TEST_F(MetricsTest, EmptyShardsRenderHeadersAndGauges) {
  MetricsShard shard;
  const auto text = series_.render({&shard});
  for (const char* name :
       {"sluice_requests_total counter", "sluice_request_duration_seconds histogram",
        "sluice_response_bytes_total counter", "sluice_upstream_errors_total counter",
        "sluice_upstream_attempts_total counter", "sluice_provider_ejections_total counter",
        "sluice_tokens_total counter", "sluice_open_connections gauge", "sluice_active_requests gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + "\n"), std::string::npos) << name;
  }
  const auto series = parse(text);
  EXPECT_EQ(series.size(), 4u);  // the two gauges and the two TLS handshake counters
  EXPECT_EQ(value(series, "sluice_open_connections"), "0");
  EXPECT_EQ(value(series, "sluice_tls_handshake_failures_total"), "0");
  EXPECT_EQ(value(series, "sluice_active_requests"), "0");
}

TEST_F(MetricsTest, NoShardsAtAll) {
  const auto series = parse(series_.render({}));
  EXPECT_EQ(value(series, "sluice_open_connections"), "0");
}

TEST_F(MetricsTest, ExactOutputForOneRequest) {
  MetricsShard shard;
  series_.record(shard, "r/chat", "b", 200, 0.2, 42);
  const std::string labels = "route=\"r/chat\",backend=\"b\"";
  std::string expected =
      "# HELP sluice_requests_total Requests served, by route, backend and HTTP status.\n"
      "# TYPE sluice_requests_total counter\n"
      "sluice_requests_total{route=\"r/chat\",backend=\"b\",code=\"200\"} 1\n"
      "# HELP sluice_request_duration_seconds Time from request headers to the last response byte.\n"
      "# TYPE sluice_request_duration_seconds histogram\n";
  const char* bounds[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                          "2.5",   "5",    "10",    "30",   "60",  "120",  "300"};
  for (std::size_t i = 0; i < std::size(bounds); ++i)
    expected += "sluice_request_duration_seconds_bucket{" + labels + ",le=\"" + bounds[i] + "\"} " +
                (i >= 5 ? "1" : "0") + "\n";
  expected += "sluice_request_duration_seconds_bucket{" + labels +
              ",le=\"+Inf\"} 1\n"
              "sluice_request_duration_seconds_sum{" +
              labels +
              "} 0.2\n"
              "sluice_request_duration_seconds_count{" +
              labels +
              "} 1\n"
              "# HELP sluice_response_bytes_total Response body bytes sent to clients.\n"
              "# TYPE sluice_response_bytes_total counter\n"
              "sluice_response_bytes_total{" +
              labels +
              "} 42\n"
              "# HELP sluice_upstream_errors_total Upstream failures, by backend and kind.\n"
              "# TYPE sluice_upstream_errors_total counter\n"
              "sluice_upstream_errors_total{backend=\"b\",kind=\"connect\"} 0\n"
              "sluice_upstream_errors_total{backend=\"b\",kind=\"timeout\"} 0\n"
              "sluice_upstream_errors_total{backend=\"b\",kind=\"reset\"} 0\n"
              "sluice_upstream_errors_total{backend=\"b\",kind=\"tls\"} 0\n"
              "sluice_upstream_errors_total{backend=\"b\",kind=\"protocol\"} 0\n"
              "# HELP sluice_upstream_attempts_total Attempts at the providers of AI Backends, by outcome: success, "
              "failover (failed, the next provider was tried) or failure (failed, answered the client).\n"
              "# TYPE sluice_upstream_attempts_total counter\n"
              "# HELP sluice_provider_ejections_total Providers ejected by outlier detection.\n"
              "# TYPE sluice_provider_ejections_total counter\n"
              "# HELP sluice_tokens_total Tokens providers reported, by backend, provider, model (a configured name, "
              "or other) and type (input, output).\n"
              "# TYPE sluice_tokens_total counter\n"
              "# HELP sluice_open_connections Client connections currently open.\n"
              "# TYPE sluice_open_connections gauge\n"
              "sluice_open_connections 0\n"
              "# HELP sluice_active_requests Requests currently in flight.\n"
              "# TYPE sluice_active_requests gauge\n"
              "sluice_active_requests 0\n"
              "# HELP sluice_tls_handshakes_total TLS handshakes completed on the listeners.\n"
              "# TYPE sluice_tls_handshakes_total counter\n"
              "sluice_tls_handshakes_total 0\n"
              "# HELP sluice_tls_handshake_failures_total TLS handshakes that failed on the listeners.\n"
              "# TYPE sluice_tls_handshake_failures_total counter\n"
              "sluice_tls_handshake_failures_total 0\n";
  EXPECT_EQ(series_.render({&shard}), expected);
}

TEST_F(MetricsTest, CountersPerRouteBackendAndCode) {
  MetricsShard shard;
  series_.record(shard, "r/chat", "a", 200, 0.1);
  series_.record(shard, "r/chat", "a", 200, 0.1);
  series_.record(shard, "r/chat", "a", 500, 0.1);
  series_.record(shard, "r/chat", "b", 200, 0.1);
  series_.record(shard, "r/embed", "a", 200, 0.1);
  series_.record(shard, "", "", 404, 0.001);
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"a\",code=\"200\"}"), "2");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"a\",code=\"500\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"b\",code=\"200\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/embed\",backend=\"a\",code=\"200\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"\",backend=\"\",code=\"404\"}"), "1");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_count{route=\"r/chat\",backend=\"a\"}"), "3")
      << "latency is per route and backend, all codes together";
  EXPECT_EQ(count_series(series, "sluice_requests_total"), 5);
}

TEST_F(MetricsTest, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  MetricsShard shard;
  for (double s : {0.003, 0.2, 0.25, 0.7, 4.0, 400.0}) series_.record(shard, "r/x", "b", 200, s);
  const auto series = parse(series_.render({&shard}));
  const std::string prefix = "sluice_request_duration_seconds_bucket{route=\"r/x\",backend=\"b\",le=\"";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"0.005", "1"}, {"0.01", "1"}, {"0.025", "1"}, {"0.05", "1"}, {"0.1", "1"}, {"0.25", "3"},
      {"0.5", "3"},   {"1", "4"},    {"2.5", "4"},   {"5", "5"},    {"10", "5"},  {"30", "5"},
      {"60", "5"},    {"120", "5"},  {"300", "5"},   {"+Inf", "6"}};
  for (const auto& [le, count] : expected) EXPECT_EQ(value(series, prefix + le + "\"}"), count) << "le=" << le;
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_count{route=\"r/x\",backend=\"b\"}"), "6");
  EXPECT_DOUBLE_EQ(std::stod(value(series, "sluice_request_duration_seconds_sum{route=\"r/x\",backend=\"b\"}")),
                   0.003 + 0.2 + 0.25 + 0.7 + 4.0 + 400.0);

  // Monotonic, whatever the samples.
  std::uint64_t previous = 0;
  for (const auto& [le, count] : expected) {
    const auto n = std::stoull(value(series, prefix + le + "\"}"));
    EXPECT_GE(n, previous) << le;
    previous = n;
  }
}

TEST_F(MetricsTest, ResponseBytesAndUpstreamErrors) {
  MetricsShard shard;
  series_.record(shard, "r/x", "b", 200, 0.1, 100);
  series_.record(shard, "r/x", "b", 502, 0.1, 50, "connect");
  series_.record(shard, "r/y", "b", 504, 0.1, 0, "timeout");
  series_.record(shard, "r/y", "c", 502, 0.1, 0, "connect");
  series_.record(shard, "r/y", "b", 502, 0.1, 0, "connect");
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/x\",backend=\"b\"}"), "150");
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/y\",backend=\"b\"}"), "0");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"connect\"}"), "2");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"timeout\"}"), "1");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"c\",kind=\"connect\"}"), "1");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"c\",kind=\"timeout\"}"), "0")
      << "every kind of a Backend is there from the start";
  EXPECT_EQ(count_series(series, "sluice_upstream_errors_total"), 10) << "5 kinds of a Static Backend, twice";
}

TEST_F(MetricsTest, SeveralShardsAreMerged) {
  MetricsShard a, b, c;
  series_.record(a, "r/x", "b", 200, 0.003, 10);
  series_.record(a, "r/x", "b", 200, 2.0, 10, "reset");
  series_.record(b, "r/x", "b", 200, 0.003, 5);
  series_.record(b, "r/x", "b", 500, 0.04, 1, "reset");
  series_.record(c, "r/z", "b", 200, 0.5, 7);
  a.open_connections = 3;
  b.open_connections = 4;
  a.active_requests = 1;
  c.active_requests = 2;
  const auto series = parse(series_.render({&a, &b, &c}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"200\"}"), "3");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"500\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/z\",backend=\"b\",code=\"200\"}"), "1");
  const std::string x = "route=\"r/x\",backend=\"b\"";
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_bucket{" + x + ",le=\"0.005\"}"), "2");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_bucket{" + x + ",le=\"0.05\"}"), "3");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_bucket{" + x + ",le=\"2.5\"}"), "4");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_bucket{" + x + ",le=\"+Inf\"}"), "4");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_count{" + x + "}"), "4");
  EXPECT_DOUBLE_EQ(std::stod(value(series, "sluice_request_duration_seconds_sum{" + x + "}")),
                   0.003 + 2.0 + 0.003 + 0.04);
  EXPECT_EQ(value(series, "sluice_response_bytes_total{" + x + "}"), "26");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"reset\"}"), "2");
  EXPECT_EQ(value(series, "sluice_open_connections"), "7");
  EXPECT_EQ(value(series, "sluice_active_requests"), "3");
}

TEST_F(MetricsTest, RenderingDoesNotResetCounters) {
  MetricsShard shard;
  series_.record(shard, "r/x", "b", 200, 0.1);
  (void)series_.render({&shard});
  series_.record(shard, "r/x", "b", 200, 0.1);
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"200\"}"), "2");
}

TEST_F(MetricsTest, LabelValuesAreEscaped) {
  MetricsShard shard;
  series_.record(shard, "r\"q/a\\b", "line\nbreak", 200, 0.1, 0, "tls");
  const auto text = series_.render({&shard});
  EXPECT_NE(text.find("sluice_requests_total{route=\"r\\\"q/a\\\\b\",backend=\"line\\nbreak\",code=\"200\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_upstream_errors_total{backend=\"line\\nbreak\",kind=\"tls\"} 1\n"), std::string::npos)
      << text;
}

TEST_F(MetricsTest, GaugesCanGoDown) {
  MetricsShard shard;
  ++shard.open_connections;
  ++shard.open_connections;
  --shard.open_connections;
  shard.active_requests = -1;  // a worker may decrement before another's increment is seen
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_open_connections"), "1");
  EXPECT_EQ(value(series, "sluice_active_requests"), "-1");
}

TEST_F(MetricsTest, AttemptsAndEjectionsByBackendAndProvider) {
  MetricsShard a, b;
  series_.attempt(a, "chat", "openai-a", AttemptOutcome::Failover);
  series_.attempt(a, "chat", "claude", AttemptOutcome::Success);
  series_.attempt(b, "chat", "claude", AttemptOutcome::Success);
  b.add(series_.provider("chat", "openai-a").ejections);
  const auto series = parse(series_.render({&a, &b}));
  EXPECT_EQ(
      value(series, "sluice_upstream_attempts_total{backend=\"chat\",provider=\"openai-a\",outcome=\"failover\"}"),
      "1");
  EXPECT_EQ(value(series, "sluice_upstream_attempts_total{backend=\"chat\",provider=\"claude\",outcome=\"success\"}"),
            "2");
  EXPECT_EQ(value(series, "sluice_upstream_attempts_total{backend=\"chat\",provider=\"claude\",outcome=\"failure\"}"),
            "0");
  EXPECT_EQ(value(series, "sluice_provider_ejections_total{backend=\"chat\",provider=\"openai-a\"}"), "1");
  EXPECT_EQ(value(series, "sluice_provider_ejections_total{backend=\"chat\",provider=\"claude\"}"), "0");
  EXPECT_EQ(count_series(series, "sluice_upstream_attempts_total"), 6) << "3 outcomes of each provider";
}

TEST_F(MetricsTest, TokensUnderTheConfiguredModelOrOther) {
  const auto& pinned = series_.provider("chat", "claude", {"claude-test"});
  const auto& open = series_.provider("chat", "gpt");
  MetricsShard shard;
  auto record = [&](const ProviderSeries& provider, std::string model, std::int64_t in, std::int64_t out) {
    pipeline::RequestRecord r;
    r.series = &series_.route("r/chat", "chat");
    r.status = 200;
    r.provider_series = &provider;
    r.model = std::move(model);
    r.prompt_tokens = in;
    r.completion_tokens = out;
    shard.record(r, 0.1);
  };
  record(pinned, "claude-test", 10, 3);
  record(open, "gpt-4o-2031-preview", 7, 2);  // a client's model: no label of its own
  record(open, "claude-test", 1, 1);          // configured for another provider only
  record(open, "whatever", -1, -1);           // usage unknown: nothing counted
  record(open, "other", 0, 5);
  const auto series = parse(series_.render({&shard}));
  const auto tokens = [&](const std::string& provider, const std::string& model, const std::string& type) {
    return value(series, "sluice_tokens_total{backend=\"chat\",provider=\"" + provider + "\",model=\"" + model +
                             "\",type=\"" + type + "\"}");
  };
  EXPECT_EQ(tokens("claude", "claude-test", "input"), "10");
  EXPECT_EQ(tokens("claude", "claude-test", "output"), "3");
  EXPECT_EQ(tokens("claude", "other", "input"), "0") << "pre-created";
  EXPECT_EQ(tokens("gpt", "other", "input"), "8");
  EXPECT_EQ(tokens("gpt", "other", "output"), "8");
  EXPECT_EQ(tokens("gpt", "claude-test", "input"), "<absent>");
  EXPECT_EQ(count_series(series, "sluice_tokens_total"), 6) << "(claude-test, other) x 2 types + other x 2 types";
  for (const auto& [k, v] : series)
    EXPECT_EQ(k.find("gpt-4o-2031-preview"), std::string::npos) << "no client value is a label: " << k;
}

TEST_F(MetricsTest, TheSameLabelsKeepTheirSlotsAndCounts) {
  MetricsShard shard;
  SeriesClaims first;
  const auto slot = series_.registry.request_series("r/x", "b", true, first);
  const auto provider = series_.registry.provider_series("b", "p", std::vector<std::string>{"m"}, first);
  series_.registry.publish(first);
  shard.record_request(slot, 200, 0.1, 5);
  shard.add(provider.attempts);
  shard.add(provider.tokens_for("m"), 40);

  SeriesClaims second;  // a reload with the same rule, Backend, provider and model, and one more model
  EXPECT_EQ(series_.registry.request_series("r/x", "b", true, second), slot);
  const auto again = series_.registry.provider_series("b", "p", std::vector<std::string>{"m", "n"}, second);
  EXPECT_EQ(again.attempts, provider.attempts);
  EXPECT_EQ(again.tokens_for("m"), provider.tokens_for("m"));
  EXPECT_EQ(again.other_tokens, provider.other_tokens);
  EXPECT_NE(again.tokens_for("n"), again.other_tokens);
  series_.registry.publish(second);
  shard.record_request(slot, 200, 0.1, 5);
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"200\"}"), "2");
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/x\",backend=\"b\"}"), "10");
  EXPECT_EQ(value(series, "sluice_upstream_attempts_total{backend=\"b\",provider=\"p\",outcome=\"success\"}"), "1");
  EXPECT_EQ(value(series, "sluice_tokens_total{backend=\"b\",provider=\"p\",model=\"m\",type=\"input\"}"), "40");
  EXPECT_EQ(value(series, "sluice_tokens_total{backend=\"b\",provider=\"p\",model=\"n\",type=\"input\"}"), "0");
}

TEST_F(MetricsTest, SeriesOfABuildNeverInstalledStayHidden) {
  SeriesClaims rejected;
  const auto slot = series_.registry.request_series("typo/rule", "typo", true, rejected);
  series_.registry.provider_series("typo", "p", std::vector<std::string>{"m"}, rejected);
  series_.registry.backend_series("typo", true, rejected);
  MetricsShard shard;
  auto series = parse(series_.render({&shard}));
  for (const auto& [k, v] : series) EXPECT_EQ(k.find("typo"), std::string::npos) << k;
  EXPECT_EQ(series.size(), 4u) << "the gauges and the TLS handshake counters only";

  // A series nobody published still shows once counted (the unrouted one is such a series).
  shard.record_request(slot, 503, 0.1, 0);
  series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"typo/rule\",backend=\"typo\",code=\"503\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"typo/rule\",backend=\"typo\",code=\"200\"}"), "<absent>");
}

TEST_F(MetricsTest, UnusualStatusesHaveTheirOwnCode) {
  MetricsShard shard;
  series_.record(shard, "r/x", "b", 0, 0.1);  // no status at all
  series_.record(shard, "r/x", "b", 101, 0.1);
  series_.record(shard, "r/x", "b", 599, 0.1);
  series_.record(shard, "r/x", "b", 799, 0.1);
  const auto series = parse(series_.render({&shard}));
  for (const char* code : {"0", "101", "599", "799"})
    EXPECT_EQ(value(series, std::string("sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"") + code + "\"}"),
              "1")
        << code;
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"200\"}"), "0");
  EXPECT_EQ(count_series(series, "sluice_requests_total"), 5);
}

// The worker records while the admin thread scrapes, with no lock between them; new series are
// registered and their storage made while scrapes run. Run under ThreadSanitizer (`make tsan`)
// this reports any data race; everywhere it checks each scrape sees counters that only grow
// and the last one sees every count.
TEST_F(MetricsTest, ScrapesRunWhileTheWorkerRecords) {
  constexpr int kRequests = 20000;
  constexpr int kRoutes = 200;  // several chunks of request cells, made while scrapes run
  std::vector<RouteSeries> routes;
  for (int i = 0; i < kRoutes; ++i) routes.push_back(series_.route("r/" + std::to_string(i), "b"));
  const auto& provider = series_.provider("b", "p", {"m"});
  MetricsShard shard;
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread worker([&] {
    pipeline::RequestRecord record;
    record.provider_series = &provider;
    record.model = "m";
    record.prompt_tokens = 2;
    record.completion_tokens = 1;
    for (int i = 0; i < kRequests; ++i) {
      // Halfway, wait for a scrape to have run: on a loaded machine the worker could
      // otherwise finish before the first one, and nothing would run concurrently.
      if (i == kRequests / 2)
        while (scrapes.load() == 0) std::this_thread::yield();
      record.series = &routes[static_cast<std::size_t>(i % kRoutes)];
      record.status = i % 10 == 0 ? 502 : 200;
      record.upstream_error = i % 10 == 0 ? "connect" : "";
      record.bytes_sent = 3;
      shard.record(record, 0.01);
      shard.add(provider.attempts);
      shard.active_requests.fetch_add(1, std::memory_order_relaxed);
    }
    done = true;
  });
  const std::string tokens = "sluice_tokens_total{backend=\"b\",provider=\"p\",model=\"m\",type=\"input\"}";
  std::uint64_t last_tokens = 0;
  do {
    const auto series = parse(series_.render({&shard}));
    const auto now = std::stoull(value(series, tokens));
    EXPECT_GE(now, last_tokens);
    last_tokens = now;
    ++scrapes;
  } while (!done.load());
  worker.join();
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, tokens), std::to_string(2 * kRequests));
  EXPECT_EQ(value(series, "sluice_upstream_attempts_total{backend=\"b\",provider=\"p\",outcome=\"success\"}"),
            std::to_string(kRequests));
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"connect\"}"),
            std::to_string(kRequests / 10));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/0\",backend=\"b\",code=\"502\"}"),
            std::to_string(kRequests / kRoutes));
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/7\",backend=\"b\"}"),
            std::to_string(3 * kRequests / kRoutes));
  EXPECT_EQ(value(series, "sluice_active_requests"), std::to_string(kRequests));
  EXPECT_GE(scrapes, 1);
}

}  // namespace
}  // namespace sluice::observe

namespace sluice::observe {
namespace {

TEST_F(MetricsTest, AuthFailuresAreCountedByReasonOnceCounted) {
  MetricsShard shard;
  EXPECT_EQ(series_.render({&shard}).find("sluice_auth_failures_total"), std::string::npos) << "none yet";
  for (const char* reason : {"missing", "missing", "expired", "model_not_allowed", "keys_unavailable", "nonsense"}) {
    pipeline::RequestRecord record;
    record.status = 401;
    record.auth_failure = reason;
    shard.record(record, 0.001);
  }
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_auth_failures_total{reason=\"missing\"}"), "2");
  EXPECT_EQ(value(series, "sluice_auth_failures_total{reason=\"expired\"}"), "1");
  EXPECT_EQ(value(series, "sluice_auth_failures_total{reason=\"model_not_allowed\"}"), "1");
  EXPECT_EQ(value(series, "sluice_auth_failures_total{reason=\"keys_unavailable\"}"), "1");
  EXPECT_EQ(count_series(series, "sluice_auth_failures_total"), 4) << "a reason outside the set is not a label";
}

TEST_F(MetricsTest, PrincipalSeriesCountRequestsAndTokensAcrossShards) {
  MetricsShard a;
  MetricsShard b;
  a.attach(&series_.registry);
  b.attach(&series_.registry);
  pipeline::RequestRecord record;
  record.status = 200;
  record.principal_labels = "id=\"alice\",team=\"blue\"";
  record.prompt_tokens = 10;
  record.completion_tokens = 3;
  a.record(record, 0.01);
  b.record(record, 0.01);
  record.principal_labels = "id=\"bob\",team=\"\"";
  record.prompt_tokens = -1;
  record.completion_tokens = -1;
  a.record(record, 0.01);
  const auto series = parse(series_.render({&a, &b}));
  EXPECT_EQ(value(series, "sluice_principal_requests_total{id=\"alice\",team=\"blue\"}"), "2");
  EXPECT_EQ(value(series, "sluice_principal_tokens_total{id=\"alice\",team=\"blue\",type=\"prompt\"}"), "20");
  EXPECT_EQ(value(series, "sluice_principal_tokens_total{id=\"alice\",team=\"blue\",type=\"completion\"}"), "6");
  EXPECT_EQ(value(series, "sluice_principal_requests_total{id=\"bob\",team=\"\"}"), "1");
  EXPECT_EQ(value(series, "sluice_principal_tokens_total{id=\"bob\",team=\"\",type=\"prompt\"}"), "0");
}

TEST_F(MetricsTest, PrincipalSeriesPastTheBoundCollapseIntoOther) {
  MetricsShard shard;
  shard.attach(&series_.registry);
  pipeline::RequestRecord record;
  for (std::uint32_t i = 0; i < kLabelledSeriesMax + 5; ++i) {
    record.principal_labels = "id=\"user-" + std::to_string(i) + "\"";
    shard.record(record, 0.001);
  }
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(count_series(series, "sluice_principal_requests_total"), static_cast<int>(kLabelledSeriesMax) + 1);
  EXPECT_EQ(value(series, "sluice_principal_requests_total{id=\"_other_\"}"), "5");
  EXPECT_EQ(value(series, "sluice_principal_requests_total{id=\"user-0\"}"), "1");
}

TEST_F(MetricsTest, GuardMatchesAreCountedPerRuleFromTheRecordsNote) {
  MetricsShard shard;
  shard.attach(&series_.registry);
  pipeline::RequestRecord record;
  record.guard = "request mask SSN,EMAIL";
  shard.record(record, 0.001);
  record.guard = "request reject SSN";
  shard.record(record, 0.001);
  shard.count_guard_matches("response", "mask", "EMAIL");
  const auto series = parse(series_.render({&shard}));
  EXPECT_EQ(value(series, "sluice_guard_matches_total{direction=\"request\",rule=\"SSN\",action=\"mask\"}"), "1");
  EXPECT_EQ(value(series, "sluice_guard_matches_total{direction=\"request\",rule=\"EMAIL\",action=\"mask\"}"), "1");
  EXPECT_EQ(value(series, "sluice_guard_matches_total{direction=\"request\",rule=\"SSN\",action=\"reject\"}"), "1");
  EXPECT_EQ(value(series, "sluice_guard_matches_total{direction=\"response\",rule=\"EMAIL\",action=\"mask\"}"), "1");
}

TEST(CollapseLabelValues, EveryValueBecomesOther) {
  EXPECT_EQ(collapse_label_values(R"(id="a\"b",team="x,y")"), R"(id="_other_",team="_other_")");
  EXPECT_EQ(collapse_label_values(R"(id="")"), R"(id="_other_")");
}

}  // namespace
}  // namespace sluice::observe
