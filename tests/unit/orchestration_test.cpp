// The orchestration of a request (proxy/exchange.cpp, proxy/attempt.cpp, proxy/client_session.cpp,
// the responder and the policy stages) driven in process over loopback sockets: a real worker
// serves a snapshot compiled from inline YAML, scripted upstreams answer byte by byte, and a raw
// client socket sends requests and reads the bytes that come back (tests/unit/loopback.hpp).
// Each test names one behaviour and asserts it on the wire, on what the upstream received, on
// the access log or on the Complete phase.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "pipeline/stage.hpp"

namespace sluice {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using testing::chunk;
using testing::chunked_head;
using testing::ClosedPort;
using testing::get_request;
using ::testing::HasSubstr;
using testing::Headers;
using testing::http_response;
using testing::InProcessGateway;
using testing::kLastChunk;
using testing::post_request;
using testing::RawClient;
using testing::Reply;
using testing::ScriptedUpstream;
using namespace std::chrono_literals;

// ------------------------------------------------------------------------- configuration

constexpr std::string_view kChatBody = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";

std::string credential(std::string_view kind) {
  return kind == "anthropic" ? "{kind: Inline, inline: sk-ant}" : "{kind: Inline, inline: sk-test}";
}

// An AI Backend with one provider (`kind`: openai, anthropic) at 127.0.0.1:`port`.
std::string llm_backend(const std::string& name, const std::string& kind, std::uint16_t port) {
  return "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: " + name +
         "}\nspec:\n  type: AI\n  ai:\n    llm:\n      " + kind + ": {authToken: " + credential(kind) +
         "}\n      host: 127.0.0.1\n      port: " + std::to_string(port) + "\n";
}

// One provider entry of a priority group.
std::string provider(const std::string& name, const std::string& kind, std::uint16_t port) {
  return "      - name: " + name + "\n        " + kind + ": {authToken: " + credential(kind) +
         "}\n        host: 127.0.0.1\n        port: " + std::to_string(port) + "\n";
}

// An AI Backend with priority groups, group 0 first.
std::string grouped_backend(const std::string& name, const std::vector<std::vector<std::string>>& groups) {
  std::string out = "---\napiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: " + name +
                    "}\nspec:\n  type: AI\n  ai:\n    priorityGroups:\n";
  for (const auto& group : groups) {
    out += "    - providers:\n";
    for (const auto& p : group) out += p;
  }
  return out;
}

// HTTPRoute "r": every request to `backend`.
std::string route(const std::string& backend) {
  return "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  rules:\n"
         "  - {name: main, backendRefs: [{name: " +
         backend + "}]}\n";
}

Reply json_reply(unsigned status, std::string_view reason, std::string_view body, Headers headers = {}) {
  headers.insert(headers.begin(), {"Content-Type", "application/json"});
  return Reply::bytes(http_response(status, reason, headers, body));
}

// An OpenAI chat-completion chunk as one SSE event; `usage_null`: the "usage":null member a
// provider adds to every chunk once include_usage was asked for.
std::string chat_event(std::string_view content, std::string_view finish_reason = {}, bool usage_null = false) {
  std::string event = R"(data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[)";
  event += R"({"index":0,"delta":{"content":")" + std::string(content) + R"("},"finish_reason":)";
  event += finish_reason.empty() ? std::string("null") : "\"" + std::string(finish_reason) + "\"";
  event += "}]";
  if (usage_null) event += R"(,"usage":null)";
  event += "}\n\n";
  return event;
}

constexpr std::string_view kUsageEvent =
    "data: "
    R"({"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[],)"
    R"("usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}})"
    "\n\n";
constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

const Headers kSseHeaders{{"Content-Type", "text/event-stream"}};

// A JSON string's text (anything else serialized), for comparisons and messages.
std::string text(const json::value& value) {
  return value.is_string() ? std::string(value.get_string()) : json::serialize(value);
}

std::string header_of(const bhttp::request<bhttp::string_body>& request, bhttp::field field) {
  return std::string(request[field]);
}

// Observes the Complete phase: every request that reached it, with the status it had then.
class CompletionProbe final : public pipeline::Stage {
 public:
  struct Completion {
    std::string target;
    unsigned status = 0;
  };
  std::string_view name() const override { return "completion-probe"; }
  pipeline::Phases phases() const override { return pipeline::bit(pipeline::Phase::Complete); }
  void on_complete(pipeline::RequestContext& request) const noexcept override {
    std::lock_guard lock(mutex_);
    completions_.push_back({std::string(request.head->target()), request.record.status});
  }
  std::vector<Completion> completions() const {
    std::lock_guard lock(mutex_);
    return completions_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<Completion> completions_;
};

// A request answered locally (GET /v1/models from the config) after `gateway` logged an earlier
// one: once its own line is written, every line of requests that ended before it is written.
void send_marker_request(InProcessGateway& gateway) {
  RawClient marker(gateway.port());
  marker.send(get_request("/v1/models"));
  const auto answer = marker.read_response();
  ASSERT_TRUE(answer.complete);
  ASSERT_EQ(answer.status(), 200u) << answer.raw;
  ASSERT_TRUE(gateway.wait_for_access_log("/v1/models"));
}

// ------------------------------------------------------------------------- 1. zero-copy relay

TEST(Orchestration, EmptyChainRelaysTheAnswerAndTheRequestBodyByteForByte) {
  ScriptedUpstream upstream;
  const std::string answer_body =
      "{\"id\":\"chatcmpl-1\",  \"object\":\"chat.completion\",\n \"choices\":[{\"index\":0,\"message\":"
      "{\"role\":\"assistant\",\"content\":\"h\\u00e9llo\"}}],\"zz\":[1, 2.50]}";
  const std::string upstream_answer = http_response(
      200, "OK", {{"Content-Type", "application/json"}, {"x-request-id", "req-42"}, {"openai-processing-ms", "7"}},
      answer_body);
  upstream.script(Reply::bytes(upstream_answer));
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"), {.capture_usage = false});
  ASSERT_TRUE(gateway.snapshot().rule_chains.at(0).empty()) << "no policy and no usage capture: an empty rule chain";
  ASSERT_TRUE(gateway.snapshot().backends.at("be").chain.empty());

  // Spacing, member order and escapes a re-serialisation would change.
  const std::string request_body =
      "{ \"model\" : \"gpt-4o\",\n  \"messages\": [{\"role\":\"user\", \"content\":\"hi \\u00e9\"}],\"zz\":[1,2.50,  "
      "3] }";
  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions", request_body));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << response.raw;

  // The upstream's bytes, status line, headers in order and body, with Sluice's headers: its
  // request id (the upstream's moves to x-upstream-request-id), provider and attempts.
  const auto id_at = response.raw.find("\r\nx-request-id: ");
  ASSERT_NE(id_at, std::string::npos) << response.raw;
  const std::string id = response.raw.substr(id_at + 16, 32);
  std::string expected = upstream_answer;
  expected.replace(expected.find("x-request-id: req-42"), 12, "x-upstream-request-id");
  expected.insert(expected.find("\r\n\r\n") + 2,
                  "x-request-id: " + id + "\r\nx-sluice-provider: be\r\nx-sluice-attempts: 1\r\n");
  EXPECT_EQ(response.raw, expected);

  const auto received = upstream.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body(), request_body);
  EXPECT_EQ(received[0].target(), "/v1/chat/completions");
  EXPECT_EQ(header_of(received[0], bhttp::field::content_length), std::to_string(request_body.size()));
  EXPECT_EQ(header_of(received[0], bhttp::field::authorization), "Bearer sk-test");
  EXPECT_EQ(received[0]["x-request-id"], id) << "the same id goes upstream";
}

// ------------------------------------------------------------------------- 2. failover

TEST(Orchestration, FailoverAcrossPriorityGroupsAnswersFromTheSecondProviderAndSaysSo) {
  ScriptedUpstream first;
  ScriptedUpstream second;
  first.script(json_reply(503, "Service Unavailable", R"({"error":{"message":"overloaded"}})"));
  const std::string second_body = R"({"id":"chatcmpl-2","object":"chat.completion","choices":[]})";
  second.script(json_reply(200, "OK", second_body));
  InProcessGateway gateway(grouped_backend("chat", {{provider("first", "openai", first.port())},
                                                    {provider("second", "openai", second.port())}}) +
                           route("chat"));

  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions", kChatBody));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << response.raw;
  EXPECT_EQ(response.status(), 200u);
  EXPECT_EQ(response.body(), second_body);
  EXPECT_EQ(response.header("x-sluice-provider"), "second");
  EXPECT_EQ(response.header("x-sluice-attempts"), "2");

  ASSERT_EQ(first.requests().size(), 1u);
  ASSERT_EQ(second.requests().size(), 1u);
  EXPECT_EQ(first.requests()[0].body(), kChatBody);
  EXPECT_EQ(second.requests()[0].body(), kChatBody) << "each provider gets the client's body";

  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions"));
  const auto line = gateway.access_log_for("/v1/chat/completions").at(0);
  EXPECT_EQ(text(line.at("provider")), "second");
  EXPECT_EQ(line.at("attempts").as_int64(), 2);
  EXPECT_EQ(line.at("status").as_int64(), 200);
}

// ------------------------------------------------------------------------- 3. skipped provider

TEST(Orchestration, ProviderThatCannotServeTheApiIsSkippedNotFailedOn) {
  ScriptedUpstream claude;
  ScriptedUpstream gpt;
  const std::string embeddings =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],"model":"e"})";
  gpt.script(json_reply(200, "OK", embeddings));
  // The Anthropic provider comes first; Anthropic has no embeddings API.
  InProcessGateway gateway(grouped_backend("embed", {{provider("claude", "anthropic", claude.port())},
                                                     {provider("gpt", "openai", gpt.port())}}) +
                           route("embed"));

  RawClient client(gateway.port());
  const std::string body = R"({"model":"text-embedding-3-small","input":"hello"})";
  client.send(post_request("/v1/embeddings", body));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << response.raw;
  EXPECT_EQ(response.status(), 200u) << response.body();
  EXPECT_EQ(response.body(), embeddings);
  EXPECT_EQ(response.header("x-sluice-provider"), "gpt");
  EXPECT_EQ(response.header("x-sluice-attempts"), "1") << "a skipped provider is not an attempt";

  EXPECT_EQ(claude.connections(), 0u);
  const auto received = gpt.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target(), "/v1/embeddings");
  EXPECT_EQ(received[0].body(), body);
}

// ------------------------------------------------------------------------- 4. retry budget

TEST(Orchestration, RetryBudgetRefusalAnswersWithTheProvidersOwnStatusAndRetryAfter) {
  ScriptedUpstream first;
  ScriptedUpstream second;
  // Three requests fail over from `first` to `second`, which holds them: three retries in flight,
  // the minimum a budget always allows. The fourth request's retry is over the budget.
  for (int i = 0; i < 3; ++i) first.script(json_reply(503, "Service Unavailable", R"({"error":{"message":"busy"}})"));
  const std::string limited = R"({"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limited"}})";
  first.script(json_reply(429, "Too Many Requests", limited, {{"Retry-After", "7"}}));
  for (int i = 0; i < 3; ++i) {
    auto held = json_reply(200, "OK", R"({"id":"late"})");
    held.held = true;
    second.script(std::move(held));
  }
  InProcessGateway gateway(grouped_backend("chat", {{provider("first", "openai", first.port())},
                                                    {provider("second", "openai", second.port())}}) +
                           route("chat") +
                           "---\napiVersion: sluice.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: budget}\n"
                           "spec:\n  targetRefs: [{kind: HTTPRoute, name: r}]\n  retry: {budgetPercent: 0}\n");

  std::vector<std::unique_ptr<RawClient>> retried;
  for (std::size_t i = 0; i < 3; ++i) {
    retried.push_back(std::make_unique<RawClient>(gateway.port()));
    retried.back()->send(post_request("/v1/chat/completions", kChatBody));
    ASSERT_TRUE(second.wait_for_requests(i + 1)) << "retry " << i + 1 << " did not reach the second provider";
  }

  RawClient refused(gateway.port());
  refused.send(post_request("/v1/chat/completions", kChatBody));
  const auto response = refused.read_response();
  ASSERT_TRUE(response.complete) << response.raw;
  EXPECT_EQ(response.status(), 429u) << "the provider's own status, not a synthetic 503";
  EXPECT_EQ(response.header("Retry-After"), "7");
  EXPECT_EQ(response.body(), limited);
  EXPECT_EQ(response.header("x-sluice-provider"), "first");
  EXPECT_EQ(response.header("x-sluice-attempts"), "1");
  EXPECT_EQ(second.requests().size(), 3u) << "the refused retry never reached the second provider";

  second.release();
  for (auto& client : retried) {
    const auto late = client->read_response();
    ASSERT_TRUE(late.complete) << late.raw;
    EXPECT_EQ(late.status(), 200u);
    EXPECT_EQ(late.header("x-sluice-provider"), "second");
    EXPECT_EQ(late.header("x-sluice-attempts"), "2");
  }

  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions", 4));
  std::size_t refusals = 0;
  for (const auto& line : gateway.access_log_for("/v1/chat/completions")) {
    if (line.at("status").as_int64() != 429) continue;
    ++refusals;
    EXPECT_THAT(text(line.at("error")), HasSubstr("retry budget of Backend chat exhausted"));
  }
  EXPECT_EQ(refusals, 1u);
}

// ------------------------------------------------------------------------- 5. error headers

// The four members of an OpenAI error object, and its code.
void expect_openai_error(const std::string& body, std::string_view code) {
  const auto parsed = json::parse(body);
  const auto& error = parsed.at("error").as_object();
  for (const char* member : {"message", "type", "param", "code"})
    EXPECT_TRUE(error.contains(member)) << member << " missing from " << body;
  EXPECT_EQ(text(error.at("code")), code) << body;
}

TEST(Orchestration, ErrorsAfterAProviderWasTriedNameItInTheClientsSchema) {
  {
    // OpenAI client, the only provider refuses the connection.
    ClosedPort closed;
    InProcessGateway gateway(llm_backend("gone", "openai", closed.port()) + route("gone"));
    RawClient client(gateway.port());
    client.send(post_request("/v1/chat/completions", kChatBody));
    const auto response = client.read_response();
    ASSERT_TRUE(response.complete) << response.raw;
    EXPECT_EQ(response.status(), 502u);
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    EXPECT_EQ(response.header("x-sluice-provider"), "gone");
    EXPECT_EQ(response.header("x-sluice-attempts"), "1");
    expect_openai_error(response.body(), "upstream_unavailable");
  }
  {
    // Two providers: refused, then a connection closed before any response.
    ClosedPort closed;
    ScriptedUpstream closing;
    Reply hang_up;
    hang_up.ending = Reply::Ending::Close;
    closing.script(hang_up);
    InProcessGateway gateway(grouped_backend("pair", {{provider("refusing", "openai", closed.port())},
                                                      {provider("closing", "openai", closing.port())}}) +
                             route("pair"));
    RawClient client(gateway.port());
    client.send(post_request("/v1/chat/completions", kChatBody));
    const auto response = client.read_response();
    ASSERT_TRUE(response.complete) << response.raw;
    EXPECT_EQ(response.status(), 502u);
    EXPECT_EQ(response.header("x-sluice-provider"), "closing");
    EXPECT_EQ(response.header("x-sluice-attempts"), "2");
    expect_openai_error(response.body(), "upstream_unavailable");
    EXPECT_EQ(closing.requests().size(), 1u);
  }
  {
    // Anthropic Messages client: the error is in Anthropic's shape.
    ClosedPort closed;
    InProcessGateway gateway(llm_backend("claude", "anthropic", closed.port()) + route("claude"));
    RawClient client(gateway.port());
    client.send(post_request("/v1/messages",
                             R"({"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})"));
    const auto response = client.read_response();
    ASSERT_TRUE(response.complete) << response.raw;
    EXPECT_EQ(response.status(), 502u);
    EXPECT_EQ(response.header("x-sluice-provider"), "claude");
    EXPECT_EQ(response.header("x-sluice-attempts"), "1");
    const auto parsed = json::parse(response.body()).as_object();
    EXPECT_EQ(text(parsed.at("type")), "error") << response.body();
    const auto& error = parsed.at("error").as_object();
    EXPECT_TRUE(error.contains("type")) << response.body();
    EXPECT_TRUE(error.contains("message")) << response.body();
    EXPECT_FALSE(error.contains("code")) << "not OpenAI's shape: " << response.body();
  }
}

// ------------------------------------------------------------------------- 6. usage capture

TEST(Orchestration, UsageCaptureAsksForUsageHidesTheChunkAndLogsTheTokens) {
  ScriptedUpstream upstream;
  Reply stream;
  stream.pieces.push_back({chunked_head(200, "OK", kSseHeaders) + chunk(chat_event("Hel", {}, true)), 0ms});
  stream.pieces.push_back({chunk(chat_event("lo", "stop", true)), 5ms});
  stream.pieces.push_back({chunk(kUsageEvent), 5ms});
  stream.pieces.push_back({chunk(kDoneEvent) + std::string(kLastChunk), 0ms});
  upstream.script(stream);
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"));

  const std::string body = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions", body));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << response.raw;
  EXPECT_EQ(response.status(), 200u);
  // Exactly the stream the client asked for: no usage chunk, no "usage":null members.
  EXPECT_EQ(response.body(), chat_event("Hel") + chat_event("lo", "stop") + std::string(kDoneEvent));

  const auto received = upstream.requests();
  ASSERT_EQ(received.size(), 1u);
  const auto sent = json::parse(received[0].body()).as_object();
  EXPECT_EQ(text(sent.at("stream_options").at("include_usage")), "true") << received[0].body();
  EXPECT_EQ(text(sent.at("model")), "gpt-4o");
  EXPECT_EQ(text(sent.at("messages")), R"([{"role":"user","content":"hi"}])");

  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions"));
  const auto line = gateway.access_log_for("/v1/chat/completions").at(0);
  EXPECT_EQ(line.at("status").as_int64(), 200);
  EXPECT_EQ(text(line.at("stream")), "true");
  EXPECT_EQ(line.at("prompt_tokens").as_int64(), 11);
  EXPECT_EQ(line.at("completion_tokens").as_int64(), 2);
  EXPECT_EQ(text(line.at("finish_reason")), "stop");
  EXPECT_EQ(text(line.at("response_model")), "gpt-4o-2024");
}

TEST(Orchestration, UsageChunkTheClientAskedForReachesItWithOnlyItsCostAdded) {
  ScriptedUpstream upstream;
  const std::string events = chat_event("Hi", "stop", true) + std::string(kUsageEvent) + std::string(kDoneEvent);
  // gpt-4o-2024 in the built-in catalog: 11 x 2.50 + 2 x 10.00 = 47.5 micro-USD, rounded up.
  std::string expected = events;
  expected.insert(expected.find("\"usage\":{") + 9, "\"sluice_cost_usd\":0.000048,");
  upstream.script(Reply::bytes(chunked_head(200, "OK", kSseHeaders) + chunk(events) + std::string(kLastChunk)));
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"));

  const std::string body =
      R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";
  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions", body));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << response.raw;
  EXPECT_EQ(response.body(), expected);
  ASSERT_EQ(upstream.requests().size(), 1u);
  EXPECT_EQ(upstream.requests()[0].body(), body) << "the client's own request, not rewritten";
  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions"));
  EXPECT_EQ(gateway.access_log_for("/v1/chat/completions").at(0).at("prompt_tokens").as_int64(), 11);
}

// ------------------------------------------------------------------------- 7. Complete once

TEST(Orchestration, CompleteRunsOnceWhenTheClientDisconnectsMidStream) {
  auto probe = std::make_shared<CompletionProbe>();
  ScriptedUpstream upstream;
  Reply stream;
  stream.pieces.push_back({chunked_head(200, "OK", kSseHeaders) + chunk(chat_event("first")), 0ms});
  // Long enough that the client is gone well before its end.
  for (int i = 0; i < 200; ++i) stream.pieces.push_back({chunk(chat_event("more")), 10ms});
  stream.pieces.push_back({chunk(kDoneEvent) + std::string(kLastChunk), 0ms});
  upstream.script(stream);
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"), {.rule_stage = probe});

  {
    RawClient client(gateway.port());
    client.send(post_request("/v1/chat/completions",
                             R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]})"));
    ASSERT_TRUE(client.read_until("first")) << "the stream did not start";
  }  // the client goes away mid-stream

  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions"));
  send_marker_request(gateway);
  const auto lines = gateway.access_log_for("/v1/chat/completions");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("status").as_int64(), 200);
  EXPECT_THAT(text(lines[0].at("error")), HasSubstr("client connection closed during the response"));

  const auto completions = probe->completions();
  ASSERT_EQ(completions.size(), 2u) << "the stream, then the marker request";
  EXPECT_EQ(completions[0].target, "/v1/chat/completions");
  EXPECT_EQ(completions[0].status, 200u);
  EXPECT_EQ(completions[1].target, "/v1/models");
}

TEST(Orchestration, CompleteRunsOnceWhenTheUpstreamResetsMidStream) {
  auto probe = std::make_shared<CompletionProbe>();
  ScriptedUpstream upstream;
  Reply stream;
  stream.pieces.push_back({chunked_head(200, "OK", kSseHeaders) + chunk(chat_event("first")), 0ms});
  stream.ending = Reply::Ending::Reset;
  stream.pause_before_ending = 20ms;  // the first event reaches the client before the reset
  upstream.script(stream);
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"), {.rule_stage = probe});

  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions",
                           R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]})"));
  const auto response = client.read_response();
  ASSERT_TRUE(response.complete) << "the stream ends in-band: " << response.raw;
  EXPECT_EQ(response.status(), 200u);
  EXPECT_THAT(response.body(), HasSubstr("first"));
  EXPECT_THAT(response.body(), HasSubstr("upstream_stream_error")) << "an error event ends the stream";

  ASSERT_TRUE(gateway.wait_for_access_log("/v1/chat/completions"));
  send_marker_request(gateway);
  const auto lines = gateway.access_log_for("/v1/chat/completions");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("status").as_int64(), 200);
  EXPECT_THAT(text(lines[0].at("error")), HasSubstr("upstream reset after the response started"));

  const auto completions = probe->completions();
  ASSERT_EQ(completions.size(), 2u) << "the stream, then the marker request";
  EXPECT_EQ(completions[0].target, "/v1/chat/completions");
  EXPECT_EQ(completions[1].target, "/v1/models");
}

// ------------------------------------------------------------------------- 8. keep-alive

TEST(Orchestration, KeepAliveServesTwoRequestsAndConnectionCloseCloses) {
  ScriptedUpstream upstream;
  for (const char* id : {"one", "two", "three"})
    upstream.script(json_reply(200, "OK", std::string(R"({"id":")") + id + "\"}"));
  InProcessGateway gateway(llm_backend("be", "openai", upstream.port()) + route("be"));

  RawClient client(gateway.port());
  client.send(post_request("/v1/chat/completions", kChatBody));
  const auto first = client.read_response();
  ASSERT_TRUE(first.complete) << first.raw;
  EXPECT_EQ(first.status(), 200u);
  EXPECT_EQ(first.body(), R"({"id":"one"})");
  EXPECT_FALSE(first.has_header("Connection")) << first.raw;

  client.send(post_request("/v1/chat/completions", kChatBody));
  const auto second = client.read_response();
  ASSERT_TRUE(second.complete) << "the connection served a second request: " << second.raw;
  EXPECT_EQ(second.status(), 200u);
  EXPECT_EQ(second.body(), R"({"id":"two"})");

  client.send(post_request("/v1/chat/completions", kChatBody, "Connection: close\r\n"));
  const auto last = client.read_response();
  ASSERT_TRUE(last.complete) << last.raw;
  EXPECT_EQ(last.status(), 200u);
  EXPECT_EQ(last.body(), R"({"id":"three"})");
  EXPECT_EQ(last.header("Connection"), "close");
  EXPECT_TRUE(client.wait_closed()) << "the gateway closes after answering Connection: close";
  EXPECT_EQ(upstream.requests().size(), 3u);
}

}  // namespace
}  // namespace sluice
