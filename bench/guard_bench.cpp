// guard_bench: the CPU cost of the prompt guard's text matching (src/guard), Google Benchmark.
//
//   FindAll/0, FindAll/1    Matcher::find_all over a 4 KiB English prompt (support request with
//                           ports, timeouts, versions, dates, prices: numbers that are not
//                           secrets), all four builtins and one user pattern; /0 no secret in
//                           it, /1 five secrets (card, SSN, email, phone, ticket) spread over it
//   Mask/0, Mask/1          Matcher::mask (into a reserved string) over the same texts
//   FirstMatch/0            Matcher::first_match (REJECT) over the prompt without secrets
//   Stream/0, Stream/1      a 16-delta reply (~90 bytes a delta, bench/run's mock reply) fed to a
//                           new StreamMasker, then finish(); /1 with three secrets in the reply
//   Concatenate             the same 16 deltas appended to a string: the stream without masking
//   NativeOpenAi/0, /1      the same 16 deltas as an OpenAI SSE stream (chat.completion.chunk
//                           events, then the finish chunk and [DONE]) through the response guard
//                           on a native reply (translate/native_filter.hpp with the guard's
//                           filter): each event parsed, masked and written again; /1 with secrets
// The target: at most 20 us per 4 KiB prompt. ns_per_delta (Stream, Concatenate) is the
// mean time per delta, finish() included.
//   cmake --build build -j2 --target guard_bench && build/bin/guard_bench
#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "guard/matcher.hpp"
#include "guard/stream_masker.hpp"
#include "pipeline/request_record.hpp"
#include "policy/response_guard.hpp"
#include "translate/native_filter.hpp"

namespace {

using sluice::guard::GuardSpec;
using sluice::guard::Matcher;
using sluice::guard::StreamMasker;

constexpr std::string_view kParagraphs[] = {
    "Our staging deployment started failing health checks after we moved the service behind the new load "
    "balancer on 2024-05-14. The pods are Running, the readiness probe hits /healthz on port 8080 every 10 "
    "seconds with a 1 second timeout, and the load balancer health check uses HTTP on the same port. ",
    "Since the move we see intermittent 502s (about 3.5% of requests, 1,200 out of 34,000 per hour) and the "
    "target group flaps between healthy and unhealthy roughly every 90 seconds. We run version 2.14.3 of "
    "the service on 6 nodes, each with 4 vCPUs and 16 GiB of memory, behind an ALB with idle timeout 60. ",
    "The access logs show lines like `10.0.12.47 - - [14/May/2024:09:31:07 +0000] \"GET /healthz HTTP/1.1\" "
    "502 0 \"-\" \"ELB-HealthChecker/2.0\" 0.001` followed by a reset. Keep-alive on the server is 5 seconds "
    "and the upstream keepalive_requests is 1000; we have not changed either since release 2.9. ",
    "Could you explain what is most likely going on, which two or three settings we should compare first, "
    "and how to confirm the cause from the logs before we change anything? We would rather not restart the "
    "whole fleet: the last restart on 2024-04-02 cost us 45 minutes of degraded service and $2,300 in ",
    "credits. The team budget for this quarter is 18,500 USD and the SLA promises 99.9% monthly uptime, so "
    "we need a fix that can roll out in batches of 2 pods at a time with maxSurge 25% and maxUnavailable 0. ",
};

constexpr std::string_view kSecrets[] = {
    "My card 4111 1111 1111 1111 was charged twice. ",
    "For the account check my SSN is 123-45-6789. ",
    "Write to jane.doe@example.com with the answer. ",
    "Or call me at (415) 555-2671 after 5pm. ",
    "This is ticket TCK-004217. ",
};

// About 4 KiB of prompt; with_secrets puts one secret after each paragraph.
std::string prompt(bool with_secrets) {
  std::string text;
  for (std::size_t i = 0; text.size() < 4096; ++i) {
    text += kParagraphs[i % std::size(kParagraphs)];
    if (with_secrets && i < std::size(kSecrets)) text += kSecrets[i];
  }
  text.resize(4096);
  return text;
}

const Matcher& matcher() {
  static const Matcher compiled = [] {
    std::string error;
    auto m = Matcher::compile(
        GuardSpec{{"CREDIT_CARD", "SSN", "PHONE_NUMBER", "EMAIL"}, {{"ticket", "TCK-[0-9]{6}", 10}}}, error);
    if (!m) {
      std::fprintf(stderr, "guard_bench: %s\n", error.c_str());
      std::abort();
    }
    return std::move(*m);
  }();
  return compiled;
}

// 16 deltas of a streamed reply, ~90 bytes each.
std::vector<std::string> reply(bool with_secrets) {
  const std::string text = prompt(false).substr(0, 16 * 90);
  std::vector<std::string> deltas;
  for (std::size_t i = 0; i < 16; ++i) deltas.push_back(text.substr(i * 90, 90));
  if (with_secrets) {
    deltas[3] = "Your card 4111 1111 1111 1111 was charged on the 14th; the refund " + deltas[3].substr(60);
    deltas[8] = "We wrote to jane.doe@example.com about it and " + deltas[8].substr(46);
    deltas[12] = deltas[12].substr(0, 60) + " ticket TCK-004217 is open. ";
  }
  return deltas;
}

void FindAll(benchmark::State& state) {
  const std::string text = prompt(state.range(0) != 0);
  std::size_t found = 0;
  for (auto _ : state) {
    auto matches = matcher().find_all(text);
    found = matches.size();
    benchmark::DoNotOptimize(matches);
  }
  state.counters["matches"] = static_cast<double>(found);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void Mask(benchmark::State& state) {
  const std::string text = prompt(state.range(0) != 0);
  std::string out;
  out.reserve(text.size() + 64);
  for (auto _ : state) {
    out.clear();
    matcher().mask(text, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void FirstMatch(benchmark::State& state) {
  const std::string text = prompt(false);
  for (auto _ : state) benchmark::DoNotOptimize(matcher().first_match(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void Stream(benchmark::State& state) {
  const std::vector<std::string> deltas = reply(state.range(0) != 0);
  std::string released;
  released.reserve(4096);
  for (auto _ : state) {
    released.clear();
    StreamMasker masker(matcher());
    for (const std::string& delta : deltas) masker.feed(delta, released);
    masker.finish(released);
    benchmark::DoNotOptimize(released.data());
  }
  state.counters["ns_per_delta"] = benchmark::Counter(static_cast<double>(state.iterations() * deltas.size()),
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void Concatenate(benchmark::State& state) {
  const std::vector<std::string> deltas = reply(false);
  std::string released;
  released.reserve(4096);
  for (auto _ : state) {
    released.clear();
    for (const std::string& delta : deltas) released.append(delta);
    benchmark::DoNotOptimize(released.data());
  }
  state.counters["ns_per_delta"] = benchmark::Counter(static_cast<double>(state.iterations() * deltas.size()),
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The upstream SSE events of a reply with these deltas.
std::vector<std::string> openai_events(const std::vector<std::string>& deltas) {
  namespace json = boost::json;
  std::vector<std::string> events;
  auto chunk = [](json::object delta, json::value finish) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}};
    json::object out{{"id", "chatcmpl-bench"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                     {"model", "gpt-4o-mini"}, {"system_fingerprint", "fp_1"},      {"choices", json::array{choice}}};
    return "data: " + json::serialize(out) + "\n\n";
  };
  for (const auto& delta : deltas) events.push_back(chunk(json::object{{"content", delta}}, nullptr));
  events.push_back(chunk(json::object{}, "stop"));
  events.emplace_back("data: [DONE]\n\n");
  return events;
}

void NativeOpenAi(benchmark::State& state) {
  const auto events = openai_events(reply(state.range(0) != 0));
  const sluice::http::ApiError rejection{403, "invalid_request_error", "content_filter", "rejected", {}};
  std::string out;
  out.reserve(8192);
  for (auto _ : state) {
    out.clear();
    sluice::pipeline::RequestRecord record;
    auto filter = sluice::policy::make_response_guard_filter(matcher(), false, rejection, record);
    auto native = sluice::translate::make_openai_native_filter(*filter, false, 1 << 20);
    for (const auto& event : events) native->stream_feed(event, out);
    native->stream_end(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns_per_event"] = benchmark::Counter(static_cast<double>(state.iterations() * events.size()),
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(FindAll)->Arg(0)->Arg(1);
BENCHMARK(Mask)->Arg(0)->Arg(1);
BENCHMARK(FirstMatch);
BENCHMARK(Stream)->Arg(0)->Arg(1);
BENCHMARK(Concatenate);
BENCHMARK(NativeOpenAi)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
