#include "openai_responses_api.hpp"

#include <atomic>
#include <boost/json.hpp>

#include "openai_api.hpp"
#include "provider_common.hpp"
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

void append_usage(std::string& out, std::size_t input, std::size_t output) {
  out.append(R"("usage":{"input_tokens":)");
  append_number(out, input);
  out.append(R"(,"input_tokens_details":{"cached_tokens":0},"output_tokens":)");
  append_number(out, output);
  out.append(R"(,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":)");
  append_number(out, input + output);
  out.push_back('}');
}

// The response object; `text` empty and `completed` false for response.created.
std::string response_object(const std::string& id, std::string_view model, std::string_view text, bool completed,
                            std::size_t input, std::size_t output) {
  std::string out = R"({"id":)";
  append_json_string(out, id);
  out.append(R"(,"object":"response","created_at":1700000000,"status":)");
  out.append(completed ? R"("completed")" : R"("in_progress")");
  out.append(R"(,"model":)");
  append_json_string(out, model);
  out.append(R"(,"output":[)");
  if (completed) {
    out.append(R"({"type":"message","id":"msg_)");
    out.append(id.substr(5));
    out.append(
        R"(","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":)");
    append_json_string(out, text);
    out.append("}]}");
  }
  out.append("],");
  if (completed) {
    append_usage(out, input, output);
  } else {
    out.append(R"("usage":null)");
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (!request.path.ends_with("/responses")) return std::nullopt;
  if (request.method != "POST") return openai::unknown_url(request.method, request.target);
  if (request.json == nullptr || !request.json->is_object())
    return openai::error(400, "We could not parse the JSON body of your request.");
  const auto& body = request.json->as_object();
  const auto* model = body.if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty())
    return openai::error(400, "Missing required parameter: 'model'.", "invalid_request_error", "model");
  const auto* input = body.if_contains("input");
  if (input == nullptr || !(input->is_string() || input->is_array()))
    return openai::error(400, "Missing required parameter: 'input'.", "invalid_request_error", "input");
  const std::size_t input_tokens = common::estimate_tokens_of_chars(input_characters(body));
  const std::size_t output_tokens = common::reply_tokens(request);
  const std::string id = "resp_mock" + std::to_string(next_id.fetch_add(1));
  const std::string_view model_name = model->as_string();
  const auto* stream = body.if_contains("stream");
  if (stream == nullptr || !stream->is_bool() || !stream->as_bool()) {
    FullReply reply;
    reply.body = response_object(id, model_name, common::whole_reply(request), true, input_tokens, output_tokens);
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
  event("response.created", "\"response\":" + response_object(id, model_name, {}, false, 0, 0));
  event("response.in_progress", "\"response\":" + response_object(id, model_name, {}, false, 0, 0));
  const std::string item_head =
      R"("output_index":0,"item":{"id":")" + message_id + R"(","type":"message","role":"assistant",)";
  event("response.output_item.added", item_head + R"("status":"in_progress","content":[]})");
  const std::string part_head = R"("item_id":")" + message_id + R"(","output_index":0,"content_index":0,)";
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
  event("response.completed",
        "\"response\":" + response_object(id, model_name, text, true, input_tokens, output_tokens));
  return reply;
}

}  // namespace sluice::mock::openai_responses
