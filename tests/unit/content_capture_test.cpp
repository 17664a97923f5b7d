// The request's and the answer's content for the SERVER span (captureContent): the GenAI
// conventions' message shapes (observe/genai_messages.hpp), what each client API's request says
// (proxy/input_capture.hpp) and what its answer says, complete and streamed
// (proxy/output_capture.hpp): text, reasoning, tool calls and tool results, and the limits.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "observe/genai_messages.hpp"
#include "observe/request_trace.hpp"
#include "proxy/input_capture.hpp"
#include "proxy/output_capture.hpp"

namespace {

namespace json = boost::json;
using sluice::config::CaptureContent;
using sluice::observe::GenAiMessages;
using sluice::observe::RequestTrace;
using sluice::observe::utf8_prefix;
using sluice::proxy::capture_input;
using sluice::proxy::OutputCapture;
using sluice::route::ApiKind;

json::value parsed(const std::string& text) {
  EXPECT_FALSE(text.empty());
  return json::parse(text);
}

TEST(Utf8Prefix, NeverEndsInsideACharacter) {
  const std::string text =
      "ab\xC3\xA9"
      "cd\xE2\x82\xAC";  // "abécd€"
  EXPECT_EQ(utf8_prefix(text, 100), text);
  EXPECT_EQ(utf8_prefix(text, 2), "ab");
  EXPECT_EQ(utf8_prefix(text, 3), "ab");  // inside é
  EXPECT_EQ(utf8_prefix(text, 4), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(text, 7),
            "ab\xC3\xA9"
            "cd");  // inside €
  EXPECT_EQ(utf8_prefix(text, 0), "");
}

TEST(GenAiMessages, FullKeepsContentInTheConventionsShape) {
  GenAiMessages out(true, 1000);
  out.message("assistant");
  out.reasoning("thinking");
  out.text("hello");
  out.tool_call("call_1", "get_weather", std::string_view(R"({"city":"Paris"})"));
  out.finish_reason("tool_calls");
  out.message("tool");
  out.tool_call_response("call_1", std::string_view("sunny"));
  out.message("user");  // no parts: not written
  EXPECT_EQ(parsed(out.serialize()), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"reasoning","content":"thinking"},
      {"type":"text","content":"hello"},
      {"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}],
     "finish_reason":"tool_calls"},
    {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"sunny"}]}])"));
  EXPECT_FALSE(out.truncated());
}

TEST(GenAiMessages, MetadataKeepsTypesAndSizesOnly) {
  GenAiMessages out(false, 1000);
  out.message("assistant");
  out.text("hello");
  out.tool_call("call_1", "secret_tool_name", std::string_view(R"({"a":1})"));
  const auto text = out.serialize();
  EXPECT_EQ(parsed(text), json::parse(R"([{"role":"assistant","parts":[
    {"type":"text","size":5},{"type":"tool_call","size":7}]}])"));
  EXPECT_EQ(text.find("secret_tool_name"), std::string::npos);
  EXPECT_EQ(text.find("call_1"), std::string::npos);
}

TEST(GenAiMessages, ArgumentsThatAreNotJsonOrWereCutStayText) {
  GenAiMessages out(true, 12);
  out.message("assistant");
  out.tool_call("", "f", std::string_view("not json"));
  out.tool_call("", "g", std::string_view(R"({"long":"value"})"));
  const auto v = parsed(out.serialize());
  const auto& parts = v.at(0).at("parts").as_array();
  EXPECT_EQ(parts.at(0).at("arguments"), "not json");
  EXPECT_TRUE(parts.at(0).at("id").is_null());
  EXPECT_EQ(parts.at(1).at("arguments"), "{\"lo");  // the 4 bytes the budget had left
  EXPECT_TRUE(out.truncated());
}

TEST(GenAiMessages, AbsentValuesAreAnEmptyObjectAndNull) {
  GenAiMessages out(true, 1000);
  out.message("assistant");
  out.tool_call("t1", "f", static_cast<const json::value*>(nullptr));
  const json::value null_response;
  out.message("tool");
  out.tool_call_response("t1", &null_response);
  out.tool_call_response("t2", static_cast<const json::value*>(nullptr));
  EXPECT_EQ(parsed(out.serialize()), json::parse(R"([
    {"role":"assistant","parts":[{"type":"tool_call","id":"t1","name":"f","arguments":{}}]},
    {"role":"tool","parts":[{"type":"tool_call_response","id":"t1","response":null},
                            {"type":"tool_call_response","id":"t2","response":null}]}])"));
}

TEST(GenAiMessages, PartLimitAndBudgetAreKept) {
  GenAiMessages out(true, 1 << 20, 4);
  out.message("user");
  out.text("abcdefgh");
  for (std::size_t i = 0; i < GenAiMessages::kMaxParts + 10; ++i) out.text("x");
  const auto v = parsed(out.serialize());
  EXPECT_EQ(v.at(0).at("parts").as_array().size(), GenAiMessages::kMaxParts);
  EXPECT_EQ(v.at(0).at("parts").at(0).at("content"), "abcd");
  EXPECT_TRUE(out.truncated());
}

TEST(InputCapture, OpenAiChatWithToolCallsAndResults) {
  const auto body = json::parse(R"({"model":"m","messages":[
    {"role":"developer","content":"be brief"},
    {"role":"user","content":[{"type":"text","text":"weather in "},{"type":"image_url","image_url":{"url":"http://x"}},{"type":"text","text":"Paris?"}]},
    {"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"call_9","content":"18C"}]})");
  const auto input = capture_input(body.as_object(), ApiKind::ChatCompletions, true);
  EXPECT_TRUE(input.system_instructions.empty());  // in the chat history: a system message
  EXPECT_EQ(parsed(input.messages), json::parse(R"([
    {"role":"system","parts":[{"type":"text","content":"be brief"}]},
    {"role":"user","parts":[{"type":"text","content":"weather in "},{"type":"text","content":"Paris?"}]},
    {"role":"assistant","parts":[{"type":"tool_call","id":"call_9","name":"get_weather","arguments":{"city":"Paris"}}]},
    {"role":"tool","parts":[{"type":"tool_call_response","id":"call_9","response":"18C"}]}])"));
  EXPECT_FALSE(input.truncated);
}

TEST(InputCapture, AnthropicSystemIsTheSystemInstructions) {
  const auto body = json::parse(R"({"model":"m","max_tokens":10,
    "system":[{"type":"text","text":"You are terse."}],
    "messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"use the tool","signature":"s"},
                                     {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"-3C"}]}]}]})");
  const auto input = capture_input(body.as_object(), ApiKind::Messages, true);
  EXPECT_EQ(parsed(input.system_instructions), json::parse(R"([{"type":"text","content":"You are terse."}])"));
  EXPECT_EQ(parsed(input.messages), json::parse(R"([
    {"role":"user","parts":[{"type":"text","content":"weather?"}]},
    {"role":"assistant","parts":[{"type":"reasoning","content":"use the tool"},
                                 {"type":"tool_call","id":"toolu_1","name":"get_weather","arguments":{"city":"Oslo"}}]},
    {"role":"user","parts":[{"type":"tool_call_response","id":"toolu_1","response":"-3C"}]}])"));
}

TEST(InputCapture, ResponsesInstructionsAndItems) {
  const auto body = json::parse(R"({"model":"m","instructions":"Answer in French.","input":[
    {"role":"user","content":[{"type":"input_text","text":"Hi"}]},
    {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"greet back"}]},
    {"type":"function_call","call_id":"fc_1","name":"lookup","arguments":"{\"q\":1}"},
    {"type":"function_call_output","call_id":"fc_1","output":"found"}]})");
  const auto input = capture_input(body.as_object(), ApiKind::Responses, true);
  EXPECT_EQ(parsed(input.system_instructions), json::parse(R"([{"type":"text","content":"Answer in French."}])"));
  EXPECT_EQ(parsed(input.messages), json::parse(R"([
    {"role":"user","parts":[{"type":"text","content":"Hi"}]},
    {"role":"assistant","parts":[{"type":"reasoning","content":"greet back"}]},
    {"role":"assistant","parts":[{"type":"tool_call","id":"fc_1","name":"lookup","arguments":{"q":1}}]},
    {"role":"tool","parts":[{"type":"tool_call_response","id":"fc_1","response":"found"}]}])"));
  const auto plain = capture_input(json::parse(R"({"input":"just text"})").as_object(), ApiKind::Responses, true);
  EXPECT_EQ(parsed(plain.messages),
            json::parse(R"([{"role":"user","parts":[{"type":"text","content":"just text"}]}])"));
}

TEST(InputCapture, GeminiContentsAndSystemInstruction) {
  const auto body = json::parse(R"({"systemInstruction":{"parts":[{"text":"Be exact."}]},"contents":[
    {"role":"user","parts":[{"text":"2+2?"}]},
    {"role":"model","parts":[{"text":"adding","thought":true},{"functionCall":{"name":"calc","args":{"expr":"2+2"}}}]},
    {"role":"user","parts":[{"functionResponse":{"name":"calc","response":{"result":4}}}]}]})");
  const auto input = capture_input(body.as_object(), ApiKind::GeminiGenerate, true);
  EXPECT_EQ(parsed(input.system_instructions), json::parse(R"([{"type":"text","content":"Be exact."}])"));
  EXPECT_EQ(parsed(input.messages), json::parse(R"([
    {"role":"user","parts":[{"type":"text","content":"2+2?"}]},
    {"role":"assistant","parts":[{"type":"reasoning","content":"adding"},
                                 {"type":"tool_call","id":null,"name":"calc","arguments":{"expr":"2+2"}}]},
    {"role":"user","parts":[{"type":"tool_call_response","id":null,"response":{"result":4}}]}])"));
}

TEST(InputCapture, MetadataHasNoContent) {
  const auto body = json::parse(R"({"system":"SECRET-SYS","messages":[{"role":"user","content":"SECRET-TEXT"}]})");
  const auto input = capture_input(body.as_object(), ApiKind::Messages, false);
  EXPECT_EQ(parsed(input.system_instructions), json::parse(R"([{"type":"text","size":10}])"));
  EXPECT_EQ(parsed(input.messages), json::parse(R"([{"role":"user","parts":[{"type":"text","size":11}]}])"));
  EXPECT_EQ((input.system_instructions + input.messages).find("SECRET"), std::string::npos);
}

TEST(InputCapture, PastTheBudgetTheOldestMessagesAreDropped) {
  json::array messages;
  const std::string big(10 * 1024, 'o');
  for (int i = 0; i < 10; ++i) messages.push_back(json::object{{"role", "user"}, {"content", big}});
  messages.push_back(json::object{{"role", "user"}, {"content", "the newest"}});
  json::object body{{"messages", messages}};
  const auto input = capture_input(body, ApiKind::ChatCompletions, true);
  const auto v = parsed(input.messages);
  EXPECT_TRUE(input.truncated);
  EXPECT_LE(input.messages.size(), sluice::proxy::kMaxCapturedInput + 4096);
  EXPECT_EQ(v.as_array().back().at("parts").at(0).at("content"), "the newest");
  EXPECT_LT(v.as_array().size(), 11u);
}

class OutputCaptureTest : public ::testing::Test {
 protected:
  json::value capture(ApiKind api, const std::string& content_type, const std::string& body,
                      CaptureContent mode = CaptureContent::Full) {
    trace_ = RequestTrace{};
    trace_.capture = mode;
    OutputCapture capture(trace_, api, nullptr);
    capture.begin(200, content_type);
    // Fed in small pieces, as a stream arrives.
    for (std::size_t i = 0; i < body.size(); i += 7) capture.body(std::string_view(body).substr(i, 7));
    capture.end(true);
    return parsed(trace_.output_messages);
  }
  RequestTrace trace_;
};

TEST_F(OutputCaptureTest, OpenAiStreamedToolCallsAreAssembledByIndex) {
  const std::string stream =
      R"(data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":""}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"
      "\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(capture(ApiKind::ChatCompletions, "text/event-stream", stream), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"tool_call","id":"call_a","name":"f","arguments":{"x":1}},
      {"type":"tool_call","id":"call_b","name":"g","arguments":{}}],
     "finish_reason":"tool_calls"}])"));
}

TEST_F(OutputCaptureTest, OpenAiCompleteReplyWithReasoningAndToolCall) {
  const std::string reply = R"({"choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.",
    "reasoning_content":"need data","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":true}"}}]},
    "finish_reason":"tool_calls"}]})";
  EXPECT_EQ(capture(ApiKind::ChatCompletions, "application/json", reply), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"reasoning","content":"need data"},
      {"type":"text","content":"Let me check."},
      {"type":"tool_call","id":"c1","name":"f","arguments":{"a":true}}],
     "finish_reason":"tool_calls"}])"));
}

TEST_F(OutputCaptureTest, AnthropicStreamWithThinkingAndToolUse) {
  const std::string stream =
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"
      "\n\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}})"
      "\n\n"
      R"(data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"
      "\n\n"
      R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking."}})"
      "\n\n"
      R"(data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_7","name":"get","input":{}}})"
      "\n\n"
      R"(data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"k\":"}})"
      "\n\n"
      R"(data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"v\"}"}})"
      "\n\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}})"
      "\n\n";
  EXPECT_EQ(capture(ApiKind::Messages, "text/event-stream", stream), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"reasoning","content":"hmm"},
      {"type":"text","content":"Checking."},
      {"type":"tool_call","id":"toolu_7","name":"get","arguments":{"k":"v"}}],
     "finish_reason":"tool_use"}])"));
}

TEST_F(OutputCaptureTest, AnthropicCompleteReplyWithToolUse) {
  const std::string reply = R"({"type":"message","role":"assistant","content":[
    {"type":"tool_use","id":"toolu_1","name":"get","input":{"k":[1,2]}}],"stop_reason":"tool_use"})";
  EXPECT_EQ(capture(ApiKind::Messages, "application/json", reply), json::parse(R"([
    {"role":"assistant","parts":[{"type":"tool_call","id":"toolu_1","name":"get","arguments":{"k":[1,2]}}],
     "finish_reason":"tool_use"}])"));
}

TEST_F(OutputCaptureTest, ResponsesStreamFunctionCallAndReasoningSummary) {
  const std::string stream =
      "event: response.reasoning_summary_text.delta\n"
      R"(data: {"type":"response.reasoning_summary_text.delta","delta":"plan"})"
      "\n\n"
      R"(data: {"type":"response.output_text.delta","delta":"Calling."})"
      "\n\n"
      R"(data: {"type":"response.function_call_arguments.delta","delta":"{\"q\""})"
      "\n\n"
      R"(data: {"type":"response.output_item.done","item":{"type":"function_call","call_id":"fc_2","name":"search","arguments":"{\"q\":\"x\"}"}})"
      "\n\n"
      R"(data: {"type":"response.completed","response":{"status":"completed","output":[{"type":"function_call","call_id":"fc_2","name":"search","arguments":"{\"q\":\"x\"}"}]}})"
      "\n\n";
  EXPECT_EQ(capture(ApiKind::Responses, "text/event-stream", stream), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"reasoning","content":"plan"},
      {"type":"text","content":"Calling."},
      {"type":"tool_call","id":"fc_2","name":"search","arguments":{"q":"x"}}],
     "finish_reason":"completed"}])"));
}

TEST_F(OutputCaptureTest, GeminiJsonArrayStreamWithFunctionCall) {
  const std::string chunks = R"([{"candidates":[{"content":{"role":"model","parts":[{"text":"why","thought":true}]}}]},
    {"candidates":[{"content":{"role":"model","parts":[{"text":"Sure. "}]}}]},
    {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"calc","args":{"n":2}}}]},"finishReason":"STOP"}]}])";
  EXPECT_EQ(capture(ApiKind::GeminiGenerate, "application/json", chunks), json::parse(R"([
    {"role":"assistant","parts":[
      {"type":"reasoning","content":"why"},
      {"type":"text","content":"Sure. "},
      {"type":"tool_call","id":null,"name":"calc","arguments":{"n":2}}],
     "finish_reason":"STOP"}])"));
}

TEST_F(OutputCaptureTest, MetadataGivesSizesOfEveryPart) {
  const std::string reply = R"({"choices":[{"index":0,"message":{"role":"assistant","content":"abc",
    "tool_calls":[{"id":"c1","type":"function","function":{"name":"hidden_name","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})";
  EXPECT_EQ(capture(ApiKind::ChatCompletions, "application/json", reply, CaptureContent::Metadata), json::parse(R"([
    {"role":"assistant","parts":[{"type":"text","size":3},{"type":"tool_call","size":2}],"finish_reason":"tool_calls"}])"));
  EXPECT_EQ(trace_.output_messages.find("hidden_name"), std::string::npos);
}

TEST_F(OutputCaptureTest, ContentIsBoundedOverTextAndToolArguments) {
  std::string stream;
  const std::string piece(1000, 'a');
  for (int i = 0; i < 40; ++i) stream += R"(data: {"choices":[{"index":0,"delta":{"content":")" + piece + "\"}}]}\n\n";
  for (int i = 0; i < 40; ++i)
    stream += R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":)" + std::to_string(i) +
              R"(,"id":"c","function":{"name":"f","arguments":")" + piece + "\"}}]}}]}\n\n";
  const auto v = capture(ApiKind::ChatCompletions, "text/event-stream", stream);
  EXPECT_TRUE(trace_.output_truncated);
  std::size_t kept = 0;
  for (const auto& part : v.at(0).at("parts").as_array()) {
    if (const auto* content = part.as_object().if_contains("content")) kept += content->as_string().size();
    if (const auto* arguments = part.as_object().if_contains("arguments"))
      kept += arguments->is_string() ? arguments->as_string().size() : json::serialize(*arguments).size();
  }
  EXPECT_LE(kept, OutputCapture::kMaxCapturedText);
  EXPECT_GT(kept, OutputCapture::kMaxCapturedText - 2000);
}

TEST_F(OutputCaptureTest, AnErrorAnswerIsNotCaptured) {
  trace_ = RequestTrace{};
  trace_.capture = CaptureContent::Full;
  OutputCapture capture(trace_, ApiKind::ChatCompletions, nullptr);
  capture.begin(500, "application/json");
  capture.body(R"({"error":{"message":"boom"}})");
  capture.end(true);
  EXPECT_TRUE(trace_.output_messages.empty());
}

}  // namespace
