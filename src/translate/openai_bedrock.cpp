// OpenAI Chat Completions <-> Bedrock Converse / ConverseStream. See openai_bedrock.hpp.
#include "translate/openai_bedrock.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "translate/aws_eventstream.hpp"
#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

constexpr std::string_view kJsonTool = "json_response";

http::ApiError unsupported(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

bool tool_id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// Bedrock accepts tool ids matching [a-zA-Z0-9_-]+ (at most 64 bytes). Other ids are rewritten
// deterministically (bad bytes -> '_', plus an 8-hex FNV-1a hash of the original so distinct
// ids stay distinct); the same rewrite applies to toolUse and toolResult, so pairs still match.
std::string bedrock_tool_id(std::string_view id) {
  bool valid = !id.empty() && id.size() <= 64;
  for (const char c : id) valid = valid && tool_id_char(c);
  if (valid) return std::string(id);
  std::string out;
  for (const char c : id) out.push_back(tool_id_char(c) ? c : '_');
  if (out.empty()) out = "call";
  if (out.size() > 55) out.resize(55);
  std::uint32_t hash = 2166136261u;
  for (const char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  char suffix[10];
  std::snprintf(suffix, sizeof suffix, "_%08x", static_cast<unsigned>(hash));
  out.append(suffix);
  return out;
}

// Bedrock usage -> OpenAI semantics: prompt includes cache reads and writes.
Usage parse_usage(const json::object& u) {
  Usage usage;
  const auto input = json_count(u.if_contains("inputTokens"));
  usage.cached_tokens = json_count(u.if_contains("cacheReadInputTokens"));
  usage.cache_creation_tokens = json_count(u.if_contains("cacheWriteInputTokens"));
  usage.prompt_tokens = input + usage.cached_tokens + usage.cache_creation_tokens;
  usage.completion_tokens = json_count(u.if_contains("outputTokens"));
  usage.total_tokens = std::max(usage.prompt_tokens + usage.completion_tokens,
                                json_count(u.if_contains("totalTokens")));
  usage.known = true;
  return usage;
}

std::string_view finish_reason(std::string_view stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered")
    return "content_filter";
  return "stop";  // end_turn, stop_sequence and anything unknown
}

std::optional<std::string_view> image_format(std::string_view media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/jpeg" || media_type == "image/jpg") return "jpeg";
  if (media_type == "image/gif") return "gif";
  if (media_type == "image/webp") return "webp";
  return std::nullopt;
}

// User content (string / parts / null) -> Converse content blocks.
std::optional<http::ApiError> user_blocks(const json::value* content, std::size_t i,
                                          json::array& blocks) {
  if (content == nullptr || content->is_null()) return std::nullopt;
  const auto base = indexed("messages", i) + ".content";
  if (content->is_string()) {
    if (!content->get_string().empty())
      blocks.push_back(json::object{{"text", content->get_string()}});
    return std::nullopt;
  }
  if (!content->is_array()) return invalid_request("content must be a string or an array of parts", base);
  const auto& parts = content->get_array();
  for (std::size_t j = 0; j < parts.size(); ++j) {
    const auto part_name = indexed(base, j);
    const auto* part = object_or_null(&parts[j]);
    if (part == nullptr) return invalid_request("content parts must be objects", part_name);
    const auto type = string_or_empty(part->if_contains("type"));
    if (type == "text") {
      const auto text = string_or_empty(part->if_contains("text"));
      if (!text.empty()) blocks.push_back(json::object{{"text", text}});
    } else if (type == "image_url") {
      const auto* image = part->if_contains("image_url");
      std::string_view url = string_or_empty(image);
      if (const auto* obj = object_or_null(image)) url = string_or_empty(obj->if_contains("url"));
      const auto param = part_name + ".image_url.url";
      const auto uri = parse_data_uri(url);
      if (!uri) {
        if (url.substr(0, 5) == "data:")
          return invalid_request("image data URIs must be base64 (data:<type>;base64,...)", param);
        return unsupported(
            "Bedrock needs image bytes: image URLs are not supported (the gateway does not fetch "
            "URLs); "
            "send the image as a base64 data: URI",
            param);
      }
      const auto format = image_format(uri->media_type);
      if (!format)
        return unsupported("image type '" + std::string(uri->media_type) +
                               "' is not supported by Bedrock (png, jpeg, gif or webp)",
                           param);
      blocks.push_back(
          json::object{{"image", json::object{{"format", *format},
                                              {"source", json::object{{"bytes", uri->data}}}}}});
    } else {
      return unsupported(
          "content part type '" + std::string(type) + "' is not supported by Bedrock",
          part_name + ".type");
    }
  }
  return std::nullopt;
}

class OpenAiToBedrock final : public Translator {
 public:
  explicit OpenAiToBedrock(RequestContext context)
      : context_(std::move(context)), stream_id_(new_id("chatcmpl-")), created_(unix_now()) {}

  std::optional<http::ApiError> translate_request(const json::object& body,
                                                  std::string& upstream_body) override {
    json::object out;
    json::array system;
    bool tool_blocks = false;

    struct Turn {
      std::string_view role;
      json::array results;  // toolResult blocks go first in a user turn
      json::array blocks;
    };
    std::vector<Turn> turns;
    auto turn_for = [&](std::string_view role) -> Turn& {
      if (turns.empty() || turns.back().role != role) turns.push_back(Turn{role, {}, {}});
      return turns.back();
    };

    const auto* messages = array_or_null(body.if_contains("messages"));
    if (messages == nullptr) return invalid_request("messages must be an array", "messages");
    for (std::size_t i = 0; i < messages->size(); ++i) {
      const auto* message = object_or_null(&(*messages)[i]);
      if (message == nullptr) return invalid_request("messages must be objects", indexed("messages", i));
      const auto role = string_or_empty(message->if_contains("role"));
      const auto* content = message->if_contains("content");
      if (role == "system" || role == "developer") {
        if (content != nullptr && !content->is_string() && !content->is_array() &&
            !content->is_null())
          return invalid_request("content must be a string or an array of text parts",
                         indexed("messages", i) + ".content");
        const auto text = content == nullptr ? std::string() : content_text(*content);
        if (!text.empty()) system.push_back(json::object{{"text", text}});
      } else if (role == "user") {
        json::array blocks;
        if (auto error = user_blocks(content, i, blocks)) return error;
        if (!blocks.empty()) {
          auto& turn = turn_for("user");
          for (auto& b : blocks) turn.blocks.push_back(std::move(b));
        }
      } else if (role == "assistant") {
        json::array blocks;
        if (auto error = assistant_blocks(*message, i, blocks)) return error;
        if (!blocks.empty()) {
          for (const auto& b : blocks)
            tool_blocks = tool_blocks || b.get_object().contains("toolUse");
          auto& turn = turn_for("assistant");
          for (auto& b : blocks) turn.blocks.push_back(std::move(b));
        }
      } else if (role == "tool") {
        const auto id = string_or_empty(message->if_contains("tool_call_id"));
        if (id.empty())
          return invalid_request("tool messages need a tool_call_id", indexed("messages", i) + ".tool_call_id");
        if (content != nullptr && !content->is_string() && !content->is_array() &&
            !content->is_null())
          return invalid_request("content must be a string or an array of text parts",
                         indexed("messages", i) + ".content");
        const auto text = content == nullptr ? std::string() : content_text(*content);
        json::array result_content;
        if (!text.empty()) result_content.push_back(json::object{{"text", text}});
        turn_for("user").results.push_back(
            json::object{{"toolResult", json::object{{"toolUseId", bedrock_tool_id(id)},
                                                     {"content", std::move(result_content)}}}});
        tool_blocks = true;
      } else {
        return unsupported("message role '" + std::string(role) + "' is not supported by Bedrock",
                           indexed("messages", i) + ".role");
      }
    }
    json::array bedrock_messages;
    for (auto& turn : turns) {
      json::array content = std::move(turn.results);
      for (auto& b : turn.blocks) content.push_back(std::move(b));
      bedrock_messages.push_back(
          json::object{{"role", turn.role}, {"content", std::move(content)}});
    }
    out["messages"] = std::move(bedrock_messages);
    if (!system.empty()) out["system"] = std::move(system);

    if (const auto* n = body.if_contains("n"); n != nullptr && !n->is_null()) {
      if (!(n->is_int64() || n->is_uint64()) || json_count(n) != 1)
        return unsupported("Bedrock returns one choice per request: n must be 1", "n");
    }
    if (const auto* logprobs = body.if_contains("logprobs");
        logprobs != nullptr && logprobs->is_bool() && logprobs->get_bool())
      return unsupported("logprobs are not supported by Bedrock", "logprobs");

    json::object inference;
    const char* max_field = nullptr;
    if (const auto* v = body.if_contains("max_completion_tokens"); v != nullptr && !v->is_null()) {
      max_field = "max_completion_tokens";
    } else if (const auto* w = body.if_contains("max_tokens"); w != nullptr && !w->is_null()) {
      max_field = "max_tokens";
    }
    if (max_field != nullptr) {
      const auto& v = body.at(max_field);
      if (!(v.is_int64() || v.is_uint64()))
        return invalid_request(std::string(max_field) + " must be an integer", max_field);
      inference["maxTokens"] = v;
    }
    for (const auto& [from, to] :
         {std::pair{"temperature", "temperature"}, std::pair{"top_p", "topP"}}) {
      const auto* v = body.if_contains(from);
      if (v == nullptr || v->is_null()) continue;
      if (!v->is_number()) return invalid_request(std::string(from) + " must be a number", from);
      inference[to] = *v;
    }
    if (const auto* stop = body.if_contains("stop"); stop != nullptr && !stop->is_null()) {
      if (stop->is_string()) {
        inference["stopSequences"] = json::array{*stop};
      } else if (stop->is_array()) {
        for (const auto& s : stop->get_array())
          if (!s.is_string())
            return invalid_request("stop must be a string or an array of strings", "stop");
        inference["stopSequences"] = *stop;
      } else {
        return invalid_request("stop must be a string or an array of strings", "stop");
      }
    }
    if (!inference.empty()) out["inferenceConfig"] = std::move(inference);

    json::array tools;
    if (const auto* client_tools = body.if_contains("tools");
        client_tools != nullptr && !client_tools->is_null()) {
      if (!client_tools->is_array()) return invalid_request("tools must be an array", "tools");
      const auto& list = client_tools->get_array();
      for (std::size_t k = 0; k < list.size(); ++k) {
        const auto* tool = object_or_null(&list[k]);
        if (tool == nullptr) return invalid_request("tools must be objects", indexed("tools", k));
        if (string_or_empty(tool->if_contains("type")) != "function")
          return unsupported("only function tools are supported by Bedrock",
                             indexed("tools", k) + ".type");
        const auto* function = object_or_null(tool->if_contains("function"));
        const auto name =
            function == nullptr ? std::string_view{} : string_or_empty(function->if_contains("name"));
        if (name.empty())
          return invalid_request("tools need function.name", indexed("tools", k) + ".function.name");
        json::object spec{{"name", name}};
        if (const auto description = string_or_empty(function->if_contains("description"));
            !description.empty())
          spec["description"] = description;
        const auto* parameters = object_or_null(function->if_contains("parameters"));
        spec["inputSchema"] = json::object{
            {"json",
             parameters != nullptr
                 ? json::value(*parameters)
                 : json::value(json::object{{"type", "object"}, {"properties", json::object{}}})}};
        tools.push_back(json::object{{"toolSpec", std::move(spec)}});
      }
    }

    json::value choice;  // null: toolChoice not sent
    bool choice_none = false;
    if (const auto* tc = body.if_contains("tool_choice"); tc != nullptr && !tc->is_null()) {
      if (tc->is_string()) {
        const auto s = std::string_view(tc->get_string());
        if (s == "auto") {
          choice = json::object{{"auto", json::object{}}};
        } else if (s == "required") {
          choice = json::object{{"any", json::object{}}};
        } else if (s == "none") {
          choice_none = true;
        } else {
          return invalid_request("tool_choice must be none, auto, required or a named function",
                         "tool_choice");
        }
      } else if (const auto* obj = object_or_null(tc)) {
        const auto* function = object_or_null(obj->if_contains("function"));
        const auto name =
            function == nullptr ? std::string_view{} : string_or_empty(function->if_contains("name"));
        if (string_or_empty(obj->if_contains("type")) != "function" || name.empty())
          return invalid_request(
              "tool_choice must name a function: "
              "{\"type\":\"function\",\"function\":{\"name\":...}}",
              "tool_choice");
        choice = json::object{{"tool", json::object{{"name", name}}}};
      } else {
        return invalid_request("tool_choice must be a string or an object", "tool_choice");
      }
    }

    if (const auto* rf = body.if_contains("response_format"); rf != nullptr && !rf->is_null()) {
      const auto* format = object_or_null(rf);
      const auto type =
          format == nullptr ? std::string_view{} : string_or_empty(format->if_contains("type"));
      if (type == "json_object" || type == "json_schema") {
        json::value schema = json::object{{"type", "object"}};
        std::string description = "Respond with a JSON object.";
        if (type == "json_schema") {
          const auto* js = object_or_null(format->if_contains("json_schema"));
          if (js == nullptr)
            return invalid_request("json_schema must be an object", "response_format.json_schema");
          if (const auto* s = object_or_null(js->if_contains("schema"))) schema = *s;
          if (const auto d = string_or_empty(js->if_contains("description")); !d.empty()) description = d;
        }
        tools.push_back(json::object{
            {"toolSpec",
             json::object{{"name", kJsonTool},
                          {"description", description},
                          {"inputSchema", json::object{{"json", std::move(schema)}}}}}});
        choice = json::object{{"tool", json::object{{"name", kJsonTool}}}};
        choice_none = false;
        json_mode_ = true;
      } else if (type != "text") {
        return invalid_request("response_format.type must be text, json_object or json_schema",
                       "response_format.type");
      }
    }

    if (!tools.empty()) {
      if (!choice_none) {
        json::object config{{"tools", std::move(tools)}};
        if (!choice.is_null()) config["toolChoice"] = std::move(choice);
        out["toolConfig"] = std::move(config);
      } else if (tool_blocks) {
        // Bedrock has no "none" choice and rejects toolUse/toolResult history without toolConfig:
        // keep the tools, send no toolChoice (the model may still call a tool).
        out["toolConfig"] = json::object{{"tools", std::move(tools)}};
      }
    }

    if (const auto* options = object_or_null(body.if_contains("stream_options"))) {
      const auto* include = options->if_contains("include_usage");
      include_usage_ = include != nullptr && include->is_bool() && include->get_bool();
    }
    upstream_body = json::serialize(out);
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body,
                                                   std::string& client_body) override {
    boost::system::error_code ec;
    auto parsed = json::parse(upstream_body, ec);
    const auto* root = ec ? nullptr : object_or_null(&parsed);
    const auto* output = root == nullptr ? nullptr : object_or_null(root->if_contains("output"));
    const auto* message = output == nullptr ? nullptr : object_or_null(output->if_contains("message"));
    const auto* content = message == nullptr ? nullptr : array_or_null(message->if_contains("content"));
    if (content == nullptr)
      return bad_upstream("Bedrock returned a response without output.message.content");

    std::string text;
    std::string reasoning;
    json::array tool_calls;
    for (const auto& block_value : *content) {
      const auto* block = object_or_null(&block_value);
      if (block == nullptr) continue;
      if (const auto* t = block->if_contains("text"); t != nullptr && t->is_string()) {
        text.append(t->get_string());
      } else if (const auto* tool = object_or_null(block->if_contains("toolUse"))) {
        const auto name = string_or_empty(tool->if_contains("name"));
        const auto* input = tool->if_contains("input");
        const auto arguments = input == nullptr ? std::string("{}") : json::serialize(*input);
        if (json_mode_ && name == kJsonTool) {
          text.append(arguments);
          continue;
        }
        tool_calls.push_back(
            json::object{{"id", string_or_empty(tool->if_contains("toolUseId"))},
                         {"type", "function"},
                         {"function", json::object{{"name", name}, {"arguments", arguments}}}});
      } else if (const auto* rc = object_or_null(block->if_contains("reasoningContent"))) {
        if (const auto* rt = object_or_null(rc->if_contains("reasoningText")))
          reasoning.append(string_or_empty(rt->if_contains("text")));
      }
    }
    const auto stop_reason = string_or_empty(root->if_contains("stopReason"));
    auto finish = finish_reason(stop_reason);
    if (finish == "tool_calls" && tool_calls.empty()) finish = "stop";  // json_response only
    if (const auto* u = object_or_null(root->if_contains("usage"))) usage_ = parse_usage(*u);

    json::object msg{{"role", "assistant"}};
    msg["content"] = text.empty() && !tool_calls.empty() ? json::value(nullptr) : json::value(text);
    if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
    msg["refusal"] = nullptr;
    if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
    json::object choice{{"index", 0},
                        {"message", std::move(msg)},
                        {"logprobs", nullptr},
                        {"finish_reason", finish}};
    json::object response{{"id", new_id("chatcmpl-")},
                          {"object", "chat.completion"},
                          {"created", unix_now()},
                          {"model", model_name()},
                          {"choices", json::array{std::move(choice)}},
                          {"usage", openai_usage(usage_)}};
    client_body = json::serialize(response);
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    return bedrock_detail::translate_error(status, error_type_header, upstream_body);
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    if (done_) return false;
    const bool ok =
        decoder_.feed(upstream_bytes, [&](const EventStreamMessage& m) { on_message(m, out); });
    if (done_) return false;
    if (!ok) {
      fail(out, bad_upstream("malformed Bedrock event stream: " + std::string(decoder_.error())));
      return false;
    }
    return true;
  }

  void stream_end(std::string& out) override {
    if (done_) return;
    const auto end = decoder_.finish();
    if (end == EventStreamDecoder::End::kPartialMessage) {
      fail(out,
           bad_upstream("Bedrock stream ended early, in the middle of an event-stream message"));
    } else if (end == EventStreamDecoder::End::kError) {
      fail(out, bad_upstream("malformed Bedrock event stream"));
    } else if (!saw_stop_) {
      fail(out, bad_upstream("Bedrock stream ended early, before messageStop"));
    } else {
      if (include_usage_) {
        json::object chunk = chunk_header();
        chunk["choices"] = json::array{};
        chunk["usage"] = openai_usage(usage_);
        append_sse_data(out, json::serialize(chunk));
      }
      append_sse_done(out);
      done_ = true;
    }
  }

  void stream_fail(const http::ApiError& error, std::string& out) override { fail(out, error); }

  Usage usage() const override { return usage_; }

 private:
  std::string model_name() const {
    return context_.client_model.empty() ? context_.model : context_.client_model;
  }

  std::optional<http::ApiError> assistant_blocks(const json::object& message, std::size_t i,
                                                 json::array& blocks) {
    const auto base = indexed("messages", i);
    if (const auto* content = message.if_contains("content");
        content != nullptr && !content->is_null()) {
      if (content->is_string()) {
        if (!content->get_string().empty())
          blocks.push_back(json::object{{"text", content->get_string()}});
      } else if (content->is_array()) {
        for (const auto& part_value : content->get_array()) {
          const auto* part = object_or_null(&part_value);
          if (part == nullptr || string_or_empty(part->if_contains("type")) != "text")
            continue;  // refusal parts dropped
          if (const auto text = string_or_empty(part->if_contains("text")); !text.empty())
            blocks.push_back(json::object{{"text", text}});
        }
      } else {
        return invalid_request("content must be a string, an array of parts or null", base + ".content");
      }
    }
    const auto* calls_value = message.if_contains("tool_calls");
    if (calls_value == nullptr || calls_value->is_null()) return std::nullopt;
    const auto* calls = array_or_null(calls_value);
    if (calls == nullptr) return invalid_request("tool_calls must be an array", base + ".tool_calls");
    for (std::size_t j = 0; j < calls->size(); ++j) {
      const auto call_name = indexed(base + ".tool_calls", j);
      const auto* call = object_or_null(&(*calls)[j]);
      const auto* function = call == nullptr ? nullptr : object_or_null(call->if_contains("function"));
      if (function == nullptr)
        return invalid_request("tool calls need a function object", call_name + ".function");
      const auto id = string_or_empty(call->if_contains("id"));
      if (id.empty()) return invalid_request("tool calls need an id", call_name + ".id");
      const auto name = string_or_empty(function->if_contains("name"));
      if (name.empty())
        return invalid_request("tool calls need function.name", call_name + ".function.name");
      const auto arguments = string_or_empty(function->if_contains("arguments"));
      json::value input = json::object{};
      if (!arguments.empty()) {
        boost::system::error_code ec;
        input = json::parse(arguments, ec);
        if (ec)
          return invalid_request("function.arguments is not valid JSON", call_name + ".function.arguments");
      }
      blocks.push_back(json::object{{"toolUse", json::object{{"toolUseId", bedrock_tool_id(id)},
                                                             {"name", name},
                                                             {"input", std::move(input)}}}});
    }
    return std::nullopt;
  }

  json::object chunk_header() const {
    return json::object{{"id", stream_id_},
                        {"object", "chat.completion.chunk"},
                        {"created", created_},
                        {"model", model_name()}};
  }

  void emit(std::string& out, json::object delta, json::value finish = nullptr) {
    if (!role_sent_) {
      json::object with_role{{"role", "assistant"}};
      for (auto& [k, v] : delta) with_role[k] = std::move(v);
      delta = std::move(with_role);
      role_sent_ = true;
    }
    json::object chunk = chunk_header();
    chunk["choices"] = json::array{json::object{{"index", 0},
                                                {"delta", std::move(delta)},
                                                {"logprobs", nullptr},
                                                {"finish_reason", std::move(finish)}}};
    if (include_usage_) chunk["usage"] = nullptr;
    append_sse_data(out, json::serialize(chunk));
  }

  void fail(std::string& out, const http::ApiError& error) {
    if (done_) return;
    append_openai_error_event(out, error);
    done_ = true;
  }

  void on_message(const EventStreamMessage& m, std::string& out) {
    if (done_) return;
    const auto message_type = m.string_header(":message-type");
    if (message_type == "exception" || message_type == "error") {
      auto type = m.string_header(":exception-type");
      if (type.empty()) type = m.string_header(":error-code");
      http::ApiError error;
      error.code = "upstream_error";
      error.status = bedrock_detail::exception_status(type, error.code).value_or(502);
      if (type == "internalServerException" || type == "InternalServerException")
        error.status = 500;
      error.type = openai_error_type(error.status);
      boost::system::error_code ec;
      const auto payload = json::parse(m.payload, ec);
      std::string_view text;
      if (const auto* obj = ec ? nullptr : object_or_null(&payload)) {
        text = string_or_empty(obj->if_contains("message"));
        if (text.empty()) text = string_or_empty(obj->if_contains("Message"));
      }
      if (text.empty()) text = m.string_header(":error-message");
      error.message =
          text.empty() ? "Bedrock stream error " + std::string(type) : std::string(text);
      fail(out, error);
      return;
    }
    if (message_type != "event") return;
    const auto event = m.string_header(":event-type");
    boost::system::error_code ec;
    const auto payload = json::parse(m.payload, ec);
    const auto* obj = ec ? nullptr : object_or_null(&payload);
    if (obj == nullptr) {
      fail(out,
           bad_upstream("Bedrock stream event '" + std::string(event) + "' is not a JSON object"));
      return;
    }
    const auto block_index = json_count(obj->if_contains("contentBlockIndex"));
    if (event == "messageStart") {
      if (!role_sent_) emit(out, json::object{{"content", ""}});
    } else if (event == "contentBlockStart") {
      const auto* start = object_or_null(obj->if_contains("start"));
      const auto* tool = start == nullptr ? nullptr : object_or_null(start->if_contains("toolUse"));
      if (tool == nullptr) return;
      const auto name = string_or_empty(tool->if_contains("name"));
      if (json_mode_ && name == kJsonTool) {
        json_blocks_.insert(block_index);
        return;
      }
      const auto tool_index = tool_count_++;
      tool_index_by_block_[block_index] = tool_index;
      emit(out,
           json::object{{"tool_calls",
                         json::array{json::object{
                             {"index", tool_index},
                             {"id", string_or_empty(tool->if_contains("toolUseId"))},
                             {"type", "function"},
                             {"function", json::object{{"name", name}, {"arguments", ""}}}}}}});
    } else if (event == "contentBlockDelta") {
      const auto* delta = object_or_null(obj->if_contains("delta"));
      if (delta == nullptr) return;
      if (const auto* t = delta->if_contains("text"); t != nullptr && t->is_string()) {
        if (!t->get_string().empty()) emit(out, json::object{{"content", t->get_string()}});
      } else if (const auto* tool = object_or_null(delta->if_contains("toolUse"))) {
        const auto input = string_or_empty(tool->if_contains("input"));
        if (input.empty()) return;
        if (json_blocks_.count(block_index) != 0) {
          emit(out, json::object{{"content", input}});
        } else if (const auto it = tool_index_by_block_.find(block_index);
                   it != tool_index_by_block_.end()) {
          emit(out, json::object{
                        {"tool_calls", json::array{json::object{
                                           {"index", it->second},
                                           {"function", json::object{{"arguments", input}}}}}}});
        }
      } else if (const auto* rc = object_or_null(delta->if_contains("reasoningContent"))) {
        if (const auto text = string_or_empty(rc->if_contains("text")); !text.empty())
          emit(out, json::object{{"reasoning_content", text}});
      }
    } else if (event == "messageStop") {
      auto finish = finish_reason(string_or_empty(obj->if_contains("stopReason")));
      if (finish == "tool_calls" && tool_count_ == 0) finish = "stop";  // json_response only
      emit(out, json::object{}, json::value(finish));
      saw_stop_ = true;
    } else if (event == "metadata") {
      if (const auto* u = object_or_null(obj->if_contains("usage"))) usage_ = parse_usage(*u);
    }
    // contentBlockStop and unknown events produce nothing.
  }

  RequestContext context_;
  std::string stream_id_;
  std::int64_t created_;
  bool json_mode_ = false;
  bool include_usage_ = false;
  Usage usage_;

  EventStreamDecoder decoder_;
  bool done_ = false;
  bool role_sent_ = false;
  bool saw_stop_ = false;
  std::int64_t tool_count_ = 0;
  std::map<std::uint64_t, std::int64_t> tool_index_by_block_;
  std::set<std::uint64_t> json_blocks_;
};

// Case-insensitive equality for ASCII.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

namespace bedrock_detail {

std::optional<unsigned> exception_status(std::string_view type, std::string_view& code) {
  if (const auto colon = type.find(':'); colon != std::string_view::npos)
    type = type.substr(0, colon);
  if (const auto hash = type.rfind('#'); hash != std::string_view::npos)
    type = type.substr(hash + 1);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  struct Entry {
    std::string_view name;
    unsigned status;
  };
  static constexpr Entry kMap[] = {
      {"ThrottlingException", 429},         {"ValidationException", 400},
      {"AccessDeniedException", 403},       {"ResourceNotFoundException", 404},
      {"ModelTimeoutException", 504},       {"ServiceUnavailableException", 503},
      {"UnrecognizedClientException", 401},
  };
  for (const auto& entry : kMap) {
    if (iequals(entry.name, type)) {
      code = entry.name;
      return entry.status;
    }
  }
  return std::nullopt;
}

http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                               std::string_view body) {
  http::ApiError error;
  error.code = "upstream_error";
  std::string_view type = error_type_header;
  boost::system::error_code ec;
  const auto parsed = json::parse(body, ec);
  std::string_view message;
  if (const auto* obj = ec ? nullptr : object_or_null(&parsed)) {
    message = string_or_empty(obj->if_contains("message"));
    if (message.empty()) message = string_or_empty(obj->if_contains("Message"));
    if (type.empty()) type = string_or_empty(obj->if_contains("__type"));
  }
  if (!message.empty()) {
    error.message = std::string(message);
  } else {
    error.message = "backend returned HTTP " + std::to_string(status);
    if (!body.empty()) error.message.append(": ").append(body.substr(0, 200));
  }
  error.status = exception_status(type, error.code).value_or(status);
  error.type = openai_error_type(error.status);
  return error;
}

}  // namespace bedrock_detail

std::unique_ptr<Translator> make_openai_to_bedrock(RequestContext context) {
  return std::make_unique<OpenAiToBedrock>(std::move(context));
}

}  // namespace sluice::translate
