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

#include "translate/common.hpp"
#include "translate/encode_openai_chat.hpp"

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

std::optional<std::string_view> image_format(std::string_view media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/jpeg" || media_type == "image/jpg") return "jpeg";
  if (media_type == "image/gif") return "gif";
  if (media_type == "image/webp") return "webp";
  return std::nullopt;
}

// User content (string / parts / null) -> Converse content blocks.
std::optional<http::ApiError> user_blocks(const json::value* content, std::size_t i, json::array& blocks) {
  if (content == nullptr || content->is_null()) return std::nullopt;
  const auto base = indexed("messages", i) + ".content";
  if (content->is_string()) {
    if (!content->get_string().empty()) blocks.push_back(json::object{{"text", content->get_string()}});
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
        return unsupported(
            "image type '" + std::string(uri->media_type) + "' is not supported by Bedrock (png, jpeg, gif or webp)",
            param);
      blocks.push_back(
          json::object{{"image", json::object{{"format", *format}, {"source", json::object{{"bytes", uri->data}}}}}});
    } else {
      return unsupported("content part type '" + std::string(type) + "' is not supported by Bedrock",
                         part_name + ".type");
    }
  }
  return std::nullopt;
}

// The request is converted here; the reply is decoded by the Bedrock decoder and encoded by the
// OpenAI chat encoder, configured by what the request asked (include_usage, JSON mode).
class OpenAiToBedrock final : public Translator, public ProviderCodec {
 public:
  std::unique_ptr<StreamDecoder> make_stream_decoder() const override {
    return std::make_unique<BedrockStreamDecoder>(json_tool());
  }
  std::optional<http::ApiError> decode_response(std::string_view body, llm::EventSink& sink) const override {
    return decode_bedrock_response(body, json_tool(), sink);
  }
  explicit OpenAiToBedrock(RequestContext context) : context_(std::move(context)) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream_body) override {
    json::object out;
    json::array system;
    bool tool_blocks = false;

    // Reasoning: Claude's thinking (additionalModelRequestFields.thinking: a budget, or adaptive
    // with output_config.effort from Claude 4.6 on), Amazon Nova 2's
    // reasoningConfig (the model id contains "nova-2": minimal and low -> low, medium, high and
    // xhigh -> high); other Bedrock models have no field for it.
    ReasoningAsk reasoning;
    if (auto error = read_reasoning(body, reasoning)) return error;
    std::string_view model = context_.model;
    if (model.empty()) model = string_or_empty(body.if_contains("model"));
    thinking_budget_.reset();
    std::string_view nova_effort;
    bool adaptive = false;  // Claude 4.6 and later: adaptive thinking with an effort
    std::string_view adaptive_effort;
    if (reasoning.enabled()) {
      if (model.find("nova-2") != std::string_view::npos) {
        nova_effort = reasoning.effort == "minimal" || reasoning.effort == "low" ? "low"
                      : reasoning.effort == "medium"                             ? "medium"
                                                                                 : "high";
      } else if (model.find("claude") == std::string_view::npos) {
        return unsupported(
            "reasoning_effort is carried to Anthropic Claude and Amazon Nova 2 models only on Bedrock; this model "
            "has no reasoning setting",
            "reasoning_effort");
      } else {
        thinking_budget_ = claude_thinking_budget(reasoning);
        if (auto error = claude_thinking_conflicts(body)) return error;
        adaptive = claude_takes_adaptive_thinking(model);
        adaptive_effort = claude_adaptive_effort(reasoning, model);
      }
    }

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
        if (content != nullptr && !content->is_string() && !content->is_array() && !content->is_null())
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
          for (const auto& b : blocks) tool_blocks = tool_blocks || b.get_object().contains("toolUse");
          auto& turn = turn_for("assistant");
          for (auto& b : blocks) turn.blocks.push_back(std::move(b));
        }
      } else if (role == "tool") {
        const auto id = string_or_empty(message->if_contains("tool_call_id"));
        if (id.empty())
          return invalid_request("tool messages need a tool_call_id", indexed("messages", i) + ".tool_call_id");
        if (content != nullptr && !content->is_string() && !content->is_array() && !content->is_null())
          return invalid_request("content must be a string or an array of text parts",
                                 indexed("messages", i) + ".content");
        const auto text = content == nullptr ? std::string() : content_text(*content);
        json::array result_content;
        if (!text.empty()) result_content.push_back(json::object{{"text", text}});
        turn_for("user").results.push_back(json::object{
            {"toolResult", json::object{{"toolUseId", bedrock_tool_id(id)}, {"content", std::move(result_content)}}}});
        tool_blocks = true;
      } else {
        return unsupported("message role '" + std::string(role) + "' is not supported by Bedrock",
                           indexed("messages", i) + ".role");
      }
    }
    // A tool loop whose last assistant turn carries no reasoning block (a client that does not
    // send thinking_blocks back) is continued without thinking: Claude rejects it there.
    if (thinking_budget_ && turns.size() >= 2) {
      const auto& last = turns.back();
      const auto& previous = turns[turns.size() - 2];
      if (last.role == "user" && last.blocks.empty() && !last.results.empty() && previous.role == "assistant" &&
          (previous.blocks.empty() || !previous.blocks.front().get_object().contains("reasoningContent")))
        thinking_budget_.reset();
    }
    json::array bedrock_messages;
    for (auto& turn : turns) {
      json::array content = std::move(turn.results);
      for (auto& b : turn.blocks) content.push_back(std::move(b));
      bedrock_messages.push_back(json::object{{"role", turn.role}, {"content", std::move(content)}});
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
    if (thinking_budget_ && adaptive) {
      // Adaptive: no budget to fit below maxTokens; without a client max, the same room.
      if (max_field == nullptr) inference["maxTokens"] = context_.default_max_tokens + *thinking_budget_;
      json::object fields{{"thinking", json::object{{"type", "adaptive"}}}};
      if (!adaptive_effort.empty()) fields["output_config"] = json::object{{"effort", adaptive_effort}};
      out["additionalModelRequestFields"] = std::move(fields);
    } else if (thinking_budget_) {
      // Thinking counts against maxTokens and must stay below it (as for Anthropic).
      if (max_field == nullptr) {
        inference["maxTokens"] = context_.default_max_tokens + *thinking_budget_;
      } else if (const auto max = json_count(&body.at(max_field)); *thinking_budget_ >= max) {
        if (max <= 1024)
          return invalid_request(std::string(max_field) +
                                     " must be above 1024 when reasoning is enabled for Claude (its smallest thinking "
                                     "budget is 1024 tokens, counted in the limit)",
                                 max_field);
        thinking_budget_ = max - 1;
      }
      out["additionalModelRequestFields"] =
          json::object{{"thinking", json::object{{"type", "enabled"}, {"budget_tokens", *thinking_budget_}}}};
    }
    if (!nova_effort.empty())
      out["additionalModelRequestFields"] =
          json::object{{"reasoningConfig", json::object{{"type", "enabled"}, {"maxReasoningEffort", nova_effort}}}};
    for (const auto& [from, to] : {std::pair{"temperature", "temperature"}, std::pair{"top_p", "topP"}}) {
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
          if (!s.is_string()) return invalid_request("stop must be a string or an array of strings", "stop");
        inference["stopSequences"] = *stop;
      } else {
        return invalid_request("stop must be a string or an array of strings", "stop");
      }
    }
    if (!inference.empty()) out["inferenceConfig"] = std::move(inference);

    json::array tools;
    if (const auto* client_tools = body.if_contains("tools"); client_tools != nullptr && !client_tools->is_null()) {
      if (!client_tools->is_array()) return invalid_request("tools must be an array", "tools");
      const auto& list = client_tools->get_array();
      for (std::size_t k = 0; k < list.size(); ++k) {
        const auto* tool = object_or_null(&list[k]);
        if (tool == nullptr) return invalid_request("tools must be objects", indexed("tools", k));
        if (string_or_empty(tool->if_contains("type")) != "function")
          return unsupported("only function tools are supported by Bedrock", indexed("tools", k) + ".type");
        const auto* function = object_or_null(tool->if_contains("function"));
        const auto name = function == nullptr ? std::string_view{} : string_or_empty(function->if_contains("name"));
        if (name.empty()) return invalid_request("tools need function.name", indexed("tools", k) + ".function.name");
        json::object spec{{"name", name}};
        if (const auto description = string_or_empty(function->if_contains("description")); !description.empty())
          spec["description"] = description;
        const auto* parameters = object_or_null(function->if_contains("parameters"));
        spec["inputSchema"] =
            json::object{{"json", parameters != nullptr
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
          return invalid_request("tool_choice must be none, auto, required or a named function", "tool_choice");
        }
      } else if (const auto* obj = object_or_null(tc)) {
        const auto* function = object_or_null(obj->if_contains("function"));
        const auto name = function == nullptr ? std::string_view{} : string_or_empty(function->if_contains("name"));
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
      const auto type = format == nullptr ? std::string_view{} : string_or_empty(format->if_contains("type"));
      if (type == "json_object" || type == "json_schema") {
        if (thinking_budget_)
          return unsupported("response_format " + std::string(type) +
                                 " is served by a forced tool on Bedrock, which Claude refuses while reasoning; drop "
                                 "reasoning_effort",
                             "response_format");
        json::value schema = json::object{{"type", "object"}};
        std::string description = "Respond with a JSON object.";
        if (type == "json_schema") {
          const auto* js = object_or_null(format->if_contains("json_schema"));
          if (js == nullptr) return invalid_request("json_schema must be an object", "response_format.json_schema");
          if (const auto* s = object_or_null(js->if_contains("schema"))) schema = *s;
          if (const auto d = string_or_empty(js->if_contains("description")); !d.empty()) description = d;
        }
        tools.push_back(
            json::object{{"toolSpec", json::object{{"name", kJsonTool},
                                                   {"description", description},
                                                   {"inputSchema", json::object{{"json", std::move(schema)}}}}}});
        choice = json::object{{"tool", json::object{{"name", kJsonTool}}}};
        choice_none = false;
        json_mode_ = true;
      } else if (type != "text") {
        return invalid_request("response_format.type must be text, json_object or json_schema", "response_format.type");
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

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    OpenAiChatResponseEncoder encoder(encoder_options());
    if (auto error = decode_complete(text_filter(), encoder, usage_, reply_facts_, [&](llm::EventSink& sink) {
          return decode_bedrock_response(upstream_body, json_tool(), sink);
        }))
      return error;
    client_body = encoder.body();
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    return bedrock_detail::translate_error(status, error_type_header, upstream_body);
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    return stream().feed(upstream_bytes, out, usage_, &reply_facts_);
  }

  void stream_end(std::string& out) override { stream().end(out, usage_, &reply_facts_); }

  void stream_fail(const http::ApiError& error, std::string& out) override { stream().fail(error, out); }

  Usage usage() const override { return usage_; }

 private:
  using Stream = StreamConversion<BedrockStreamDecoder, OpenAiChatStreamEncoder>;

  std::string json_tool() const { return json_mode_ ? std::string(kJsonTool) : std::string(); }
  EncoderOptions encoder_options() const { return encoder_options_for(context_, include_usage_); }
  // The stream's two halves, made on first use (after the request set the options).
  Stream& stream() {
    if (!stream_) {
      stream_.emplace(BedrockStreamDecoder(json_tool()), OpenAiChatStreamEncoder(encoder_options()));
      if (text_filter() != nullptr) stream_->filter_text(*text_filter());
    }
    return *stream_;
  }

  std::optional<http::ApiError> assistant_blocks(const json::object& message, std::size_t i, json::array& blocks) {
    const auto base = indexed("messages", i);
    // Signed thinking first, as Claude returned it (only when this request thinks).
    if (thinking_budget_) {
      for (const auto& b : signed_thinking_blocks(message)) {
        const auto& block = b.get_object();
        if (block.at("type").as_string() == "redacted_thinking") {
          blocks.push_back(json::object{{"reasoningContent", json::object{{"redactedContent", block.at("data")}}}});
        } else {
          blocks.push_back(
              json::object{{"reasoningContent",
                            json::object{{"reasoningText", json::object{{"text", block.at("thinking")},
                                                                        {"signature", block.at("signature")}}}}}});
        }
      }
    }
    if (const auto* content = message.if_contains("content"); content != nullptr && !content->is_null()) {
      if (content->is_string()) {
        if (!content->get_string().empty()) blocks.push_back(json::object{{"text", content->get_string()}});
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
      if (function == nullptr) return invalid_request("tool calls need a function object", call_name + ".function");
      const auto id = string_or_empty(call->if_contains("id"));
      if (id.empty()) return invalid_request("tool calls need an id", call_name + ".id");
      const auto name = string_or_empty(function->if_contains("name"));
      if (name.empty()) return invalid_request("tool calls need function.name", call_name + ".function.name");
      const auto arguments = string_or_empty(function->if_contains("arguments"));
      json::value input = json::object{};
      if (!arguments.empty()) {
        boost::system::error_code ec;
        input = json::parse(arguments, ec);
        if (ec) return invalid_request("function.arguments is not valid JSON", call_name + ".function.arguments");
      }
      blocks.push_back(json::object{
          {"toolUse", json::object{{"toolUseId", bedrock_tool_id(id)}, {"name", name}, {"input", std::move(input)}}}});
    }
    return std::nullopt;
  }

  RequestContext context_;
  std::optional<std::uint64_t> thinking_budget_;  // reasoning asked for a Claude model
  bool json_mode_ = false;
  bool include_usage_ = false;
  Usage usage_;
  std::optional<Stream> stream_;
};

}  // namespace

std::unique_ptr<Translator> make_openai_to_bedrock(RequestContext context) {
  return std::make_unique<OpenAiToBedrock>(std::move(context));
}

}  // namespace sluice::translate
