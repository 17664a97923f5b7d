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
#include "translate/sse_parser.hpp"

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

Usage usage_from(const json::object& meta) {
  Usage u;
  u.known = true;
  u.prompt_tokens = json_count(meta.if_contains("promptTokenCount")) +
                    json_count(meta.if_contains("toolUsePromptTokenCount"));
  const auto thoughts = json_count(meta.if_contains("thoughtsTokenCount"));
  u.completion_tokens = json_count(meta.if_contains("candidatesTokenCount")) + thoughts;
  u.reasoning_tokens = thoughts;
  u.cached_tokens = json_count(meta.if_contains("cachedContentTokenCount"));
  u.total_tokens =
      std::max(json_count(meta.if_contains("totalTokenCount")), u.prompt_tokens + u.completion_tokens);
  return u;
}

std::string_view map_finish_reason(std::string_view reason, bool had_function_call) {
  if (reason == "STOP") return had_function_call ? "tool_calls" : "stop";
  if (reason == "MAX_TOKENS") return "length";
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" ||
      reason == "PROHIBITED_CONTENT" || reason == "SPII" || reason == "LANGUAGE" ||
      reason.starts_with("IMAGE_"))
    return "content_filter";
  return "stop";
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
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "image/jpeg";
  const auto ext = lower(url.substr(dot + 1));
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},   {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},   {"webp", "image/webp"},     {"heic", "image/heic"},
      {"heif", "image/heif"}, {"pdf", "application/pdf"}, {"mp3", "audio/mp3"},
      {"wav", "audio/wav"},   {"mp4", "video/mp4"},       {"txt", "text/plain"}};
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
  std::optional<http::ApiError> add_model_parts(json::array text_parts, json::array calls,
                                                std::size_t message_index) {
    if (auto err = switch_to("model", message_index)) return err;
    for (auto& p : text_parts) other_.push_back(std::move(p));
    for (auto& p : calls)
      responses_.push_back(std::move(p));  // model turn: functionCalls after the text
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
        return bad_request(
            "Gemini requires one tool message per tool call of the preceding assistant message: " +
                std::to_string(pending_calls_) + " tool call(s) answered by " +
                std::to_string(responses_.size()) + " tool message(s)",
            "messages[" + std::to_string(message_index) + "]");
      }
      for (auto& p : responses_) parts.push_back(std::move(p));
      for (auto& p : other_) parts.push_back(std::move(p));
    } else {
      for (auto& p : other_) parts.push_back(std::move(p));
      calls = responses_.size();
      bool first = true;
      for (auto& p : responses_) {
        if (first) p.as_object()["thoughtSignature"] = kDummyThoughtSignature;
        first = false;
        parts.push_back(std::move(p));
      }
    }
    pending_calls_ = calls;
    if (parts.empty())
      parts.push_back(json::object{{"text", " "}});  // Gemini rejects a turn without parts
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

class OpenAiToGemini final : public Translator {
 public:
  explicit OpenAiToGemini(RequestContext context)
      : ctx_(std::move(context)), created_(unix_now()) {}

  std::optional<http::ApiError> translate_request(const json::object& body,
                                                  std::string& upstream_body) override;
  std::optional<http::ApiError> translate_response(std::string_view upstream_body,
                                                   std::string& client_body) override;
  http::ApiError translate_error(unsigned status, std::string_view,
                                 std::string_view upstream_body) override {
    return gemini_error_to_api_error(status, upstream_body);
  }
  bool stream_feed(std::string_view upstream_bytes, std::string& out) override;
  void stream_end(std::string& out) override;
  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (done_) return;
    append_openai_error_event(out, error);
    done_ = true;
  }
  Usage usage() const override { return usage_; }

 private:
  std::optional<http::ApiError> convert_messages(const json::array& messages, json::object& out);
  std::optional<http::ApiError> convert_user_content(const json::value& content, std::size_t i,
                                                     json::array& parts);
  std::optional<http::ApiError> convert_generation_config(const json::object& body,
                                                          json::object& out);
  std::optional<http::ApiError> convert_tools(const json::object& body, json::object& out);

  std::string model_name(const json::object& response) const {
    if (!ctx_.client_model.empty()) return ctx_.client_model;
    const auto version = string_or(response, "modelVersion");
    return version.empty() ? ctx_.model : std::string(version);
  }

  // Streaming.
  bool handle_event(const json::object& event, std::string& out);
  void emit_chunk(std::string& out, json::object delta, std::string_view finish_reason);
  void fail(std::string& out, const http::ApiError& error) {
    append_openai_error_event(out, error);
    done_ = true;
  }

  RequestContext ctx_;
  std::int64_t created_;
  bool include_usage_ = false;
  Usage usage_;

  SseParser parser_;
  bool started_ = false;
  std::string stream_id_;
  std::string stream_model_;
  bool role_sent_ = false;
  bool saw_function_call_ = false;
  bool finished_ = false;
  bool done_ = false;  // an error event was sent, or stream_end ran
  std::size_t tool_index_ = 0;
};

std::optional<http::ApiError> OpenAiToGemini::convert_user_content(const json::value& content,
                                                                   std::size_t i,
                                                                   json::array& parts) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    if (!content.get_string().empty())
      parts.push_back(json::object{{"text", content.get_string()}});
    return std::nullopt;
  }
  const std::string where = "messages[" + std::to_string(i) + "].content";
  if (!content.is_array())
    return bad_request("content must be a string or an array of parts", where);
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
        return bad_request(
            image ? "image_url.url is required"
                  : "Gemini accepts files only as file_data data URIs (file_id is not supported)",
            field);
      }
      if (const auto uri = parse_data_uri(url)) {
        parts.push_back(json::object{
            {"inlineData", json::object{{"mimeType", uri->media_type}, {"data", uri->data}}}});
      } else if (is_remote_url(url)) {
        parts.push_back(json::object{
            {"fileData", json::object{{"mimeType", mime_from_url(url)}, {"fileUri", url}}}});
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
          json::object{{"inlineData", json::object{{"mimeType", "audio/" + std::string(format)},
                                                   {"data", data}}}});
    } else {
      return bad_request(
          "content part type '" + std::string(type) + "' is not supported for Gemini",
          at + ".type");
    }
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_messages(const json::array& messages,
                                                               json::object& out) {
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
        if (!tc->is_array())
          return bad_request("tool_calls must be an array", where + ".tool_calls");
        const auto& list = tc->get_array();
        for (std::size_t j = 0; j < list.size(); ++j) {
          const std::string at = where + ".tool_calls[" + std::to_string(j) + "]";
          const auto* fn =
              list[j].is_object() ? list[j].get_object().if_contains("function") : nullptr;
          if (fn == nullptr || !fn->is_object())
            return bad_request("tool call must have a function object", at);
          const auto name = string_or(fn->get_object(), "name");
          if (name.empty())
            return bad_request("tool call function name is required", at + ".function.name");
          json::value args = json::object{};
          if (const auto* a = present(fn->get_object(), "arguments")) {
            if (a->is_object()) {
              args = *a;
            } else if (a->is_string() && !a->get_string().empty()) {
              boost::system::error_code ec;
              args = json::parse(a->get_string(), ec);
              if (ec || !args.is_object())
                return bad_request("tool call arguments must be a JSON object",
                                   at + ".function.arguments");
            } else if (!a->is_string()) {
              return bad_request("tool call arguments must be a JSON string",
                                 at + ".function.arguments");
            }
          }
          const auto id = string_or(list[j].get_object(), "id");
          if (!id.empty()) call_names[std::string(id)] = std::string(name);
          calls.push_back(json::object{
              {"functionCall", json::object{{"name", name}, {"args", std::move(args)}}}});
        }
      }
      if (auto err = builder.add_model_parts(std::move(text_parts), std::move(calls), i))
        return err;
    } else if (role == "tool") {
      const auto id = string_or(msg, "tool_call_id");
      const auto found = call_names.find(id);
      if (found == call_names.end()) {
        return bad_request("tool_call_id '" + std::string(id) +
                               "' does not answer a tool call of an earlier assistant message",
                           where + ".tool_call_id");
      }
      const auto text = content_text(content);
      json::value output = json::string(text);
      boost::system::error_code ec;
      if (auto parsed = json::parse(text, ec); !ec && parsed.is_object())
        output = std::move(parsed);
      json::object response{{"name", found->second},
                            {"response", json::object{{"output", std::move(output)}}}};
      if (auto err =
              builder.add_tool_response(json::object{{"functionResponse", std::move(response)}}, i))
        return err;
    } else {
      return bad_request("role '" + std::string(role) + "' is not supported for Gemini",
                         where + ".role");
    }
  }

  json::array contents;
  if (auto err = builder.finish(contents)) return err;
  if (contents.empty())
    return bad_request("Gemini needs at least one user or assistant message", "messages");
  out["contents"] = std::move(contents);
  if (!system_parts.empty())
    out["systemInstruction"] = json::object{{"parts", std::move(system_parts)}};
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_generation_config(const json::object& body,
                                                                        json::object& out) {
  json::object config;
  const auto number = [&](std::string_view from,
                          std::string_view to) -> std::optional<http::ApiError> {
    if (const auto* v = present(body, from)) {
      if (!v->is_number())
        return bad_request(std::string(from) + " must be a number", std::string(from));
      config[to] = *v;
    }
    return std::nullopt;
  };
  const auto integer = [&](std::string_view from,
                           std::string_view to) -> std::optional<http::ApiError> {
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
    } else if (stop->is_array() &&
               std::all_of(stop->get_array().begin(), stop->get_array().end(),
                           [](const json::value& s) { return s.is_string(); })) {
      config["stopSequences"] = *stop;
    } else {
      return bad_request("stop must be a string or an array of strings", "stop");
    }
  }
  if (const auto* n = present(body, "n")) {
    if (!n->is_int64() && !n->is_uint64()) return bad_request("n must be an integer", "n");
    if (ctx_.stream && json_count(n) > 1)
      return bad_request("n > 1 is not supported for streaming from Gemini", "n");
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
      const auto* schema =
          js != nullptr && js->is_object() ? present(js->get_object(), "schema") : nullptr;
      if (schema != nullptr) config["responseJsonSchema"] = *schema;
    } else if (type != "text") {
      return bad_request("response_format type must be text, json_object or json_schema",
                         "response_format.type");
    }
  }
  if (!config.empty()) out["generationConfig"] = std::move(config);
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::convert_tools(const json::object& body,
                                                            json::object& out) {
  if (const auto* tools = present(body, "tools")) {
    if (!tools->is_array()) return bad_request("tools must be an array", "tools");
    json::array declarations;
    const auto& list = tools->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!list[i].is_object() || string_or(list[i].get_object(), "type", "function") != "function")
        return bad_request("only function tools are supported for Gemini", at + ".type");
      const auto* fn = list[i].get_object().if_contains("function");
      if (fn == nullptr || !fn->is_object())
        return bad_request("function is required", at + ".function");
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
      const auto name =
          fn != nullptr && fn->is_object() ? string_or(fn->get_object(), "name") : std::string_view{};
      if (name.empty())
        return bad_request("tool_choice.function.name is required", "tool_choice.function.name");
      config["mode"] = "ANY";
      config["allowedFunctionNames"] = json::array{name};
    } else {
      return bad_request("tool_choice must be a string or an object", "tool_choice");
    }
    out["toolConfig"] = json::object{{"functionCallingConfig", std::move(config)}};
  }
  return std::nullopt;
}

std::optional<http::ApiError> OpenAiToGemini::translate_request(const json::object& body,
                                                                std::string& upstream_body) {
  if (const auto* so = present(body, "stream_options"); so != nullptr && so->is_object()) {
    const auto* iu = so->get_object().if_contains("include_usage");
    include_usage_ = iu != nullptr && iu->is_bool() && iu->get_bool();
  }
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array())
    return bad_request("messages must be an array", "messages");
  json::object out;
  if (auto err = convert_messages(messages->get_array(), out)) return err;
  if (auto err = convert_tools(body, out)) return err;
  if (auto err = convert_generation_config(body, out)) return err;
  upstream_body = json::serialize(out);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Non-stream response.

std::optional<http::ApiError> OpenAiToGemini::translate_response(std::string_view upstream_body,
                                                                 std::string& client_body) {
  boost::system::error_code ec;
  auto parsed = json::parse(upstream_body, ec);
  if (ec || !parsed.is_object())
    return bad_upstream("Gemini returned a response that is not a JSON object");
  const auto& resp = parsed.get_object();
  if (const auto* err = resp.if_contains("error"); err != nullptr && err->is_object()) {
    const auto code = json_count(err->get_object().if_contains("code"));
    return gemini_error_to_api_error(code >= 400 && code < 600 ? static_cast<unsigned>(code) : 502,
                                     upstream_body);
  }
  if (const auto* meta = resp.if_contains("usageMetadata"); meta != nullptr && meta->is_object())
    usage_ = usage_from(meta->get_object());

  json::array choices;
  const auto* candidates = present(resp, "candidates");
  if (candidates != nullptr && !candidates->is_array())
    return bad_upstream("Gemini candidates is not an array");
  if (candidates == nullptr || candidates->get_array().empty()) {
    const auto* feedback = resp.if_contains("promptFeedback");
    if (feedback == nullptr || !feedback->is_object() ||
        string_or(feedback->get_object(), "blockReason").empty())
      return bad_upstream("Gemini returned no candidates");
    choices.push_back(json::object{
        {"index", 0},
        {"message",
         json::object{{"role", "assistant"}, {"content", nullptr}, {"refusal", nullptr}}},
        {"logprobs", nullptr},
        {"finish_reason", "content_filter"}});
  } else {
    const auto& list = candidates->get_array();
    for (std::size_t c = 0; c < list.size(); ++c) {
      if (!list[c].is_object()) return bad_upstream("Gemini candidate is not an object");
      const auto& cand = list[c].get_object();
      std::string text, reasoning;
      bool any_text = false;
      json::array tool_calls;
      if (const auto* content = cand.if_contains("content");
          content != nullptr && content->is_object()) {
        if (const auto* parts = content->get_object().if_contains("parts");
            parts != nullptr && parts->is_array()) {
          for (const auto& p : parts->get_array()) {
            if (!p.is_object()) continue;
            const auto& part = p.get_object();
            if (const auto* fc = part.if_contains("functionCall");
                fc != nullptr && fc->is_object()) {
              const auto& call = fc->get_object();
              const auto id = string_or(call, "id");
              const auto* args = call.if_contains("args");
              tool_calls.push_back(json::object{
                  {"id", id.empty() ? new_id("call_") : std::string(id)},
                  {"type", "function"},
                  {"function", json::object{{"name", string_or(call, "name")},
                                            {"arguments", args != nullptr && args->is_object()
                                                              ? json::serialize(*args)
                                                              : std::string("{}")}}}});
            } else if (const auto* t = part.if_contains("text"); t != nullptr && t->is_string()) {
              const auto* thought = part.if_contains("thought");
              if (thought != nullptr && thought->is_bool() && thought->get_bool()) {
                reasoning.append(t->get_string());
              } else {
                text.append(t->get_string());
                any_text = true;
              }
            }
          }
        }
      }
      json::object message{{"role", "assistant"}};
      message["content"] = any_text ? json::value(json::string(text)) : json::value(nullptr);
      message["refusal"] = nullptr;
      if (!reasoning.empty()) message["reasoning_content"] = reasoning;
      const bool had_calls = !tool_calls.empty();
      if (had_calls) message["tool_calls"] = std::move(tool_calls);
      choices.push_back(json::object{
          {"index", c},
          {"message", std::move(message)},
          {"logprobs", nullptr},
          {"finish_reason", map_finish_reason(string_or(cand, "finishReason", "STOP"), had_calls)}});
    }
  }
  const auto response_id = string_or(resp, "responseId");
  json::object out{{"id", response_id.empty() ? new_id("chatcmpl-") : std::string(response_id)},
                   {"object", "chat.completion"},
                   {"created", created_},
                   {"model", model_name(resp)},
                   {"choices", std::move(choices)},
                   {"usage", openai_usage(usage_)}};
  client_body = json::serialize(out);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Stream.

void OpenAiToGemini::emit_chunk(std::string& out, json::object delta,
                                std::string_view finish_reason) {
  json::object d;
  if (!role_sent_) {
    d["role"] = "assistant";
    role_sent_ = true;
  }
  for (auto& [k, v] : delta) d[k] = std::move(v);
  json::object choice{{"index", 0}, {"delta", std::move(d)}, {"logprobs", nullptr}};
  choice["finish_reason"] =
      finish_reason.empty() ? json::value(nullptr) : json::value(finish_reason);
  json::object chunk{{"id", stream_id_},
                     {"object", "chat.completion.chunk"},
                     {"created", created_},
                     {"model", stream_model_},
                     {"choices", json::array{std::move(choice)}}};
  if (include_usage_) chunk["usage"] = nullptr;
  append_sse_data(out, json::serialize(chunk));
}

bool OpenAiToGemini::handle_event(const json::object& event, std::string& out) {
  if (const auto* err = event.if_contains("error"); err != nullptr && err->is_object()) {
    const auto status = json_count(err->get_object().if_contains("code"));
    fail(out, gemini_error_to_api_error(
                  status >= 400 && status < 600 ? static_cast<unsigned>(status) : 500,
                  json::serialize(event)));
    return false;
  }
  if (!started_) {
    started_ = true;
    const auto id = string_or(event, "responseId");
    stream_id_ = id.empty() ? new_id("chatcmpl-") : std::string(id);
    stream_model_ = model_name(event);
  }
  if (const auto* meta = event.if_contains("usageMetadata"); meta != nullptr && meta->is_object())
    usage_ = usage_from(meta->get_object());

  const auto* candidates = present(event, "candidates");
  if (candidates == nullptr || !candidates->is_array() || candidates->get_array().empty()) {
    const auto* feedback = event.if_contains("promptFeedback");
    if (!finished_ && feedback != nullptr && feedback->is_object() &&
        !string_or(feedback->get_object(), "blockReason").empty()) {
      emit_chunk(out, json::object{{"content", nullptr}}, "content_filter");
      finished_ = true;
    }
    return true;
  }
  const auto& first = candidates->get_array().front();
  if (!first.is_object()) return true;
  const auto& cand = first.get_object();
  if (const auto* content = cand.if_contains("content");
      content != nullptr && content->is_object()) {
    if (const auto* parts = content->get_object().if_contains("parts");
        parts != nullptr && parts->is_array()) {
      for (const auto& p : parts->get_array()) {
        if (!p.is_object()) continue;
        const auto& part = p.get_object();
        if (const auto* fc = part.if_contains("functionCall"); fc != nullptr && fc->is_object()) {
          const auto& call = fc->get_object();
          const auto id = string_or(call, "id");
          const auto* args = call.if_contains("args");
          json::object tool{
              {"index", tool_index_++},
              {"id", id.empty() ? new_id("call_") : std::string(id)},
              {"type", "function"},
              {"function", json::object{{"name", string_or(call, "name")},
                                        {"arguments", args != nullptr && args->is_object()
                                                          ? json::serialize(*args)
                                                          : std::string("{}")}}}};
          saw_function_call_ = true;
          emit_chunk(out, json::object{{"tool_calls", json::array{std::move(tool)}}}, {});
        } else if (const auto* t = part.if_contains("text"); t != nullptr && t->is_string()) {
          if (t->get_string().empty()) continue;
          const auto* thought = part.if_contains("thought");
          const bool is_thought = thought != nullptr && thought->is_bool() && thought->get_bool();
          emit_chunk(out,
                     json::object{{is_thought ? "reasoning_content" : "content", t->get_string()}},
                     {});
        }
      }
    }
  }
  const auto reason = string_or(cand, "finishReason");
  if (!reason.empty() && !finished_) {
    finished_ = true;
    emit_chunk(out, json::object{}, map_finish_reason(reason, saw_function_call_));
  }
  return true;
}

bool OpenAiToGemini::stream_feed(std::string_view upstream_bytes, std::string& out) {
  if (done_) return false;
  bool ok = true;
  const bool parsed = parser_.feed(upstream_bytes, [&](const SseEvent& event) {
    if (!ok) return;
    if (event.data.empty() || event.data == "[DONE]") return;
    boost::system::error_code ec;
    auto value = json::parse(event.data, ec);
    if (ec || !value.is_object()) {
      fail(out, bad_upstream("Gemini stream event is not a JSON object"));
      ok = false;
      return;
    }
    ok = handle_event(value.get_object(), out);
  });
  if (ok && !parsed) {
    fail(out,
         bad_upstream(std::string("Gemini stream is malformed: ") + std::string(parser_.error())));
    ok = false;
  }
  return ok;
}

void OpenAiToGemini::stream_end(std::string& out) {
  if (done_) return;
  // An event missing only its closing blank line is still delivered.
  if (!stream_feed("\n\n", out)) return;
  done_ = true;
  if (!finished_) {
    append_openai_error_event(
        out, http::ApiError{502, "server_error", "upstream_stream_truncated",
                            "the Gemini stream ended early, before a finish reason", std::nullopt});
    return;
  }
  if (include_usage_) {
    json::object chunk{{"id", stream_id_},         {"object", "chat.completion.chunk"},
                       {"created", created_},      {"model", stream_model_},
                       {"choices", json::array{}}, {"usage", openai_usage(usage_)}};
    append_sse_data(out, json::serialize(chunk));
  }
  append_sse_done(out);
}

// ---------------------------------------------------------------------------------------------
// Errors.

std::string_view google_status_code(std::string_view status) {
  static constexpr std::string_view kStatuses[] = {
      "INVALID_ARGUMENT",   "FAILED_PRECONDITION", "OUT_OF_RANGE",      "UNAUTHENTICATED",
      "PERMISSION_DENIED",  "NOT_FOUND",           "ABORTED",           "ALREADY_EXISTS",
      "RESOURCE_EXHAUSTED", "CANCELLED",           "DATA_LOSS",         "UNKNOWN",
      "INTERNAL",           "UNAVAILABLE",         "DEADLINE_EXCEEDED", "UNIMPLEMENTED"};
  for (const auto s : kStatuses)
    if (s == status) return s;
  return "upstream_error";
}

}  // namespace

http::ApiError gemini_error_to_api_error(unsigned status, std::string_view upstream_body) {
  boost::system::error_code ec;
  auto parsed = json::parse(upstream_body, ec);
  // Some Google endpoints wrap the error in a one-element array.
  if (!ec && parsed.is_array() && !parsed.get_array().empty()) parsed = parsed.get_array().front();
  const json::object* error = nullptr;
  if (!ec && parsed.is_object()) {
    if (const auto* e = parsed.get_object().if_contains("error"); e != nullptr && e->is_object())
      error = &e->get_object();
  }
  if (error == nullptr) {
    std::string message = "backend returned HTTP " + std::to_string(status);
    if (!upstream_body.empty()) message.append(": ").append(upstream_body.substr(0, 200));
    return http::ApiError{status, openai_error_type(status), "upstream_error", std::move(message),
                          std::nullopt};
  }
  std::string message(string_or(*error, "message"));
  if (message.empty()) message = "backend returned HTTP " + std::to_string(status);
  const auto google_status = string_or(*error, "status");
  bool key_invalid = message.find("API key not valid") != std::string::npos;
  if (const auto* details = error->if_contains("details");
      details != nullptr && details->is_array()) {
    for (const auto& d : details->get_array())
      if (d.is_object() && string_or(d.get_object(), "reason") == "API_KEY_INVALID")
        key_invalid = true;
  }
  unsigned mapped = status;
  std::string_view code = google_status_code(google_status);
  if (key_invalid && (status == 400 || status == 401 || status == 403)) {
    mapped = 401;
    code = "invalid_api_key";
  } else if (google_status == "RESOURCE_EXHAUSTED") {
    mapped = 429;
  }
  return http::ApiError{mapped, openai_error_type(mapped), code, std::move(message), std::nullopt};
}

std::unique_ptr<Translator> make_openai_to_gemini(RequestContext context) {
  return std::make_unique<OpenAiToGemini>(std::move(context));
}

}  // namespace sluice::translate
