// otlp_bench: the CPU cost of tracing a request at 100% sampling, in the parts issue 13's
// telemetry target depends on (Google Benchmark):
//
//   BuildSpans      a SERVER and a CLIENT span with the attributes src/proxy/tracing.cpp sets
//                   for a chat completion, built and freed (on one thread: malloc's fast path)
//   DestroySpans    freeing 512 such spans (what the exporter thread spends after a POST)
//   EncodeProtobuf  one ExportTraceServiceRequest of 512 spans (256 pairs) into a reused buffer
//   EncodeJson      the same as OTLP/JSON
//
// Per-item figures are per span. cmake --build build -j2 --target otlp_bench && build/bin/otlp_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "observe/otlp_encode.hpp"
#include "observe/span.hpp"

namespace {

using namespace sluice::observe;

constexpr std::size_t kBatch = 512;

OtlpResource resource() {
  return OtlpResource{{{"service.name", "sluice"},
                       {"service.version", "0.1.0"},
                       {"service.instance.id", "3f2c9a4e-8d1b-4c7e-9a55-0b6f1e2d7c43"}},
                      "0.1.0"};
}

// The CLIENT and SERVER spans of one chat completion, as tracing.cpp builds them.
void add_pair(std::vector<Span>& out, std::uint64_t n) {
  Span client(18, 256);
  client.trace_id.bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, static_cast<std::uint8_t>(n)};
  client.span_id.bytes = {2, 2, 2, 2, 2, 2, 2, static_cast<std::uint8_t>(n)};
  client.parent_span_id.bytes = {3, 3, 3, 3, 3, 3, 3, static_cast<std::uint8_t>(n)};
  client.kind = SpanKind::Client;
  client.start_unix_nanos = 1'764'000'000'000'000'000ULL + n * 1000;
  client.end_unix_nanos = client.start_unix_nanos + 800'000;
  client.set_name("chat", "gpt-4o-mini");
  client.set("gen_ai.operation.name", std::string_view("chat"));
  client.set("gen_ai.provider.name", std::string_view("openai"));
  client.set("gen_ai.request.model", std::string_view("gpt-4o-mini"));
  client.set("gen_ai.request.max_tokens", std::int64_t{256});
  client.set("gen_ai.request.temperature", 0.2);
  client.set("http.request.method", std::string_view("POST"));
  client.set("server.address", std::string_view("127.0.0.1"));
  client.set("server.port", std::int64_t{18080});
  client.set("url.path", std::string_view("/v1/chat/completions"));
  client.set("http.response.status_code", std::int64_t{200});
  client.set("sluice.provider", std::string_view("mock"));
  client.set("sluice.backend", std::string_view("mock"));
  client.set("gen_ai.response.model", std::string_view("gpt-4o-mini-2024-07-18"));
  client.set("gen_ai.usage.input_tokens", std::int64_t{214});
  client.set("gen_ai.usage.output_tokens", std::int64_t{96});
  client.set_strings("gen_ai.response.finish_reasons", {"stop"});
  out.push_back(std::move(client));

  Span server(28, 256);
  server.trace_id = out.back().trace_id;
  server.span_id = out.back().parent_span_id;
  server.kind = SpanKind::Server;
  server.start_unix_nanos = out.back().start_unix_nanos - 50'000;
  server.end_unix_nanos = out.back().end_unix_nanos + 30'000;
  server.set_name("chat", "gpt-4o-mini");
  server.set("gen_ai.operation.name", std::string_view("chat"));
  server.set("gen_ai.provider.name", std::string_view("openai"));
  server.set("gen_ai.request.model", std::string_view("gpt-4o-mini"));
  server.set("gen_ai.request.max_tokens", std::int64_t{256});
  server.set("gen_ai.request.temperature", 0.2);
  server.set("gen_ai.response.model", std::string_view("gpt-4o-mini-2024-07-18"));
  server.set("gen_ai.usage.input_tokens", std::int64_t{214});
  server.set("gen_ai.usage.output_tokens", std::int64_t{96});
  server.set_strings("gen_ai.response.finish_reasons", {"stop"});
  server.set("http.request.method", std::string_view("POST"));
  server.set("url.path", std::string_view("/v1/chat/completions"));
  server.set("http.response.status_code", std::int64_t{200});
  server.set("sluice.route", std::string_view("default/bench/0"));
  server.set("sluice.backend", std::string_view("mock"));
  server.set("sluice.provider", std::string_view("mock"));
  server.set("sluice.attempts", std::int64_t{1});
  server.set("sluice.cost_usd", 0.000089);
  out.push_back(std::move(server));
}

std::vector<Span> batch() {
  std::vector<Span> spans;
  spans.reserve(kBatch);
  for (std::uint64_t n = 0; spans.size() < kBatch; ++n) add_pair(spans, n);
  return spans;
}

void BuildSpans(benchmark::State& state) {
  std::vector<Span> spans;
  spans.reserve(2);
  std::uint64_t n = 0;
  for (auto _ : state) {
    add_pair(spans, n++);
    benchmark::DoNotOptimize(spans.data());
    spans.clear();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 2));
}

void DestroySpans(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto spans = batch();
    state.ResumeTiming();
    spans = std::vector<Span>();
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

void EncodeProtobuf(benchmark::State& state) {
  const auto spans = batch();
  const auto r = resource();
  std::string out;
  for (auto _ : state) {
    encode_traces_protobuf(r, spans, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / kBatch;
}

void EncodeJson(benchmark::State& state) {
  const auto spans = batch();
  const auto r = resource();
  std::string out;
  for (auto _ : state) {
    encode_traces_json(r, spans, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / kBatch;
}

}  // namespace

BENCHMARK(BuildSpans);
BENCHMARK(DestroySpans);
BENCHMARK(EncodeProtobuf);
BENCHMARK(EncodeJson);
BENCHMARK_MAIN();
