// gemini_client: the Gemini client schema codec. Request half (gemini_request_to_openai) and the
// encoders (encode_gemini.hpp). Golden files under tests/golden/gemini_client/<case>/:
//   client_request.json -> upstream_request.json (request cases; generation_stream_snake_case
//   is converted as a stream),
//   errors/cases.json (each a 400 naming the field),
//   canonical events built below -> client.sse (Sse framing), client.json (JsonArray framing,
//   compared as the parsed array), client_response.json (complete body);
//   chain_*: an OpenAI upstream (upstream.sse / upstream_response.json) decoded by the OpenAI
//   decoder into the Gemini encoders, as the gateway will chain them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "golden.hpp"
#include "stream_harness.hpp"
#include "translate/common.hpp"
#include "translate/decode_openai.hpp"
#include "translate/encode_gemini.hpp"
#include "translate/gemini_client_request.hpp"

namespace sluice::translate {
namespace {

namespace json = boost::json;
using golden::json_equal;
using golden::read_file;
using golden::sse_equal;

const std::vector<std::string> kVolatile = {"responseId"};

RequestContext context() {
  RequestContext ctx;
  ctx.model = "gpt-4o-mini";
  return ctx;
}

json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  EXPECT_TRUE(value.is_object()) << text;
  return value.is_object() ? value.get_object() : json::object{};
}

std::optional<http::ApiError> convert(const json::object& in, bool stream, json::object& out) {
  return gemini_request_to_openai(in, context(), stream, out);
}

void expect_request_case(const std::string& name, bool stream = false) {
  const auto in = parse_object(read_file(name + "/client_request.json"));
  const auto before = json::serialize(in);
  json::object out;
  const auto error = convert(in, stream, out);
  ASSERT_FALSE(error.has_value()) << name << ": " << error->message;
  // No generated values in a request: every id is compared.
  EXPECT_TRUE(json_equal(read_file(name + "/upstream_request.json"), json::serialize(out), {})) << name;
  EXPECT_EQ(json::serialize(in), before) << name << ": the client body was changed";
  json::object again;
  ASSERT_FALSE(convert(in, stream, again).has_value());
  EXPECT_EQ(json::serialize(again), json::serialize(out)) << name << ": not deterministic";
}

// ---------------------------------------------------------------------------------------------
// Requests

TEST(GeminiClientRequest, SystemInstructionTextTurnsThoughtsDroppedTopKDropped) {
  expect_request_case("text_system");
}

TEST(GeminiClientRequest, FunctionCallsAndResponsesMatchedByIdThenOldestByName) {
  expect_request_case("tool_round_trip");
}

TEST(GeminiClientRequest, InlineAndFileImagesBecomeImageUrlParts) {
  expect_request_case("images");
}

TEST(GeminiClientRequest, OpenApiSchemaLowerCasedAndAnyWithOneNameIsNamedChoice) {
  expect_request_case("tools_config");
}

TEST(GeminiClientRequest, GenerationConfigResponseSchemaAndThinkingBudget) {
  expect_request_case("generation_json_schema");
}

TEST(GeminiClientRequest, SnakeCaseFieldsJsonSchemaThinkingLevelAndStream) {
  expect_request_case("generation_stream_snake_case", true);
}

TEST(GeminiClientRequest, ToolChoiceModes) {
  struct Case {
    std::string config;    // toolConfig JSON, empty: none
    std::string expected;  // tool_choice JSON, empty: absent
  };
  const std::vector<Case> cases = {
      {"", ""},
      {R"({"functionCallingConfig":{"mode":"AUTO"}})", R"("auto")"},
      {R"({"functionCallingConfig":{"mode":"VALIDATED"}})", R"("auto")"},
      {R"({"functionCallingConfig":{"mode":"NONE"}})", R"("none")"},
      {R"({"functionCallingConfig":{"mode":"ANY"}})", R"("required")"},
      {R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":[]}})", R"("required")"},
      {R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}})",
       R"({"type":"function","function":{"name":"f"}})"},
      {R"({"functionCallingConfig":{}})", ""},
      {R"({"functionCallingConfig":{"mode":"MODE_UNSPECIFIED"}})", ""},
  };
  for (const auto& c : cases) {
    std::string body = R"({"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}])";
    if (!c.config.empty()) body += R"(,"toolConfig":)" + c.config;
    body += "}";
    json::object out;
    ASSERT_FALSE(convert(parse_object(body), false, out).has_value()) << c.config;
    if (c.expected.empty()) {
      EXPECT_FALSE(out.contains("tool_choice")) << c.config;
    } else {
      ASSERT_TRUE(out.contains("tool_choice")) << c.config;
      EXPECT_EQ(out.at("tool_choice"), json::parse(c.expected)) << c.config;
    }
  }
}

TEST(GeminiClientRequest, ToolConfigWithoutToolsIsNotSent) {
  json::object out;
  ASSERT_FALSE(convert(parse_object(R"({"contents":[{"parts":[{"text":"x"}]}],"tools":[],
                                      "toolConfig":{"functionCallingConfig":{"mode":"ANY"}}})"),
                       false, out)
                   .has_value());
  EXPECT_FALSE(out.contains("tools"));
  EXPECT_FALSE(out.contains("tool_choice"));
}

TEST(GeminiClientRequest, ThinkingBudgetsAndLevels) {
  struct Case {
    std::string thinking;
    std::string effort;  // empty: absent
  };
  const std::vector<Case> cases = {
      {R"({"thinkingBudget":0})", ""},
      {R"({"thinkingBudget":-1})", "medium"},
      {R"({"thinkingBudget":1})", "low"},
      {R"({"thinkingBudget":1024})", "low"},
      {R"({"thinkingBudget":1025})", "medium"},
      {R"({"thinkingBudget":8192})", "medium"},
      {R"({"thinkingBudget":8193})", "high"},
      {R"({"thinkingBudget":24576.0})", "high"},
      {R"({"thinkingLevel":"LOW"})", "low"},
      {R"({"thinkingLevel":"MEDIUM"})", "medium"},
      {R"({"thinkingLevel":"MINIMAL"})", "minimal"},
      {R"({"thinkingLevel":"HIGH","thinkingBudget":0})", "high"},
      {R"({"includeThoughts":true})", ""},
  };
  for (const auto& c : cases) {
    json::object out;
    ASSERT_FALSE(
        convert(parse_object(R"({"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"thinkingConfig":)" +
                             c.thinking + "}}"),
                false, out)
            .has_value())
        << c.thinking;
    if (c.effort.empty()) {
      EXPECT_FALSE(out.contains("reasoning_effort")) << c.thinking;
    } else {
      ASSERT_TRUE(out.contains("reasoning_effort")) << c.thinking;
      EXPECT_EQ(out.at("reasoning_effort"), json::value(c.effort)) << c.thinking;
    }
  }
}

TEST(GeminiClientRequest, JsonMimeTypeWithoutSchemaIsJsonObjectAndTextPlainIsNothing) {
  json::object out;
  ASSERT_FALSE(convert(parse_object(R"({"contents":[{"parts":[{"text":"x"}]}],
                                      "generationConfig":{"responseMimeType":"application/json","candidateCount":1}})"),
                       false, out)
                   .has_value());
  EXPECT_EQ(out.at("response_format"), json::parse(R"({"type":"json_object"})"));
  EXPECT_FALSE(out.contains("n"));
  json::object plain;
  ASSERT_FALSE(
      convert(parse_object(
                  R"({"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"text/plain"}})"),
              false, plain)
          .has_value());
  EXPECT_FALSE(plain.contains("response_format"));
  EXPECT_FALSE(plain.contains("stream"));
}

TEST(GeminiClientRequest, ErrorsAre400NamingTheField) {
  const auto cases = json::parse(read_file("errors/cases.json"));
  ASSERT_TRUE(cases.is_array());
  ASSERT_FALSE(cases.get_array().empty());
  for (const auto& item : cases.get_array()) {
    const auto& c = item.get_object();
    const std::string name(c.at("name").get_string());
    const bool stream = c.contains("stream") && c.at("stream").get_bool();
    json::object out;
    const auto error = convert(c.at("request").get_object(), stream, out);
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->status, 400u) << name;
    EXPECT_EQ(error->type, "invalid_request_error") << name;
    const std::string param(c.at("param").get_string());
    ASSERT_TRUE(error->param.has_value()) << name;
    EXPECT_EQ(*error->param, param) << name;
    EXPECT_EQ(error->message.rfind(param + ": ", 0), 0u) << name << ": " << error->message;
    EXPECT_NE(error->message.find(std::string(c.at("message").get_string())), std::string::npos)
        << name << ": " << error->message;
  }
}

TEST(GeminiClientRequest, NonObjectValuesAnywhereNeverThrow) {
  // Every member of a valid request replaced by values of other kinds: a 400 or a conversion,
  // never an exception.
  const auto base = parse_object(read_file("tool_round_trip/client_request.json"));
  const std::vector<json::value> replacements = {nullptr, 1, -1, 2.5, "s", true, json::array{}, json::object{}};
  std::function<void(json::value&, json::value&)> visit = [&](json::value& root, json::value& node) {
    if (node.is_object()) {
      for (auto& [key, member] : node.get_object()) {
        const auto saved = member;
        for (const auto& r : replacements) {
          member = r;
          json::object out;
          EXPECT_NO_THROW((void)convert(root.get_object(), false, out)) << key;
        }
        member = saved;
        visit(root, member);
      }
    } else if (node.is_array()) {
      for (auto& item : node.get_array()) {
        const auto saved = item;
        for (const auto& r : replacements) {
          item = r;
          json::object out;
          EXPECT_NO_THROW((void)convert(root.get_object(), false, out));
        }
        item = saved;
        visit(root, item);
      }
    }
  };
  json::value root = base;
  visit(root, root);
}

// ---------------------------------------------------------------------------------------------
// Errors in Google's form

TEST(GeminiErrors, GoogleStatusForHttpStatus) {
  EXPECT_EQ(http::google_status_for(400), "INVALID_ARGUMENT");
  EXPECT_EQ(http::google_status_for(401), "UNAUTHENTICATED");
  EXPECT_EQ(http::google_status_for(403), "PERMISSION_DENIED");
  EXPECT_EQ(http::google_status_for(404), "NOT_FOUND");
  EXPECT_EQ(http::google_status_for(413), "INVALID_ARGUMENT");
  EXPECT_EQ(http::google_status_for(429), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(http::google_status_for(402), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(http::google_status_for(500), "INTERNAL");
  EXPECT_EQ(http::google_status_for(502), "UNAVAILABLE");
  EXPECT_EQ(http::google_status_for(503), "UNAVAILABLE");
  EXPECT_EQ(http::google_status_for(529), "UNAVAILABLE");
  EXPECT_EQ(http::google_status_for(504), "DEADLINE_EXCEEDED");
  EXPECT_EQ(http::google_status_for(200), "INTERNAL");
}

TEST(GeminiErrors, ErrorBodyWithFieldViolationWhenTheErrorNamesAField) {
  const auto with_param = invalid_request("contents[0].role: expected 'user' or 'model'", "contents[0].role");
  EXPECT_TRUE(json_equal(R"({"error":{"code":400,"message":"contents[0].role: expected 'user' or 'model'",
      "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",
      "fieldViolations":[{"field":"contents[0].role","description":"contents[0].role: expected 'user' or 'model'"}]}]}})",
                         http::google_error_body(with_param), {}));
  const http::ApiError unavailable{503, "server_error", "overloaded", "Overloaded", std::nullopt};
  EXPECT_TRUE(json_equal(R"({"error":{"code":503,"message":"Overloaded","status":"UNAVAILABLE"}})",
                         http::google_error_body(unavailable), {}));
}

// ---------------------------------------------------------------------------------------------
// Encoders on canonical events

EncoderOptions options(std::string client_model = {}) {
  EncoderOptions o;
  o.client_model = std::move(client_model);
  o.fallback_model = "fallback-model";
  return o;
}

llm::Usage usage(std::uint64_t prompt, std::uint64_t completion, std::uint64_t cached, std::uint64_t reasoning) {
  llm::Usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.total_tokens = prompt + completion;
  u.cached_tokens = cached;
  u.reasoning_tokens = reasoning;
  u.known = true;
  return u;
}

std::vector<llm::Event> text_reasoning_tool_events() {
  return {llm::MessageStart{"resp-1", "gpt-4o-mini", false},
          llm::ReasoningDelta{0, "Thinking..."},
          llm::ReasoningSignature{0, "anthropic-signature", false},  // no Gemini form: dropped
          llm::TextDelta{0, "Let me "},
          llm::TextDelta{0, "check."},
          llm::ToolCallDelta{0, "call_a", "get_weather", "", 0, "c2ln"},
          llm::ToolCallDelta{0, "", "", "{\"city\":", 0},
          llm::ToolCallDelta{0, "", "", "\"Paris\"}", 0},
          llm::ToolCallDelta{1, "call_b", "get_time", "", 0},
          llm::Finish{llm::FinishReason::ToolCalls, "tool_calls", 0},
          llm::UsageEvent{usage(20, 15, 5, 4)},
          llm::End{}};
}

std::vector<llm::Event> error_events() {
  return {llm::TextDelta{0, "Once upon"}, llm::ToolCallDelta{0, "toolu_1", "f", "{", 0},
          llm::Error{http::ApiError{429, "rate_limit_error", "rate_limited", "Rate limit reached", std::nullopt}},
          llm::TextDelta{0, "ignored"}, llm::End{}};
}

std::vector<llm::Event> length_events() {
  return {llm::MessageStart{"r-2", "", true}, llm::TextDelta{0, "A long"}, llm::TextDelta{1, "other choice"},
          llm::Finish{llm::FinishReason::Length, "length", 0}, llm::End{}};
}

std::string encode_stream(const std::vector<llm::Event>& events, GeminiStreamFraming framing,
                          const EncoderOptions& o = options(), bool* failed = nullptr) {
  GeminiStreamEncoder encoder(o, framing);
  std::string out;
  for (const auto& event : events) {
    const bool was_closed = encoder.closed();
    std::string piece;
    encoder.encode(event, piece);
    EXPECT_TRUE(!was_closed || piece.empty()) << "written after the stream closed: " << piece;
    out += piece;
  }
  EXPECT_TRUE(encoder.closed());
  if (failed != nullptr) *failed = encoder.failed();
  return out;
}

// `volatile_keys`: {} when the events name the response id (it is compared too), else kVolatile.
void expect_stream_case(const std::string& name, const std::vector<llm::Event>& events,
                        const std::vector<std::string>& volatile_keys, const EncoderOptions& o = options()) {
  const auto sse = encode_stream(events, GeminiStreamFraming::Sse, o);
  EXPECT_TRUE(sse_equal(read_file(name + "/client.sse"), sse, volatile_keys)) << name << "\n" << sse;
  // Every SSE event is one `data: <json>` line and a blank line.
  for (std::size_t pos = 0; pos < sse.size();) {
    const auto end = sse.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos) << name;
    const auto event = std::string_view(sse).substr(pos, end - pos);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    EXPECT_EQ(event.find('\n'), std::string_view::npos) << event;
    pos = end + 2;
  }
  const auto array = encode_stream(events, GeminiStreamFraming::JsonArray, o);
  ASSERT_FALSE(array.empty()) << name;
  EXPECT_EQ(array.front(), '[') << name;
  EXPECT_EQ(array.back(), ']') << name;
  EXPECT_TRUE(json_equal(read_file(name + "/client.json"), array, volatile_keys)) << name << "\n" << array;
}

TEST(GeminiStreamEncoder, ThoughtTextAndWholeFunctionCallsThenFinalChunkWithUsage) {
  expect_stream_case("stream_text_reasoning_tool", text_reasoning_tool_events(), {});
}

TEST(GeminiStreamEncoder, ErrorIsOneGoogleErrorElementAndNothingAfter) {
  expect_stream_case("stream_error_mid", error_events(), kVolatile, options("claude-sonnet-4-5"));
  bool failed = false;
  encode_stream(error_events(), GeminiStreamFraming::Sse, options(), &failed);
  EXPECT_TRUE(failed);
}

TEST(GeminiStreamEncoder, MaxTokensWithoutUsageAndOtherChoicesIgnored) {
  expect_stream_case("stream_length_no_usage", length_events(), {});
}

TEST(GeminiStreamEncoder, JsonArrayFramingSeparatesElementsWithCommaCrlf) {
  const auto array = encode_stream(text_reasoning_tool_events(), GeminiStreamFraming::JsonArray);
  EXPECT_EQ(array.rfind("[{\"candidates\":", 0), 0u);
  EXPECT_NE(array.find("},\r\n{\"candidates\":"), std::string::npos);
  EXPECT_EQ(array.substr(array.size() - 2), "}]");
  // An error before any chunk is a one-element array.
  const auto only_error = encode_stream({llm::Error{http::ApiError{500, "server_error", "x", "boom", std::nullopt}}},
                                        GeminiStreamFraming::JsonArray);
  EXPECT_EQ(only_error, R"([{"error":{"code":500,"message":"boom","status":"INTERNAL"}}])");
  EXPECT_EQ(gemini_stream_content_type(GeminiStreamFraming::Sse), "text/event-stream");
  EXPECT_EQ(gemini_stream_content_type(GeminiStreamFraming::JsonArray), "application/json");
}

TEST(GeminiStreamEncoder, FinalChunkWaitsForUsageAfterFinishOrEnd) {
  GeminiStreamEncoder encoder(options(), GeminiStreamFraming::Sse);
  std::string out;
  encoder.encode(llm::TextDelta{0, "Hi"}, out);
  out.clear();
  encoder.encode(llm::Finish{llm::FinishReason::Stop, "stop", 0}, out);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(encoder.closed());
  encoder.encode(llm::UsageEvent{usage(3, 2, 0, 0)}, out);
  EXPECT_TRUE(encoder.closed());
  EXPECT_FALSE(encoder.failed());
  EXPECT_NE(out.find(R"("finishReason":"STOP")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5})"),
            std::string::npos)
      << out;
  const auto written = out;
  encoder.encode(llm::End{}, out);
  EXPECT_EQ(out, written);
}

TEST(GeminiStreamEncoder, ToolCallsWithoutIdsArgumentsNotObjectsAndLateFragments) {
  GeminiStreamEncoder encoder(options(), GeminiStreamFraming::Sse);
  std::string out;
  for (const llm::Event& e :
       {llm::Event{llm::ToolCallDelta{0, "", "a", "[1]", 0}}, llm::Event{llm::TextDelta{0, "between"}},
        llm::Event{llm::ToolCallDelta{0, "", "", "ignored", 0}}, llm::Event{llm::ToolCallDelta{1, "", "b", "{bad", 0}},
        llm::Event{llm::ToolCallDelta{2, "", "c", "{\"k\":1}", 1}}, llm::Event{llm::End{}}})
    encoder.encode(e, out);
  const auto events = golden::split_sse(out);
  ASSERT_EQ(events.size(), 3u) << out;
  EXPECT_TRUE(json_equal(
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"a","args":{}}}],"role":"model"},"index":0}],
          "modelVersion":"fallback-model","responseId":"x"})",
      events[0].data, kVolatile));
  EXPECT_NE(events[1].data.find("between"), std::string::npos);
  EXPECT_TRUE(json_equal(
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"b","args":{}}}],"role":"model"},
          "finishReason":"STOP","index":0}],"modelVersion":"fallback-model","responseId":"x"})",
      events[2].data, kVolatile));
  // One minted responseId on every chunk.
  std::string id;
  for (const auto& e : events) {
    const auto v = json::parse(e.data);
    const auto this_id = std::string(v.at("responseId").get_string());
    EXPECT_FALSE(this_id.empty());
    if (id.empty()) id = this_id;
    EXPECT_EQ(this_id, id);
  }
}

TEST(GeminiStreamEncoder, ThoughtsLeftOutWhenNotIncluded) {
  GeminiStreamEncoder encoder(options(), GeminiStreamFraming::Sse, false);
  std::string out;
  encoder.encode(llm::ReasoningDelta{0, "secret"}, out);
  EXPECT_TRUE(out.empty());
  encoder.encode(llm::TextDelta{0, "answer"}, out);
  EXPECT_NE(out.find("answer"), std::string::npos);
}

TEST(GeminiStreamEncoder, FinishReasonWords) {
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::Stop, "end_turn"), "STOP");
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::ToolCalls, "tool_use"), "STOP");
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::Length, "max_tokens"), "MAX_TOKENS");
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::ContentFilter, "content_filter"), "SAFETY");
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::Other, "weird"), "OTHER");
  EXPECT_EQ(gemini_finish_reason(llm::FinishReason::ContentFilter, "RECITATION"), "RECITATION");
}

TEST(GeminiResponseEncoder, ThoughtTextAndFunctionCallPartsWithUsage) {
  GeminiResponseEncoder encoder(options("claude-sonnet-4-5"));
  for (const llm::Event& e :
       {llm::Event{llm::MessageStart{"msg_1", "claude-x", true}}, llm::Event{llm::ReasoningDelta{0, "Plan "}},
        llm::Event{llm::ReasoningDelta{0, "the call."}}, llm::Event{llm::TextDelta{0, "Let me "}},
        llm::Event{llm::ToolCallDelta{0, "call_a", "get_weather", "{\"city\":", 0}},
        llm::Event{llm::ToolCallDelta{0, "", "", "\"Paris\"}", 0}}, llm::Event{llm::TextDelta{0, "check."}},
        llm::Event{llm::ToolCallDelta{1, "", "lookup", "", 0}},
        llm::Event{llm::Finish{llm::FinishReason::ToolCalls, "tool_use", 0}},
        llm::Event{llm::UsageEvent{usage(20, 15, 5, 4)}}, llm::Event{llm::End{}}})
    encoder.on_event(e);
  EXPECT_FALSE(encoder.failed());
  EXPECT_TRUE(json_equal(read_file("response_text_tool/client_response.json"), encoder.body(), {}));
}

TEST(GeminiResponseEncoder, OneCandidatePerChoiceInIndexOrder) {
  GeminiResponseEncoder encoder(options());
  for (const llm::Event& e :
       {llm::Event{llm::TextDelta{1, "Blue, "}}, llm::Event{llm::TextDelta{0, "Red"}},
        llm::Event{llm::TextDelta{1, "gre"}}, llm::Event{llm::Finish{llm::FinishReason::Length, "length", 1}},
        llm::Event{llm::Finish{llm::FinishReason::Stop, "stop", 0}},
        llm::Event{llm::Finish{llm::FinishReason::ContentFilter, "RECITATION", 2}}, llm::Event{llm::End{}}})
    encoder.on_event(e);
  EXPECT_TRUE(json_equal(read_file("response_candidates/client_response.json"), encoder.body(), kVolatile));
}

TEST(GeminiResponseEncoder, NoEventsGivesOneEmptyStopCandidate) {
  GeminiResponseEncoder encoder(options());
  EXPECT_TRUE(json_equal(R"({"candidates":[{"content":{"role":"model"},"finishReason":"STOP","index":0}],
                             "modelVersion":"fallback-model","responseId":"x"})",
                         encoder.body(), kVolatile));
  encoder.on_event(llm::Error{http::ApiError{}});
  EXPECT_TRUE(encoder.failed());
}

// ---------------------------------------------------------------------------------------------
// Chained: an OpenAI upstream decoded into the Gemini encoders

TEST(GeminiClientChain, OpenAiStreamInEverySplit) {
  const auto upstream = read_file("chain_openai_stream/upstream.sse");
  const auto expected = read_file("chain_openai_stream/client.sse");
  auto run = [&](const harness::Split& split) {
    StreamConversion<OpenAiStreamDecoder, GeminiStreamEncoder> stream(
        OpenAiStreamDecoder(), GeminiStreamEncoder(options(), GeminiStreamFraming::Sse));
    std::string out;
    llm::Usage seen;
    std::size_t pos = 0;
    bool ok = true;
    for (std::size_t i = 0; pos < upstream.size() && ok; ++i) {
      const auto size = split.sizes.empty() ? upstream.size() : split.sizes[i % split.sizes.size()];
      ok = stream.feed(std::string_view(upstream).substr(pos, size), out, seen);
      pos += size;
    }
    stream.end(out, seen);
    EXPECT_TRUE(ok) << split.name;
    EXPECT_EQ(seen.prompt_tokens, 18u) << split.name;
    return out;
  };
  const auto whole = run({"whole", {}});
  EXPECT_TRUE(sse_equal(expected, whole, {})) << whole;
  for (const auto& split : harness::standard_splits(upstream.size())) EXPECT_EQ(run(split), whole) << split.name;
}

TEST(GeminiClientChain, OpenAiCompleteResponse) {
  GeminiResponseEncoder encoder(options());
  ASSERT_FALSE(decode_openai_response(read_file("chain_openai_response/upstream_response.json"), encoder).has_value());
  EXPECT_TRUE(json_equal(read_file("chain_openai_response/client_response.json"), encoder.body(), {}));
}

}  // namespace
}  // namespace sluice::translate
