// limits_bench: the CPU cost of a local rate limit (TrafficPolicy rateLimit.local) per request
// (Google Benchmark), the figure issue 11 sets a target for (at most 1 us per request).
//
//   LocalStage/<limits>/<keys>    the local-rate-limit stage's take path, as the pipeline runs it:
//                                 policy::make_local_rate_limit_stage, on_request_head on a fresh
//                                 pipeline::RequestContext (a Worker on a one-route snapshot,
//                                 as tests/unit/cors_test.cpp builds one); <limits> limits by
//                                 clientIP (and route), never refusing; <keys> distinct client
//                                 addresses taken in turn (1: one hot bucket; 10000: a bucket
//                                 per caller, more cache misses)
//   ContextOnly                   the same RequestContext built and destroyed with no stage:
//                                 subtract it from LocalStage for the stage alone
//   TokenBucketsTake/<keys>       state::TokenBuckets::take alone on a pre-built key, 1 and 2
//                                 threads; keys 1: every thread on the same bucket (the same shard
//                                 mutex, contended with 2 threads); keys 0: a bucket of its own per
//                                 thread (distinct keys, usually distinct shards)
//
// cmake --build build -j2 --target limits_bench && build/bin/limits_bench
#include <benchmark/benchmark.h>

#include <boost/beast/http.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "pipeline/stage.hpp"
#include "policy/local_rate_limit.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "state/token_buckets.hpp"

namespace {

using namespace sluice;

constexpr const char* kConfig = R"(apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: bench}
spec:
  listeners: [{name: http, port: 8080}]
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mock}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: mock}]
)";

// One snapshot and one worker, as a process has them; built once.
struct Fixture {
  std::shared_ptr<const proxy::Snapshot> snapshot;
  std::optional<proxy::Worker> worker;
  std::vector<std::string> client_ips;

  Fixture() {
    auto loaded = config::load_sources({{"bench.yaml", kConfig}});
    if (loaded.diagnostics.has_errors()) std::abort();
    config::Diagnostics diags;
    snapshot = proxy::Snapshot::build(std::move(loaded.config), diags, 1);
    if (diags.has_errors()) std::abort();
    worker.emplace(0, snapshot, -1);
    for (int i = 0; i < 10000; ++i)
      client_ips.push_back("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                           std::to_string(i % 256));
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

// Limits that never refuse during a run: a billion requests per second.
std::vector<config::LocalRateLimit> limits(int count) {
  std::vector<config::LocalRateLimit> out;
  out.push_back({1'000'000'000, config::RateUnit::Second, 0, {"clientIP"}, "TrafficPolicy/bench", "bench|ip"});
  if (count > 1)
    out.push_back({1'000'000'000, config::RateUnit::Second, 0, {"route"}, "TrafficPolicy/bench", "bench|route"});
  return out;
}

void LocalStage(benchmark::State& state) {
  Fixture& f = fixture();
  const auto stage = policy::make_local_rate_limit_stage(limits(static_cast<int>(state.range(0))), nullptr, nullptr);
  if (!stage) std::abort();
  const auto keys = static_cast<std::size_t>(state.range(1));
  boost::beast::http::request_header<> head;
  head.method(boost::beast::http::verb::post);
  head.target("/v1/chat/completions");
  const auto& rule = *f.snapshot->routes.rules().at(0);
  const auto& backend = f.snapshot->backends.at("mock");
  std::size_t next = 0;
  for (auto _ : state) {
    pipeline::RequestRecord record;
    pipeline::RequestContext request(*f.worker, rule, backend, record);
    request.head = &head;
    request.client_ip = f.client_ips[next];
    if (++next == keys) next = 0;
    const pipeline::Verdict verdict = stage->on_request_head(request);
    benchmark::DoNotOptimize(verdict);
    benchmark::DoNotOptimize(request.response_header_lines.data());
  }
  state.SetLabel(std::to_string(state.range(0)) + " limit(s), " + std::to_string(keys) + " key(s)");
}

void ContextOnly(benchmark::State& state) {
  Fixture& f = fixture();
  boost::beast::http::request_header<> head;
  const auto& rule = *f.snapshot->routes.rules().at(0);
  const auto& backend = f.snapshot->backends.at("mock");
  std::size_t next = 0;
  for (auto _ : state) {
    pipeline::RequestRecord record;
    pipeline::RequestContext request(*f.worker, rule, backend, record);
    request.head = &head;
    request.client_ip = f.client_ips[next];
    if (++next == 10000) next = 0;
    benchmark::DoNotOptimize(request.client_ip);
  }
}

state::TokenBuckets& shared_buckets() {
  static state::TokenBuckets buckets;
  return buckets;
}

void TokenBucketsTake(benchmark::State& state) {
  const bool shared_key = state.range(0) == 1;
  const std::string key =
      shared_key ? "TrafficPolicy/bench|local|Second|clientIP,|10.0.0.1"
                 : "TrafficPolicy/bench|local|Second|clientIP,|10.0.1." + std::to_string(state.thread_index());
  const state::TokenBuckets::Limit limit{1e9, 1e9};
  auto& buckets = shared_buckets();
  for (auto _ : state) {
    const auto outcome = buckets.take(key, 1, limit, state::TokenBuckets::Clock::now());
    benchmark::DoNotOptimize(outcome);
  }
  state.SetLabel(shared_key ? "one key for all threads" : "a key per thread");
}

}  // namespace

BENCHMARK(LocalStage)->Args({1, 1})->Args({1, 10000})->Args({2, 1})->Args({2, 10000});
BENCHMARK(ContextOnly);
BENCHMARK(TokenBucketsTake)->Arg(1)->Arg(0)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_MAIN();
