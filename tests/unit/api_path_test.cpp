#include "route/api_path.hpp"

#include <gtest/gtest.h>

namespace sluice::route {
namespace {

// ------------------------------------------------------------------ classify_api

TEST(ClassifyApiTest, RecognisesTheApiBySuffix) {
  EXPECT_EQ(classify_api("/v1/chat/completions"), ApiKind::ChatCompletions);
  EXPECT_EQ(classify_api("/openrouter/api/v1/chat/completions"), ApiKind::ChatCompletions);
  EXPECT_EQ(classify_api("/chat/completions"), ApiKind::ChatCompletions);
  EXPECT_EQ(classify_api("/v1/embeddings"), ApiKind::Embeddings);
  EXPECT_EQ(classify_api("/v1/responses"), ApiKind::Responses);
  EXPECT_EQ(classify_api("/team/v1/responses/"), ApiKind::Responses);
  EXPECT_EQ(classify_api("/v1/responses/resp_1"), ApiKind::Other) << "retrieving a stored response";
  EXPECT_EQ(classify_api("/v1/responses/resp_1/input_items"), ApiKind::Other);
  EXPECT_EQ(classify_api("/llm/embeddings"), ApiKind::Embeddings);
  EXPECT_EQ(classify_api("/v1/models"), ApiKind::Models);
  EXPECT_EQ(classify_api("/any/prefix/models"), ApiKind::Models);
}

TEST(ClassifyApiTest, TrailingSlashIsIgnored) {
  EXPECT_EQ(classify_api("/v1/chat/completions/"), ApiKind::ChatCompletions);
  EXPECT_EQ(classify_api("/v1/models//"), ApiKind::Models);
}

TEST(ClassifyApiTest, SuffixMustBeWholeSegments) {
  EXPECT_EQ(classify_api("/v1/xchat/completions"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/myembeddings"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/gpt-models"), ApiKind::Other);
}

TEST(ClassifyApiTest, EverythingElseIsOther) {
  EXPECT_EQ(classify_api("/v1/completions"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/audio/speech"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/chat/completions/abc"), ApiKind::Other);
  EXPECT_EQ(classify_api("/"), ApiKind::Other);
  EXPECT_EQ(classify_api(""), ApiKind::Other);
}

TEST(ClassifyApiTest, OneModelOfTheList) {
  EXPECT_EQ(classify_api("/v1/models/gpt-4o"), ApiKind::ModelGet);
  EXPECT_EQ(model_get_id("/v1/models/gpt-4o"), "gpt-4o");
  EXPECT_EQ(model_get_id("/openrouter/api/v1/models/openai/gpt-4o/"), "openai/gpt-4o") << "ids may hold '/'";
  EXPECT_EQ(model_get_id("/v1beta/models/gemini-2.0-flash"), "gemini-2.0-flash");
  EXPECT_EQ(model_get_id("/llm/models/x"), "x");
  EXPECT_EQ(model_get_id("/v1/models/ft:gpt-4o-mini:org::AbC12"), "ft:gpt-4o-mini:org::AbC12")
      << "a fine-tuned model's colons are not a method";
  EXPECT_EQ(classify_api("/v1beta/models/gemini-2.0-flash:generateContent"), ApiKind::GeminiGenerate)
      << "a Gemini method, not a model";
  EXPECT_EQ(classify_api("/v1beta/models/text-embedding-004:batchEmbedContents"), ApiKind::GeminiEmbed);
  EXPECT_EQ(classify_api("/v1/projects/p/locations/l/publishers/google/models/g:predict"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/models/"), ApiKind::Models);
  EXPECT_EQ(model_get_id("/v1/models"), "");
  EXPECT_EQ(model_get_id("/v1/files/f1"), "");
  EXPECT_EQ(classify_api("/v1/models/x/chat/completions"), ApiKind::ChatCompletions);
}

TEST(ClassifyApiTest, KindNames) {
  EXPECT_EQ(api_kind_name(ApiKind::ChatCompletions), "chat.completions");
  EXPECT_EQ(api_kind_name(ApiKind::Embeddings), "embeddings");
  EXPECT_EQ(api_kind_name(ApiKind::Models), "models");
  EXPECT_EQ(api_kind_name(ApiKind::Other), "other");
}

// ------------------------------------------------------------------ api_suffix

TEST(ApiSuffixTest, TextAfterTheLastV1Segment) {
  EXPECT_EQ(api_suffix("/openrouter/api/v1/chat/completions"), "/chat/completions");
  EXPECT_EQ(api_suffix("/v1/chat/completions"), "/chat/completions");
  EXPECT_EQ(api_suffix("/v1/v1/models"), "/models");
  EXPECT_EQ(api_suffix("/a/v1/b/v1/files/x"), "/files/x");
  EXPECT_EQ(api_suffix("/custom/v1/anything"), "/anything");
}

TEST(ApiSuffixTest, BareV1IsTheRoot) {
  EXPECT_EQ(api_suffix("/v1"), "/");
  EXPECT_EQ(api_suffix("/proxy/v1"), "/");
}

TEST(ApiSuffixTest, V1MustBeAWholeSegment) {
  EXPECT_EQ(api_suffix("/api/v10/chat/completions"), "/chat/completions") << "found through the family rule";
  EXPECT_EQ(api_suffix("/v1beta/models"), "/models");
  EXPECT_EQ(api_suffix("/xv1/thing"), "/xv1/thing");
}

TEST(ApiSuffixTest, FromTheFirstKnownApiFamilySegment) {
  EXPECT_EQ(api_suffix("/llm/embeddings"), "/embeddings");
  EXPECT_EQ(api_suffix("/team/a/chat/completions"), "/chat/completions");
  EXPECT_EQ(api_suffix("/proxy/models"), "/models");
  EXPECT_EQ(api_suffix("/x/completions"), "/completions");
  EXPECT_EQ(api_suffix("/x/audio/transcriptions"), "/audio/transcriptions");
  EXPECT_EQ(api_suffix("/x/images/generations"), "/images/generations");
  EXPECT_EQ(api_suffix("/x/files/file-1/content"), "/files/file-1/content");
  EXPECT_EQ(api_suffix("/x/batches"), "/batches");
  EXPECT_EQ(api_suffix("/x/responses"), "/responses");
  EXPECT_EQ(api_suffix("/x/moderations"), "/moderations");
  EXPECT_EQ(api_suffix("/x/rerank"), "/rerank");
  EXPECT_EQ(api_suffix("/x/uploads"), "/uploads");
  EXPECT_EQ(api_suffix("/x/fine_tuning/jobs"), "/fine_tuning/jobs");
  EXPECT_EQ(api_suffix("/x/vector_stores/vs_1"), "/vector_stores/vs_1");
}

TEST(ApiSuffixTest, FamilyMustBeAWholeSegment) {
  EXPECT_EQ(api_suffix("/chatty/x"), "/chatty/x");
  EXPECT_EQ(api_suffix("/my-models/x"), "/my-models/x");
}

TEST(ApiSuffixTest, FirstFamilySegmentWins) {
  EXPECT_EQ(api_suffix("/models/chat/completions"), "/models/chat/completions");
}

TEST(ApiSuffixTest, AfterTheMatchedPrefix) {
  EXPECT_EQ(api_suffix("/openai/custom/thing", "/openai"), "/custom/thing");
  EXPECT_EQ(api_suffix("/openai", "/openai"), "/");
}

TEST(ApiSuffixTest, EarlierRulesBeatTheMatchedPrefix) {
  EXPECT_EQ(api_suffix("/llm/team/chat/completions", "/llm"), "/chat/completions");
  EXPECT_EQ(api_suffix("/llm/v1/custom", "/llm"), "/custom");
}

TEST(ApiSuffixTest, WholePathOtherwise) {
  EXPECT_EQ(api_suffix("/custom/thing"), "/custom/thing");
  EXPECT_EQ(api_suffix("/custom/thing", "/"), "/custom/thing") << "the root prefix strips nothing";
  EXPECT_EQ(api_suffix("/custom/thing", "/other"), "/custom/thing") << "a prefix that does not apply";
  EXPECT_EQ(api_suffix("/"), "/");
}

// ------------------------------------------------------------------ resolve_upstream_path

// Builds an UpstreamPathInput field by field (GCC warns on partial designated initializers).
class Input {
 public:
  explicit Input(std::string_view client_path) { in_.client_path = client_path; }
  Input& rewritten(std::string_view v) {
    in_.rewritten = v;
    return *this;
  }
  Input& matched_prefix(std::string_view v) {
    in_.matched_prefix = v;
    return *this;
  }
  Input& backend_full(std::string_view v) {
    in_.backend_full = v;
    return *this;
  }
  Input& backend_prefix(std::string_view v) {
    in_.backend_prefix = v;
    return *this;
  }
  Input& provider_base(std::string_view v) {
    in_.provider_base = v;
    return *this;
  }
  UpstreamPath resolve() const { return resolve_upstream_path(in_); }

 private:
  UpstreamPathInput in_;
};

TEST(ResolveUpstreamPathTest, BackendFullWinsOverEverything) {
  const auto p = Input("/openrouter/chat/completions")
                     .rewritten("/v1/chat/completions")
                     .matched_prefix("/openrouter")
                     .backend_full("/exact/path")
                     .backend_prefix("/api/v1")
                     .provider_base("/v1")
                     .resolve();
  EXPECT_EQ(p.path, "/exact/path");
  EXPECT_EQ(p.source, PathSource::Full);
}

TEST(ResolveUpstreamPathTest, OpenRouterCase) {
  // Route /openrouter rewritten to /v1, backend prefix /api/v1.
  const auto p = Input("/openrouter/chat/completions")
                     .rewritten("/v1/chat/completions")
                     .matched_prefix("/openrouter")
                     .backend_prefix("/api/v1")
                     .provider_base("/v1")
                     .resolve();
  EXPECT_EQ(p.path, "/api/v1/chat/completions");
  EXPECT_EQ(p.source, PathSource::Prefix);
}

TEST(ResolveUpstreamPathTest, PrefixPlusSuffixOfTheClientPath) {
  const auto p = Input("/llm/embeddings")
                     .matched_prefix("/llm")
                     .backend_prefix("/openai/deployments/x")
                     .provider_base("/v1")
                     .resolve();
  EXPECT_EQ(p.path, "/openai/deployments/x/embeddings");
  EXPECT_EQ(p.source, PathSource::Prefix);
}

TEST(ResolveUpstreamPathTest, PrefixUsesTheMatchedPrefixWhenNoRewrite) {
  const auto p = Input("/route/custom/op").matched_prefix("/route").backend_prefix("/base").resolve();
  EXPECT_EQ(p.path, "/base/custom/op");
  EXPECT_EQ(p.source, PathSource::Prefix);
}

TEST(ResolveUpstreamPathTest, PrefixSuffixComesFromTheRewrittenPath) {
  // The rewrite turned a custom client path into an API path; the suffix follows the rewrite.
  const auto p =
      Input("/ask").rewritten("/v1/chat/completions").matched_prefix("/ask").backend_prefix("/api/v1").resolve();
  EXPECT_EQ(p.path, "/api/v1/chat/completions");
  EXPECT_EQ(p.source, PathSource::Prefix);
}

TEST(ResolveUpstreamPathTest, RootPrefixAddsNothing) {
  const auto p = Input("/v1/chat/completions").backend_prefix("/").resolve();
  EXPECT_EQ(p.path, "/chat/completions");
  EXPECT_EQ(p.source, PathSource::Prefix);
}

TEST(ResolveUpstreamPathTest, RewriteWinsOverProviderDefault) {
  const auto p = Input("/openrouter/chat/completions")
                     .rewritten("/api/v1/chat/completions")
                     .matched_prefix("/openrouter")
                     .provider_base("/v1")
                     .resolve();
  EXPECT_EQ(p.path, "/api/v1/chat/completions");
  EXPECT_EQ(p.source, PathSource::Rewrite);
}

TEST(ResolveUpstreamPathTest, RewriteWithoutBackendPathIsNeverOverwritten) {
  for (const std::string_view rewritten : {"/custom", "/v1/models", "/", "/x/v1/y"}) {
    const auto ai =
        Input("/a/chat/completions").rewritten(rewritten).matched_prefix("/a").provider_base("/v1").resolve();
    EXPECT_EQ(ai.path, rewritten);
    EXPECT_EQ(ai.source, PathSource::Rewrite);
    const auto st = Input("/a/chat/completions").rewritten(rewritten).resolve();
    EXPECT_EQ(st.path, rewritten);
    EXPECT_EQ(st.source, PathSource::Rewrite);
  }
}

TEST(ResolveUpstreamPathTest, ProviderDefaultIsBasePlusSuffix) {
  const auto chat = Input("/llm/chat/completions").matched_prefix("/llm").provider_base("/v1").resolve();
  EXPECT_EQ(chat.path, "/v1/chat/completions");
  EXPECT_EQ(chat.source, PathSource::Default);

  const auto same = Input("/v1/chat/completions").matched_prefix("/v1").provider_base("/v1").resolve();
  EXPECT_EQ(same.path, "/v1/chat/completions");

  const auto custom = Input("/openai/custom/op").matched_prefix("/openai").provider_base("/v1").resolve();
  EXPECT_EQ(custom.path, "/v1/custom/op");
  EXPECT_EQ(custom.source, PathSource::Default);
}

TEST(ResolveUpstreamPathTest, StaticBackendKeepsTheClientPath) {
  const auto p = Input("/svc/health").matched_prefix("/svc").resolve();
  EXPECT_EQ(p.path, "/svc/health");
  EXPECT_EQ(p.source, PathSource::Client);
}

TEST(ResolveUpstreamPathTest, SourceNames) {
  EXPECT_EQ(path_source_name(PathSource::Full), "full");
  EXPECT_EQ(path_source_name(PathSource::Prefix), "prefix");
  EXPECT_EQ(path_source_name(PathSource::Rewrite), "rewrite");
  EXPECT_EQ(path_source_name(PathSource::Default), "default");
  EXPECT_EQ(path_source_name(PathSource::Client), "client");
}

// ------------------------------------------------------------------ with_query

TEST(WithQueryTest, AppendsTheClientQuery) {
  EXPECT_EQ(with_query("/v1/models", "a=b"), "/v1/models?a=b");
  EXPECT_EQ(with_query("/v1/models", "a=b&c=d"), "/v1/models?a=b&c=d");
}

TEST(WithQueryTest, EmptyQueryLeavesThePathAlone) {
  EXPECT_EQ(with_query("/v1/models", ""), "/v1/models");
}

TEST(WithQueryTest, PathWithAQueryGetsAnAmpersand) {
  EXPECT_EQ(with_query("/deploy/chat?api-version=2024-02-01", "a=b"), "/deploy/chat?api-version=2024-02-01&a=b");
  EXPECT_EQ(with_query("/deploy/chat?api-version=1", ""), "/deploy/chat?api-version=1");
}

// ------------------------------------------------------------------ Gemini calls, count_tokens

TEST(GeminiCallTest, ModelAndActionFromTheLastSegment) {
  auto call = gemini_call("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->model, "gemini-2.5-flash");
  EXPECT_EQ(call->action, "streamGenerateContent");
  EXPECT_TRUE(call->stream());
  call = gemini_call("/route/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:countTokens");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->model, "gemini-2.5-pro");
  EXPECT_FALSE(call->stream());
  // Not a model method (an OpenAI fine-tuned model id has colons), not below models, no model.
  EXPECT_FALSE(gemini_call("/v1/models/ft:gpt-4o:org::abc"));
  EXPECT_FALSE(gemini_call("/v1beta/tunedModels/x:generateContent"));
  EXPECT_FALSE(gemini_call("/v1beta/models/:generateContent"));
  EXPECT_FALSE(gemini_call("/v1/chat/completions"));
}

TEST(GeminiCallTest, KindsOfGeminiCallsAndCountTokens) {
  EXPECT_EQ(classify_api("/v1beta/models/m:generateContent"), ApiKind::GeminiGenerate);
  EXPECT_EQ(classify_api("/v1beta/models/m:streamGenerateContent"), ApiKind::GeminiGenerate);
  EXPECT_EQ(classify_api("/v1beta/models/m:countTokens"), ApiKind::GeminiCountTokens);
  EXPECT_EQ(classify_api("/v1beta/models/m:embedContent"), ApiKind::GeminiEmbed);
  EXPECT_EQ(classify_api("/v1beta/models/m:batchEmbedContents"), ApiKind::GeminiEmbed);
  EXPECT_EQ(classify_api("/v1/projects/p/locations/l/publishers/google/models/m:predict"), ApiKind::Other);
  EXPECT_EQ(classify_api("/v1/messages/count_tokens"), ApiKind::MessagesCountTokens);
  EXPECT_EQ(classify_api("/claude/v1/messages/count_tokens"), ApiKind::MessagesCountTokens);
  EXPECT_EQ(classify_api("/v1/messages/batches"), ApiKind::Other);
  EXPECT_EQ(json_api_method(ApiKind::GeminiGenerate), "POST");
  EXPECT_EQ(json_api_method(ApiKind::MessagesCountTokens), "POST");
  EXPECT_EQ(json_api_method(ApiKind::Models), "GET");
  EXPECT_EQ(json_api_method(ApiKind::Other), "");
}

// ------------------------------------------------------------------ query helpers

TEST(QueryTest, ValueWithoutAndHas) {
  EXPECT_EQ(query_value("alt=sse&key=k1", "key"), std::optional<std::string_view>("k1"));
  EXPECT_EQ(query_value("key", "key"), std::optional<std::string_view>(""));
  EXPECT_EQ(query_value("keys=1", "key"), std::nullopt);
  EXPECT_EQ(query_without("alt=sse&key=k1&x=2&key=k2", "key"), "alt=sse&x=2");
  EXPECT_EQ(query_without("key=k1", "key"), "");
  EXPECT_TRUE(query_has("a=1&alt=sse", "alt", "sse"));
  EXPECT_FALSE(query_has("alt=json", "alt", "sse"));
}

TEST(QueryTest, TheClientsParameterReplacesTheProvidersOnce) {
  std::string url = "/openai/deployments/d/chat/completions?api-version=2024-10-21";
  EXPECT_FALSE(prefer_client_query_param(url, "api-version", "api-version=2025-04-01-preview"));
  EXPECT_EQ(url, "/openai/deployments/d/chat/completions?api-version=2025-04-01-preview");
  // A passthrough URL that already carries the client's query too: one value left.
  url = "/openai/files?api-version=2024-10-21&purpose=x&api-version=2025-01-01";
  EXPECT_FALSE(prefer_client_query_param(url, "api-version", "purpose=x&api-version=2025-01-01"));
  EXPECT_EQ(url, "/openai/files?purpose=x&api-version=2025-01-01");
  // No client value: unchanged.
  url = "/openai/x?api-version=1";
  EXPECT_FALSE(prefer_client_query_param(url, "api-version", "a=b"));
  EXPECT_EQ(url, "/openai/x?api-version=1");
  // Twice, or unsafe: refused, the URL untouched.
  EXPECT_TRUE(prefer_client_query_param(url, "api-version", "api-version=1&api-version=2"));
  EXPECT_TRUE(prefer_client_query_param(url, "api-version", "api-version=1%26x=2"));
  EXPECT_TRUE(prefer_client_query_param(url, "api-version", "api-version="));
  EXPECT_EQ(url, "/openai/x?api-version=1");
}

TEST(PassthroughApiNamesTest, TheNamesTheLoaderAccepts) {
  EXPECT_TRUE(is_passthrough_api_name("audio"));
  EXPECT_TRUE(is_passthrough_api_name("*"));
  EXPECT_FALSE(is_passthrough_api_name("threads"));
  EXPECT_FALSE(is_passthrough_api_name("chat"));
}

}  // namespace
}  // namespace sluice::route
