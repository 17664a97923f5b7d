#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::observe {
namespace {

// Parses Prometheus text into series ("name{labels}") -> value; comment lines are skipped.
std::map<std::string, std::string> parse(const std::string& text) {
  std::map<std::string, std::string> series;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const auto [it, inserted] = series.emplace(line.substr(0, space), line.substr(space + 1));
    EXPECT_TRUE(inserted) << "duplicate series " << line;
  }
  return series;
}

std::string value(const std::map<std::string, std::string>& series, const std::string& key) {
  const auto it = series.find(key);
  return it == series.end() ? "<absent>" : it->second;
}

RequestSample sample(std::string_view route, std::string_view backend, unsigned status, double seconds,
                     std::uint64_t bytes = 0, std::string_view upstream_error = "") {
  RequestSample s;
  s.route = route;
  s.backend = backend;
  s.status = status;
  s.seconds = seconds;
  s.bytes_sent = bytes;
  s.upstream_error = upstream_error;
  return s;
}

TEST(HistogramTest, ObserveFillsOneNonCumulativeBucket) {
  Histogram h;
  h.observe(0.001);
  h.observe(0.005);  // bounds are inclusive
  h.observe(0.0051);
  h.observe(1000);  // above every bound: only count and sum
  EXPECT_EQ(h.count, 4u);
  EXPECT_DOUBLE_EQ(h.sum, 0.001 + 0.005 + 0.0051 + 1000);
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[1], 1u);
  std::uint64_t total = 0;
  for (auto b : h.buckets) total += b;
  EXPECT_EQ(total, 3u);
}

TEST(MetricsTest, EmptyShardsRenderHeadersAndGauges) {
  MetricsShard shard;
  const auto text = render_prometheus({&shard});
  for (const char* name : {"sluice_requests_total counter", "sluice_request_duration_seconds histogram",
                           "sluice_response_bytes_total counter", "sluice_upstream_errors_total counter",
                           "sluice_open_connections gauge", "sluice_active_requests gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + "\n"), std::string::npos) << name;
  }
  const auto series = parse(text);
  EXPECT_EQ(series.size(), 2u);
  EXPECT_EQ(value(series, "sluice_open_connections"), "0");
  EXPECT_EQ(value(series, "sluice_active_requests"), "0");
}

TEST(MetricsTest, NoShardsAtAll) {
  const auto series = parse(render_prometheus({}));
  EXPECT_EQ(value(series, "sluice_open_connections"), "0");
}

TEST(MetricsTest, ExactOutputForOneRequest) {
  MetricsShard shard;
  shard.record(sample("r/chat", "b", 200, 0.2, 42));
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
              "# HELP sluice_upstream_attempts_total Attempts at the providers of AI Backends, by outcome: success, "
              "failover (failed, the next provider was tried) or failure (failed, answered the client).\n"
              "# TYPE sluice_upstream_attempts_total counter\n"
              "# HELP sluice_provider_ejections_total Providers ejected by outlier detection.\n"
              "# TYPE sluice_provider_ejections_total counter\n"
              "# HELP sluice_open_connections Client connections currently open.\n"
              "# TYPE sluice_open_connections gauge\n"
              "sluice_open_connections 0\n"
              "# HELP sluice_active_requests Requests currently in flight.\n"
              "# TYPE sluice_active_requests gauge\n"
              "sluice_active_requests 0\n";
  EXPECT_EQ(render_prometheus({&shard}), expected);
}

TEST(MetricsTest, CountersPerRouteBackendAndCode) {
  MetricsShard shard;
  shard.record(sample("r/chat", "a", 200, 0.1));
  shard.record(sample("r/chat", "a", 200, 0.1));
  shard.record(sample("r/chat", "a", 500, 0.1));
  shard.record(sample("r/chat", "b", 200, 0.1));
  shard.record(sample("r/embed", "a", 200, 0.1));
  shard.record(sample("", "", 404, 0.001));
  const auto series = parse(render_prometheus({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"a\",code=\"200\"}"), "2");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"a\",code=\"500\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/chat\",backend=\"b\",code=\"200\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/embed\",backend=\"a\",code=\"200\"}"), "1");
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"\",backend=\"\",code=\"404\"}"), "1");
  EXPECT_EQ(value(series, "sluice_request_duration_seconds_count{route=\"r/chat\",backend=\"a\"}"), "3")
      << "latency is per route and backend, all codes together";
  int request_series = 0;
  for (const auto& [k, v] : series) request_series += k.rfind("sluice_requests_total{", 0) == 0;
  EXPECT_EQ(request_series, 5);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  MetricsShard shard;
  for (double s : {0.003, 0.2, 0.25, 0.7, 4.0, 400.0}) shard.record(sample("r/x", "b", 200, s));
  const auto series = parse(render_prometheus({&shard}));
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

TEST(MetricsTest, ResponseBytesAndUpstreamErrors) {
  MetricsShard shard;
  shard.record(sample("r/x", "b", 200, 0.1, 100));
  shard.record(sample("r/x", "b", 502, 0.1, 50, "connect"));
  shard.record(sample("r/y", "b", 504, 0.1, 0, "timeout"));
  shard.record(sample("r/y", "c", 502, 0.1, 0, "connect"));
  shard.record(sample("r/y", "b", 502, 0.1, 0, "connect"));
  const auto series = parse(render_prometheus({&shard}));
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/x\",backend=\"b\"}"), "150");
  EXPECT_EQ(value(series, "sluice_response_bytes_total{route=\"r/y\",backend=\"b\"}"), "0");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"connect\"}"), "2");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"b\",kind=\"timeout\"}"), "1");
  EXPECT_EQ(value(series, "sluice_upstream_errors_total{backend=\"c\",kind=\"connect\"}"), "1");
  int error_series = 0;
  for (const auto& [k, v] : series) error_series += k.rfind("sluice_upstream_errors_total{", 0) == 0;
  EXPECT_EQ(error_series, 3);
}

TEST(MetricsTest, SeveralShardsAreMerged) {
  MetricsShard a, b, c;
  a.record(sample("r/x", "b", 200, 0.003, 10));
  a.record(sample("r/x", "b", 200, 2.0, 10, "reset"));
  b.record(sample("r/x", "b", 200, 0.003, 5));
  b.record(sample("r/x", "b", 500, 0.04, 1, "reset"));
  c.record(sample("r/z", "b", 200, 0.5, 7));
  a.open_connections = 3;
  b.open_connections = 4;
  a.active_requests = 1;
  c.active_requests = 2;
  const auto series = parse(render_prometheus({&a, &b, &c}));
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

TEST(MetricsTest, RenderingDoesNotResetCounters) {
  MetricsShard shard;
  shard.record(sample("r/x", "b", 200, 0.1));
  (void)render_prometheus({&shard});
  shard.record(sample("r/x", "b", 200, 0.1));
  const auto series = parse(render_prometheus({&shard}));
  EXPECT_EQ(value(series, "sluice_requests_total{route=\"r/x\",backend=\"b\",code=\"200\"}"), "2");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsShard shard;
  shard.record(sample("r\"q/a\\b", "line\nbreak", 200, 0.1, 0, "tls"));
  const auto text = render_prometheus({&shard});
  EXPECT_NE(text.find("sluice_requests_total{route=\"r\\\"q/a\\\\b\",backend=\"line\\nbreak\",code=\"200\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_upstream_errors_total{backend=\"line\\nbreak\",kind=\"tls\"} 1\n"), std::string::npos)
      << text;
}

TEST(MetricsTest, GaugesCanGoDown) {
  MetricsShard shard;
  ++shard.open_connections;
  ++shard.open_connections;
  --shard.open_connections;
  shard.active_requests = -1;  // a worker may decrement before another's increment is seen
  const auto series = parse(render_prometheus({&shard}));
  EXPECT_EQ(value(series, "sluice_open_connections"), "1");
  EXPECT_EQ(value(series, "sluice_active_requests"), "-1");
}

TEST(MetricsTest, AttemptsAndEjectionsByBackendAndProvider) {
  MetricsShard a, b;
  a.record_attempt("chat", "openai-a", "failover");
  a.record_attempt("chat", "claude", "success");
  b.record_attempt("chat", "claude", "success");
  b.record_ejection("chat", "openai-a");
  const auto text = render_prometheus({&a, &b});
  EXPECT_NE(
      text.find("sluice_upstream_attempts_total{backend=\"chat\",provider=\"openai-a\",outcome=\"failover\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_upstream_attempts_total{backend=\"chat\",provider=\"claude\",outcome=\"success\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_provider_ejections_total{backend=\"chat\",provider=\"openai-a\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::observe
