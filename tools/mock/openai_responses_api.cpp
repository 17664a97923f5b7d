#include "openai_responses_api.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <span>
#include <variant>
#include <vector>

#include "openai_api.hpp"
#include "provider_common.hpp"
#include "scripted_text.hpp"
#include "text.hpp"

namespace sluice::mock::openai_responses {

namespace json = boost::json;

namespace {

std::atomic<unsigned long> next_id{1};

// Characters of the request's text: `instructions` and `input` (a string, or the text of its
// message items' string contents and input_text parts).
std::size_t input_characters(const json::object& body) {
  std::size_t characters = 0;
  if (const auto* instructions = body.if_contains("instructions"); instructions && instructions->is_string())
    characters += utf8_length(instructions->as_string());
  const auto& input = body.at("input");
  if (input.is_string()) return characters + utf8_length(input.as_string());
  for (const auto& item : input.as_array()) {
    if (!item.is_object()) continue;
    for (const char* key : {"arguments", "output"})
      if (const auto* text = item.as_object().if_contains(key); text && text->is_string())
        characters += utf8_length(text->as_string());
    const auto* content = item.as_object().if_contains("content");
    if (content == nullptr) continue;
    if (content->is_string()) characters += utf8_length(content->as_string());
    if (!content->is_array()) continue;
    for (const auto& part : content->as_array())
      if (part.is_object())
        if (const auto* text = part.as_object().if_contains("text"); text && text->is_string())
          characters += utf8_length(text->as_string());
  }
  return characters;
}

// Input texts joined (for the json_object "json" word check).
std::string input_text(const json::object& body) {
  std::string text;
  if (const auto* instructions = body.if_contains("instructions"); instructions && instructions->is_string())
    text.append(instructions->as_string());
  const auto& input = body.at("input");
  if (input.is_string()) return text.append(input.as_string());
  for (const auto& item : input.as_array()) {
    if (!item.is_object()) continue;
    const auto* content = item.as_object().if_contains("content");
    if (content == nullptr) continue;
    if (content->is_string()) text.append(content->as_string());
    if (!content->is_array()) continue;
    for (const auto& part : content->as_array())
      if (part.is_object())
        if (const auto* value = part.as_object().if_contains("text"); value && value->is_string())
          text.append(value->as_string());
  }
  return text;
}

// The text of the last input when it is a user message (`input` a string, or a last item with
// role "user" and no type or type "message"); empty otherwise, e.g. after a function_call_output.
std::string last_user_text(const json::object& body) {
  const auto& input = body.at("input");
  if (input.is_string()) return std::string(input.as_string());
  if (input.as_array().empty() || !input.as_array().back().is_object()) return {};
  const auto& last = input.as_array().back().as_object();
  const auto* type = last.if_contains("type");
  const auto* role = last.if_contains("role");
  if ((type && !(type->is_string() && type->as_string() == "message")) || role == nullptr || !role->is_string() ||
      role->as_string() != "user")
    return {};
  std::string text;
  const auto* content = last.if_contains("content");
  if (content && content->is_string()) return std::string(content->as_string());
  if (content && content->is_array())
    for (const auto& part : content->as_array())
      if (part.is_object())
        if (const auto* value = part.as_object().if_contains("text"); value && value->is_string())
          text.append(value->as_string());
  return text;
}

std::string indexed(std::string_view name, std::size_t index) {
  std::string out(name);
  out.push_back('[');
  append_number(out, index);
  out.push_back(']');
  return out;
}

// The function tools of the request and its tool_choice, validated as OpenAI does.
struct Tools {
  std::vector<const json::object*> functions;  // the tools of type "function"
  openai::ToolChoice choice;
};

std::variant<Tools, FullReply> parse_tools(const json::object& body) {
  Tools out;
  const auto* tools = body.if_contains("tools");
  if (tools && !tools->is_null()) {
    if (!tools->is_array())
      return openai::error(400, "Invalid type for 'tools': expected an array.", "invalid_request_error", "tools");
    std::size_t index = 0;
    for (const auto& tool : tools->as_array()) {
      const std::string where = indexed("tools", index++);
      const auto* fields = tool.if_object();
      const auto* type = fields ? fields->if_contains("type") : nullptr;
      if (type == nullptr || !type->is_string())
        return openai::error(400, "Missing required parameter: '" + where + ".type'.", "invalid_request_error",
                             where + ".type");
      if (type->as_string() != "function") continue;  // a built-in tool: never called by the mock
      const auto* name = fields->if_contains("name");
      if (name == nullptr || !name->is_string() || name->as_string().empty())
        return openai::error(400, "Missing required parameter: '" + where + ".name'.", "invalid_request_error",
                             where + ".name");
      if (const auto* parameters = fields->if_contains("parameters");
          parameters && !parameters->is_null() && !parameters->is_object())
        return openai::error(400, "Invalid type for '" + where + ".parameters': expected an object.",
                             "invalid_request_error", where + ".parameters");
      out.functions.push_back(fields);
    }
  }
  const auto* choice = body.if_contains("tool_choice");
  if (choice == nullptr || choice->is_null()) return out;
  if (choice->is_string()) {
    const std::string_view mode = choice->as_string();
    if (mode != "none" && mode != "auto" && mode != "required")
      return openai::error(
          400, "Invalid value: '" + std::string(mode) + "'. Supported values are: 'none', 'auto', and 'required'.",
          "invalid_request_error", "tool_choice");
    out.choice.mode = mode;
    return out;
  }
  const auto* fields = choice->if_object();
  const auto* type = fields ? fields->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string())
    return openai::error(400, "Missing required parameter: 'tool_choice.type'.", "invalid_request_error",
                         "tool_choice.type");
  if (type->as_string() == "allowed_tools") {
    const auto* mode = fields->if_contains("mode");
    out.choice.mode = mode && mode->is_string() && mode->as_string() == "required" ? "required" : "auto";
    return out;
  }
  if (type->as_string() != "function") {
    out.choice.mode = "hosted";
    return out;
  }
  const auto* name = fields->if_contains("name");
  if (name == nullptr || !name->is_string())
    return openai::error(400, "Missing required parameter: 'tool_choice.name'.", "invalid_request_error",
                         "tool_choice.name");
  out.choice = {"function", name->as_string()};
  if (openai::choose_function(out.functions, out.choice, {}) == nullptr)
    return openai::error(400, "Tool choice 'function' not found in 'tools' parameter.", "invalid_request_error",
                         "tool_choice");
  return out;
}

// Tool history as OpenAI enforces it: a function_call needs a string call_id, name and
// arguments, and a function_call_output answers a function_call earlier in `input` (unless the
// conversation continues a stored response, whose calls the mock cannot see).
std::optional<FullReply> check_tool_history(const json::object& body) {
  const auto& input = body.at("input");
  if (!input.is_array()) return std::nullopt;
  const auto* previous = body.if_contains("previous_response_id");
  const bool continued = previous && previous->is_string();
  std::vector<std::string_view> calls;
  std::size_t index = 0;
  for (const auto& item : input.as_array()) {
    const std::string where = indexed("input", index++);
    const auto* fields = item.if_object();
    const auto* type = fields ? fields->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) continue;
    const bool call = type->as_string() == "function_call";
    if (!call && type->as_string() != "function_call_output") continue;
    static constexpr std::array<std::string_view, 3> kCallFields{"call_id", "name", "arguments"};
    for (const std::string_view key : std::span(kCallFields).first(call ? 3 : 1)) {
      const auto* value = fields->if_contains(key);
      if (value == nullptr || !value->is_string())
        return openai::error(400, "Missing required parameter: '" + where + "." + std::string(key) + "'.",
                             "invalid_request_error", where + "." + std::string(key));
    }
    const std::string_view call_id = fields->at("call_id").as_string();
    if (call) {
      calls.push_back(call_id);
      continue;
    }
    const auto* output = fields->if_contains("output");
    if (output == nullptr || !(output->is_string() || output->is_array()))
      return openai::error(400, "Missing required parameter: '" + where + ".output'.", "invalid_request_error",
                           where + ".output");
    if (!continued && std::ranges::find(calls, call_id) == calls.end())
      return openai::error(400,
                           "No tool call found for function call output with call_id " + std::string(call_id) + ".",
                           "invalid_request_error", "input");
  }
  return std::nullopt;
}

// The function call a reply makes: its ids, the function's name and the arguments' JSON text.
struct FunctionCall {
  std::string item_id;  // fc_…
  std::string call_id;  // call_mock<n>
  std::string name;
  std::string arguments;
};

// The function_call output item; `arguments` empty and status in_progress while it streams.
std::string function_call_item(const FunctionCall& call, bool done) {
  std::string out = R"({"id":)";
  append_json_string(out, call.item_id);
  out.append(R"(,"type":"function_call","status":)");
  out.append(done ? R"("completed")" : R"("in_progress")");
  out.append(R"(,"arguments":)");
  append_json_string(out, done ? std::string_view(call.arguments) : std::string_view());
  out.append(R"(,"call_id":)");
  append_json_string(out, call.call_id);
  out.append(R"(,"name":)");
  append_json_string(out, call.name);
  out.push_back('}');
  return out;
}

// `reasoning` of the request, when given.
struct Reasoning {
  bool on = false;
  std::string_view effort = "medium";
  std::string_view summary;  // auto, concise or detailed; empty: no summary
};

constexpr std::string_view kSummaryText =
    "**Answering the question**\n\nThe user asked a question; I answer it directly.";

void append_usage(std::string& out, std::size_t input, std::size_t output, std::size_t reasoning) {
  out.append(R"("usage":{"input_tokens":)");
  append_number(out, input);
  out.append(R"(,"input_tokens_details":{"cached_tokens":0},"output_tokens":)");
  append_number(out, output + reasoning);
  out.append(R"(,"output_tokens_details":{"reasoning_tokens":)");
  append_number(out, reasoning);
  out.append(R"(},"total_tokens":)");
  append_number(out, input + output + reasoning);
  out.push_back('}');
}

// The reasoning output item: its summary is the summary text when a summary was asked.
std::string reasoning_item(const std::string& id, const Reasoning& reasoning, bool done) {
  std::string out = R"({"id":"rs_)";
  out.append(id.substr(5));
  out.append(R"(","type":"reasoning","summary":[)");
  if (done && !reasoning.summary.empty()) {
    out.append(R"({"type":"summary_text","text":)");
    append_json_string(out, kSummaryText);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

struct Output {
  std::string_view model;
  std::size_t input = 0;
  std::size_t output = 0;
  Reasoning reasoning;
  const FunctionCall* call = nullptr;  // the reply is this function call instead of a message
};

// The response object; `text` empty and `completed` false for response.created.
std::string response_object(const std::string& id, const Output& o, std::string_view text, bool completed) {
  std::string out = R"({"id":)";
  append_json_string(out, id);
  out.append(R"(,"object":"response","created_at":1700000000,"status":)");
  out.append(completed ? R"("completed")" : R"("in_progress")");
  out.append(R"(,"model":)");
  append_json_string(out, o.model);
  out.append(R"(,"output":[)");
  if (completed) {
    if (o.reasoning.on) out.append(reasoning_item(id, o.reasoning, true)).push_back(',');
    if (o.call) {
      out.append(function_call_item(*o.call, true));
    } else {
      out.append(R"({"type":"message","id":"msg_)");
      out.append(id.substr(5));
      out.append(
          R"(","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":)");
      append_json_string(out, text);
      out.append("}]}");
    }
  }
  out.append("],");
  if (completed) {
    append_usage(out, o.input, o.output, o.reasoning.on ? openai::reasoning_tokens(o.reasoning.effort) : 0);
  } else {
    out.append(R"("usage":null)");
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::optional<ApiReply> handle(const ApiRequest& original) {
  if (!original.path.ends_with("/responses")) return std::nullopt;
  if (original.method != "POST") return openai::unknown_url(original.method, original.target);
  if (original.json == nullptr || !original.json->is_object())
    return openai::error(400, "We could not parse the JSON body of your request.");
  const auto& body = original.json->as_object();
  const auto* model = body.if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty())
    return openai::error(400, "Missing required parameter: 'model'.", "invalid_request_error", "model");
  const auto* input = body.if_contains("input");
  if (input == nullptr || !(input->is_string() || input->is_array()))
    return openai::error(400, "Missing required parameter: 'input'.", "invalid_request_error", "input");

  openai::OutputFormat format;
  if (const auto* text = body.if_contains("text"); text && !text->is_null()) {
    if (!text->is_object())
      return openai::error(400, "Invalid type for 'text': expected an object.", "invalid_request_error", "text");
    if (const auto* spec = text->as_object().if_contains("format"); spec && !spec->is_null()) {
      auto parsed = openai::parse_output_format(*spec, "text.format", false);
      if (auto* reply = std::get_if<FullReply>(&parsed)) return std::move(*reply);
      format = std::get<openai::OutputFormat>(parsed);
      if (format.json && format.schema == nullptr && !openai::mentions_json(input_text(body))) {
        return openai::error(400,
                             "Response input messages must contain the word 'json' in some form to use "
                             "'text.format' of type 'json_object'.",
                             "invalid_request_error", "input");
      }
    }
  }
  Reasoning reasoning;
  if (const auto* spec = body.if_contains("reasoning"); spec && !spec->is_null()) {
    if (!spec->is_object())
      return openai::error(400, "Invalid type for 'reasoning': expected an object.", "invalid_request_error",
                           "reasoning");
    reasoning.on = true;
    const auto& fields = spec->as_object();
    if (const auto* effort = fields.if_contains("effort"); effort && !effort->is_null()) {
      if (auto reply = openai::check_reasoning_effort(*effort, "reasoning.effort")) return std::move(*reply);
      reasoning.effort = effort->as_string();
    }
    for (const char* key : {"summary", "generate_summary"}) {
      const auto* summary = fields.if_contains(key);
      if (summary == nullptr || summary->is_null()) continue;
      const std::string_view value = summary->is_string() ? std::string_view(summary->as_string()) : "";
      if (value != "auto" && value != "concise" && value != "detailed") {
        return openai::error(400,
                             "Invalid value: '" +
                                 (summary->is_string() ? std::string(value) : common::serialize(*summary)) +
                                 "'. Supported values are: 'auto', 'concise', and 'detailed'.",
                             "invalid_request_error", std::string("reasoning.") + key);
      }
      reasoning.summary = value;
    }
  }

  const auto tools = parse_tools(body);
  if (const auto* reply = std::get_if<FullReply>(&tools)) return *reply;
  if (auto reply = check_tool_history(body)) return std::move(*reply);
  const auto& [functions, choice] = std::get<Tools>(tools);
  const json::object* function = openai::choose_function(functions, choice, last_user_text(body));

  // Structured output: the text is a JSON document valid against the schema (a call wins).
  std::optional<ScriptedText> structured;
  if (format.json && function == nullptr) structured = common::json_reply(original, format.schema);
  const ApiRequest request = structured ? common::with_reply(original, *structured) : original;

  const std::string id = "resp_mock" + std::to_string(next_id.fetch_add(1));
  std::optional<FunctionCall> call;
  if (function) {
    call = FunctionCall{"fc_" + id.substr(5), "call_mock", std::string(function->at("name").as_string()),
                        common::tool_input_text(request, function->if_contains("parameters"))};
    append_number(call->call_id, common::next_id());
  }
  const Output o{model->as_string(), common::estimate_tokens_of_chars(input_characters(body)),
                 call ? openai::kToolCallTokens : common::reply_tokens(request), reasoning, call ? &*call : nullptr};
  const auto* stream = body.if_contains("stream");
  if (stream == nullptr || !stream->is_bool() || !stream->as_bool()) {
    FullReply reply;
    reply.body = response_object(id, o, common::whole_reply(request), true);
    return reply;
  }
  StreamReply reply;
  unsigned sequence = 0;
  const auto event = [&](std::string_view type, const std::string& data_without_type) {
    std::string out = "event: ";
    out.append(type);
    out.append("\ndata: {\"type\":");
    append_json_string(out, type);
    out.append(",\"sequence_number\":");
    append_number(out, sequence++);
    out.push_back(',');
    out.append(data_without_type);
    out.append("}\n\n");
    reply.events.push_back(std::move(out));
  };
  const std::string message_id = "msg_" + id.substr(5);
  const std::string text = common::whole_reply(request);
  event("response.created", "\"response\":" + response_object(id, o, {}, false));
  event("response.in_progress", "\"response\":" + response_object(id, o, {}, false));
  std::size_t output_index = 0;
  if (reasoning.on) {
    event("response.output_item.added", R"("output_index":0,"item":)" + reasoning_item(id, reasoning, false));
    if (!reasoning.summary.empty()) {
      const std::string head = R"("item_id":"rs_)" + id.substr(5) + R"(","output_index":0,"summary_index":0,)";
      std::string summary;
      append_json_string(summary, kSummaryText);
      event("response.reasoning_summary_part.added", head + R"("part":{"type":"summary_text","text":""})");
      const ScriptedText pieces = cut_evenly(std::string(kSummaryText), 3);
      for (std::size_t i = 0; i < pieces.pieces(); ++i) {
        std::string delta = head + R"("delta":)";
        append_json_string(delta, pieces.piece(i));
        event("response.reasoning_summary_text.delta", delta);
      }
      event("response.reasoning_summary_text.done", head + R"("text":)" + summary);
      event("response.reasoning_summary_part.done", head + R"("part":{"type":"summary_text","text":)" + summary + "}");
    }
    event("response.output_item.done", R"("output_index":0,"item":)" + reasoning_item(id, reasoning, true));
    output_index = 1;
  }
  const std::string index_text = std::to_string(output_index);
  if (call) {
    event("response.output_item.added",
          R"("output_index":)" + index_text + R"(,"item":)" + function_call_item(*call, false));
    std::string head = R"("item_id":)";
    append_json_string(head, call->item_id);
    head.append(R"(,"output_index":)").append(index_text).push_back(',');
    for (const std::string& fragment : common::tool_input_pieces(request, call->arguments)) {
      std::string delta = head + R"("delta":)";
      append_json_string(delta, fragment);
      event("response.function_call_arguments.delta", delta);
    }
    std::string done = head + R"("name":)";
    append_json_string(done, call->name);
    done.append(R"(,"arguments":)");
    append_json_string(done, call->arguments);
    event("response.function_call_arguments.done", done);
    event("response.output_item.done",
          R"("output_index":)" + index_text + R"(,"item":)" + function_call_item(*call, true));
    event("response.completed", "\"response\":" + response_object(id, o, {}, true));
    return reply;
  }
  const std::string item_head = R"("output_index":)" + index_text + R"(,"item":{"id":")" + message_id +
                                R"(","type":"message","role":"assistant",)";
  event("response.output_item.added", item_head + R"("status":"in_progress","content":[]})");
  const std::string part_head =
      R"("item_id":")" + message_id + R"(","output_index":)" + index_text + R"(,"content_index":0,)";
  event("response.content_part.added", part_head + R"("part":{"type":"output_text","annotations":[],"text":""})");
  const auto pieces = common::reply_piece_count(request);
  for (std::size_t i = 0; i < pieces; ++i) {
    std::string delta = part_head + R"("delta":)";
    append_json_string(delta, common::reply_piece(request, i));
    event("response.output_text.delta", delta);
  }
  std::string done_text;
  append_json_string(done_text, text);
  event("response.output_text.done", part_head + R"("text":)" + done_text);
  event("response.content_part.done",
        part_head + R"("part":{"type":"output_text","annotations":[],"text":)" + done_text + "}");
  event("response.output_item.done",
        item_head + R"("status":"completed","content":[{"type":"output_text","annotations":[],"text":)" + done_text +
            "}]}");
  event("response.completed", "\"response\":" + response_object(id, o, text, true));
  return reply;
}

}  // namespace sluice::mock::openai_responses
