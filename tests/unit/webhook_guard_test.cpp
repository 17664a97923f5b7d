// The guard services' wire contracts (policy/webhook_guard.hpp, policy/moderation_guard.hpp):
// the messages a webhook is sent for each client schema, every shape of its answer (pass, mask,
// reject, broken), masks written back into the client's body, the moderation request and
// answer, and the configuration of both guards (decoding, defaults, diagnostics).
#include "policy/webhook_guard.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "policy/moderation_guard.hpp"

namespace sluice::policy {
namespace {

namespace json = boost::json;
using Kind = WebhookDecision::Kind;

const char* kOpenAiChat = R"({
  "model": "gpt-4o",
  "messages": [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "part one"},
                                 {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                                 {"type": "text", "text": "part two"}]},
    {"role": "assistant", "content": null,
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "tool said"}
  ]
})";

const char* kAnthropic = R"({
  "model": "claude", "max_tokens": 10,
  "system": [{"type": "text", "text": "sys one"}, {"type": "text", "text": "sys two"}],
  "messages": [
    {"role": "user", "content": "hello"},
    {"role": "assistant", "content": [{"type": "text", "text": "hi"},
                                      {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]}
  ]
})";

std::vector<std::pair<std::string, std::string>> pairs(const GuardMessages& collected) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : collected.messages) out.emplace_back(m.role, m.content);
  return out;
}

TEST(WebhookGuardMessages, OpenAiChatSendsEveryTextButToolCallArguments) {
  auto body = json::parse(kOpenAiChat).as_object();
  const llm::RequestView view(llm::Schema::OpenAIChat, body);
  const auto collected = collect_guard_messages(view);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"system", "be brief"}, {"user", "part one\npart two"}, {"tool", "tool said"}};
  EXPECT_EQ(pairs(collected), expected);
  // system, two user parts, the tool call (not sent), the tool result
  const std::vector<std::size_t> spans = {0, 1, 1, std::string::npos, 2};
  EXPECT_EQ(collected.span_message, spans);
}

TEST(WebhookGuardMessages, AnthropicSystemBlocksAreOneSystemMessage) {
  auto body = json::parse(kAnthropic).as_object();
  const llm::RequestView view(llm::Schema::AnthropicMessages, body);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"system", "sys one\nsys two"}, {"user", "hello"}, {"assistant", "hi"}};
  EXPECT_EQ(pairs(collect_guard_messages(view)), expected);
}

TEST(WebhookGuardMessages, EmbeddingsInputsAreUserMessages) {
  auto body = json::parse(R"({"model":"e","input":["one","two"]})").as_object();
  const llm::RequestView view(llm::Schema::OpenAIEmbeddings, body);
  const std::vector<std::pair<std::string, std::string>> expected = {{"user", "one"}, {"user", "two"}};
  EXPECT_EQ(pairs(collect_guard_messages(view)), expected);
}

TEST(WebhookGuardMessages, RequestBodyIsTheContractShape) {
  const std::vector<GuardMessage> messages = {{"system", "s"}, {"user", "say \"hi\""}};
  EXPECT_EQ(json::parse(webhook_request_body(messages)),
            json::parse(R"({"body":{"messages":[{"role":"system","content":"s"},
                                                {"role":"user","content":"say \"hi\""}]}})"));
}

TEST(WebhookGuardMasks, FirstTextPartTakesTheMaskedTextOthersEmptiedUnchangedUntouched) {
  auto body = json::parse(kOpenAiChat).as_object();
  llm::RequestView view(llm::Schema::OpenAIChat, body);
  const auto sent = collect_guard_messages(view);
  const std::vector<std::string> masked = {"be brief", "[MASKED] one\npart two", "tool said"};
  EXPECT_EQ(apply_guard_masks(view, sent, masked), 1u);
  const auto& user = body.at("messages").as_array()[1].as_object().at("content").as_array();
  EXPECT_EQ(user[0].at("text").as_string(), "[MASKED] one\npart two");
  EXPECT_TRUE(user[1].as_object().contains("image_url")) << "non-text parts kept";
  EXPECT_EQ(user[2].at("text").as_string(), "");
  EXPECT_EQ(body.at("messages").as_array()[0].at("content").as_string(), "be brief");
  EXPECT_EQ(body.at("messages").as_array()[2].at("tool_calls").as_array()[0].at("function").at("arguments"),
            "{\"a\":1}")
      << "tool call arguments are never rewritten";
}

TEST(WebhookGuardMasks, AnthropicSystemMasked) {
  auto body = json::parse(kAnthropic).as_object();
  llm::RequestView view(llm::Schema::AnthropicMessages, body);
  const auto sent = collect_guard_messages(view);
  const std::vector<std::string> masked = {"[MASKED]", "hello", "hi"};
  EXPECT_EQ(apply_guard_masks(view, sent, masked), 1u);
  EXPECT_EQ(body.at("system").as_array()[0].at("text").as_string(), "[MASKED]");
  EXPECT_EQ(body.at("system").as_array()[1].at("text").as_string(), "");
  EXPECT_EQ(body.at("messages").as_array()[0].at("content").as_string(), "hello");
}

TEST(WebhookGuardMasks, NothingChangedWritesNothing) {
  auto body = json::parse(kAnthropic).as_object();
  const auto before = json::serialize(body);
  llm::RequestView view(llm::Schema::AnthropicMessages, body);
  const auto sent = collect_guard_messages(view);
  const std::vector<std::string> same = {"sys one\nsys two", "hello", "hi"};
  EXPECT_EQ(apply_guard_masks(view, sent, same), 0u);
  EXPECT_EQ(json::serialize(body), before);
}

TEST(WebhookGuardAnswer, PassWithOrWithoutReason) {
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"reason":"fine"}})", 2).kind, Kind::Pass);
  EXPECT_EQ(parse_webhook_answer(R"({"action":{}})", 2).kind, Kind::Pass);
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":null}})", 2).kind, Kind::Pass);
}

TEST(WebhookGuardAnswer, MaskGivesEachMessagesText) {
  const auto d = parse_webhook_answer(
      R"({"action":{"body":{"messages":[{"role":"system","content":"a"},{"role":"user","content":"b [MASKED]"}]},
          "reason":"pii"}})",
      2);
  ASSERT_EQ(d.kind, Kind::Mask);
  EXPECT_EQ(d.masked, (std::vector<std::string>{"a", "b [MASKED]"}));
}

TEST(WebhookGuardAnswer, MaskWithAnotherNumberOfMessagesIsBroken) {
  const auto d = parse_webhook_answer(R"({"action":{"body":{"messages":[{"role":"user","content":"x"}]}}})", 2);
  EXPECT_EQ(d.kind, Kind::Broken);
  EXPECT_EQ(d.problem, "the mask has 1 messages for 2 sent");
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":{"messages":[{"role":"user"}]}}})", 1).kind, Kind::Broken)
      << "a message without text content";
}

TEST(WebhookGuardAnswer, RejectWithStatusDefaultAndNeverSuccess) {
  auto d = parse_webhook_answer(R"({"action":{"body":"no way","status_code":451,"reason":"r"}})", 1);
  ASSERT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 451u);
  EXPECT_EQ(d.message, "no way");
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":"no"}})", 1).status, 403u);
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":"no","status_code":200}})", 1).status, 403u);
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":"no","status_code":302}})", 1).status, 403u);
  EXPECT_EQ(parse_webhook_answer(R"({"action":{"body":"no","status_code":"403"}})", 1).kind, Kind::Broken);
}

TEST(WebhookGuardAnswer, UnparseableAnswersAreBroken) {
  for (const char* answer : {"", "not json", "[]", R"({"reason":"x"})", R"({"action":"pass"})",
                             R"({"action":{"body":42}})", R"({"action":{"body":{"choices":[]}}})", "{\"action\":{"})
    EXPECT_EQ(parse_webhook_answer(answer, 1).kind, Kind::Broken) << answer;
}

TEST(ModerationGuard, RequestBodyNamesModelAndInputs) {
  EXPECT_EQ(json::parse(moderation_request_body("omni-moderation-latest", {"a", "b"})),
            json::parse(R"({"model":"omni-moderation-latest","input":["a","b"]})"));
}

TEST(ModerationGuard, FlaggedCategoriesSortedOnce) {
  const auto v = parse_moderation_answer(R"({"id":"m","results":[
      {"flagged":false,"categories":{"harassment":false}},
      {"flagged":true,"categories":{"violence":true,"harassment":true,"hate":false}},
      {"flagged":true,"categories":{"harassment":true}}]})");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->flagged);
  EXPECT_EQ(v->categories, (std::vector<std::string>{"harassment", "violence"}));
}

TEST(ModerationGuard, NotFlaggedAndBrokenAnswers) {
  const auto v = parse_moderation_answer(R"({"results":[{"flagged":false,"categories":{"hate":true}}]})");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->flagged);
  EXPECT_TRUE(v->categories.empty()) << "categories of results that are not flagged are not reported";
  for (const char* answer : {"", "{}", R"({"results":{}})", R"({"results":[{"flagged":"yes"}]})", R"({"results":[1]})"})
    EXPECT_FALSE(parse_moderation_answer(answer)) << answer;
}

constexpr const char* kBackends = R"(apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: llm}
spec: {type: AI, ai: {llm: {openai: {authToken: {kind: Inline, inline: sk-x}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: guard}
spec: {type: Static, static: {hosts: [{host: 127.0.0.1, port: 9}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - {name: chat, backendRefs: [{name: llm}]}
---
)";

config::LoadResult load_guard(const std::string& request) {
  return config::load_sources({{"g.yaml", std::string(kBackends) + R"(apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{kind: Backend, name: llm}]
  ai:
    promptGuard:
      request:
)" + request}});
}

TEST(GuardConfig, DefaultsAndFields) {
  const auto loaded = load_guard(R"(        moderation: {openAIModeration: {backendRef: {name: llm}}}
        webhook:
          backendRef: {name: guard}
          forwardHeaders: [x-request-id, Authorization]
          timeout: 250ms
          failureMode: FailOpen
)");
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
  const auto& request = *loaded.config.policies.at("guard").ai->promptGuard->request;
  ASSERT_TRUE(request.webhook && request.moderation);
  EXPECT_EQ(request.webhook->backend, "guard");
  EXPECT_EQ(request.webhook->forwardHeaders, (std::vector<std::string>{"x-request-id", "Authorization"}));
  EXPECT_EQ(request.webhook->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(request.webhook->failureMode, config::FailureMode::FailOpen);
  EXPECT_EQ(request.moderation->backend, "llm");
  EXPECT_EQ(request.moderation->model, "omni-moderation-latest");
  EXPECT_EQ(request.moderation->timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(request.moderation->failureMode, config::FailureMode::FailClosed);
}

TEST(GuardConfig, PreciseDiagnostics) {
  const auto loaded =
      load_guard(R"(        moderation: {openAIModeration: {backendRef: {name: guard}, failureMode: Sometimes}}
        webhook:
          backendRef: {name: nowhere}
          forwardHeaders: [Content-Length, "bad header"]
          timeout: 0s
)");
  const auto all = loaded.diagnostics.format_all();
  EXPECT_NE(all.find("spec.ai.promptGuard.request.webhook.backendRef.name: Backend \"nowhere\" does not exist"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("spec.ai.promptGuard.request.moderation.openAIModeration.backendRef.name: Backend \"guard\" is "
                     "not an AI Backend with ai.llm.openai"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("failureMode: unknown value \"Sometimes\"; expected one of FailClosed, FailOpen"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("forwardHeaders[0]: \"Content-Length\" frames the guard call itself"), std::string::npos) << all;
  EXPECT_NE(all.find("forwardHeaders[1]: \"bad header\" is not a header name"), std::string::npos) << all;
  EXPECT_NE(all.find("webhook.timeout: must be longer than 0"), std::string::npos) << all;
}

TEST(GuardConfig, AGuardWithNothingToDoIsAnError) {
  const auto loaded = load_guard("        customResponse: {statusCode: 400}\n");
  EXPECT_NE(loaded.diagnostics.format_all().find("needs regex.builtins or regex.matches, moderation or webhook"),
            std::string::npos)
      << loaded.diagnostics.format_all();
}

}  // namespace
}  // namespace sluice::policy
