// llm::RequestView: one view of OpenAI chat, OpenAI embeddings, Anthropic Messages, OpenAI
// Responses API and Gemini (generateContent, countTokens, embedContent) requests.
// Each schema: fields read, a text rewritten in place, a default set only when missing, tool
// calls and tool results visible, and the canonical form stable under irrelevant differences.
#include "llm/request_view.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace sluice::llm {
namespace {

namespace json = boost::json;

json::object parse(std::string_view text) {
  return json::parse(text).as_object();
}

const char* kOpenAiChat = R"({
  "model": "gpt-4o", "stream": true, "temperature": 0.2, "max_completion_tokens": 50, "stop": "END",
  "messages": [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "call 555-1234"},
                                 {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
    {"role": "assistant", "content": null,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "dial", "arguments": "{\"n\":\"555-1234\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "dialed 555-1234"}
  ],
  "tools": [{"type": "function", "function": {"name": "dial", "description": "Dial", "parameters": {"type": "object"}}}]
})";

const char* kAnthropic = R"({
  "model": "claude-sonnet-4-5", "max_tokens": 100, "stop_sequences": ["END"],
  "system": [{"type": "text", "text": "be brief"}, {"type": "text", "text": "be kind"}],
  "messages": [
    {"role": "user", "content": "call 555-1234"},
    {"role": "assistant", "content": [{"type": "text", "text": "dialing"},
                                      {"type": "tool_use", "id": "toolu_1", "name": "dial", "input": {"n": "555-1234"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                  "content": [{"type": "text", "text": "dialed 555-1234"}]},
                                 {"type": "text", "text": "thanks"}]}
  ],
  "tools": [{"name": "dial", "description": "Dial", "input_schema": {"type": "object"}}]
})";

std::vector<TextKind> kinds(const RequestView& view) {
  std::vector<TextKind> out;
  view.visit_text([&out](const TextSpan& span) { out.push_back(span.kind); });
  return out;
}

std::optional<std::string> redact(const TextSpan& span) {
  std::string text(span.text);
  const auto at = text.find("555-1234");
  if (at == std::string::npos) return std::nullopt;
  text.replace(at, 8, "[phone]");
  return text;
}

TEST(RequestViewOpenAiChat, ReadsModelStreamSystemMessagesToolCallsAndTools) {
  auto body = parse(kOpenAiChat);
  RequestView view(Schema::OpenAIChat, body);
  EXPECT_EQ(view.model(), "gpt-4o");
  EXPECT_TRUE(view.stream());
  EXPECT_EQ(view.system_text(), "be brief");
  const auto messages = view.messages();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1].text, "call 555-1234");
  EXPECT_EQ(messages[1].other_parts.size(), 1u);
  ASSERT_EQ(messages[2].tool_calls.size(), 1u);
  EXPECT_EQ(messages[2].tool_calls[0].id, "call_1");
  EXPECT_EQ(messages[2].tool_calls[0].name, "dial");
  EXPECT_EQ(messages[2].tool_calls[0].arguments, R"({"n":"555-1234"})");
  EXPECT_EQ(messages[3].role, "tool");
  EXPECT_EQ(messages[3].tool_call_id, "call_1");
  EXPECT_EQ(messages[3].text, "dialed 555-1234");
  const auto tools = view.tools();
  ASSERT_EQ(tools.size(), 1u);
  EXPECT_EQ(tools[0].name, "dial");
  ASSERT_NE(tools[0].parameters, nullptr);
  EXPECT_EQ(kinds(view),
            (std::vector<TextKind>{TextKind::System, TextKind::Message, TextKind::ToolCall, TextKind::ToolResult}));
  ASSERT_NE(view.param(Param::MaxTokens), nullptr);
  EXPECT_EQ(view.param(Param::MaxTokens)->as_int64(), 50);  // max_completion_tokens
  EXPECT_EQ(view.param(Param::Stop)->as_string(), "END");
}

TEST(RequestViewOpenAiChat, RewritesEveryTextSpanInPlaceIncludingToolCallsAndResults) {
  auto body = parse(kOpenAiChat);
  RequestView view(Schema::OpenAIChat, body);
  EXPECT_EQ(view.for_each_text(redact), 3u);
  const auto& messages = body.at("messages").as_array();
  EXPECT_EQ(messages[1].at("content").as_array()[0].at("text").as_string(), "call [phone]");
  EXPECT_EQ(messages[2].at("tool_calls").as_array()[0].at("function").at("arguments").as_string(),
            R"({"n":"[phone]"})");
  EXPECT_EQ(messages[3].at("content").as_string(), "dialed [phone]");
  EXPECT_EQ(messages[1].at("content").as_array()[1].at("type").as_string(), "image_url");
}

TEST(RequestViewOpenAiChat, SetDefaultFillsOnlyMissingParameters) {
  auto body = parse(kOpenAiChat);
  RequestView view(Schema::OpenAIChat, body);
  EXPECT_FALSE(view.set_default(Param::Temperature, 0.9));
  EXPECT_EQ(body.at("temperature").as_double(), 0.2);
  EXPECT_FALSE(view.set_default(Param::MaxTokens, 10));  // max_completion_tokens is set
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_TRUE(view.set_default(Param::TopP, 0.5));
  EXPECT_EQ(body.at("top_p").as_double(), 0.5);

  auto bare = parse(R"({"model":"m","messages":[],"max_tokens":null})");
  RequestView bare_view(Schema::OpenAIChat, bare);
  EXPECT_TRUE(bare_view.set_default(Param::MaxTokens, 64));
  EXPECT_EQ(bare.at("max_tokens").as_int64(), 64);
  bare_view.set_model("other");
  EXPECT_EQ(bare.at("model").as_string(), "other");
}

TEST(RequestViewAddMessage, SystemGoesWhereEachSchemaKeepsIt) {
  auto openai = parse(R"({"model":"m","messages":[{"role":"user","content":"q"}]})");
  RequestView chat(Schema::OpenAIChat, openai);
  EXPECT_TRUE(chat.add_message("system", "first", true));
  EXPECT_TRUE(chat.add_message("user", "last", false));
  EXPECT_EQ(json::serialize(openai.at("messages")),
            R"([{"role":"system","content":"first"},{"role":"user","content":"q"},{"role":"user","content":"last"}])");

  auto text = parse(R"({"model":"m","system":"keep","messages":[]})");
  RequestView anthropic(Schema::AnthropicMessages, text);
  EXPECT_TRUE(anthropic.add_message("system", "before", true));
  EXPECT_TRUE(anthropic.add_message("system", "after", false));
  EXPECT_EQ(text.at("system").as_string(), "before\n\nkeep\n\nafter");
  EXPECT_TRUE(text.at("messages").as_array().empty()) << "no system message in an Anthropic conversation";

  auto blocks = parse(R"({"model":"m","system":[{"type":"text","text":"keep","cache_control":{"type":"ephemeral"}}]})");
  RequestView with_blocks(Schema::AnthropicMessages, blocks);
  EXPECT_TRUE(with_blocks.add_message("system", "before", true));
  EXPECT_EQ(json::serialize(blocks.at("system")),
            R"([{"type":"text","text":"before"},{"type":"text","text":"keep","cache_control":{"type":"ephemeral"}}])");

  auto none = parse(R"({"model":"m","messages":[]})");
  RequestView bare(Schema::AnthropicMessages, none);
  EXPECT_TRUE(bare.add_message("system", "only", true));
  EXPECT_EQ(none.at("system").as_string(), "only");

  auto embeddings = parse(R"({"model":"m","input":"x"})");
  RequestView embed(Schema::OpenAIEmbeddings, embeddings);
  EXPECT_FALSE(embed.add_message("user", "x", false));
  EXPECT_FALSE(embeddings.contains("messages"));
}

TEST(RequestViewAnthropic, ReadsSystemBlocksToolUseAndToolResults) {
  auto body = parse(kAnthropic);
  RequestView view(Schema::AnthropicMessages, body);
  EXPECT_EQ(view.model(), "claude-sonnet-4-5");
  EXPECT_FALSE(view.stream());
  EXPECT_EQ(view.system_text(), "be brief\nbe kind");
  const auto messages = view.messages();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].text, "call 555-1234");
  EXPECT_EQ(messages[1].text, "dialing");
  ASSERT_EQ(messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(messages[1].tool_calls[0].id, "toolu_1");
  EXPECT_EQ(messages[1].tool_calls[0].arguments, R"({"n":"555-1234"})");
  EXPECT_EQ(messages[2].role, "tool");  // the tool_result, ahead of the rest of its turn
  EXPECT_EQ(messages[2].tool_call_id, "toolu_1");
  EXPECT_EQ(messages[2].text, "dialed 555-1234");
  EXPECT_EQ(messages[3].text, "thanks");
  EXPECT_EQ(kinds(view),
            (std::vector<TextKind>{TextKind::System, TextKind::System, TextKind::Message, TextKind::Message,
                                   TextKind::ToolCall, TextKind::ToolResult, TextKind::Message}));
  ASSERT_EQ(view.tools().size(), 1u);
  EXPECT_EQ(view.tools()[0].name, "dial");
  EXPECT_EQ(view.param(Param::Stop)->as_array().size(), 1u);
}

TEST(RequestViewAnthropic, RewritesTextToolInputAndToolResultAndRejectsNonObjectInput) {
  auto body = parse(kAnthropic);
  RequestView view(Schema::AnthropicMessages, body);
  EXPECT_EQ(view.for_each_text(redact), 3u);
  const auto& messages = body.at("messages").as_array();
  EXPECT_EQ(messages[0].at("content").as_string(), "call [phone]");
  EXPECT_EQ(messages[1].at("content").as_array()[1].at("input").at("n").as_string(), "[phone]");
  EXPECT_EQ(messages[2].at("content").as_array()[0].at("content").as_array()[0].at("text").as_string(),
            "dialed [phone]");

  const auto before = json::serialize(body);
  const auto replaced = view.for_each_text([](const TextSpan& span) -> std::optional<std::string> {
    if (span.kind == TextKind::ToolCall) return std::string("not json");
    return std::nullopt;
  });
  EXPECT_EQ(replaced, 0u);
  EXPECT_EQ(json::serialize(body), before);
}

TEST(RequestViewAnthropic, SetDefaultUsesAnthropicNames) {
  auto body = parse(R"({"model":"m","messages":[]})");
  RequestView view(Schema::AnthropicMessages, body);
  EXPECT_TRUE(view.set_default(Param::MaxTokens, 1024));
  EXPECT_TRUE(view.set_default(Param::Stop, json::array{"x"}));
  EXPECT_FALSE(view.set_default(Param::MaxTokens, 5));
  EXPECT_EQ(body.at("max_tokens").as_int64(), 1024);
  EXPECT_EQ(body.at("stop_sequences").as_array().size(), 1u);
}

TEST(RequestViewEmbeddings, ReadsAndRewritesInputsAndHasNoSamplingParameters) {
  auto body = parse(R"({"model":"text-embedding-3-small","input":["a 555-1234","b",[1,2]]})");
  RequestView view(Schema::OpenAIEmbeddings, body);
  std::vector<std::string> texts;
  view.visit_text([&texts](const TextSpan& span) {
    EXPECT_EQ(span.kind, TextKind::Input);
    texts.emplace_back(span.text);
  });
  EXPECT_EQ(texts, (std::vector<std::string>{"a 555-1234", "b"}));
  EXPECT_EQ(view.for_each_text(redact), 1u);
  EXPECT_EQ(body.at("input").as_array()[0].as_string(), "a [phone]");
  EXPECT_TRUE(view.messages().empty());
  EXPECT_FALSE(view.set_default(Param::Temperature, 1));
  EXPECT_EQ(view.param(Param::Temperature), nullptr);

  auto single = parse(R"({"model":"m","input":"one"})");
  RequestView single_view(Schema::OpenAIEmbeddings, single);
  EXPECT_EQ(single_view.for_each_text([](const TextSpan&) { return std::optional<std::string>("two"); }), 1u);
  EXPECT_EQ(single.at("input").as_string(), "two");
}

TEST(RequestViewCanonicalForm, IgnoresStreamUserAndKeyOrderButSeesEveryAnswerChangingField) {
  auto a = parse(R"({"model":"m","stream":true,"user":"u1","temperature":1,"stop":"x","seed":3,"n":1,
                     "messages":[{"role":"user","content":"hi"}]})");
  auto b = parse(R"({"n":1,"seed":3,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],
                     "stop":["x"],"temperature":1.0,"model":"m"})");
  auto c = parse(R"({"model":"m","temperature":1,"stop":"x","seed":4,"n":1,
                     "messages":[{"role":"user","content":"hi"}]})");
  auto d = parse(R"({"model":"m","temperature":1,"stop":"x","seed":3,"n":1,
                     "messages":[{"role":"user","content":[{"type":"text","text":"hi"},
                                 {"type":"image_url","image_url":{"url":"https://x"}}]}]})");
  const auto key = [](json::object& body) { return RequestView(Schema::OpenAIChat, body).canonical_form(); };
  EXPECT_EQ(key(a), key(b));
  EXPECT_NE(key(a), key(c));  // seed changes the answer
  EXPECT_NE(key(a), key(d));  // an image does too
}

const char* kResponses = R"({
  "model": "gpt-5", "stream": true, "temperature": 0.3, "max_output_tokens": 64, "instructions": "be brief",
  "input": [
    {"role": "developer", "content": "no jokes"},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "call 555-1234"},
                                                     {"type": "input_image", "image_url": "https://x/y.png"}]},
    {"type": "function_call", "call_id": "call_1", "name": "dial", "arguments": "{\"n\":\"555-1234\"}"},
    {"type": "function_call", "call_id": "call_2", "name": "log", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "dialed 555-1234"},
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {"role": "assistant", "content": [{"type": "output_text", "text": "done"}]}
  ],
  "tools": [{"type": "function", "name": "dial", "description": "Dial", "parameters": {"type": "object"}},
            {"type": "web_search"}],
  "metadata": {"trace": "1"}
})";

TEST(RequestViewResponses, ReadsInstructionsInputItemsToolCallsResultsAndTools) {
  auto body = parse(kResponses);
  RequestView view(Schema::OpenAIResponses, body);
  EXPECT_EQ(view.model(), "gpt-5");
  EXPECT_TRUE(view.stream());
  EXPECT_EQ(view.system_text(), "be brief\nno jokes");
  const auto messages = view.messages();
  ASSERT_EQ(messages.size(), 5u);
  EXPECT_EQ(messages[0].role, "developer");
  EXPECT_EQ(messages[1].role, "user");
  EXPECT_EQ(messages[1].text, "call 555-1234");
  EXPECT_EQ(messages[1].other_parts.size(), 1u);
  EXPECT_EQ(messages[2].role, "assistant");
  ASSERT_EQ(messages[2].tool_calls.size(), 2u) << "function calls in a row are one assistant turn";
  EXPECT_EQ(messages[2].tool_calls[0].id, "call_1");
  EXPECT_EQ(messages[2].tool_calls[1].name, "log");
  EXPECT_EQ(messages[3].role, "tool");
  EXPECT_EQ(messages[3].tool_call_id, "call_1");
  EXPECT_EQ(messages[3].text, "dialed 555-1234");
  EXPECT_EQ(messages[4].text, "done");
  const auto tools = view.tools();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].name, "dial");
  ASSERT_NE(tools[0].parameters, nullptr);
  EXPECT_EQ(tools[1].name, "web_search");
  EXPECT_EQ(kinds(view),
            (std::vector<TextKind>{TextKind::System, TextKind::System, TextKind::Message, TextKind::ToolCall,
                                   TextKind::ToolCall, TextKind::ToolResult, TextKind::Message}));
}

TEST(RequestViewResponses, RewritesInputTextToolArgumentsAndOutputs) {
  auto body = parse(kResponses);
  RequestView view(Schema::OpenAIResponses, body);
  EXPECT_EQ(view.for_each_text(redact), 3u);
  const auto text = json::serialize(body);
  EXPECT_EQ(text.find("555-1234"), std::string::npos) << text;
  EXPECT_NE(text.find("\"call [phone]\""), std::string::npos) << text;
  EXPECT_NE(text.find("dialed [phone]"), std::string::npos) << text;
}

TEST(RequestViewResponses, AStringInputIsOneUserMessageAndParametersUseResponsesNames) {
  auto body = parse(R"({"model":"gpt-5","input":"call 555-1234"})");
  RequestView view(Schema::OpenAIResponses, body);
  ASSERT_EQ(view.messages().size(), 1u);
  EXPECT_EQ(view.messages()[0].role, "user");
  EXPECT_EQ(view.for_each_text(redact), 1u);
  EXPECT_EQ(body.at("input").as_string(), "call [phone]");
  EXPECT_TRUE(view.set_default(Param::MaxTokens, json::value(100)));
  EXPECT_EQ(body.at("max_output_tokens").as_int64(), 100);
  EXPECT_EQ(view.param(Param::Stop), nullptr);
  EXPECT_FALSE(view.set_param(Param::Stop, json::value("x")));
  // A system message goes into instructions; another role turns the string input into items.
  EXPECT_TRUE(view.add_message("system", "be brief", true));
  EXPECT_EQ(body.at("instructions").as_string(), "be brief");
  EXPECT_TRUE(view.add_message("user", "context", true));
  const auto& items = body.at("input").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("content").as_string(), "context");
  EXPECT_EQ(items[1].at("content").as_string(), "call [phone]");
  EXPECT_EQ(view.system_text(), "be brief");
}

TEST(RequestViewResponses, CanonicalFormSeesInstructionsAndMaxOutputTokensButNotMetadata) {
  auto a = parse(R"({"model":"m","input":"hi","instructions":"x","max_output_tokens":5,"metadata":{"k":1}})");
  auto b = parse(R"({"max_output_tokens":5,"instructions":"x","input":"hi","model":"m","stream":true})");
  auto c = parse(R"({"model":"m","input":"hi","instructions":"y","max_output_tokens":5})");
  auto d = parse(R"({"model":"m","input":"hi","instructions":"x","max_output_tokens":6})");
  const auto form = [](json::object& body) { return RequestView(Schema::OpenAIResponses, body).canonical_form(); };
  EXPECT_EQ(form(a), form(b));
  EXPECT_NE(form(a), form(c));
  EXPECT_NE(form(a), form(d));
  EXPECT_NE(form(a), RequestView(Schema::OpenAIChat, a).canonical_form());
}

const char* kGemini = R"({
  "systemInstruction": {"parts": [{"text": "be brief"}, {"text": "be kind"}]},
  "contents": [
    {"role": "user", "parts": [{"text": "call 555-1234"}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
    {"role": "model", "parts": [{"text": "thinking about 555-1234", "thought": true},
                                {"functionCall": {"name": "dial", "args": {"n": "555-1234"}}, "thoughtSignature": "c2ln"}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "dial", "response": {"result": "dialed 555-1234"}}},
                               {"text": "thanks"}]}
  ],
  "tools": [{"functionDeclarations": [{"name": "dial", "description": "Dial", "parametersJsonSchema": {"type": "object"}}]},
            {"googleSearch": {}}],
  "generationConfig": {"temperature": 0.3, "maxOutputTokens": 64, "stopSequences": ["END"]}
})";

TEST(RequestViewGemini, ReadsPathModelSystemContentsFunctionCallsResultsAndTools) {
  auto body = parse(kGemini);
  RequestView view(Schema::GeminiGenerate, body, PathFacts{"gemini-2.5-flash", true});
  EXPECT_EQ(view.model(), "gemini-2.5-flash");
  EXPECT_TRUE(view.stream());
  EXPECT_EQ(view.system_text(), "be brief\nbe kind");
  const auto messages = view.messages();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].role, "user");
  EXPECT_EQ(messages[0].text, "call 555-1234");
  EXPECT_EQ(messages[0].other_parts.size(), 1u);
  EXPECT_EQ(messages[1].role, "assistant");
  EXPECT_EQ(messages[1].text, "") << "a thought part is not the model's text";
  ASSERT_EQ(messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(messages[1].tool_calls[0].id, "dial");
  EXPECT_EQ(messages[1].tool_calls[0].arguments, R"({"n":"555-1234"})");
  EXPECT_EQ(messages[2].role, "tool");
  EXPECT_EQ(messages[2].tool_call_id, "dial");
  EXPECT_EQ(messages[2].text, R"({"result":"dialed 555-1234"})");
  EXPECT_EQ(messages[3].text, "thanks");
  const auto tools = view.tools();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].name, "dial");
  ASSERT_NE(tools[0].parameters, nullptr);
  EXPECT_EQ(tools[1].name, "googleSearch");
  EXPECT_EQ(kinds(view), (std::vector<TextKind>{TextKind::System, TextKind::System, TextKind::Message,
                                                TextKind::ToolCall, TextKind::ToolResult, TextKind::Message}));
  ASSERT_NE(view.param(Param::Temperature), nullptr);
  EXPECT_EQ(view.param(Param::MaxTokens)->as_int64(), 64);
  EXPECT_EQ(view.param(Param::Stop)->as_array().size(), 1u);
  EXPECT_EQ(view.param(Param::TopP), nullptr);
}

TEST(RequestViewGemini, RewritesTextFunctionArgsAndResponsesButNotThoughts) {
  auto body = parse(kGemini);
  RequestView view(Schema::GeminiGenerate, body, PathFacts{"gemini-2.5-flash", false});
  EXPECT_EQ(view.for_each_text(redact), 3u);
  const auto text = json::serialize(body);
  EXPECT_NE(text.find(R"("text":"call [phone]")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("args":{"n":"[phone]"})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("response":{"result":"dialed [phone]"})"), std::string::npos) << text;
  EXPECT_NE(text.find("thinking about 555-1234"), std::string::npos) << "signed thoughts are left as they are";
  EXPECT_NE(text.find(R"("thoughtSignature":"c2ln")"), std::string::npos) << text;
}

TEST(RequestViewGemini, ParametersLiveInGenerationConfigCreatedWhenMissing) {
  auto body = parse(R"({"contents":[{"parts":[{"text":"hi"}]}]})");
  RequestView view(Schema::GeminiGenerate, body, PathFacts{"m", false});
  EXPECT_EQ(view.param(Param::MaxTokens), nullptr);
  EXPECT_TRUE(view.set_default(Param::MaxTokens, json::value(100)));
  EXPECT_TRUE(view.set_default(Param::TopP, json::value(0.5)));
  EXPECT_EQ(body.at("generationConfig").at("maxOutputTokens").as_int64(), 100);
  EXPECT_EQ(body.at("generationConfig").at("topP").as_double(), 0.5);
  EXPECT_FALSE(view.set_default(Param::MaxTokens, json::value(7))) << "already set";
  EXPECT_TRUE(view.set_param(Param::Stop, json::value(json::array{"END"})));
  EXPECT_EQ(body.at("generationConfig").at("stopSequences").as_array().size(), 1u);
  EXPECT_FALSE(body.contains("maxOutputTokens")) << "never at the top level";
  // A generationConfig of another kind is left alone.
  auto odd = parse(R"({"contents":[],"generationConfig":"x"})");
  RequestView odd_view(Schema::GeminiGenerate, odd, PathFacts{"m", false});
  EXPECT_FALSE(odd_view.set_param(Param::Temperature, json::value(1)));
  EXPECT_EQ(odd.at("generationConfig").as_string(), "x");
}

TEST(RequestViewGemini, AddMessageUsesSystemInstructionPartsAndModelRole) {
  auto body = parse(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})");
  RequestView view(Schema::GeminiGenerate, body, PathFacts{"m", false});
  EXPECT_TRUE(view.add_message("system", "be brief", true));
  EXPECT_TRUE(view.add_message("system", "be kind", false));
  EXPECT_EQ(view.system_text(), "be brief\nbe kind");
  EXPECT_TRUE(view.add_message("assistant", "earlier answer", true));
  const auto& contents = body.at("contents").as_array();
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0].at("role").as_string(), "model");
  EXPECT_EQ(contents[0].at("parts").at(0).at("text").as_string(), "earlier answer");
  // A string systemInstruction is joined as a string.
  auto plain = parse(R"({"systemInstruction":"be brief","contents":[]})");
  RequestView plain_view(Schema::GeminiGenerate, plain, PathFacts{"m", false});
  EXPECT_TRUE(plain_view.add_message("system", "policy", true));
  EXPECT_EQ(plain.at("systemInstruction").as_string(), "policy\n\nbe brief");
}

TEST(RequestViewGemini, CountTokensIsReadThroughGenerateContentRequestAndSetModelRenamesIt) {
  auto body = parse(
      R"({"generateContentRequest":{"model":"models/fast","contents":[{"role":"user","parts":[{"text":"call 555-1234"}]}],
                        "generationConfig":{"temperature":0.1}}})");
  RequestView view(Schema::GeminiGenerate, body, PathFacts{"fast", false});
  EXPECT_EQ(view.messages().size(), 1u);
  EXPECT_EQ(view.for_each_text(redact), 1u);
  ASSERT_NE(view.param(Param::Temperature), nullptr);
  view.set_model("gemini-2.5-pro");
  EXPECT_EQ(view.model(), "gemini-2.5-pro");
  EXPECT_EQ(body.at("generateContentRequest").at("model").as_string(), "models/gemini-2.5-pro");
  EXPECT_FALSE(body.contains("model")) << "the model is the path's";
}

TEST(RequestViewGeminiEmbed, ReadsAndRewritesEmbedAndBatchInputs) {
  auto single =
      parse(R"({"content":{"parts":[{"text":"call 555-1234"},{"text":"again"}]},"taskType":"RETRIEVAL_QUERY"})");
  RequestView one(Schema::GeminiEmbed, single, PathFacts{"text-embedding-004", false});
  EXPECT_EQ(kinds(one), (std::vector<TextKind>{TextKind::Input, TextKind::Input}));
  EXPECT_EQ(one.for_each_text(redact), 1u);
  EXPECT_EQ(single.at("content").at("parts").at(0).at("text").as_string(), "call [phone]");
  EXPECT_TRUE(one.messages().empty());
  EXPECT_FALSE(one.add_message("system", "x", true));
  EXPECT_FALSE(one.set_default(Param::MaxTokens, json::value(1)));

  auto batch = parse(R"({"requests":[{"model":"models/e","content":{"parts":[{"text":"a"}]}},
                                     {"model":"models/e","content":{"parts":[{"text":"555-1234"}]}}]})");
  RequestView many(Schema::GeminiEmbed, batch, PathFacts{"e", false});
  std::vector<std::size_t> indexes;
  many.visit_text([&](const TextSpan& span) { indexes.push_back(span.message); });
  EXPECT_EQ(indexes, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(many.for_each_text(redact), 1u);
  many.set_model("e2");
  EXPECT_EQ(batch.at("requests").at(0).at("model").as_string(), "models/e2");
  EXPECT_EQ(batch.at("requests").at(1).at("model").as_string(), "models/e2");
}

TEST(RequestViewGemini, CanonicalFormSeesPathModelAndGenerationConfigButNotKeyOrder) {
  auto a = parse(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.1}})");
  auto b = parse(R"({"generationConfig":{"temperature":0.1},"contents":[{"parts":[{"text":"hi"}],"role":"user"}]})");
  auto c = parse(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.2}})");
  const auto form = [](json::object& body, std::string_view model) {
    return RequestView(Schema::GeminiGenerate, body, PathFacts{model, false}).canonical_form();
  };
  EXPECT_EQ(form(a, "m"), form(b, "m"));
  EXPECT_NE(form(a, "m"), form(c, "m"));
  EXPECT_NE(form(a, "m"), form(a, "n"));
}

TEST(RequestViewRobustness, WrongKindsReadAsAbsent) {
  auto body = parse(
      R"({"model":3,"stream":"yes","messages":{"role":"user"},"system":7,"tools":"x","input":5,"instructions":[]})");
  for (const auto schema : {Schema::OpenAIChat, Schema::AnthropicMessages, Schema::OpenAIEmbeddings,
                            Schema::OpenAIResponses, Schema::GeminiGenerate, Schema::GeminiEmbed}) {
    RequestView view(schema, body);
    EXPECT_EQ(view.model(), "");
    EXPECT_FALSE(view.stream());
    EXPECT_TRUE(view.messages().empty());
    EXPECT_TRUE(view.tools().empty());
    EXPECT_EQ(view.for_each_text(redact), 0u);
    EXPECT_FALSE(view.canonical_form().empty());
  }
  auto gemini = parse(
      R"({"systemInstruction":7,"contents":{"parts":[]},"tools":[{"functionDeclarations":"x"}],"requests":3,
          "content":"x","generateContentRequest":[],"generationConfig":[]})");
  for (const auto schema : {Schema::GeminiGenerate, Schema::GeminiEmbed}) {
    RequestView view(schema, gemini, PathFacts{"m", false});
    EXPECT_TRUE(view.messages().empty());
    EXPECT_TRUE(view.tools().empty());
    EXPECT_EQ(view.for_each_text(redact), 0u);
    EXPECT_EQ(view.param(Param::Temperature), nullptr);
    EXPECT_FALSE(view.set_param(Param::Temperature, json::value(1)));
    EXPECT_FALSE(view.canonical_form().empty());
  }
}

}  // namespace
}  // namespace sluice::llm
