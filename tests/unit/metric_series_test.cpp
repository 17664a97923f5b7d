// Metric series through Snapshot::build, as `serve` uses them: every series the configuration
// implies is scraped at 0 before any request, a reload keeps counting the series it keeps (and
// still shows those it removed), and the model label takes configured names or "other" only.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "observe/metrics.hpp"
#include "prometheus_text.hpp"
#include "proxy/snapshot.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::proxy {
namespace {

using testing_metrics::parse;
using testing_metrics::value;

int count(const std::map<std::string, std::string>& series, const std::string& name) {
  int n = 0;
  for (const auto& [k, v] : series) n += k.rfind(name + "{", 0) == 0;
  return n;
}

std::string doc(const std::string& kind, const std::string& name, const std::string& spec) {
  const auto api = kind == "HTTPRoute" ? "gateway.networking.k8s.io/v1" : "sluice.dev/v1alpha1";
  return std::string("---\napiVersion: ") + api + "\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" +
         spec;
}

// "chat": two priority groups, "claude" pinned to claude-test, "gpt" passing the client's model
// through; "pinned": an ai.llm Backend pinned to gpt-pinned; "svc": a Static Backend.
const std::string kChat = doc("Backend", "chat", R"(  type: AI
  ai:
    priorityGroups:
    - providers:
      - name: claude
        anthropic: {authToken: {kind: Inline, inline: k}, model: claude-test}
    - providers:
      - name: gpt
        openai: {authToken: {kind: Inline, inline: k}}
)");
const std::string kPinned = doc("Backend", "pinned", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: k}, model: gpt-pinned}
)");
const std::string kStatic = doc("Backend", "svc", R"(  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: 9}]
)");
const std::string kRoutes = doc("HTTPRoute", "llm", R"(  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /chat}}]
    backendRefs: [{name: chat}]
  - name: split
    matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: chat, weight: 1}, {name: pinned, weight: 1}]
  - name: svc
    matches: [{path: {type: PathPrefix, value: /svc}}]
    backendRefs: [{name: svc}]
)");

class MetricSeriesTest : public ::testing::Test {
 protected:
  // Builds `yaml` against the process's registry and installs it, as a (re)load does.
  std::shared_ptr<const Snapshot> install(const std::string& yaml) {
    auto loaded = config::load_sources({{"test.yaml", yaml}}, config::LoadOptions{});
    EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    auto snap = Snapshot::build(std::move(loaded.config), loaded.diagnostics, ++generation_, registry_);
    EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    registry_.retain(snap->state_claims);
    registry_.metric_series().publish(snap->metric_claims);
    return snap;
  }
  std::map<std::string, std::string> scrape() {
    return parse(observe::render_prometheus(registry_.metric_series(), {&shard_}));
  }
  static const BackendRuntime& provider(const Snapshot& snap, const std::string& backend, const std::string& name) {
    for (const auto& group : snap.backends.at(backend).groups)
      for (const auto& p : group)
        if (p.name == name) return p;
    throw std::runtime_error("no provider " + name);
  }
  // A request as the exchange records it: rule `rule` (by position) through its backendRef `ref`,
  // answered by `answered` (a provider, or none) for `model` with the given usage.
  void request(const Snapshot& snap, std::size_t rule, std::size_t ref, const BackendRuntime* answered,
               const std::string& model, std::int64_t in, std::int64_t out) {
    pipeline::RequestRecord record;
    record.series = &snap.route_series.at(rule).at(ref);
    record.status = 200;
    record.provider_series = answered ? &answered->series : nullptr;
    record.model = model;
    record.prompt_tokens = in;
    record.completion_tokens = out;
    shard_.record(record, 0.05);
  }

  state::RuntimeRegistry registry_;
  observe::MetricsShard shard_;
  std::uint64_t generation_ = 0;
};

TEST_F(MetricSeriesTest, EverySeriesTheConfigImpliesIsThereAtZeroBeforeAnyRequest) {
  install(kChat + kPinned + kStatic + kRoutes);
  const auto s = scrape();
  for (const auto& [route, backend] : std::vector<std::pair<std::string, std::string>>{
           {"llm/chat", "chat"}, {"llm/split", "chat"}, {"llm/split", "pinned"}, {"llm/svc", "svc"}}) {
    const auto labels = "route=\"" + route + "\",backend=\"" + backend + "\"";
    EXPECT_EQ(value(s, "sluice_requests_total{" + labels + ",code=\"200\"}"), "0") << labels;
    EXPECT_EQ(value(s, "sluice_request_duration_seconds_count{" + labels + "}"), "0") << labels;
    EXPECT_EQ(value(s, "sluice_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"}"), "0") << labels;
    EXPECT_EQ(value(s, "sluice_response_bytes_total{" + labels + "}"), "0") << labels;
  }
  EXPECT_EQ(count(s, "sluice_requests_total"), 4) << "one per rule x backendRef, nothing unrouted yet";

  for (const auto& [backend, provider] :
       std::vector<std::pair<std::string, std::string>>{{"chat", "claude"}, {"chat", "gpt"}, {"pinned", "pinned"}}) {
    const auto labels = "backend=\"" + backend + "\",provider=\"" + provider + "\"";
    for (const char* outcome : {"success", "failover", "failure"})
      EXPECT_EQ(value(s, "sluice_upstream_attempts_total{" + labels + ",outcome=\"" + outcome + "\"}"), "0") << labels;
    EXPECT_EQ(value(s, "sluice_provider_ejections_total{" + labels + "}"), "0") << labels;
  }
  EXPECT_EQ(count(s, "sluice_upstream_attempts_total"), 9);

  const auto tokens = [&](const std::string& labels, const char* type) {
    return value(s, "sluice_tokens_total{" + labels + ",type=\"" + type + "\"}");
  };
  for (const auto& labels :
       {"backend=\"chat\",provider=\"claude\",model=\"claude-test\"",
        "backend=\"chat\",provider=\"claude\",model=\"other\"", "backend=\"chat\",provider=\"gpt\",model=\"other\"",
        // gpt names no model of its own: it takes every configured name.
        "backend=\"chat\",provider=\"gpt\",model=\"claude-test\"",
        "backend=\"chat\",provider=\"gpt\",model=\"gpt-pinned\"",
        "backend=\"pinned\",provider=\"pinned\",model=\"gpt-pinned\"",
        "backend=\"pinned\",provider=\"pinned\",model=\"other\""}) {
    EXPECT_EQ(tokens(labels, "input"), "0") << labels;
    EXPECT_EQ(tokens(labels, "output"), "0") << labels;
  }
  EXPECT_EQ(count(s, "sluice_tokens_total"), 14) << "only the configured models and other";

  for (const char* kind : {"connect", "timeout", "reset", "tls", "protocol", "key"}) {
    EXPECT_EQ(value(s, std::string("sluice_upstream_errors_total{backend=\"chat\",kind=\"") + kind + "\"}"), "0");
    EXPECT_EQ(value(s, std::string("sluice_upstream_errors_total{backend=\"pinned\",kind=\"") + kind + "\"}"), "0");
  }
  EXPECT_EQ(value(s, "sluice_upstream_errors_total{backend=\"svc\",kind=\"connect\"}"), "0");
  EXPECT_EQ(value(s, "sluice_upstream_errors_total{backend=\"svc\",kind=\"key\"}"), "<absent>")
      << "a Static Backend has no provider keys";
  EXPECT_EQ(count(s, "sluice_upstream_errors_total"), 6 + 6 + 5);
}

TEST_F(MetricSeriesTest, TokensByConfiguredModelAndOther) {
  const auto snap = install(kChat + kPinned + kStatic + kRoutes);
  request(*snap, 0, 0, &provider(*snap, "chat", "claude"), "claude-test", 12, 4);
  request(*snap, 0, 0, &provider(*snap, "chat", "gpt"), "gpt-4o-mini", 5, 1);  // the client's model
  request(*snap, 1, 1, &provider(*snap, "pinned", "pinned"), "gpt-pinned", 3, 2);
  request(*snap, 2, 0, nullptr, "", -1, -1);  // the Static Backend
  const auto s = scrape();
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"chat\",provider=\"claude\",model=\"claude-test\",type=\"input\"}"),
            "12");
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"chat\",provider=\"claude\",model=\"claude-test\",type=\"output\"}"),
            "4");
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"chat\",provider=\"gpt\",model=\"other\",type=\"input\"}"), "5");
  EXPECT_EQ(
      value(s, "sluice_tokens_total{backend=\"pinned\",provider=\"pinned\",model=\"gpt-pinned\",type=\"output\"}"),
      "2");
  EXPECT_EQ(count(s, "sluice_tokens_total"), 14) << "no series for the client's model";
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/chat\",backend=\"chat\",code=\"200\"}"), "2");
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/split\",backend=\"pinned\",code=\"200\"}"), "1");
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/svc\",backend=\"svc\",code=\"200\"}"), "1");
}

TEST_F(MetricSeriesTest, AReloadKeepsCountingAndKeepsRemovedSeries) {
  const auto first = install(kChat + kPinned + kStatic + kRoutes);
  request(*first, 0, 0, &provider(*first, "chat", "claude"), "claude-test", 10, 1);
  request(*first, 1, 1, &provider(*first, "pinned", "pinned"), "gpt-pinned", 7, 7);
  shard_.add(provider(*first, "chat", "gpt").series.attempts +
             static_cast<observe::CounterSlot>(observe::AttemptOutcome::Failover));

  // The reload drops Backend "pinned" and rule "split", and adds Backend "new" and its rule.
  const std::string added = doc("Backend", "new", R"(  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: k}, model: new-model}
)");
  const std::string routes = doc("HTTPRoute", "llm", R"(  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /chat}}]
    backendRefs: [{name: chat}]
  - name: new
    matches: [{path: {type: PathPrefix, value: /new}}]
    backendRefs: [{name: new}]
)");
  const auto second = install(kChat + added + routes);
  EXPECT_EQ(second->route_series.at(0).at(0).request, first->route_series.at(0).at(0).request) << "same labels";
  request(*second, 0, 0, &provider(*second, "chat", "claude"), "claude-test", 5, 1);

  const auto s = scrape();
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/chat\",backend=\"chat\",code=\"200\"}"), "2");
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"chat\",provider=\"claude\",model=\"claude-test\",type=\"input\"}"),
            "15");
  EXPECT_EQ(value(s, "sluice_upstream_attempts_total{backend=\"chat\",provider=\"gpt\",outcome=\"failover\"}"), "1");
  // Removed configuration: its counters stay where they were (a counter never goes backwards).
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/split\",backend=\"pinned\",code=\"200\"}"), "1");
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"pinned\",provider=\"pinned\",model=\"gpt-pinned\",type=\"input\"}"),
            "7");
  // New configuration: at 0 from the first scrape after the reload.
  EXPECT_EQ(value(s, "sluice_requests_total{route=\"llm/new\",backend=\"new\",code=\"200\"}"), "0");
  EXPECT_EQ(value(s, "sluice_tokens_total{backend=\"new\",provider=\"new\",model=\"new-model\",type=\"output\"}"), "0");
  EXPECT_EQ(value(s, "sluice_upstream_attempts_total{backend=\"new\",provider=\"new\",outcome=\"success\"}"), "0");
}

}  // namespace
}  // namespace sluice::proxy
