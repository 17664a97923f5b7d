#include "translate/openai_anthropic.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "translate/common.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/encode_openai_chat.hpp"

namespace sluice::translate {

namespace {

namespace json = boost::json;

constexpr std::string_view kJsonToolName = "json_response";

http::ApiError invalid(std::string param, std::string message) {
  return invalid_request(std::move(message), std::move(param));
}

http::ApiError unsupported(std::string param, std::string message) {
  return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

bool is_null_or_absent(const json::value* v) {
  return v == nullptr || v->is_null();
}

// Anthropic validates tool ids against ^[a-zA-Z0-9_-]+$. Ids that do not match are rewritten
// deterministically: every other byte becomes '_' and an 8-hex FNV-1a hash of the original id is
// appended (so "a.b" and "a:b" stay distinct). Valid ids are kept unchanged.
std::string anthropic_tool_id(std::string_view id) {
  auto valid = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  bool ok = !id.empty();
  for (const char c : id) ok = ok && valid(c);
  if (ok) return std::string(id);
  std::string out;
  out.reserve(id.size() + 9);
  for (const char c : id) out.push_back(valid(c) ? c : '_');
  std::uint32_t hash = 2166136261u;
  for (const char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  char suffix[10];
  std::snprintf(suffix, sizeof suffix, "_%08x", hash);
  out.append(suffix);
  return out;
}

// Whether `model` takes Anthropic's native structured output (output_config.format): Claude
// Opus 4.1, Sonnet 4.5, Haiku 4.5 and later. Names Sluice can tell are older (claude-3-...,
// claude-2, claude-instant, Sonnet / Opus 4.0, Haiku 3.x) do not; any other name is assumed
// to (aliases and future models).
bool native_structured_output(std::string_view model) {
  const auto at = model.find("claude-");
  if (at == std::string_view::npos) return true;
  std::string_view rest = model.substr(at + 7);
  if (rest.empty()) return true;
  if (rest.front() >= '0' && rest.front() <= '9') return false;  // claude-3-5-sonnet-..., claude-2.1
  if (rest.starts_with("instant")) return false;
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos) return true;
  const auto family = rest.substr(0, dash);
  rest.remove_prefix(dash + 1);
  // A version number: up to two digits, ended by the name's end or a separator (a date has 8).
  auto number = [](std::string_view& text) -> std::optional<unsigned> {
    std::size_t n = 0;
    while (n < text.size() && n < 3 && text[n] >= '0' && text[n] <= '9') ++n;
    if (n == 0 || n > 2 || (n < text.size() && (text[n] >= '0' && text[n] <= '9'))) return std::nullopt;
    if (n < text.size() && text[n] != '-' && text[n] != '@' && text[n] != ':' && text[n] != '.') return std::nullopt;
    unsigned value = 0;
    for (std::size_t i = 0; i < n; ++i) value = value * 10 + static_cast<unsigned>(text[i] - '0');
    text.remove_prefix(n < text.size() ? n + 1 : n);
    return value;
  };
  const auto major = number(rest);
  if (!major) return true;
  const auto minor = number(rest).value_or(0);
  if (*major != 4) return *major > 4;
  return minor >= 5 || (family == "opus" && minor >= 1);
}

// One Anthropic turn under construction; a user turn keeps tool results ahead of other blocks.
struct Turn {
  std::string role;
  json::array tool_results;
  json::array blocks;
};

// The request is converted here; the reply is decoded by the Anthropic decoder and encoded by the
// OpenAI chat encoder, configured by what the request asked (include_usage, JSON mode).
class OpenAiToAnthropic final : public Translator, public ProviderCodec {
 public:
  std::unique_ptr<StreamDecoder> make_stream_decoder() const override {
    return std::make_unique<AnthropicStreamDecoder>(json_tool());
  }
  std::optional<http::ApiError> decode_response(std::string_view body, llm::EventSink& sink) const override {
    return decode_anthropic_response(body, json_tool(), sink);
  }
  explicit OpenAiToAnthropic(RequestContext context) : ctx_(std::move(context)) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream_body) override;
  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    OpenAiChatResponseEncoder encoder(encoder_options());
    if (auto error = decode_complete(text_filter(), encoder, usage_, reply_facts_, [&](llm::EventSink& sink) {
          return decode_anthropic_response(upstream_body, json_tool(), sink);
        }))
      return error;
    client_body = encoder.body();
    return std::nullopt;
  }
  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override;
  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    return stream().feed(upstream_bytes, out, usage_, &reply_facts_);
  }
  void stream_end(std::string& out) override { stream().end(out, usage_, &reply_facts_); }
  void stream_fail(const http::ApiError& error, std::string& out) override { stream().fail(error, out); }
  Usage usage() const override { return usage_; }

 private:
  using Stream = StreamConversion<AnthropicStreamDecoder, OpenAiChatStreamEncoder>;

  std::optional<http::ApiError> convert_messages(const json::array& messages, json::array& system, json::array& out);
  std::optional<http::ApiError> convert_user_content(const json::value& content, std::size_t i, json::array& out);
  std::optional<http::ApiError> convert_tools(const json::object& body, json::object& upstream);
  std::optional<http::ApiError> finish_tools(const json::object& body, json::array tools,
                                             std::optional<json::object> choice, json::object& upstream);
  std::optional<http::ApiError> convert_thinking(const json::object& body, bool max_given, json::object& upstream);

  std::string json_tool() const { return json_mode_ ? std::string(kJsonToolName) : std::string(); }
  EncoderOptions encoder_options() const { return encoder_options_for(ctx_, include_usage_); }
  // The stream's two halves, made on first use (after the request set the options).
  Stream& stream() {
    if (!stream_) {
      stream_.emplace(AnthropicStreamDecoder(json_tool()), OpenAiChatStreamEncoder(encoder_options()));
      if (text_filter() != nullptr) stream_->filter_text(*text_filter());
    }
    return *stream_;
  }

  RequestContext ctx_;
  bool include_usage_ = false;
  bool json_mode_ = false;
  std::string model_;                             // the model asked for
  std::optional<std::uint64_t> thinking_budget_;  // reasoning asked for: Claude's thinking budget
  // Adaptive thinking instead of the budget (claude_takes_adaptive_thinking), and its output_config.effort
  // (empty: the model's default).
  bool adaptive_ = false;
  std::string_view effort_;
  Usage usage_;
  std::optional<Stream> stream_;
};

// ---------------------------------------------------------------------------------------------
// Request

std::optional<http::ApiError> OpenAiToAnthropic::convert_user_content(const json::value& content, std::size_t i,
                                                                      json::array& out) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    if (!content.get_string().empty()) out.push_back(json::object{{"type", "text"}, {"text", content.get_string()}});
    return std::nullopt;
  }
  const std::string base = indexed("messages", i) + ".content";
  if (!content.is_array()) return invalid(base, "content must be a string, an array of content parts or null");
  const auto& parts = content.get_array();
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const auto* part = object_or_null(&parts[k]);
    if (part == nullptr) return invalid(indexed(base, k), "content part must be an object");
    const auto type = string_or_empty(part->if_contains("type"));
    if (type == "text") {
      const auto text = string_or_empty(part->if_contains("text"));
      if (!text.empty()) out.push_back(json::object{{"type", "text"}, {"text", text}});
    } else if (type == "image_url") {
      const json::value* image = part->if_contains("image_url");
      std::string_view url;
      if (const auto* obj = object_or_null(image))
        url = string_or_empty(obj->if_contains("url"));
      else
        url = string_or_empty(image);
      if (const auto data = parse_data_uri(url)) {
        const bool pdf = data->media_type == "application/pdf";
        out.push_back(json::object{
            {"type", pdf ? "document" : "image"},
            {"source", json::object{{"type", "base64"}, {"media_type", data->media_type}, {"data", data->data}}}});
      } else if (url.starts_with("https://") || url.starts_with("http://")) {
        out.push_back(json::object{{"type", "image"}, {"source", json::object{{"type", "url"}, {"url", url}}}});
      } else {
        return invalid(indexed(base, k) + ".image_url.url",
                       "image_url.url must be an http(s) URL or a base64 data URI for Anthropic");
      }
    } else {
      return unsupported(indexed(base, k) + ".type",
                         "content part type '" + std::string(type) + "' is not supported by Anthropic");
    }
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToAnthropic::convert_messages(const json::array& messages, json::array& system,
                                                                  json::array& out) {
  std::vector<Turn> turns;
  auto turn_for = [&turns](std::string_view role) -> Turn& {
    if (turns.empty() || turns.back().role != role) turns.push_back(Turn{std::string(role), {}, {}});
    return turns.back();
  };

  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto* msg = object_or_null(&messages[i]);
    if (msg == nullptr) return invalid(indexed("messages", i), "message must be an object");
    const auto role = string_or_empty(msg->if_contains("role"));
    const json::value* content = msg->if_contains("content");
    static const json::value kNull;
    const json::value& content_v = content != nullptr ? *content : kNull;

    if (role == "system" || role == "developer") {
      const auto text = content_text(content_v);
      if (!text.empty()) system.push_back(json::object{{"type", "text"}, {"text", text}});
    } else if (role == "user") {
      json::array blocks;
      if (auto err = convert_user_content(content_v, i, blocks)) return err;
      if (blocks.empty()) continue;
      auto& turn = turn_for("user");
      for (auto& b : blocks) turn.blocks.push_back(std::move(b));
    } else if (role == "tool") {
      const auto id = string_or_empty(msg->if_contains("tool_call_id"));
      if (id.empty()) return invalid(indexed("messages", i) + ".tool_call_id", "tool message needs a tool_call_id");
      json::object result{{"type", "tool_result"}, {"tool_use_id", anthropic_tool_id(id)}};
      if (content_v.is_string()) {
        if (!content_v.get_string().empty()) result["content"] = content_v.get_string();
      } else if (content_v.is_array()) {
        json::array blocks;
        for (const auto& part : content_v.get_array()) {
          const auto* p = object_or_null(&part);
          if (p == nullptr || string_or_empty(p->if_contains("type")) != "text") continue;
          const auto text = string_or_empty(p->if_contains("text"));
          if (!text.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", text}});
        }
        if (!blocks.empty()) result["content"] = std::move(blocks);
      } else if (!content_v.is_null()) {
        return invalid(indexed("messages", i) + ".content", "tool message content must be a string or text parts");
      }
      turn_for("user").tool_results.push_back(std::move(result));
    } else if (role == "assistant") {
      // Signed thinking blocks first, as Anthropic returned them (only when this request thinks:
      // they serve to continue a tool loop the model was thinking in).
      json::array blocks = thinking_budget_ ? signed_thinking_blocks(*msg) : json::array{};
      if (content_v.is_string()) {
        if (!content_v.get_string().empty())
          blocks.push_back(json::object{{"type", "text"}, {"text", content_v.get_string()}});
      } else if (content_v.is_array()) {
        for (const auto& part : content_v.get_array()) {
          const auto* p = object_or_null(&part);
          if (p == nullptr || string_or_empty(p->if_contains("type")) != "text") continue;
          const auto text = string_or_empty(p->if_contains("text"));
          if (!text.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", text}});
        }
      } else if (!content_v.is_null()) {
        return invalid(indexed("messages", i) + ".content", "assistant content must be a string, text parts or null");
      }
      const json::value* calls = msg->if_contains("tool_calls");
      if (calls != nullptr && !calls->is_null()) {
        if (!calls->is_array()) return invalid(indexed("messages", i) + ".tool_calls", "tool_calls must be an array");
        const auto& list = calls->get_array();
        for (std::size_t j = 0; j < list.size(); ++j) {
          const std::string base = indexed(indexed("messages", i) + ".tool_calls", j);
          const auto* call = object_or_null(&list[j]);
          if (call == nullptr) return invalid(base, "tool call must be an object");
          const auto id = string_or_empty(call->if_contains("id"));
          if (id.empty()) return invalid(base + ".id", "tool call needs an id");
          const auto* fn = object_or_null(call->if_contains("function"));
          const auto name = fn != nullptr ? string_or_empty(fn->if_contains("name")) : std::string_view{};
          if (name.empty()) return invalid(base + ".function.name", "tool call needs a function name");
          json::value input = json::object{};
          const json::value* args = fn->if_contains("arguments");
          if (args != nullptr && args->is_string() && !args->get_string().empty()) {
            boost::system::error_code ec;
            input = json::parse(args->get_string(), ec);
            if (ec || !input.is_object())
              return invalid(base + ".function.arguments",
                             "function.arguments must be a JSON object encoded as a string");
          } else if (args != nullptr && args->is_object()) {
            input = *args;
          } else if (args != nullptr && !args->is_null() && !args->is_string()) {
            return invalid(base + ".function.arguments",
                           "function.arguments must be a JSON object encoded as a string");
          }
          blocks.push_back(json::object{
              {"type", "tool_use"}, {"id", anthropic_tool_id(id)}, {"name", name}, {"input", std::move(input)}});
        }
      }
      if (blocks.empty()) continue;
      auto& turn = turn_for("assistant");
      for (auto& b : blocks) turn.blocks.push_back(std::move(b));
    } else {
      return unsupported(indexed("messages", i) + ".role",
                         "message role '" + std::string(role) + "' is not supported by Anthropic");
    }
  }

  if (turns.empty())
    return invalid("messages", "Anthropic needs at least one user or assistant message besides system messages");

  // A final assistant turn is a prefill; Anthropic rejects it when it ends in whitespace.
  if (turns.back().role == "assistant" && !turns.back().blocks.empty()) {
    auto& last = turns.back().blocks.back().as_object();
    if (string_or_empty(last.if_contains("type")) == "text") {
      std::string text(last["text"].as_string());
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' || text.back() == '\r'))
        text.pop_back();
      if (text.empty())
        turns.back().blocks.pop_back();
      else
        last["text"] = text;
      if (turns.back().blocks.empty()) turns.pop_back();
      if (turns.empty())
        return invalid("messages", "Anthropic needs at least one user or assistant message besides system messages");
    }
  }

  for (auto& turn : turns) {
    json::array content = std::move(turn.tool_results);
    for (auto& b : turn.blocks) content.push_back(std::move(b));
    out.push_back(json::object{{"role", turn.role}, {"content", std::move(content)}});
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToAnthropic::convert_tools(const json::object& body, json::object& upstream) {
  json::array tools;
  if (const json::value* list = body.if_contains("tools"); list != nullptr && !list->is_null()) {
    if (!list->is_array()) return invalid("tools", "tools must be an array");
    const auto& arr = list->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const auto* tool = object_or_null(&arr[i]);
      if (tool == nullptr) return invalid(indexed("tools", i), "tool must be an object");
      const auto type = string_or_empty(tool->if_contains("type"));
      if (type != "function")
        return unsupported(indexed("tools", i) + ".type",
                           "tool type '" + std::string(type) + "' is not supported by Anthropic");
      const auto* fn = object_or_null(tool->if_contains("function"));
      const auto name = fn != nullptr ? string_or_empty(fn->if_contains("name")) : std::string_view{};
      if (name.empty()) return invalid(indexed("tools", i) + ".function.name", "tool needs a function name");
      json::object out{{"name", name}};
      if (const auto desc = string_or_empty(fn->if_contains("description")); !desc.empty()) out["description"] = desc;
      const auto* params = object_or_null(fn->if_contains("parameters"));
      out["input_schema"] = params != nullptr
                                ? json::value(*params)
                                : json::value(json::object{{"type", "object"}, {"properties", json::object{}}});
      tools.push_back(std::move(out));
    }
  }

  std::optional<json::object> choice;
  if (const json::value* tc = body.if_contains("tool_choice"); tc != nullptr && !tc->is_null()) {
    if (tc->is_string()) {
      const auto s = std::string_view(tc->get_string());
      if (s == "auto")
        choice = json::object{{"type", "auto"}};
      else if (s == "required")
        choice = json::object{{"type", "any"}};
      else if (s == "none")
        choice = json::object{{"type", "none"}};
      else
        return invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or a named function");
    } else if (const auto* obj = object_or_null(tc); obj != nullptr) {
      const auto* fn = object_or_null(obj->if_contains("function"));
      const auto name = fn != nullptr ? string_or_empty(fn->if_contains("name")) : std::string_view{};
      if (string_or_empty(obj->if_contains("type")) != "function" || name.empty())
        return unsupported("tool_choice",
                           "only {\"type\":\"function\",\"function\":{\"name\":...}} tool_choice "
                           "objects are supported by Anthropic");
      choice = json::object{{"type", "tool"}, {"name", name}};
    } else {
      return invalid("tool_choice", "tool_choice must be a string or an object");
    }
  }

  if (const json::value* rf = body.if_contains("response_format"); rf != nullptr && !rf->is_null()) {
    const auto* obj = object_or_null(rf);
    const auto type = obj != nullptr ? string_or_empty(obj->if_contains("type")) : std::string_view{};
    if (type == "json_object" || type == "json_schema") {
      json::value schema = json::object{{"type", "object"}};
      const json::object* given = nullptr;
      if (type == "json_schema") {
        const auto* js = object_or_null(obj->if_contains("json_schema"));
        if (js == nullptr)
          return invalid("response_format.json_schema", "json_schema is required for type json_schema");
        given = object_or_null(js->if_contains("schema"));
        if (given != nullptr) schema = *given;
      }
      // A schema on a model that has structured output: Anthropic's own (the reply is text).
      if (given != nullptr && ctx_.anthropic_body_version.empty() && native_structured_output(model_)) {
        upstream["output_config"] =
            json::object{{"format", json::object{{"type", "json_schema"}, {"schema", std::move(schema)}}}};
        return finish_tools(body, std::move(tools), std::move(choice), upstream);
      }
      // Otherwise a forced tool, which Claude does not allow while thinking.
      if (thinking_budget_)
        return unsupported("response_format",
                           "response_format " + std::string(type) +
                               " is served by a forced tool on this model, which Claude refuses while reasoning; "
                               "drop reasoning_effort or use json_schema with a model that has structured outputs");
      tools.push_back(json::object{{"name", kJsonToolName},
                                   {"description", "Respond with a JSON object by calling this tool."},
                                   {"input_schema", std::move(schema)}});
      choice = json::object{{"type", "tool"}, {"name", kJsonToolName}};
      json_mode_ = true;
    } else if (type != "text") {
      return invalid("response_format.type", "response_format.type must be text, json_object or json_schema");
    }
  }

  return finish_tools(body, std::move(tools), std::move(choice), upstream);
}

std::optional<http::ApiError> OpenAiToAnthropic::finish_tools(const json::object& body, json::array tools,
                                                              std::optional<json::object> choice,
                                                              json::object& upstream) {
  if (tools.empty()) return std::nullopt;  // tool_choice without tools means nothing to Anthropic
  const json::value* parallel = body.if_contains("parallel_tool_calls");
  const bool no_parallel = parallel != nullptr && parallel->is_bool() && !parallel->get_bool();
  if (no_parallel && !choice) choice = json::object{{"type", "auto"}};
  if (no_parallel && string_or_empty(choice->if_contains("type")) != "none")
    (*choice)["disable_parallel_tool_use"] = true;
  upstream["tools"] = std::move(tools);
  if (choice) upstream["tool_choice"] = std::move(*choice);
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToAnthropic::translate_request(const json::object& body,
                                                                   std::string& upstream_body) {
  json::object up;

  if (const json::value* n = body.if_contains("n"); !is_null_or_absent(n)) {
    boost::system::error_code ec;
    const auto value = n->is_number() ? n->to_number<double>(ec) : 0.0;
    if (!n->is_number() || ec || value != 1.0) return unsupported("n", "Anthropic supports only n = 1");
  }

  model_ = ctx_.model;
  if (model_.empty()) model_ = string_or_empty(body.if_contains("model"));
  if (ctx_.model_in_body) up["model"] = model_;

  ReasoningAsk reasoning;
  if (auto err = read_reasoning(body, reasoning)) return err;
  thinking_budget_ = claude_thinking_budget(reasoning);
  if (thinking_budget_)
    if (auto err = claude_thinking_conflicts(body)) return err;
  // Adaptive thinking on the Anthropic API (Vertex AI keeps the budget).
  adaptive_ = thinking_budget_ && ctx_.anthropic_body_version.empty() && claude_takes_adaptive_thinking(model_);
  effort_ = claude_adaptive_effort(reasoning, model_);
  if (!ctx_.anthropic_body_version.empty()) up["anthropic_version"] = ctx_.anthropic_body_version;

  // max_tokens: max_completion_tokens wins, then max_tokens, then the configured default.
  const json::value* max = body.if_contains("max_completion_tokens");
  const char* max_name = "max_completion_tokens";
  if (is_null_or_absent(max)) max = body.if_contains("max_tokens"), max_name = "max_tokens";
  if (is_null_or_absent(max)) {
    up["max_tokens"] = ctx_.default_max_tokens;
  } else {
    boost::system::error_code ec;
    const auto value = max->is_number() ? max->to_number<std::uint64_t>(ec) : 0;
    if (!max->is_number() || ec) return invalid(max_name, std::string(max_name) + " must be a non-negative integer");
    up["max_tokens"] = value;
  }

  json::array system;
  json::array messages;
  const json::value* msgs = body.if_contains("messages");
  if (msgs == nullptr || !msgs->is_array()) return invalid("messages", "messages must be an array");
  if (auto err = convert_messages(msgs->get_array(), system, messages)) return err;
  if (!system.empty()) up["system"] = std::move(system);
  up["messages"] = std::move(messages);

  if (auto err = convert_tools(body, up)) return err;
  if (auto err = convert_thinking(body, !is_null_or_absent(max), up)) return err;

  if (const json::value* stop = body.if_contains("stop"); !is_null_or_absent(stop)) {
    if (stop->is_string()) {
      up["stop_sequences"] = json::array{stop->get_string()};
    } else if (stop->is_array()) {
      for (const auto& s : stop->get_array())
        if (!s.is_string()) return invalid("stop", "stop must be a string or an array of strings");
      up["stop_sequences"] = stop->get_array();
    } else {
      return invalid("stop", "stop must be a string or an array of strings");
    }
  }

  if (const json::value* t = body.if_contains("temperature"); !is_null_or_absent(t)) {
    boost::system::error_code ec;
    const double value = t->is_number() ? t->to_number<double>(ec) : -1.0;
    if (!t->is_number() || ec || value < 0.0 || value > 1.0)
      return invalid("temperature", "temperature must be between 0 and 1 for Anthropic");
    up["temperature"] = *t;
  }
  if (const json::value* p = body.if_contains("top_p"); !is_null_or_absent(p)) {
    if (!p->is_number()) return invalid("top_p", "top_p must be a number");
    up["top_p"] = *p;
  }
  if (const auto user = string_or_empty(body.if_contains("user")); !user.empty())
    up["metadata"] = json::object{{"user_id", user}};

  const json::value* stream = body.if_contains("stream");
  if (stream != nullptr && stream->is_bool() && stream->get_bool()) {
    up["stream"] = true;
    if (const auto* opts = object_or_null(body.if_contains("stream_options"))) {
      const json::value* inc = opts->if_contains("include_usage");
      include_usage_ = inc != nullptr && inc->is_bool() && inc->get_bool();
    }
  }

  upstream_body = json::serialize(up);
  return std::nullopt;
}

// Claude's thinking for the reasoning asked (thinking_budget_): {type enabled, budget_tokens}, or
// {type adaptive} and output_config.effort on models that take it (adaptive_).
// Without a client max, max_tokens becomes the default plus the budget (thinking counts against
// max_tokens, and must stay below it); with one, the budget is clamped below it, and a max too
// small for Claude's minimum budget (1024) is a 400 naming it. A tool loop whose last assistant
// turn carries no thinking block (a client that does not send thinking_blocks back) is
// continued without thinking: Claude rejects a thinking request there.
std::optional<http::ApiError> OpenAiToAnthropic::convert_thinking(const json::object& body, bool max_given,
                                                                  json::object& up) {
  if (!thinking_budget_) return std::nullopt;
  const auto& messages = up["messages"].as_array();
  if (messages.size() >= 2) {
    const auto& last = messages.back().as_object();
    const auto& previous = messages[messages.size() - 2].as_object();
    bool only_results = last.at("role").as_string() == "user";
    for (const auto& b : last.at("content").as_array())
      only_results = only_results && b.as_object().at("type").as_string() == "tool_result";
    const auto& answered = previous.at("content").as_array();
    if (only_results && previous.at("role").as_string() == "assistant" && !answered.empty()) {
      const auto first = answered.front().as_object().at("type").as_string();
      if (first != "thinking" && first != "redacted_thinking") {
        thinking_budget_.reset();
        return std::nullopt;
      }
    }
  }
  std::uint64_t budget = *thinking_budget_;
  const std::uint64_t max = up["max_tokens"].to_number<std::uint64_t>();
  if (adaptive_) {
    // No budget to fit below max_tokens: without a client max, the same room for thinking.
    if (!max_given) up["max_tokens"] = max + budget;
    up["thinking"] = json::object{{"type", "adaptive"}};
    if (!effort_.empty()) {
      auto& config = up["output_config"];
      if (!config.is_object()) config = json::object{};
      config.as_object()["effort"] = effort_;
    }
    return std::nullopt;
  }
  if (!max_given) {
    up["max_tokens"] = max + budget;
  } else if (budget >= max) {
    if (max <= 1024) {
      const char* field =
          is_null_or_absent(body.if_contains("max_completion_tokens")) ? "max_tokens" : "max_completion_tokens";
      return invalid(field, std::string(field) +
                                " must be above 1024 when reasoning is enabled for Claude (its smallest thinking "
                                "budget is 1024 tokens, counted in the limit)");
    }
    budget = max - 1;
  }
  up["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", budget}};
  return std::nullopt;
}

http::ApiError OpenAiToAnthropic::translate_error(unsigned status, std::string_view, std::string_view upstream_body) {
  const unsigned mapped = status == 529 ? 503 : status;
  http::ApiError err{mapped, openai_error_type(mapped), "upstream_error", {}, std::nullopt};
  boost::system::error_code ec;
  const json::value parsed = json::parse(upstream_body, ec);
  const auto* obj = ec ? nullptr : object_or_null(&parsed);
  const auto* inner = obj != nullptr ? object_or_null(obj->if_contains("error")) : nullptr;
  const json::value* message = inner != nullptr ? inner->if_contains("message") : nullptr;
  if (message == nullptr || !message->is_string()) {
    err.message = "backend returned HTTP " + std::to_string(status);
    if (!upstream_body.empty()) err.message += ": " + std::string(upstream_body.substr(0, 200));
    return err;
  }
  err.message = message->get_string();
  err.code = anthropic_error_kind(string_or_empty(inner->if_contains("type"))).second;
  return err;
}

}  // namespace

std::unique_ptr<Translator> make_openai_to_anthropic(RequestContext context) {
  return std::make_unique<OpenAiToAnthropic>(std::move(context));
}

}  // namespace sluice::translate
