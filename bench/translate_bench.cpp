// translate_bench: the CPU cost per streamed event of Sluice's translators (Google Benchmark).
//
// Each benchmark builds one realistic upstream stream (the provider's own SSE framing: a start
// event, N text deltas of ~20 tokens each, the finish and usage events), then per iteration
// creates a translator the way the exchange does (factory + translate_request on a ~1.2 KB chat
// request, the same body as bench/chat.lua), and feeds the stream to stream_feed() one event per
// call, then calls stream_end(). Every stream_feed()/stream_end() call is timed on its own with
// steady_clock; the samples of all iterations give the per-event mean, p50, p90, p99 and max
// (counters *_ns). request_ns is the mean time of factory + translate_request (once per
// request, not per event). The benchmark's own Time column is the whole request (setup, every
// event, the end), i.e. Time / (events + 1) is the mean per event plus the setup spread out.
//
//   OpenAIToAnthropic/N   OpenAI client, Anthropic provider: Anthropic SSE in, OpenAI chunks out
//   AnthropicClient/N     Anthropic client, OpenAI-format provider: OpenAI chunks in, Anthropic SSE
//   out OpenAIToGemini/N      OpenAI client, Gemini provider: Gemini alt=sse chunks in, OpenAI
//   chunks out
//
// bench/run runs it (--benchmark_out=... json) and prints the "per-event translation cost" table.
// TRANSLATE_BENCH_DUMP=1 prints the translated output of each benchmark's last stream to stderr.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "translate/anthropic_client.hpp"
#include "translate/openai_anthropic.hpp"
#include "translate/openai_gemini.hpp"
#include "translate/responses_client.hpp"

namespace {

namespace json = boost::json;
using sluice::translate::RequestContext;
using sluice::translate::Translator;

// ~20 tokens (~90 characters) per piece, with what real replies contain: quotes, a newline,
// backticks, non-ASCII (JSON-escaped on the wire where the provider escapes it).
constexpr std::string_view kPieces[] = {
    "The intermittent 502s usually mean the load balancer reuses a connection that the pod ",
    "has already closed. Compare the two idle timeouts first: the balancer's keep-alive must ",
    "be shorter than the server's, otherwise a request can land on a socket that is "
    "half-closed.\n\n",
    "Next, look at the probe: `timeoutSeconds: 1` is tight when the service does garbage ",
    "collection or TLS work on the same thread; a \"healthy\" pod can miss it under load — try 3 ",
    "seconds and see whether the flapping stops. Check the target group's health check too: its ",
    "interval, threshold and timeout should tolerate one slow answer. If the logs show resets ",
    "(\"connection reset by peer\") right after an idle period, it is the keep-alive mismatch.\n",
};

std::string piece(std::size_t i) {
  return std::string(kPieces[i % std::size(kPieces)]);
}

std::string json_string(std::string_view s) {
  return json::serialize(json::value(json::string(s)));
}

// One upstream event: the exact bytes of one SSE event on the wire.
using Events = std::vector<std::string>;

const std::string kSystem =
    "You are a meticulous support assistant for Acme Cloud, a hosting provider. Answer in plain "
    "English, at most five short paragraphs. Quote the exact configuration keys and CLI flags when "
    "you mention them, never invent a flag that is not in the documentation, and say so clearly "
    "when you are not sure. If the customer shares logs, point to the line that shows the cause "
    "before suggesting a fix. Prefer the smallest change that solves the problem, and mention any "
    "downtime or data loss a step may cause before the step itself.";
const std::string kUser =
    "Our staging deployment started failing health checks after we moved the service behind the "
    "new load balancer. The pods are Running, the readiness probe hits /healthz on port 8080 every "
    "10 seconds with a 1 second timeout, and the load balancer health check uses HTTP on the same "
    "port. Since the move we see intermittent 502s and the target group flaps between healthy and "
    "unhealthy every few minutes. What should we check first, and how do we tell whether the probe "
    "timeout or the keep-alive settings are the cause?";

// bench/chat.lua's request with "stream": true (and usage asked for, as SDKs often do).
std::string openai_request(std::string_view model) {
  return R"({"model":)" + json_string(model) + R"(,"messages":[{"role":"system","content":)" + json_string(kSystem) +
         R"(},{"role":"user","content":)" + json_string(kUser) +
         R"(}],"temperature":0.2,"max_tokens":512,"top_p":1,"user":"bench-client-0042","stream":true,)"
         R"("stream_options":{"include_usage":true}})";
}

std::string anthropic_request() {
  return R"({"model":"claude-sonnet-4-5","max_tokens":512,"system":)" + json_string(kSystem) +
         R"(,"messages":[{"role":"user","content":)" + json_string(kUser) +
         R"(}],"temperature":0.2,"metadata":{"user_id":"bench-client-0042"},"stream":true})";
}

// The same conversation as a Responses API request (what the Agents SDK sends, streaming).
std::string responses_request() {
  return R"({"model":"gpt-4o-mini","instructions":)" + json_string(kSystem) +
         R"(,"input":[{"role":"user","content":[{"type":"input_text","text":)" + json_string(kUser) +
         R"(}]}],"temperature":0.2,"max_output_tokens":512,"top_p":1,"user":"bench-client-0042","stream":true})";
}

Events anthropic_stream(std::size_t n) {
  Events e;
  auto add = [&](std::string_view name, const std::string& data) {
    e.push_back("event: " + std::string(name) + "\ndata: " + data + "\n\n");
  };
  add("message_start", R"({"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message",)"
                       R"("role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,)"
                       R"("stop_sequence":null,"usage":{"input_tokens":312,"cache_creation_input_tokens":0,)"
                       R"("cache_read_input_tokens":0,"output_tokens":1}}})");
  add("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  add("ping", R"({"type": "ping"})");
  for (std::size_t i = 0; i < n; ++i) {
    add("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)" +
                                   json_string(piece(i)) + "}}");
  }
  add("content_block_stop", R"({"type":"content_block_stop","index":0})");
  add("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
                       R"("usage":{"output_tokens":)" +
                           std::to_string(20 * n) + "}}");
  add("message_stop", R"({"type":"message_stop"})");
  return e;
}

Events openai_stream(std::size_t n) {
  Events e;
  const std::string head = R"(data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk",)"
                           R"("created":1741569952,"model":"gpt-4o-mini-2024-07-18","service_tier":"default",)"
                           R"("system_fingerprint":"fp_06737a9306","choices":)";
  e.push_back(head + R"([{"index":0,"delta":{"role":"assistant","content":"","refusal":null},)"
                     R"("logprobs":null,"finish_reason":null}],"usage":null}

)");
  for (std::size_t i = 0; i < n; ++i) {
    e.push_back(head + R"([{"index":0,"delta":{"content":)" + json_string(piece(i)) +
                R"(},"logprobs":null,"finish_reason":null}],"usage":null}

)");
  }
  e.push_back(head +
              R"([{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

)");
  e.push_back(head + R"([],"usage":{"prompt_tokens":312,"completion_tokens":)" + std::to_string(20 * n) +
              R"(,"total_tokens":)" + std::to_string(312 + 20 * n) +
              R"(,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},)"
              R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}

)");
  e.push_back("data: [DONE]\n\n");
  return e;
}

// Gemini streamGenerateContent?alt=sse: one chunk per event, \r\n framing, usage on every chunk.
Events gemini_stream(std::size_t n) {
  Events e;
  for (std::size_t i = 0; i < n; ++i) {
    const bool last = i + 1 == n;
    e.push_back(R"(data: {"candidates": [{"content": {"parts": [{"text": )" + json_string(piece(i)) +
                R"(}],"role": "model"})" + (last ? R"(,"finishReason": "STOP")" : "") +
                R"(,"index": 0}],"usageMetadata": {"promptTokenCount": 312,"candidatesTokenCount": )" +
                std::to_string(20 * (i + 1)) + R"(,"totalTokenCount": )" + std::to_string(312 + 20 * (i + 1)) +
                R"(,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 312}]},)"
                R"("modelVersion": "gemini-2.5-flash","responseId": "bRbUaPuLBpCv1dkP4rTq-Qs"})"
                "\r\n\r\n");
  }
  return e;
}

using Factory = std::function<std::unique_ptr<Translator>()>;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

void run(benchmark::State& state, const char* label, const Factory& make, const std::string& request,
         const Events& events) {
  std::vector<std::uint32_t> samples;
  samples.reserve(std::min<std::size_t>(4'000'000, (events.size() + 1) * 20'000));
  std::int64_t request_total = 0;
  std::int64_t requests = 0;
  std::size_t out_bytes = 0;
  std::string out;
  for (auto _ : state) {
    auto body = json::parse(request).as_object();
    std::string upstream;
    const std::int64_t t0 = now_ns();
    auto translator = make();
    if (auto error = translator->translate_request(body, upstream)) {
      state.SkipWithError(("translate_request: " + error->message).c_str());
      return;
    }
    request_total += now_ns() - t0;
    ++requests;
    out.clear();
    for (const auto& event : events) {
      const std::int64_t a = now_ns();
      const bool ok = translator->stream_feed(event, out);
      const std::int64_t b = now_ns();
      if (!ok) {
        state.SkipWithError(("stream_feed refused: " + event.substr(0, 120) + " -> " + out).c_str());
        return;
      }
      if (samples.size() < samples.capacity()) samples.push_back(static_cast<std::uint32_t>(b - a));
    }
    const std::int64_t a = now_ns();
    translator->stream_end(out);
    const std::int64_t b = now_ns();
    if (samples.size() < samples.capacity()) samples.push_back(static_cast<std::uint32_t>(b - a));
    out_bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  double sum = 0;
  for (auto s : samples) sum += s;
  std::sort(samples.begin(), samples.end());
  // TRANSLATE_BENCH_DUMP=1: the client bytes of the last stream, to check what is measured.
  if (const char* dump = std::getenv("TRANSLATE_BENCH_DUMP"); dump != nullptr && *dump == '1') {
    std::fprintf(stderr, "--- %s: %zu bytes\n%s\n", label, out.size(), out.c_str());
  }
  state.counters["events"] = static_cast<double>(events.size() + 1);
  state.counters["samples"] = static_cast<double>(samples.size());
  state.counters["mean_ns"] = samples.empty() ? 0 : sum / static_cast<double>(samples.size());
  state.counters["p50_ns"] = percentile(samples, 0.50);
  state.counters["p90_ns"] = percentile(samples, 0.90);
  state.counters["p99_ns"] = percentile(samples, 0.99);
  state.counters["max_ns"] = samples.empty() ? 0 : samples.back();
  state.counters["request_ns"] = requests ? static_cast<double>(request_total) / static_cast<double>(requests) : 0;
  state.counters["out_bytes"] = static_cast<double>(out_bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size() + 1));
}

RequestContext context(std::string model, std::string client_model) {
  RequestContext c;
  c.model = std::move(model);
  c.client_model = std::move(client_model);
  c.stream = true;
  c.default_max_tokens = 4096;
  return c;
}

void OpenAIToAnthropic(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(
      state, "OpenAIToAnthropic",
      [] { return sluice::translate::make_openai_to_anthropic(context("claude-sonnet-4-5", "gpt-4o-mini")); },
      openai_request("gpt-4o-mini"), anthropic_stream(n));
}

void AnthropicClient(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(
      state, "AnthropicClient",
      [] { return sluice::translate::make_anthropic_client(context("gpt-4o-mini", "claude-sonnet-4-5"), nullptr); },
      anthropic_request(), openai_stream(n));
}

void OpenAIToGemini(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(
      state, "OpenAIToGemini",
      [] { return sluice::translate::make_openai_to_gemini(context("gemini-2.5-flash", "gpt-4o-mini")); },
      openai_request("gpt-4o-mini"), gemini_stream(n));
}

void ResponsesToAnthropic(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(
      state, "ResponsesToAnthropic",
      [] {
        auto ctx = context("claude-sonnet-4-5", "gpt-4o-mini");
        return sluice::translate::make_responses_client(ctx, sluice::translate::make_openai_to_anthropic(ctx));
      },
      responses_request(), anthropic_stream(n));
}

void ResponsesClient(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(
      state, "ResponsesClient",
      [] { return sluice::translate::make_responses_client(context("gpt-4o-mini", "gpt-4o-mini"), nullptr); },
      responses_request(), openai_stream(n));
}

// 16 pieces: bench/run's mock reply (--chunks 16); 256: a long answer (~5,000 tokens).
BENCHMARK(OpenAIToAnthropic)->Arg(16)->Arg(256);
BENCHMARK(AnthropicClient)->Arg(16)->Arg(256);
BENCHMARK(OpenAIToGemini)->Arg(16)->Arg(256);
BENCHMARK(ResponsesToAnthropic)->Arg(16)->Arg(256);
BENCHMARK(ResponsesClient)->Arg(16)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
