// The policy pipeline's parts on their own: a chain runs only the stages that declared a phase
// and stops at the first verdict that does not continue; the registry attaches TrafficPolicies
// by identity, general to specific; the usage-capture request rewrite; and the native OpenAI
// response reader (usage, finish reason, model; the usage chunk Sluice asked for dropped) in
// every chunking of a stream.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "pipeline/chain.hpp"
#include "policy/header_modifier.hpp"
#include "policy/registry.hpp"
#include "policy/retry.hpp"
#include "policy/usage_capture.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "translate/openai_response_reader.hpp"

namespace sluice {
namespace {

using pipeline::AttemptContext;
using pipeline::Phase;
using pipeline::Verdict;

// A stage that records its calls and answers a chosen verdict in the Attempt phase.
class Probe final : public pipeline::Stage {
 public:
  Probe(std::string name, pipeline::Phases phases, std::vector<std::string>& calls, bool fail = false)
      : name_(std::move(name)), phases_(phases), calls_(calls), fail_(fail) {}
  std::string_view name() const override { return name_; }
  pipeline::Phases phases() const override { return phases_; }
  Verdict on_attempt(AttemptContext&) const override {
    calls_.push_back(name_ + ":attempt");
    if (fail_) return Verdict::fail(http::ApiError{403, "invalid_request_error", "refused", "no", {}});
    return Verdict::proceed();
  }
  Verdict on_upstream_request(AttemptContext&) const override {
    calls_.push_back(name_ + ":upstream");
    return Verdict::proceed();
  }

 private:
  std::string name_;
  pipeline::Phases phases_;
  std::vector<std::string>& calls_;
  bool fail_;
};

config::Config load(const std::string& yaml) {
  auto loaded = config::load_sources({{"test.yaml", yaml}});
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  return std::move(loaded.config);
}

constexpr const char* kOneBackend = R"(apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: be}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}, host: 127.0.0.1, port: 9}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - {name: only, backendRefs: [{name: be}]}
)";

TEST(ChainTest, RunsOnlyDeclaredPhasesInOrderAndStopsAtAVerdict) {
  std::vector<std::string> calls;
  pipeline::Chain chain;
  EXPECT_TRUE(chain.empty());
  EXPECT_FALSE(chain.needs(Phase::Attempt));
  chain.add(std::make_shared<Probe>("a", pipeline::bit(Phase::Attempt), calls));
  chain.add(std::make_shared<Probe>("b", pipeline::bit(Phase::UpstreamRequest), calls));
  chain.add(std::make_shared<Probe>("c", pipeline::bit(Phase::Attempt), calls, /*fail=*/true));
  chain.add(std::make_shared<Probe>("d", pipeline::bit(Phase::Attempt), calls));
  EXPECT_TRUE(chain.needs(Phase::Attempt));
  EXPECT_TRUE(chain.needs(Phase::UpstreamRequest));
  EXPECT_FALSE(chain.needs(Phase::ResponseEvents));

  config::Diagnostics diags;
  const auto snapshot = proxy::Snapshot::build(load(kOneBackend), diags, 1);
  ASSERT_FALSE(diags.has_errors());
  proxy::Worker worker(0, snapshot, -1);
  const auto& backend = snapshot->backends.at("be");
  pipeline::RequestRecord record;
  pipeline::RequestContext request(worker, *snapshot->routes.rules().front(), backend, record);
  AttemptContext context{request, backend.groups.front().front()};
  const auto verdict = chain.attempt(context);
  EXPECT_EQ(verdict.kind, Verdict::Kind::Error);
  EXPECT_EQ(verdict.error.status, 403u);
  EXPECT_EQ(calls, (std::vector<std::string>{"a:attempt", "c:attempt"})) << "b has no Attempt phase; d is not reached";
  calls.clear();
  EXPECT_TRUE(chain.upstream_request(context).proceeds());
  EXPECT_EQ(calls, (std::vector<std::string>{"b:upstream"}));
}

TEST(RequestContextTest, HeaderBlocksAreRewrittenInPlaceWithoutDisturbingOthers) {
  config::Diagnostics diags;
  const auto snapshot = proxy::Snapshot::build(load(kOneBackend), diags, 1);
  ASSERT_FALSE(diags.has_errors());
  proxy::Worker worker(0, snapshot, -1);
  pipeline::RequestRecord record;
  pipeline::RequestContext request(worker, *snapshot->routes.rules().front(), snapshot->backends.at("be"), record);
  const int limits = 0;
  const int cache = 0;
  request.response_header_lines = "vary: origin\r\n";  // a stage's plain append (CORS)
  request.set_response_header_block(&limits, "x-ratelimit-limit-requests: 5\r\n");
  request.set_response_header_block(&cache, "x-sluice-cache: bypass\r\n");
  // The first block grows (token readings arrive); the second, after it, changes afterwards.
  request.set_response_header_block(&limits, "x-ratelimit-limit-requests: 5\r\nx-ratelimit-limit-tokens: 100\r\n");
  request.set_response_header_block(&cache, "x-sluice-cache: miss\r\n");
  EXPECT_EQ(request.response_header_lines,
            "vary: origin\r\nx-ratelimit-limit-requests: 5\r\nx-ratelimit-limit-tokens: 100\r\n"
            "x-sluice-cache: miss\r\n");
  // And shrinks.
  request.set_response_header_block(&limits, "");
  request.set_response_header_block(&cache, "x-sluice-cache: hit\r\n");
  EXPECT_EQ(request.response_header_lines, "vary: origin\r\nx-sluice-cache: hit\r\n");
}

TEST(RegistryTest, AttachesByRouteAndRuleNamesNotConcatenatedIds) {
  // Route "a" rule "b-c" and route "a-b" rule "c" would collide as "route-rule" strings.
  const auto cfg = load(R"(apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: be}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}, host: 127.0.0.1, port: 9}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a}
spec:
  rules:
  - {name: b-c, backendRefs: [{name: be}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-b}
spec:
  rules:
  - {name: c, backendRefs: [{name: be}]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: only-a-b-c}
spec:
  targetRefs: [{kind: HTTPRoute, name: a-b, sectionName: c}]
  retry: {attempts: 1}
)");
  const auto routes = route::RouteTable::build(cfg);
  const auto attached = policy::attach_policies(cfg, routes);
  ASSERT_EQ(routes.rules().size(), 2u);
  for (const auto& rule : routes.rules()) {
    const bool targeted = rule->route->origin.name == "a-b";
    EXPECT_EQ(attached.by_rule[rule->index].size(), targeted ? 1u : 0u) << rule->id;
  }
}

TEST(HeaderModifierTest, RuleFiltersBecomeAHeadStageThatCollectsTheirEditsInOrder) {
  const auto cfg = load(std::string(kOneBackend) + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: filtered}
spec:
  rules:
  - name: edits
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-a, value: "1"}]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {remove: [x-b]}
    - type: RequestHeaderModifier
      requestHeaderModifier: {remove: [x-c]}
    backendRefs: [{name: be}]
)");
  config::Diagnostics diags;
  const auto snapshot = proxy::Snapshot::build(cfg, diags, 1);
  ASSERT_FALSE(diags.has_errors()) << diags.format_all();
  const route::CompiledRule* filtered = nullptr;
  const route::CompiledRule* plain = nullptr;
  for (const auto& rule : snapshot->routes.rules())
    (rule->route->origin.name == "filtered" ? filtered : plain) = rule.get();
  ASSERT_NE(filtered, nullptr);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(policy::make_header_modifier_stage(*plain), nullptr) << "a rule without filters gets no stage";

  const auto& chain = snapshot->rule_chains[filtered->index];
  ASSERT_FALSE(chain.stages().empty());
  EXPECT_EQ(chain.stages().front()->name(), "header-modifier");
  EXPECT_EQ(chain.stages().front()->phases(), pipeline::bit(Phase::RequestHead))
      << "header edits need neither the body nor the response events: the relay stays zero-copy";

  proxy::Worker worker(0, snapshot, -1);
  pipeline::RequestRecord record;
  pipeline::RequestContext request(worker, *filtered, snapshot->backends.at("be"), record);
  boost::asio::io_context io;
  auto verdict = boost::asio::co_spawn(io, chain.request_head(request), boost::asio::use_future);
  io.run();
  EXPECT_TRUE(verdict.get().proceeds());
  ASSERT_EQ(request.request_header_edits.size(), 2u);
  EXPECT_EQ(request.request_header_edits[0]->set.at(0).first, "x-a");
  EXPECT_EQ(request.request_header_edits[1]->remove.at(0), "x-c");
  ASSERT_EQ(request.response_header_edits.size(), 1u);
  EXPECT_EQ(request.response_header_edits[0]->remove.at(0), "x-b");

  EXPECT_FALSE(chain.waits()) << "no stage waits: the exchange runs the phase as plain calls";
  pipeline::RequestRecord record_now;
  pipeline::RequestContext request_now(worker, *filtered, snapshot->backends.at("be"), record_now);
  EXPECT_TRUE(chain.request_head_now(request_now).proceeds());
  EXPECT_EQ(request_now.request_header_edits.size(), 2u) << "the plain call runs the same stages";
  EXPECT_EQ(request_now.response_header_edits.size(), 1u);
}

TEST(SnapshotWarningTest, AGroupThatCannotServeEmbeddingsNextToOneThatCanIsNamed) {
  const auto group = [](const char* name, const char* kind) {
    return std::string("    - providers:\n      - name: ") + name + "\n        " + kind +
           ": {authToken: {kind: Inline, inline: k}}\n        host: 127.0.0.1\n        port: 9\n";
  };
  const std::string head = R"(apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mixed}
spec:
  type: AI
  ai:
    priorityGroups:
)";
  auto warnings = [](const std::string& yaml) {
    config::Diagnostics diags;
    proxy::Snapshot::build(load(yaml), diags, 1);
    std::vector<std::string> fields;
    for (const auto& d : diags.items())
      if (d.severity == config::Severity::Warning && d.message.find("embeddings") != std::string::npos)
        fields.push_back(d.resource + " " + d.field);
    return fields;
  };
  EXPECT_EQ(warnings(head + group("claude", "anthropic") + group("gpt", "openai")),
            (std::vector<std::string>{"Backend/mixed spec.ai.priorityGroups[0]"}));
  EXPECT_TRUE(warnings(head + group("a", "anthropic") + group("b", "anthropic")).empty())
      << "a Backend meant for chat only is not warned about";
  EXPECT_TRUE(warnings(head + group("a", "openai") + group("b", "openai")).empty());
}

TEST(UsageCaptureTest, AddsIncludeUsageWithoutDisturbingTheBody) {
  using policy::ask_include_usage;
  const std::string plain = R"({"model":"m","stream":true,"messages":[]})";
  const auto added_text = ask_include_usage(plain);
  ASSERT_TRUE(added_text);
  const auto added = boost::json::parse(*added_text);
  EXPECT_EQ(added.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(added.at("model"), "m");
  EXPECT_EQ(ask_include_usage(*added_text), std::nullopt) << "asked once: the body goes as it is";
  EXPECT_EQ(ask_include_usage(R"({"stream_options":{"include_usage":true},"model":"m"})"), std::nullopt)
      << "the client asked itself";
  EXPECT_EQ(boost::json::parse(ask_include_usage("{ }").value()).at("stream_options").at("include_usage"), true);
  // The client's own stream_options keep their other members.
  const auto merged = boost::json::parse(
      ask_include_usage(R"({"model":"m","stream_options":{"include_obfuscation":false,"include_usage":false}})")
          .value());
  EXPECT_EQ(merged.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(merged.at("stream_options").at("include_obfuscation"), false);
}

const std::string kStream =
    "data: {\"id\":\"1\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"1\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\n"
    "data: {\"id\":\"1\",\"model\":\"gpt-4o-2024\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
    "\"completion_tokens\":3,\"total_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":2}}}\n\n"
    "data: [DONE]\n\n";

std::string run_reader(translate::OpenAiResponseReader& reader, const std::string& body, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) reader.feed(std::string_view(body).substr(at, piece), out);
  reader.finish(out);
  return out;
}

TEST(OpenAiResponseReaderTest, StreamReadInAnyChunkingDropsOnlyWhatSluiceAskedFor) {
  for (const std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, kStream.size()}) {
    translate::OpenAiResponseReader kept(true, false, 1 << 20);
    EXPECT_EQ(run_reader(kept, kStream, piece), kStream) << "the client asked for usage: bytes unchanged";
    EXPECT_TRUE(kept.usage().known);
    EXPECT_EQ(kept.usage().prompt_tokens, 7u);
    EXPECT_EQ(kept.usage().completion_tokens, 3u);
    EXPECT_EQ(kept.usage().cached_tokens, 2u);
    EXPECT_EQ(kept.finish_reason(), "stop");
    EXPECT_EQ(kept.model(), "gpt-4o-2024");

    translate::OpenAiResponseReader dropping(true, true, 1 << 20);
    const auto out = run_reader(dropping, kStream, piece);
    EXPECT_EQ(out.find("\"usage\""), std::string::npos) << piece << ": " << out;
    EXPECT_NE(out.find("\"content\":\"Hi\""), std::string::npos);
    EXPECT_NE(out.find("data: [DONE]\n\n"), std::string::npos);
    EXPECT_EQ(dropping.usage().prompt_tokens, 7u) << "read even though the client does not see it";
  }
}

TEST(OpenAiResponseReaderTest, JsonBodyReadAsItsParsedDocumentSays) {
  // Nested "model", "usage" and "finish_reason" members elsewhere are not the answer's; of
  // duplicate members the last counts; a count that is not a non-negative integer counts 0.
  const std::string body =
      "{\"model\":\"first\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"message\":{\"model\":\"x\","
      "\"finish_reason\":\"inner\"},\"finish_reason\":\"stop\"},{\"finish_reason\":\"length\","
      "\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":9,"
      "\"completion_tokens\":-2,\"total_tokens\":4.5,\"prompt_tokens_details\":{\"cached_tokens\":3},"
      "\"completion_tokens_details\":{\"reasoning_tokens\":[1]}},\"extra\":{\"usage\":{\"prompt_tokens\":77}}}";
  for (const std::size_t piece : {std::size_t{1}, std::size_t{5}, body.size()}) {
    translate::OpenAiResponseReader reader(false, false, 1 << 20);
    EXPECT_EQ(run_reader(reader, body, piece), body);
    EXPECT_EQ(reader.model(), "gpt-4o-2024");
    EXPECT_EQ(reader.finish_reason(), "stop");
    EXPECT_TRUE(reader.usage().known);
    EXPECT_EQ(reader.usage().prompt_tokens, 9u);
    EXPECT_EQ(reader.usage().completion_tokens, 0u);
    EXPECT_EQ(reader.usage().total_tokens, 0u);
    EXPECT_EQ(reader.usage().cached_tokens, 3u);
    EXPECT_EQ(reader.usage().reasoning_tokens, 0u);
  }
  translate::OpenAiResponseReader broken(false, false, 1 << 20);
  run_reader(broken, "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}} trailing", 64);
  EXPECT_FALSE(broken.usage().known) << "nothing is taken from a body that is not one JSON document";
  EXPECT_EQ(broken.model(), "");
}

TEST(OpenAiResponseReaderTest, EveryChunkingGivesTheSameBytesWithLfOrCrLfLines) {
  std::string lf_only = kStream;
  for (auto at = lf_only.find("\r\n"); at != std::string::npos; at = lf_only.find("\r\n")) lf_only.erase(at, 1);
  std::string crlf_only;
  for (const char c : lf_only) crlf_only += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (const auto& body : {lf_only, crlf_only, kStream, "\n" + lf_only}) {
    translate::OpenAiResponseReader whole(true, true, 1 << 20);
    const auto expected = run_reader(whole, body, body.size());
    EXPECT_EQ(expected.find("\"usage\""), std::string::npos) << expected;
    for (std::size_t piece = 1; piece <= 48; ++piece) {
      translate::OpenAiResponseReader dropping(true, true, 1 << 20);
      EXPECT_EQ(run_reader(dropping, body, piece), expected) << "piece " << piece;
      EXPECT_EQ(dropping.finish_reason(), "stop") << "piece " << piece;
      EXPECT_EQ(dropping.usage().total_tokens, 10u) << "piece " << piece;
      translate::OpenAiResponseReader kept(true, false, 1 << 20);
      EXPECT_EQ(run_reader(kept, body, piece), body) << "piece " << piece;
    }
  }
}

TEST(OpenAiResponseReaderTest, CompleteBodyIsPassedThroughAndReadAtItsEnd) {
  const std::string body =
      R"({"id":"x","model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})";
  translate::OpenAiResponseReader reader(false, false, 1 << 20);
  EXPECT_EQ(run_reader(reader, body, 5), body);
  EXPECT_EQ(reader.usage().completion_tokens, 9u);
  EXPECT_EQ(reader.finish_reason(), "length");
  EXPECT_EQ(reader.model(), "m-1");
}

TEST(OpenAiResponseReaderTest, BeyondItsBoundItStepsAsideAndChangesNothing) {
  translate::OpenAiResponseReader stream(true, true, 16);
  EXPECT_EQ(run_reader(stream, kStream, 3), kStream) << "an event larger than the bound: pass-through";
  translate::OpenAiResponseReader body(false, false, 16);
  const std::string big = R"({"model":"m","usage":{"prompt_tokens":1},"padding":"xxxxxxxxxxxxxxxxxxxx"})";
  EXPECT_EQ(run_reader(body, big, 4), big);
  EXPECT_FALSE(body.usage().known);
}

}  // namespace
}  // namespace sluice
