// Anthropic clients on Anthropic-on-Vertex, Gemini and Bedrock: the Anthropic client translator
// decodes the provider's reply with the provider's own decoder (ProviderCodec) straight into the
// Anthropic encoder. The chained path (the provider reply made OpenAI by the OpenAI-form
// translator, then decoded again) is the reference: for every golden upstream stream and reply
// of those providers, both paths must give the same client output and usage — except where the
// direct path knows more: the OpenAI form has no field for cache writes, so the chained path
// counts them as plain input, while the direct path reports cache_creation_input_tokens. The
// comparison folds cache writes into input_tokens on both sides, and the usage checks compare
// prompt tokens (which include cache writes either way).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bedrock_events.hpp"
#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/anthropic_client.hpp"
#include "translate/openai_anthropic.hpp"
#include "translate/openai_bedrock.hpp"
#include "translate/openai_gemini.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;

// Forwards to an OpenAI-form translator without offering its ProviderCodec: the chained path.
class Chained final : public Translator {
 public:
  explicit Chained(std::unique_ptr<Translator> inner) : inner_(std::move(inner)) {}
  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream) override {
    return inner_->translate_request(body, upstream);
  }
  std::optional<http::ApiError> translate_response(std::string_view upstream, std::string& client) override {
    return inner_->translate_response(upstream, client);
  }
  http::ApiError translate_error(unsigned status, std::string_view type, std::string_view body) override {
    return inner_->translate_error(status, type, body);
  }
  bool stream_feed(std::string_view bytes, std::string& out) override { return inner_->stream_feed(bytes, out); }
  void stream_end(std::string& out) override { inner_->stream_end(out); }
  void stream_fail(const http::ApiError& error, std::string& out) override { inner_->stream_fail(error, out); }
  Usage usage() const override { return inner_->usage(); }

 private:
  std::unique_ptr<Translator> inner_;
};

// Folds cache_creation_input_tokens into input_tokens in every Anthropic usage object.
void fold_cache_writes(json::value& v) {
  if (v.is_object()) {
    auto& o = v.get_object();
    if (auto* writes = o.if_contains("cache_creation_input_tokens"); writes != nullptr && o.contains("input_tokens")) {
      const auto total = o.at("input_tokens").to_number<std::uint64_t>() + writes->to_number<std::uint64_t>();
      *writes = 0;
      o.at("input_tokens") = total;
    }
    for (auto& [k, member] : o) fold_cache_writes(member);
  } else if (v.is_array()) {
    for (auto& item : v.get_array()) fold_cache_writes(item);
  }
}

std::string folded(std::string_view json_text) {
  auto v = json::parse(json_text);
  fold_cache_writes(v);
  return json::serialize(v);
}

// An SSE stream with every event's data folded (non-JSON data kept).
std::string folded_sse(std::string_view stream) {
  std::string out;
  for (const auto& event : golden::split_sse(stream)) {
    if (!event.name.empty()) out += "event: " + event.name + "\n";
    boost::system::error_code ec;
    auto v = json::parse(event.data, ec);
    if (!ec) fold_cache_writes(v);
    out += "data: " + (ec ? event.data : json::serialize(v)) + "\n\n";
  }
  return out;
}

using InnerFactory = std::function<std::unique_ptr<Translator>(const RequestContext&)>;

struct Provider {
  std::string dir;  // golden directory of the OpenAI-form translator
  InnerFactory make;
  bool bedrock = false;
};

std::vector<Provider> providers() {
  return {{"openai_anthropic", [](const RequestContext& c) { return make_openai_to_anthropic(c); }, false},
          {"openai_gemini", [](const RequestContext& c) { return make_openai_to_gemini(c); }, false},
          {"openai_bedrock", [](const RequestContext& c) { return make_openai_to_bedrock(c); }, true}};
}

RequestContext context(bool stream) {
  RequestContext c;
  c.model = "provider-model";
  c.client_model = "claude-sonnet-4-5";
  c.stream = stream;
  return c;
}

std::unique_ptr<Translator> anthropic_client(const Provider& p, bool stream, bool chained) {
  auto inner = p.make(context(stream));
  if (chained) inner = std::make_unique<Chained>(std::move(inner));
  auto t = make_anthropic_client(context(stream), std::move(inner));
  const json::object request{{"model", "claude-sonnet-4-5"},
                             {"max_tokens", 100},
                             {"stream", stream},
                             {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
  std::string upstream;
  EXPECT_FALSE(t->translate_request(request, upstream).has_value());
  return t;
}

std::vector<std::string> cases(const std::string& dir) {
  std::vector<std::string> out;
  const auto root = std::filesystem::path(SLUICE_GOLDEN_DIR) / dir;
  if (!std::filesystem::exists(root)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(root)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AnthropicClientDirect, EveryGoldenProviderStreamGivesTheChainedPathsEventsInEverySplit) {
  std::size_t checked = 0;
  for (const auto& p : providers()) {
    for (const auto& name : cases(p.dir + "/stream")) {
      SCOPED_TRACE(p.dir + "/stream/" + name);
      const std::string base = p.dir + "/stream/" + name;
      const std::string upstream =
          p.bedrock
              ? golden::bedrock_event_stream(json::parse(golden::read_file(base + "/upstream_events.json")).as_array())
              : golden::read_file(base + "/upstream.sse");
      auto chained = anthropic_client(p, true, true);
      const auto reference = harness::feed(*chained, upstream, {"whole", {}});
      ASSERT_FALSE(reference.out.empty());
      for (const auto& split : harness::standard_splits(upstream.size())) {
        SCOPED_TRACE("fed as " + split.name);
        auto direct = anthropic_client(p, true, false);
        const auto run = harness::feed(*direct, upstream, split);
        EXPECT_TRUE(golden::sse_equal(folded_sse(reference.out), folded_sse(run.out), {"id"}));
        EXPECT_EQ(run.ok, reference.ok);
      }
      auto direct = anthropic_client(p, true, false);
      harness::feed(*direct, upstream, {"whole", {}});
      ++checked;
      // A stream cut short or failed: the chained path saw no usage chunk (the OpenAI form sends
      // usage last), the direct path reports what the provider said so far.
      if (!chained->usage().known) continue;
      EXPECT_EQ(direct->usage().prompt_tokens, chained->usage().prompt_tokens);
      EXPECT_EQ(direct->usage().completion_tokens, chained->usage().completion_tokens);
      EXPECT_EQ(direct->usage().cached_tokens, chained->usage().cached_tokens);
      EXPECT_EQ(direct->usage().total_tokens, chained->usage().total_tokens);
    }
  }
  EXPECT_GT(checked, 10u);
}

TEST(AnthropicClientDirect, EveryGoldenProviderReplyGivesTheChainedPathsMessage) {
  std::size_t checked = 0;
  for (const auto& p : providers()) {
    for (const auto& name : cases(p.dir + "/response")) {
      SCOPED_TRACE(p.dir + "/response/" + name);
      const auto upstream = golden::read_file(p.dir + "/response/" + name + "/upstream_response.json");
      std::string via_chain;
      std::string direct_out;
      auto chained = anthropic_client(p, false, true);
      auto direct = anthropic_client(p, false, false);
      const auto e1 = chained->translate_response(upstream, via_chain);
      const auto e2 = direct->translate_response(upstream, direct_out);
      ASSERT_EQ(e1.has_value(), e2.has_value());
      if (e1) {
        EXPECT_EQ(e1->status, e2->status);
        EXPECT_EQ(e1->message, e2->message);
        continue;
      }
      EXPECT_TRUE(golden::json_equal(folded(via_chain), folded(direct_out), {"id"}));
      EXPECT_EQ(direct->usage().prompt_tokens, chained->usage().prompt_tokens);
      ++checked;
    }
  }
  EXPECT_GT(checked, 10u);
}

}  // namespace
}  // namespace sluice::translate

namespace sluice::translate {
namespace {

// An Anthropic client's thinking, signed thinking blocks and structured output survive the OpenAI
// pivot to Anthropic on Vertex AI; a field the provider cannot take is refused under its
// Anthropic name.
json::object vertex_request(std::string_view client_body, std::optional<http::ApiError>& error) {
  RequestContext c;
  c.model = "claude-sonnet-4-5@20250929";
  c.model_in_body = false;
  c.anthropic_body_version = "vertex-2023-10-16";
  auto t = make_anthropic_client(c, make_openai_to_anthropic(c));
  std::string upstream;
  error = t->translate_request(json::parse(client_body).as_object(), upstream);
  return error ? json::object{} : json::parse(upstream).as_object();
}

TEST(AnthropicClientThroughThePivot, ThinkingAndSignedBlocksReachAnthropicOnVertex) {
  std::optional<http::ApiError> error;
  const auto up = vertex_request(R"({"model":"claude-sonnet-4-5","max_tokens":16000,
      "thinking":{"type":"enabled","budget_tokens":5000},
      "tools":[{"name":"w","input_schema":{"type":"object"}}],
      "messages":[{"role":"user","content":"Weather?"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"Use w.","signature":"SIG"},
                                       {"type":"tool_use","id":"toolu_1","name":"w","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sun"}]}]})",
                                 error);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(json::serialize(up.at("thinking")), R"({"type":"enabled","budget_tokens":5000})");
  EXPECT_EQ(up.at("max_tokens"), json::value(16000));
  EXPECT_EQ(json::serialize(up.at("messages").at(1).at("content").at(0)),
            R"({"type":"thinking","thinking":"Use w.","signature":"SIG"})");
}

TEST(AnthropicClientThroughThePivot, RefusalsNameTheAnthropicField) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      // Claude refuses a temperature other than 1 while thinking.
      {R"({"model":"m","max_tokens":9000,"temperature":0.2,"thinking":{"type":"enabled","budget_tokens":2000},
          "messages":[{"role":"user","content":"x"}]})",
       "temperature"},
      // A forced tool while thinking.
      {R"({"model":"m","max_tokens":9000,"thinking":{"type":"enabled","budget_tokens":2000},
          "tools":[{"name":"w","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},
          "messages":[{"role":"user","content":"x"}]})",
       "tool_choice"},
      // On Vertex structured output is the forced tool, which thinking refuses.
      {R"({"model":"m","max_tokens":9000,"thinking":{"type":"enabled","budget_tokens":2000},
          "output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},
          "messages":[{"role":"user","content":"x"}]})",
       "output_config.format"},
  };
  for (const auto& [body, param] : cases) {
    std::optional<http::ApiError> error;
    vertex_request(body, error);
    ASSERT_TRUE(error.has_value()) << body;
    EXPECT_EQ(error->status, 400u);
    EXPECT_EQ(error->param, std::string(param)) << error->message;
  }
  // reasoning_effort refused by Bedrock for a non-Claude model is named `thinking`.
  RequestContext c;
  c.model = "meta.llama3-70b-instruct-v1:0";
  auto t = make_anthropic_client(c, make_openai_to_bedrock(c));
  std::string upstream;
  const auto error = t->translate_request(
      json::parse(R"({"model":"m","max_tokens":9000,"thinking":{"type":"enabled","budget_tokens":2000},
                      "messages":[{"role":"user","content":"x"}]})")
          .as_object(),
      upstream);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "thinking");
}

}  // namespace
}  // namespace sluice::translate
