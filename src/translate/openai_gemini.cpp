// OpenAI chat completions <-> Gemini generateContent (see openai_gemini.hpp).
#include "translate/openai_gemini.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "translate/common.hpp"
#include "translate/encode_openai_chat.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// The documented bypass value Gemini 3 accepts on a replayed functionCall part whose real
// thoughtSignature is unknown (https://ai.google.dev/gemini-api/docs/thought-signatures).
constexpr std::string_view kDummyThoughtSignature = "skip_thought_signature_validator";

http::ApiError bad_request(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "invalid_request");
}

const json::value* present(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// fileData needs a mimeType; guess it from the URL's extension (default image/jpeg).
std::string_view mime_from_url(std::string_view url) {
  const auto end = url.find_first_of("?#");
  if (end != std::string_view::npos) url = url.substr(0, end);
  const auto slash = url.rfind('/');
  const auto dot = url.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "image/jpeg";
  const auto ext = lower(url.substr(dot + 1));
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},   {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
      {"webp", "image/webp"}, {"heic", "image/heic"}, {"heif", "image/heif"}, {"pdf", "application/pdf"},
      {"mp3", "audio/mp3"},   {"wav", "audio/wav"},   {"mp4", "video/mp4"},   {"txt", "text/plain"}};
  for (const auto& [e, type] : kTypes)
    if (ext == e) return type;
  return "image/jpeg";
}

bool is_remote_url(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://");
}

// Builds `contents`: user/model turns, consecutive same-role turns merged, tool results first in a
// user turn, functionResponse count checked against the preceding model turn's functionCalls.
class ContentsBuilder {
 public:
  std::optional<http::ApiError> add_user_parts(json::array parts, std::size_t message_index) {
    if (auto err = switch_to("user", message_index)) return err;
    for (auto& p : parts) other_.push_back(std::move(p));
    return std::nullopt;
  }
  std::optional<http::ApiError> add_tool_response(json::value part, std::size_t message_index) {
    if (auto err = switch_to("user", message_index)) return err;
    responses_.push_back(std::move(part));
    return std::nullopt;
  }
  std::optional<http::ApiError> add_model_parts(json::array text_parts, json::array calls, std::size_t message_index) {
    if (auto err = switch_to("model", message_index)) return err;
    for (auto& p : text_parts) other_.push_back(std::move(p));
    for (auto& p : calls) responses_.push_back(std::move(p));  // model turn: functionCalls after the text
    return std::nullopt;
  }
  std::optional<http::ApiError> finish(json::array& contents) {
    if (auto err = flush(last_index_)) return err;
    contents = std::move(contents_);
    return std::nullopt;
  }

 private:
  std::optional<http::ApiError> switch_to(std::string_view role, std::size_t message_index) {
    if (role_ != role) {
      if (auto err = flush(last_index_)) return err;
      role_ = role;
    }
    last_index_ = message_index;
    return std::nullopt;
  }

  std::optional<http::ApiError> flush(std::size_t message_index) {
    if (role_.empty()) return std::nullopt;
    json::array parts;
    std::size_t calls = 0;
    if (role_ == "user") {
      // Gemini requires one functionResponse per functionCall of the preceding model turn.
      if (responses_.size() != pending_calls_) {
        return bad_request("Gemini requires one tool message per tool call of the preceding assistant message: " +
                               std::to_string(pending_calls_) + " tool call(s) answered by " +
                               std::to_string(responses_.size()) + " tool message(s)",
                           "messages[" + std::to_string(message_index) + "]");
      }
      for (auto& p : responses_) parts.push_back(std::move(p));
      for (auto& p : other_) parts.push_back(std::move(p));
    } else {
      for (auto& p : other_) parts.push_back(std::move(p));
      calls = responses_.size();
      // Each call keeps the signature the client sent back with it; the first call of a turn
      // without one gets the documented placeholder (Gemini 3 wants one there).
      bool first = true;
      for (auto& p : responses_) {
        if (first && !p.as_object().contains("thoughtSignature"))
          p.as_object()["thoughtSignature"] = kDummyThoughtSignature;
        first = false;
        parts.push_back(std::move(p));
      }
    }
    pending_calls_ = calls;
    if (parts.empty()) parts.push_back(json::object{{"text", " "}});  // Gemini rejects a turn without parts
    contents_.push_back(json::object{{"role", role_}, {"parts", std::move(parts)}});
    responses_.clear();
    other_.clear();
    role_.clear();
    return std::nullopt;
  }

  json::array contents_;
  std::string role_;
  json::array responses_;  // user turn: functionResponse parts; model turn: functionCall parts
  json::array other_;
  std::size_t pending_calls_ = 0;
  std::size_t last_index_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The chat translator.

// The request is converted here; the reply is decoded by the Gemini decoder and encoded by the
// OpenAI chat encoder.
class OpenAiToGemini final : public Translator, public ProviderCodec {
 public:
  std::unique_ptr<StreamDecoder> make_stream_decoder() const override {
    return std::make_unique<GeminiStreamDecoder>();
  }
  std::optional<http::ApiError> decode_response(std::string_view body, llm::EventSink& sink) const override {
    return decode_gemini_response(body, sink);
  }
  explicit OpenAiToGemini(RequestContext context) : ctx_(std::move(context)) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream_body) override;
  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    OpenAiChatResponseEncoder encoder(encoder_options());
    if (auto error = decode_complete(text_filter(), encoder, usage_, reply_facts_,
                                     [&](llm::EventSink& sink) { return decode_gemini_response(upstream_body, sink); }))
      return error;
    client_body = encoder.body();
    return std::nullopt;
  }
  http::ApiError translate_error(unsigned status, std::string_view, std::string_view upstream_body) override {
    return gemini_error_to_api_error(status, upstream_body);
  }
  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    return stream().feed(upstream_bytes, out, usage_, &reply_facts_);
  }
  void stream_end(std::string& out) override { stream().end(out, usage_, &reply_facts_); }
  void stream_fail(const http::ApiError& error, std::string& out) override { stream().fail(error, out); }
  Usage usage() const override { return usage_; }

 private:
  using Stream = StreamConversion<GeminiStreamDecoder, OpenAiChatStreamEncoder>;

  std::optional<http::ApiError> convert_messages(const json::array& messages, json::object& out);
  std::optional<http::ApiError> convert_user_content(const json::value& content, std::size_t i, json::array& parts);
  std::optional<http::ApiError> convert_generation_config(const json::object& body, json::object& out);
  std::optional<http::ApiError> convert_tools(const json::object& body, json::object& out);

  EncoderOptions encoder_options() const { return encoder_options_for(ctx_, include_usage_); }
  // The stream's two halves, made on first use (after the request set the options).
  Stream& stream() {
    if (!stream_) {
      stream_.emplace(GeminiStreamDecoder(), OpenAiChatStreamEncoder(encoder_options()));
      if (text_filter() != nullptr) stream_->filter_text(*text_filter());
    }
    return *stream_;
  }

  RequestContext ctx_;
  bool include_usage_ = false;
  Usage usage_;
  std::optional<Stream> stream_;
};

std::optional<http::ApiError> OpenAiToGemini::convert_user_content(const json::value& content, std::size_t i,
                                                                   json::array& parts) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    if (!content.get_string().empty()) parts.push_back(json::object{{"text", content.get_string()}});
    return std::nullopt;
  }
  const std::string where = "messages[" + std::to_string(i) + "].content";
  if (!content.is_array()) return bad_request("content must be a string or an array of parts", where);
  const auto& items = content.get_array();
  for (std::size_t j = 0; j < items.size(); ++j) {
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!items[j].is_object()) return bad_request("content part must be an object", at);
    const auto& part = items[j].get_object();
    const auto type = string_or(part, "type");
    if (type == "text") {
      const auto text = string_or(part, "text");
      if (!text.empty()) parts.push_back(json::object{{"text", text}});
    } else if (type == "image_url" || type == "file") {
      const bool image = type == "image_url";
      std::string_view url;
      if (const auto* holder = part.if_contains(image ? "image_url" : "file")) {
        if (holder->is_string()) {
          url = holder->get_string();
        } else if (holder->is_object()) {
          url = string_or(holder->get_object(), image ? "url" : "file_data");
        }
      }
      const std::string field = at + (image ? ".image_url.url" : ".file.file_data");
      if (url.empty()) {
        return bad_request(image ? "image_url.url is required"
                                 : "Gemini accepts files only as file_data data URIs (file_id is not supported)",
                           field);
      }
      if (const auto uri = parse_data_uri(url)) {
        parts.push_back(json::object{{"inlineData", json::object{{"mimeType", uri->media_type}, {"data", uri->data}}}});
      } else if (is_remote_url(url)) {
        parts.push_back(json::object{{"fileData", json::object{{"mimeType", mime_from_url(url)}, {"fileUri", url}}}});
      } else {
        return bad_request("expected a base64 data URI or an http(s)/gs URL", field);
      }
    } else if (type == "input_audio") {
      const auto* audio = part.if_contains("input_audio");
      if (audio == nullptr || !audio->is_object())
        return bad_request("input_audio must be an object", at + ".input_audio");
      const auto format = string_or(audio->get_object(), "format", "wav");
      const auto data = string_or(audio->get_object(), "data");
      parts.push_back(
          json::object{{"inlineData", json::object{{"mimeType", "audio/" + std::string(format)}, {"data", data}}}});
    } else {
      return bad_request("content part type '" + std::string(type) + "' is not supported for Gemini", at + ".type");
    }
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_messages(const json::array& messages, json::object& out) {
  json::array system_parts;
  ContentsBuilder builder;
  std::map<std::string, std::string, std::less<>> call_names;  // tool_call_id -> function name

  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!messages[i].is_object()) return bad_request("message must be an object", where);
    const auto& msg = messages[i].get_object();
    const auto role = string_or(msg, "role");
    static const json::value kNull;
    const auto* content_ptr = msg.if_contains("content");
    const json::value& content = content_ptr != nullptr ? *content_ptr : kNull;

    if (role == "system" || role == "developer") {
      auto text = content_text(content);
      if (!text.empty()) system_parts.push_back(json::object{{"text", std::move(text)}});
    } else if (role == "user") {
      json::array parts;
      if (auto err = convert_user_content(content, i, parts)) return err;
      if (auto err = builder.add_user_parts(std::move(parts), i)) return err;
    } else if (role == "assistant") {
      json::array text_parts;
      auto text = content_text(content);
      if (!text.empty()) text_parts.push_back(json::object{{"text", std::move(text)}});
      json::array calls;
      if (const auto* tc = present(msg, "tool_calls")) {
        if (!tc->is_array()) return bad_request("tool_calls must be an array", where + ".tool_calls");
        const auto& list = tc->get_array();
        for (std::size_t j = 0; j < list.size(); ++j) {
          const std::string at = where + ".tool_calls[" + std::to_string(j) + "]";
          const auto* fn = list[j].is_object() ? list[j].get_object().if_contains("function") : nullptr;
          if (fn == nullptr || !fn->is_object()) return bad_request("tool call must have a function object", at);
          const auto name = string_or(fn->get_object(), "name");
          if (name.empty()) return bad_request("tool call function name is required", at + ".function.name");
          json::value args = json::object{};
          if (const auto* a = present(fn->get_object(), "arguments")) {
            if (a->is_object()) {
              args = *a;
            } else if (a->is_string() && !a->get_string().empty()) {
              boost::system::error_code ec;
              args = json::parse(a->get_string(), ec);
              if (ec || !args.is_object())
                return bad_request("tool call arguments must be a JSON object", at + ".function.arguments");
            } else if (!a->is_string()) {
              return bad_request("tool call arguments must be a JSON string", at + ".function.arguments");
            }
          }
          const auto id = string_or(list[j].get_object(), "id");
          if (!id.empty()) call_names[std::string(id)] = std::string(name);
          json::object part{{"functionCall", json::object{{"name", name}, {"args", std::move(args)}}}};
          if (const auto signature = pivot_call_signature(list[j].get_object()); !signature.empty())
            part["thoughtSignature"] = signature;
          calls.push_back(std::move(part));
        }
      }
      if (auto err = builder.add_model_parts(std::move(text_parts), std::move(calls), i)) return err;
    } else if (role == "tool") {
      const auto id = string_or(msg, "tool_call_id");
      const auto found = call_names.find(id);
      if (found == call_names.end()) {
        return bad_request(
            "tool_call_id '" + std::string(id) + "' does not answer a tool call of an earlier assistant message",
            where + ".tool_call_id");
      }
      const auto text = content_text(content);
      json::value output = json::string(text);
      boost::system::error_code ec;
      if (auto parsed = json::parse(text, ec); !ec && parsed.is_object()) output = std::move(parsed);
      json::object response{{"name", found->second}, {"response", json::object{{"output", std::move(output)}}}};
      if (auto err = builder.add_tool_response(json::object{{"functionResponse", std::move(response)}}, i)) return err;
    } else {
      return bad_request("role '" + std::string(role) + "' is not supported for Gemini", where + ".role");
    }
  }

  json::array contents;
  if (auto err = builder.finish(contents)) return err;
  if (contents.empty()) return bad_request("Gemini needs at least one user or assistant message", "messages");
  out["contents"] = std::move(contents);
  if (!system_parts.empty()) out["systemInstruction"] = json::object{{"parts", std::move(system_parts)}};
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_generation_config(const json::object& body, json::object& out) {
  json::object config;
  const auto number = [&](std::string_view from, std::string_view to) -> std::optional<http::ApiError> {
    if (const auto* v = present(body, from)) {
      if (!v->is_number()) return bad_request(std::string(from) + " must be a number", std::string(from));
      config[to] = *v;
    }
    return std::nullopt;
  };
  const auto integer = [&](std::string_view from, std::string_view to) -> std::optional<http::ApiError> {
    if (const auto* v = present(body, from)) {
      if (!v->is_int64() && !v->is_uint64())
        return bad_request(std::string(from) + " must be an integer", std::string(from));
      config[to] = *v;
    }
    return std::nullopt;
  };
  if (auto e = number("temperature", "temperature")) return e;
  if (auto e = number("top_p", "topP")) return e;
  if (auto e = integer("top_k", "topK")) return e;
  if (present(body, "max_completion_tokens") != nullptr) {
    if (auto e = integer("max_completion_tokens", "maxOutputTokens")) return e;
  } else if (auto e = integer("max_tokens", "maxOutputTokens")) {
    return e;
  }
  if (const auto* stop = present(body, "stop")) {
    if (stop->is_string()) {
      config["stopSequences"] = json::array{stop->get_string()};
    } else if (stop->is_array() && std::all_of(stop->get_array().begin(), stop->get_array().end(),
                                               [](const json::value& s) { return s.is_string(); })) {
      config["stopSequences"] = *stop;
    } else {
      return bad_request("stop must be a string or an array of strings", "stop");
    }
  }
  if (const auto* n = present(body, "n")) {
    if (!n->is_int64() && !n->is_uint64()) return bad_request("n must be an integer", "n");
    if (ctx_.stream && json_count(n) > 1) return bad_request("n > 1 is not supported for streaming from Gemini", "n");
    config["candidateCount"] = *n;
  }
  if (auto e = integer("seed", "seed")) return e;
  if (auto e = number("presence_penalty", "presencePenalty")) return e;
  if (auto e = number("frequency_penalty", "frequencyPenalty")) return e;
  if (const auto* rf = present(body, "response_format")) {
    const auto type = rf->is_object() ? string_or(rf->get_object(), "type") : std::string_view{};
    if (type == "json_object") {
      config["responseMimeType"] = "application/json";
    } else if (type == "json_schema") {
      config["responseMimeType"] = "application/json";
      const auto* js = rf->get_object().if_contains("json_schema");
      const auto* schema = js != nullptr && js->is_object() ? present(js->get_object(), "schema") : nullptr;
      if (schema != nullptr) config["responseJsonSchema"] = *schema;
    } else if (type != "text") {
      return bad_request("response_format type must be text, json_object or json_schema", "response_format.type");
    }
  }
  // Reasoning. Gemini 3 and later (gemini_takes_thinking_level) take a thinking level: minimal
  // and low -> low, medium, high and xhigh -> high (the two levels every Gemini 3 model accepts);
  // a dynamic ask (x_sluice_thinking_budget -1) sends no level (the model's own default).
  // Earlier models take a budget: the client's exact one, -1 when it asked for dynamic
  // thinking, else minimal 512, low 1024, medium 8192, high and xhigh 24576. none ->
  // thinkingBudget 0 on every model (a model that cannot stop thinking answers its own 400).
  // includeThoughts so the reasoning comes back.
  ReasoningAsk reasoning;
  if (auto err = read_reasoning(body, reasoning)) return err;
  if (!reasoning.effort.empty()) {
    json::object thinking;
    if (!reasoning.enabled()) {
      thinking["thinkingBudget"] = 0;
    } else if (gemini_takes_thinking_level(ctx_.model)) {
      if (!reasoning.dynamic)
        thinking["thinkingLevel"] = reasoning.effort == "minimal" || reasoning.effort == "low" ? "low" : "high";
      thinking["includeThoughts"] = true;
    } else {
      if (reasoning.dynamic) {
        thinking["thinkingBudget"] = -1;
      } else {
        thinking["thinkingBudget"] = reasoning.budget                ? *reasoning.budget
                                     : reasoning.effort == "minimal" ? 512
                                     : reasoning.effort == "low"     ? 1024
                                     : reasoning.effort == "medium"  ? 8192
                                                                     : 24576;
      }
      thinking["includeThoughts"] = true;
    }
    config["thinkingConfig"] = std::move(thinking);
  }
  if (!config.empty()) out["generationConfig"] = std::move(config);
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_tools(const json::object& body, json::object& out) {
  if (const auto* tools = present(body, "tools")) {
    if (!tools->is_array()) return bad_request("tools must be an array", "tools");
    json::array declarations;
    const auto& list = tools->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!list[i].is_object() || string_or(list[i].get_object(), "type", "function") != "function")
        return bad_request("only function tools are supported for Gemini", at + ".type");
      const auto* fn = list[i].get_object().if_contains("function");
      if (fn == nullptr || !fn->is_object()) return bad_request("function is required", at + ".function");
      const auto& f = fn->get_object();
      const auto name = string_or(f, "name");
      if (name.empty()) return bad_request("function name is required", at + ".function.name");
      json::object decl{{"name", name}};
      if (const auto* d = present(f, "description")) decl["description"] = *d;
      if (const auto* p = present(f, "parameters")) decl["parametersJsonSchema"] = *p;
      declarations.push_back(std::move(decl));
    }
    if (!declarations.empty())
      out["tools"] = json::array{json::object{{"functionDeclarations", std::move(declarations)}}};
  }
  if (const auto* choice = present(body, "tool_choice")) {
    json::object config;
    if (choice->is_string()) {
      const auto c = std::string_view(choice->get_string());
      if (c == "auto") {
        config["mode"] = "AUTO";
      } else if (c == "none") {
        config["mode"] = "NONE";
      } else if (c == "required") {
        config["mode"] = "ANY";
      } else {
        return bad_request("tool_choice must be auto, none, required or a function", "tool_choice");
      }
    } else if (choice->is_object()) {
      const auto* fn = choice->get_object().if_contains("function");
      const auto name = fn != nullptr && fn->is_object() ? string_or(fn->get_object(), "name") : std::string_view{};
      if (name.empty()) return bad_request("tool_choice.function.name is required", "tool_choice.function.name");
      config["mode"] = "ANY";
      config["allowedFunctionNames"] = json::array{name};
    } else {
      return bad_request("tool_choice must be a string or an object", "tool_choice");
    }
    out["toolConfig"] = json::object{{"functionCallingConfig", std::move(config)}};
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::translate_request(const json::object& body, std::string& upstream_body) {
  if (const auto* so = present(body, "stream_options"); so != nullptr && so->is_object()) {
    const auto* iu = so->get_object().if_contains("include_usage");
    include_usage_ = iu != nullptr && iu->is_bool() && iu->get_bool();
  }
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return bad_request("messages must be an array", "messages");
  json::object out;
  if (auto err = convert_messages(messages->get_array(), out)) return err;
  if (auto err = convert_tools(body, out)) return err;
  if (auto err = convert_generation_config(body, out)) return err;
  upstream_body = json::serialize(out);
  return std::nullopt;
}

}  // namespace

std::unique_ptr<Translator> make_openai_to_gemini(RequestContext context) {
  return std::make_unique<OpenAiToGemini>(std::move(context));
}

}  // namespace sluice::translate
