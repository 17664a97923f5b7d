// The model list: each provider's list decoded (provider/model_list.hpp), the sources a rule's
// list unites and the client shapes it is written in (proxy/model_catalog.hpp).
#include "proxy/model_catalog.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "config/loader.hpp"
#include "provider/model_list.hpp"

namespace sluice::proxy {
namespace {

namespace json = boost::json;
using provider::ListApi;

std::vector<std::string> ids(const std::vector<provider::ListedModel>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.id);
  return out;
}

std::vector<std::string> ids(const std::vector<CatalogEntry>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.id);
  return out;
}

// ------------------------------------------------------------------ decoding provider lists

TEST(ModelListDecodeTest, OpenAIList) {
  const auto page = provider::decode_list_page(ListApi::OpenAI, R"({"object":"list","data":[
    {"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},
    {"id":"openai/gpt-4o-mini","name":"OpenAI: GPT-4o mini","created":1721260800},
    {"object":"model"}, {"id":""}, {"id":"has space"}, 7]})");
  ASSERT_EQ(page.error, "");
  EXPECT_EQ(ids(page.models), (std::vector<std::string>{"gpt-4o", "openai/gpt-4o-mini"}))
      << "entries without a usable id are left out";
  EXPECT_EQ(page.models[0].created, 1715367049);
  EXPECT_EQ(page.models[0].owned_by, "system");
  EXPECT_EQ(page.models[1].display_name, "OpenAI: GPT-4o mini");
  EXPECT_EQ(page.cursor, "") << "one page";
}

TEST(ModelListDecodeTest, AnthropicPagesFollowLastId) {
  auto page = provider::decode_list_page(ListApi::Anthropic, R"({"data":[
    {"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},
    {"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T12:30:00.5+02:00"}],
    "has_more":true,"first_id":"claude-sonnet-4-5","last_id":"claude-haiku-4-5"})");
  ASSERT_EQ(page.error, "");
  EXPECT_EQ(ids(page.models), (std::vector<std::string>{"claude-sonnet-4-5", "claude-haiku-4-5"}));
  EXPECT_EQ(page.models[0].display_name, "Claude Sonnet 4.5");
  EXPECT_EQ(page.models[0].created, 1759104000);
  EXPECT_EQ(page.models[1].created, 1759314600);
  EXPECT_EQ(page.cursor, "claude-haiku-4-5");

  page = provider::decode_list_page(ListApi::Anthropic, R"({"data":[{"id":"a"}],"has_more":false,"last_id":"a"})");
  EXPECT_EQ(page.cursor, "") << "the last page";
  page = provider::decode_list_page(ListApi::Anthropic, R"({"data":[{"id":"a"}],"has_more":true})");
  EXPECT_EQ(page.cursor, "a") << "without last_id, the last entry's id";
}

TEST(ModelListDecodeTest, GeminiKeepsModelsThatGenerateOrEmbed) {
  const auto page = provider::decode_list_page(ListApi::Gemini, R"({"models":[
    {"name":"models/gemini-2.0-flash","displayName":"Gemini 2.0 Flash","supportedGenerationMethods":["generateContent","countTokens"]},
    {"name":"models/text-embedding-004","supportedGenerationMethods":["embedContent"]},
    {"name":"models/aqa","supportedGenerationMethods":["generateAnswer"]},
    {"name":"models/imagen-3.0","supportedGenerationMethods":["predict"]},
    {"name":"models/no-methods"}],
    "nextPageToken":"Cg5tb2RlbHMvYXFh=="})");
  ASSERT_EQ(page.error, "");
  EXPECT_EQ(ids(page.models), (std::vector<std::string>{"gemini-2.0-flash", "text-embedding-004"}));
  EXPECT_EQ(page.models[0].display_name, "Gemini 2.0 Flash");
  EXPECT_EQ(page.models[0].methods, (std::vector<std::string>{"generateContent", "countTokens"}));
  EXPECT_EQ(page.cursor, "Cg5tb2RlbHMvYXFh==");
  const auto empty = provider::decode_list_page(ListApi::Gemini, "{}");
  EXPECT_EQ(empty.error, "") << "Gemini leaves an empty list out";
  EXPECT_TRUE(empty.models.empty());
}

TEST(ModelListDecodeTest, WhatIsNotAListIsAnError) {
  EXPECT_NE(provider::decode_list_page(ListApi::OpenAI, "not json").error, "");
  EXPECT_NE(provider::decode_list_page(ListApi::OpenAI, "[]").error, "");
  EXPECT_NE(provider::decode_list_page(ListApi::OpenAI, R"({"object":"list"})").error, "");
  EXPECT_NE(provider::decode_list_page(ListApi::Anthropic, R"({"data":{}})").error, "");
  EXPECT_NE(provider::decode_list_page(ListApi::Gemini, R"({"models":"x"})").error, "");
  const auto error =
      provider::decode_list_page(ListApi::Anthropic, R"({"data":[{"id":"a"},{"type":"model"}],"has_more":true})");
  EXPECT_NE(error.error, "") << "more pages, but no id to ask for them after";
  EXPECT_TRUE(error.models.empty()) << "a failed page lists nothing";
}

TEST(ModelListDecodeTest, PageTargets) {
  EXPECT_EQ(provider::list_page_target(ListApi::OpenAI, "/v1/models", ""), "/v1/models");
  EXPECT_EQ(provider::list_page_target(ListApi::Anthropic, "/v1/models", ""), "/v1/models?limit=1000");
  EXPECT_EQ(provider::list_page_target(ListApi::Anthropic, "/v1/models", "claude-3:x"),
            "/v1/models?limit=1000&after_id=claude-3%3Ax");
  EXPECT_EQ(provider::list_page_target(ListApi::Gemini, "/v1beta/models", "ab/c=="),
            "/v1beta/models?pageSize=1000&pageToken=ab%2Fc%3D%3D")
      << "a page token is percent-encoded";
  EXPECT_EQ(provider::list_page_target(ListApi::Gemini, "/x/models?a=b", ""), "/x/models?a=b&pageSize=1000");
}

TEST(ModelListDecodeTest, Rfc3339) {
  EXPECT_EQ(provider::parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(provider::parse_rfc3339("2024-02-29T23:59:59Z"), 1709251199);
  EXPECT_EQ(provider::parse_rfc3339("2024-03-01T01:00:00+01:00"), 1709251200);
  EXPECT_EQ(provider::parse_rfc3339("2024-03-01T00:00:00.123456Z"), 1709251200);
  for (const char* bad : {"", "2024-03-01", "2024-03-01T00:00:00", "2024-13-01T00:00:00Z", "2024-03-01T00:00:00Zx",
                          "2024-03-01T00:00:00.Z"})
    EXPECT_FALSE(provider::parse_rfc3339(bad)) << bad;
  EXPECT_EQ(provider::format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(provider::format_rfc3339(1709251199), "2024-02-29T23:59:59Z");
  EXPECT_EQ(provider::format_rfc3339(1759104000), "2025-09-29T00:00:00Z");
}

// ------------------------------------------------------------------ a rule's list

constexpr const char* kConfig = R"yaml(
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mixed}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - {name: oai, openai: {authToken: {kind: Inline, inline: k}}, host: 127.0.0.1, port: 9}
      - {name: pinned, anthropic: {authToken: {kind: Inline, inline: k}, model: claude-pinned}, host: 127.0.0.1, port: 9}
    - providers:
      - {name: gem, gemini: {authToken: {kind: Inline, inline: k}, models: [models/gemini-config]}, host: 127.0.0.1, port: 9}
      - name: br
        bedrock: {authToken: {kind: Inline, inline: k}, region: us-east-1, models: [anthropic.claude-v2, amazon.titan]}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: vertex}
spec:
  type: AI
  ai:
    llm:
      vertexai: {authToken: {kind: Inline, inline: t}, projectId: p, location: l, model: gemini-vertex, models: [gemini-vertex, gemini-other]}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: azure}
spec:
  type: AI
  ai:
    llm:
      azureopenai: {authToken: {kind: Inline, inline: k}, endpoint: r.openai.azure.com, deploymentName: my-deployment}
    modelList: {fetch: false}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: all
    matches: [{path: {type: PathPrefix, value: /all}}]
    backendRefs: [{name: mixed}, {name: vertex}, {name: azure}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: aliases}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    modelAliases: {fast: gpt-listed, pin: claude-pinned, ghost: not-listed}
)yaml";

class RuleModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = config::load_sources({{"test.yaml", kConfig}});
    ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.format_all();
    config::Diagnostics diags;
    snap_ = Snapshot::build(std::move(loaded.config), diags, 1);
    ASSERT_NE(snap_, nullptr);
    ASSERT_EQ(snap_->routes.rules().size(), 1u);
  }
  const BackendRuntime& provider(const std::string& backend, std::size_t group, std::size_t index) const {
    return snap_->backends.at(backend).groups.at(group).at(index);
  }
  std::vector<CatalogEntry> models(const pipeline::Principal* principal = nullptr) const {
    return rule_models(*snap_, *snap_->routes.rules().front(), principal);
  }
  std::shared_ptr<const Snapshot> snap_;
};

TEST_F(RuleModelsTest, WhoListsAndWhoIsDescribedByTheConfiguration) {
  const auto oai = list_source(provider("mixed", 0, 0));
  ASSERT_TRUE(oai);
  EXPECT_EQ(oai->api, ListApi::OpenAI);
  EXPECT_EQ(oai->path, "/v1/models");
  const auto gem = list_source(provider("mixed", 1, 0));
  ASSERT_TRUE(gem);
  EXPECT_EQ(gem->api, ListApi::Gemini);
  EXPECT_EQ(gem->path, "/v1beta/models");
  EXPECT_FALSE(list_source(provider("mixed", 0, 1))) << "pinned by model: serves that model alone";
  EXPECT_FALSE(list_source(provider("mixed", 1, 1))) << "Bedrock cannot list";
  EXPECT_FALSE(list_source(provider("vertex", 0, 0))) << "Vertex AI cannot list";
  EXPECT_FALSE(list_source(provider("azure", 0, 0))) << "modelList.fetch: false";
  EXPECT_NE(provider("mixed", 0, 0).listed_models, nullptr);
  EXPECT_EQ(provider("mixed", 1, 1).listed_models, nullptr);
}

TEST_F(RuleModelsTest, BeforeAnyFetchTheConfigurationIsListed) {
  EXPECT_EQ(ids(models()),
            (std::vector<std::string>{"claude-pinned", "gemini-config", "anthropic.claude-v2", "amazon.titan",
                                      "gemini-vertex", "gemini-other", "my-deployment", "pin"}))
      << "overrides, models fields (Gemini's without models/), the Azure deployment, aliases of listed models";
  const auto list = models();
  EXPECT_EQ(list[0].owned_by, "anthropic");
  EXPECT_EQ(list[2].owned_by, "bedrock");
}

TEST_F(RuleModelsTest, FetchedListsJoinInProviderOrderAndAliasesFollowThem) {
  auto fetched = std::make_shared<FetchedModels>();
  fetched->models = {{"gpt-listed", "GPT Listed", 1700000000, "openai-org", {}}, {"claude-pinned", "", 5, "", {}}};
  provider("mixed", 0, 0).listed_models->publish(fetched);
  auto gemini = std::make_shared<FetchedModels>();
  gemini->models = {{"gemini-fetched", "Gemini Fetched", 0, "", {"generateContent"}}};
  provider("mixed", 1, 0).listed_models->publish(gemini);
  const auto list = models();
  EXPECT_EQ(ids(list), (std::vector<std::string>{"gpt-listed", "claude-pinned", "gemini-config", "gemini-fetched",
                                                 "anthropic.claude-v2", "amazon.titan", "gemini-vertex", "gemini-other",
                                                 "my-deployment", "fast", "pin"}));
  EXPECT_EQ(list[0].owned_by, "openai-org");
  EXPECT_EQ(list[1].owned_by, "openai") << "the first provider to name a model describes it";
  EXPECT_EQ(list[9].display_name, "fast");
  EXPECT_EQ(list[9].created, 1700000000) << "an alias is described as its model";

  provider("mixed", 0, 0).listed_models->publish(nullptr);
  EXPECT_EQ(ids(models()).front(), "claude-pinned") << "an unpublished list falls back to the configuration";
}

TEST_F(RuleModelsTest, ThePrincipalsAllowedModelsFilterTheList) {
  pipeline::Principal principal;
  principal.allowed_models = {"gemini-*", "pin"};
  EXPECT_EQ(ids(models(&principal)),
            (std::vector<std::string>{"gemini-config", "gemini-vertex", "gemini-other", "pin"}));
  pipeline::Principal nothing;
  nothing.models_restricted = true;
  EXPECT_TRUE(models(&nothing).empty());
}

TEST_F(RuleModelsTest, AnswersInTheClientsShape) {
  namespace bhttp = boost::beast::http;
  const auto& rule = *snap_->routes.rules().front();
  http::RequestHeader openai;
  auto answer = answer_models(*snap_, rule, openai, "/all/v1/models", nullptr);
  EXPECT_EQ(answer.status, 200u);
  auto doc = json::parse(answer.body);
  EXPECT_EQ(doc.at("object"), "list");
  EXPECT_EQ(doc.at("data").as_array().size(), 8u);
  EXPECT_EQ(doc.at("data").at(0),
            json::parse(R"({"id":"claude-pinned","object":"model","created":0,"owned_by":"anthropic"})"));

  answer = answer_models(*snap_, rule, openai, "/all/v1/models/anthropic.claude-v2", nullptr);
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(json::parse(answer.body).at("id"), "anthropic.claude-v2");
  answer = answer_models(*snap_, rule, openai, "/all/v1/models/gpt-5", nullptr);
  EXPECT_EQ(answer.status, 404u);
  EXPECT_EQ(json::parse(answer.body).at("error").at("code"), "model_not_found");

  http::RequestHeader anthropic;
  anthropic.set("anthropic-version", "2023-06-01");
  answer = answer_models(*snap_, rule, anthropic, "/all/v1/models", nullptr);
  doc = json::parse(answer.body);
  EXPECT_EQ(doc.at("has_more"), false);
  EXPECT_EQ(doc.at("first_id"), "claude-pinned");
  EXPECT_EQ(doc.at("last_id"), "pin");
  EXPECT_EQ(doc.at("data").at(0), json::parse(R"({"type":"model","id":"claude-pinned","display_name":"claude-pinned",
                                                   "created_at":"1970-01-01T00:00:00Z"})"));
  answer = answer_models(*snap_, rule, anthropic, "/all/v1/models/nope", nullptr);
  EXPECT_EQ(answer.status, 404u);
  EXPECT_EQ(json::parse(answer.body),
            json::parse(R"({"type":"error","error":{"type":"not_found_error","message":"model: nope"}})"));

  answer = answer_models(*snap_, rule, openai, "/all/v1beta/models", nullptr);
  doc = json::parse(answer.body);
  EXPECT_EQ(doc.at("models").at(1), json::parse(R"({"name":"models/gemini-config","displayName":"gemini-config",
                                                     "supportedGenerationMethods":["generateContent","countTokens"]})"));
  answer = answer_models(*snap_, rule, openai, "/all/v1beta/models/gemini-other", nullptr);
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(json::parse(answer.body).at("name"), "models/gemini-other");
  answer = answer_models(*snap_, rule, openai, "/all/v1beta/models/gemini-9", nullptr);
  EXPECT_EQ(answer.status, 404u);
  EXPECT_EQ(json::parse(answer.body).at("error").at("status"), "NOT_FOUND");
}

TEST(ModelCatalogTest, EmptyListsInEveryShape) {
  EXPECT_EQ(render_model_list({}, ModelShape::OpenAI), R"({"object":"list","data":[]})");
  EXPECT_EQ(render_model_list({}, ModelShape::Anthropic),
            R"({"data":[],"has_more":false,"first_id":null,"last_id":null})");
  EXPECT_EQ(render_model_list({}, ModelShape::Gemini), R"({"models":[]})");
}

TEST(ModelCatalogTest, ShapeByPathAndHeader) {
  EXPECT_EQ(model_shape("/v1/models", false), ModelShape::OpenAI);
  EXPECT_EQ(model_shape("/v1/models", true), ModelShape::Anthropic);
  EXPECT_EQ(model_shape("/gemini/v1beta/models", true), ModelShape::Gemini);
}

}  // namespace
}  // namespace sluice::proxy
