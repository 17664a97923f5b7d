#include "openai_api.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <variant>

#include "provider_common.hpp"
#include "text.hpp"

namespace sluice::mock::openai {
namespace {

namespace json = boost::json;

constexpr int kMaxEmbeddingDimensions = 65536;

std::atomic<std::uint64_t> completion_counter{0};

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

FullReply bad_request(std::string_view message, std::string_view param = {}) {
  return error(400, message, "invalid_request_error", param);
}

FullReply method_not_allowed(const ApiRequest& request) {
  std::string message = "Method ";
  message.append(request.method).append(" is not allowed for ").append(request.path);
  return error(405, message, "invalid_request_error", {}, "method_not_allowed");
}

// The body as a JSON object, or the 400 to send instead.
std::variant<const json::object*, FullReply> body_object(const ApiRequest& request) {
  if (request.json == nullptr || !request.json->is_object()) {
    return bad_request("We could not parse the JSON body of your request: expected a JSON object.");
  }
  return &request.json->get_object();
}

// The `model` member as a non-empty string, or the 400 to send instead.
std::variant<std::string_view, FullReply> required_model(const json::object& body) {
  const json::value* model = body.if_contains("model");
  if (model == nullptr) return bad_request("you must provide a model parameter", "model");
  if (!model->is_string() || model->get_string().empty()) {
    return bad_request("'model' must be a non-empty string", "model");
  }
  return std::string_view(model->get_string());
}

std::size_t estimate_tokens(std::size_t characters) {
  return std::max<std::size_t>(1, characters / 4);
}

// ---- chat completions -----------------------------------------------------------------------

struct ChatRequest {
  std::string_view model;
  bool stream = false;
  bool include_usage = false;
  std::size_t prompt_tokens = 0;
  // The function to call instead of answering with text (see choose_tool), or null.
  const json::object* tool = nullptr;
  OutputFormat format;      // response_format
  std::string_view effort;  // reasoning_effort, empty when absent
};

// The text of a message's content: a string, or its text parts joined.
std::string content_text(const json::value* content) {
  std::string text;
  if (content && content->is_string()) return std::string(content->get_string());
  if (content && content->is_array()) {
    for (const json::value& part : content->get_array()) {
      const json::object* fields = part.if_object();
      const json::value* value = fields ? fields->if_contains("text") : nullptr;
      if (value && value->is_string()) text.append(value->get_string());
    }
  }
  return text;
}

// The text of the last message when it is a user message (string content or text parts).
std::string last_user_text(const json::array& messages) {
  std::string text;
  const json::object* last = messages.back().if_object();
  const json::value* role = last ? last->if_contains("role") : nullptr;
  if (role == nullptr || !role->is_string() || role->get_string() != "user") return text;
  const json::value* content = last->if_contains("content");
  if (content && content->is_string()) return std::string(content->get_string());
  if (content && content->is_array()) {
    for (const json::value& part : content->get_array()) {
      const json::object* fields = part.if_object();
      const json::value* value = fields ? fields->if_contains("text") : nullptr;
      if (value && value->is_string()) text.append(value->get_string());
    }
  }
  return text;
}

// Tool-call history as OpenAI enforces it: the tool_calls of an assistant message are answered
// by one `tool` message per id right after it, and `tool` messages answer such calls.
std::optional<FullReply> check_tool_history(const json::array& messages) {
  std::vector<std::string_view> pending;
  const auto unanswered = [&pending]() {
    std::string text =
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: ";
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (i > 0) text.append(", ");
      text.append(pending[i]);
    }
    return bad_request(text, "messages");
  };
  for (const json::value& message : messages) {
    const json::object& fields = message.get_object();  // checked by the caller
    const std::string_view role = fields.at("role").get_string();
    if (role == "tool") {
      const json::value* id = fields.if_contains("tool_call_id");
      const auto found =
          id && id->is_string() ? std::ranges::find(pending, std::string_view(id->get_string())) : pending.end();
      if (found == pending.end()) {
        return bad_request(
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            "message "
            "with 'tool_calls'.",
            "messages");
      }
      pending.erase(found);
      continue;
    }
    if (!pending.empty()) return unanswered();
    const json::value* calls = fields.if_contains("tool_calls");
    if (role != "assistant" || calls == nullptr || !calls->is_array()) continue;
    for (const json::value& call : calls->get_array()) {
      const json::object* call_fields = call.if_object();
      const json::value* id = call_fields ? call_fields->if_contains("id") : nullptr;
      if (id == nullptr || !id->is_string()) {
        return bad_request("Each 'tool_calls' entry needs a string 'id'", "messages");
      }
      pending.emplace_back(id->get_string());
    }
  }
  if (!pending.empty()) return unanswered();
  return std::nullopt;
}

// Validates `tools` and `tool_choice` and decides whether to call a function: tools are given,
// tool_choice is not "none", and it is "required" or names a function, or the last user message
// contains the word "tool".
std::optional<FullReply> choose_tool(const json::object& body, const json::array& messages, ChatRequest& chat) {
  const json::value* tools = body.if_contains("tools");
  std::vector<const json::object*> functions;
  if (tools && !tools->is_null()) {
    if (!tools->is_array()) return bad_request("'tools' must be an array", "tools");
    for (const json::value& tool : tools->get_array()) {
      const json::object* fields = tool.if_object();
      const json::value* type = fields ? fields->if_contains("type") : nullptr;
      const json::value* function = fields ? fields->if_contains("function") : nullptr;
      const json::object* definition = function ? function->if_object() : nullptr;
      const json::value* name = definition ? definition->if_contains("name") : nullptr;
      if (type == nullptr || !type->is_string() || type->get_string() != "function" || name == nullptr ||
          !name->is_string() || name->get_string().empty()) {
        return bad_request("Each tool must be {\"type\":\"function\",\"function\":{\"name\":…}}", "tools");
      }
      if (const json::value* parameters = definition->if_contains("parameters");
          parameters && !parameters->is_object()) {
        return bad_request("'tools[].function.parameters' must be an object", "tools");
      }
      functions.push_back(definition);
    }
  }
  std::string_view mode = "auto";
  std::string_view forced;
  if (const json::value* choice = body.if_contains("tool_choice"); choice && !choice->is_null()) {
    const json::object* fields = choice->if_object();
    const json::value* function = fields ? fields->if_contains("function") : nullptr;
    const json::object* named = function ? function->if_object() : nullptr;
    const json::value* name = named ? named->if_contains("name") : nullptr;
    if (choice->is_string() &&
        (choice->get_string() == "none" || choice->get_string() == "auto" || choice->get_string() == "required")) {
      mode = choice->get_string();
    } else if (name && name->is_string()) {
      mode = "function";
      forced = name->get_string();
    } else {
      return bad_request(
          "'tool_choice' must be \"none\", \"auto\", \"required\" or "
          "{\"type\":\"function\",\"function\":{\"name\":…}}",
          "tool_choice");
    }
    if (functions.empty() && mode != "none") {
      return bad_request("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
    }
  }
  chat.tool = choose_function(functions, ToolChoice{mode, forced}, last_user_text(messages));
  if (chat.tool == nullptr && mode == "function") {
    return bad_request("'tool_choice' names an unknown function", "tool_choice");
  }
  return std::nullopt;
}

std::variant<ChatRequest, FullReply> parse_chat(const ApiRequest& request, std::string_view model_override) {
  const auto object = body_object(request);
  if (const auto* reply = std::get_if<FullReply>(&object)) return *reply;
  const json::object& body = *std::get<const json::object*>(object);

  ChatRequest chat;
  if (model_override.empty()) {
    const auto model = required_model(body);
    if (const auto* reply = std::get_if<FullReply>(&model)) return *reply;
    chat.model = std::get<std::string_view>(model);
  } else {
    chat.model = model_override;
  }

  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr) return bad_request("you must provide a messages parameter", "messages");
  if (!messages->is_array() || messages->get_array().empty()) {
    return bad_request("'messages' must be a non-empty array", "messages");
  }
  std::size_t characters = 0;
  std::size_t index = 0;
  for (const json::value& message : messages->get_array()) {
    const json::object* fields = message.if_object();
    const json::value* role = fields ? fields->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      std::string text = "'messages[";
      append_number(text, index);
      text.append("]' must be an object with a string 'role'");
      return bad_request(text, "messages");
    }
    if (const json::value* content = fields->if_contains("content"); content && content->is_string()) {
      characters += utf8_length(content->get_string());
    }
    ++index;
  }
  chat.prompt_tokens = estimate_tokens(characters);
  if (const json::value* format = body.if_contains("response_format"); format && !format->is_null()) {
    auto parsed = parse_output_format(*format, "response_format", true);
    if (auto* reply = std::get_if<FullReply>(&parsed)) return std::move(*reply);
    chat.format = std::get<OutputFormat>(parsed);
    if (chat.format.json && chat.format.schema == nullptr &&
        std::ranges::none_of(messages->get_array(), [](const json::value& message) {
          return mentions_json(content_text(message.get_object().if_contains("content")));
        })) {
      return bad_request(
          "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
          "'json_object'.",
          "messages");
    }
  }
  if (const json::value* effort = body.if_contains("reasoning_effort"); effort && !effort->is_null()) {
    if (auto reply = check_reasoning_effort(*effort, "reasoning_effort")) return std::move(*reply);
    chat.effort = effort->get_string();
  }
  if (auto reply = check_tool_history(messages->get_array())) return std::move(*reply);
  if (auto reply = choose_tool(body, messages->get_array(), chat)) return std::move(*reply);

  if (const json::value* stream = body.if_contains("stream")) {
    if (!stream->is_bool()) return bad_request("'stream' must be a boolean", "stream");
    chat.stream = stream->get_bool();
  }
  if (const json::value* options = body.if_contains("stream_options"); options && !options->is_null()) {
    if (!chat.stream) {
      return bad_request("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
    }
    const json::object* fields = options->if_object();
    const json::value* include_usage = fields ? fields->if_contains("include_usage") : nullptr;
    if (fields == nullptr || (include_usage && !include_usage->is_bool())) {
      return bad_request("'stream_options' must be an object with a boolean 'include_usage'", "stream_options");
    }
    chat.include_usage = include_usage && include_usage->get_bool();
  }
  return chat;
}

// Piece 0 is "chunk0", piece i > 0 is " chunk<i>"; no JSON escaping is ever needed.
void append_content_piece(std::string& out, int index) {
  out.append(index == 0 ? "chunk" : " chunk");
  append_number(out, index);
}

// With a reasoning effort, completion_tokens includes the reasoning tokens (as OpenAI counts them)
// and completion_tokens_details.reasoning_tokens says how many.
void append_usage(std::string& out, const ChatRequest& chat, std::size_t completion_tokens) {
  const std::size_t reasoning = chat.effort.empty() ? 0 : reasoning_tokens(chat.effort);
  completion_tokens += reasoning;
  out.append(R"("usage":{"prompt_tokens":)");
  append_number(out, chat.prompt_tokens);
  out.append(R"(,"completion_tokens":)");
  append_number(out, completion_tokens);
  out.append(R"(,"total_tokens":)");
  append_number(out, chat.prompt_tokens + completion_tokens);
  if (!chat.effort.empty()) {
    out.append(R"(,"completion_tokens_details":{"reasoning_tokens":)");
    append_number(out, reasoning);
    out.push_back('}');
  }
  out.push_back('}');
}

// Everything before the choices array, shared by the plain and the streamed reply.
void append_reply_prefix(std::string& out, const ChatRequest& chat, std::string_view object_type) {
  out.append(R"({"id":"chatcmpl-mock-)");
  append_number(out, completion_counter.fetch_add(1, std::memory_order_relaxed) + 1);
  out.append(R"(","object":")").append(object_type).append(R"(","created":)");
  append_number(out, unix_now());
  out.append(R"(,"model":)");
  append_json_string(out, chat.model);
  out.append(R"(,"choices":[)");
}

// The generated pieces (request.chunks of them), or the client's text (x-mock-reply) when given.
FullReply chat_completion(const ChatRequest& chat, const ApiRequest& request) {
  const int pieces = request.chunks;
  const ScriptedText* scripted = request.reply_text;
  FullReply reply;
  std::string& out = reply.body;
  out.reserve(320 + chat.model.size() + (scripted ? scripted->text.size() : static_cast<std::size_t>(pieces) * 8));
  append_reply_prefix(out, chat, "chat.completion");
  out.append(R"({"index":0,"message":{"role":"assistant","content":)");
  if (scripted) {
    append_json_string(out, scripted->text);
  } else {
    out.push_back('"');
    for (int i = 0; i < pieces; ++i) append_content_piece(out, i);
    out.push_back('"');
  }
  out.append(request.cut_at_max_tokens ? R"(,"refusal":null},"logprobs":null,"finish_reason":"length"}],)"
                                       : R"(,"refusal":null},"logprobs":null,"finish_reason":"stop"}],)");
  append_usage(out, chat, common::reply_tokens(request));
  out.push_back('}');
  return reply;
}

// With a `stream_error` type, the stream ends after the first content piece with
// data: {"error":{"message","type","param":null,"code":null}} and no [DONE].
StreamReply chat_completion_stream(const ChatRequest& chat, const ApiRequest& request) {
  const std::string_view stream_error = request.stream_error;
  const std::size_t pieces = common::reply_piece_count(request);
  std::string prefix = "data: ";
  append_reply_prefix(prefix, chat, "chat.completion.chunk");
  const std::string_view suffix = chat.include_usage ? ",\"usage\":null}\n\n" : "}\n\n";
  const auto choice_event = [&](std::string_view delta, std::string_view finish_reason) {
    std::string event = prefix;
    event.append(R"({"index":0,"delta":)").append(delta);
    event.append(R"(,"logprobs":null,"finish_reason":)").append(finish_reason).append("}]");
    event.append(suffix);
    return event;
  };

  StreamReply reply;
  reply.events.reserve(pieces + 4);
  reply.events.push_back(choice_event(R"({"role":"assistant","content":""})", "null"));
  for (std::size_t i = 0; i < pieces; ++i) {
    std::string delta = R"({"content":)";
    if (request.reply_text) {
      append_json_string(delta, request.reply_text->piece(i));
    } else {
      delta.push_back('"');
      append_content_piece(delta, static_cast<int>(i));
      delta.push_back('"');
    }
    delta.push_back('}');
    reply.events.push_back(choice_event(delta, "null"));
    if (!stream_error.empty()) {
      std::string event = "data: ";
      event.append(error(500, "Injected mid-stream error", stream_error).body).append("\n\n");
      reply.events.push_back(std::move(event));
      return reply;
    }
  }
  reply.events.push_back(choice_event("{}", request.cut_at_max_tokens ? R"("length")" : R"("stop")"));
  if (chat.include_usage) {
    std::string event = prefix;
    event.append("],");
    append_usage(event, chat, common::reply_tokens(request));
    event.append("}\n\n");
    reply.events.push_back(std::move(event));
  }
  reply.events.emplace_back("data: [DONE]\n\n");
  return reply;
}

// A function call: id call_mock<n>, arguments built from the function's parameters schema.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // serialized JSON object
};

ToolCall make_tool_call(const ChatRequest& chat, const ApiRequest& request) {
  ToolCall call{"call_mock", std::string(chat.tool->at("name").get_string()), {}};
  append_number(call.id, common::next_id());
  call.arguments = common::tool_input_text(request, chat.tool->if_contains("parameters"));
  return call;
}

FullReply tool_call_completion(const ChatRequest& chat, const ApiRequest& request) {
  const ToolCall call = make_tool_call(chat, request);
  json::object function{{"name", call.name}, {"arguments", call.arguments}};
  json::object message{{"role", "assistant"},
                       {"content", nullptr},
                       {"refusal", nullptr},
                       {"tool_calls", json::array{json::object{
                                          {"id", call.id}, {"type", "function"}, {"function", std::move(function)}}}}};
  FullReply reply;
  std::string& out = reply.body;
  append_reply_prefix(out, chat, "chat.completion");
  out.append(R"({"index":0,"message":)").append(json::serialize(message));
  out.append(R"(,"logprobs":null,"finish_reason":"tool_calls"}],)");
  append_usage(out, chat, kToolCallTokens);
  out.push_back('}');
  return reply;
}

// The call's id, type and name first (with empty arguments), then the arguments in 3 fragments
// (or in the pieces of x-mock-tool-args).
StreamReply tool_call_stream(const ChatRequest& chat, const ApiRequest& request) {
  const std::string_view stream_error = request.stream_error;
  const ToolCall call = make_tool_call(chat, request);
  std::string prefix = "data: ";
  append_reply_prefix(prefix, chat, "chat.completion.chunk");
  const std::string_view suffix = chat.include_usage ? ",\"usage\":null}\n\n" : "}\n\n";
  const auto choice_event = [&](const json::object& delta, std::string_view finish_reason) {
    std::string event = prefix;
    event.append(R"({"index":0,"delta":)").append(json::serialize(delta));
    event.append(R"(,"logprobs":null,"finish_reason":)").append(finish_reason).append("}]");
    event.append(suffix);
    return event;
  };
  StreamReply reply;
  json::object first_call{
      {"index", 0}, {"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", ""}}}};
  reply.events.push_back(choice_event(
      {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array{std::move(first_call)}}}, "null"));
  for (const std::string& fragment : common::tool_input_pieces(request, call.arguments)) {
    json::object delta_call{{"index", 0}, {"function", {{"arguments", fragment}}}};
    reply.events.push_back(choice_event({{"tool_calls", json::array{std::move(delta_call)}}}, "null"));
    if (!stream_error.empty()) {
      std::string event = "data: ";
      event.append(error(500, "Injected mid-stream error", stream_error).body).append("\n\n");
      reply.events.push_back(std::move(event));
      return reply;
    }
  }
  reply.events.push_back(choice_event({}, R"("tool_calls")"));
  if (chat.include_usage) {
    std::string event = prefix;
    event.append("],");
    append_usage(event, chat, kToolCallTokens);
    event.append("}\n\n");
    reply.events.push_back(std::move(event));
  }
  reply.events.emplace_back("data: [DONE]\n\n");
  return reply;
}

}  // namespace

ApiReply chat_completions(const ApiRequest& request, std::string_view model_override) {
  if (request.method != "POST") return method_not_allowed(request);
  auto parsed = parse_chat(request, model_override);
  if (auto* reply = std::get_if<FullReply>(&parsed)) return std::move(*reply);
  const auto& chat = std::get<ChatRequest>(parsed);
  if (chat.tool && chat.stream) return tool_call_stream(chat, request);
  if (chat.tool) return tool_call_completion(chat, request);
  // Structured output: the text is a JSON document valid against the schema.
  std::optional<ScriptedText> structured;
  if (chat.format.json) structured = common::json_reply(request, chat.format.schema);
  const ApiRequest answer = structured ? common::with_reply(request, *structured) : request;
  if (chat.stream) return chat_completion_stream(chat, answer);
  return chat_completion(chat, answer);
}

namespace {

// ---- embeddings -----------------------------------------------------------------------------

// One thing to embed: a text, or a token array (then `tokens` is set).
struct EmbeddingInput {
  static EmbeddingInput of_text(std::string_view text) { return {text, nullptr}; }
  static EmbeddingInput of_tokens(const json::array& tokens) { return {{}, &tokens}; }

  std::string_view text;
  const json::array* tokens = nullptr;
};

bool is_token(const json::value& value) {
  return (value.is_int64() && value.get_int64() >= 0) || value.is_uint64();
}

bool is_token_array(const json::value& value) {
  return value.is_array() && !value.get_array().empty() && std::ranges::all_of(value.get_array(), is_token);
}

std::variant<std::vector<EmbeddingInput>, FullReply> parse_embedding_inputs(const json::value* input) {
  constexpr std::string_view kShape =
      "'input' must be a string, an array of strings, an array of token ids or an array of "
      "token id arrays";
  if (input == nullptr) return bad_request("you must provide an input parameter", "input");
  if (input->is_string()) return std::vector{EmbeddingInput::of_text(input->get_string())};
  if (!input->is_array() || input->get_array().empty()) return bad_request(kShape, "input");

  const json::array& items = input->get_array();
  if (is_token_array(*input)) return std::vector{EmbeddingInput::of_tokens(items)};
  std::vector<EmbeddingInput> inputs;
  inputs.reserve(items.size());
  const bool strings = items.front().is_string();
  for (const json::value& item : items) {
    if (strings && item.is_string()) {
      inputs.push_back(EmbeddingInput::of_text(item.get_string()));
    } else if (!strings && is_token_array(item)) {
      inputs.push_back(EmbeddingInput::of_tokens(item.get_array()));
    } else {
      return bad_request(kShape, "input");
    }
  }
  return inputs;
}

// FNV-1a over the input; texts and token arrays hash in different domains.
std::uint64_t input_hash(const EmbeddingInput& input) {
  std::uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](unsigned char byte) { hash = (hash ^ byte) * 1099511628211ull; };
  if (input.tokens == nullptr) {
    for (const char c : input.text) mix(static_cast<unsigned char>(c));
    return hash;
  }
  mix(0xFF);
  for (const json::value& token : *input.tokens) {
    const auto id = token.is_int64() ? static_cast<std::uint64_t>(token.get_int64()) : token.get_uint64();
    for (int shift = 0; shift < 64; shift += 8) mix(static_cast<unsigned char>(id >> shift));
  }
  return hash;
}

// Deterministic pseudo-random floats in [-1, 1), each exactly representable as a float32.
std::vector<float> embedding_values(const EmbeddingInput& input, int dimensions) {
  std::uint64_t state = input_hash(input);
  std::vector<float> values(static_cast<std::size_t>(dimensions));
  for (float& value : values) {
    state += 0x9E3779B97F4A7C15ull;  // splitmix64
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    constexpr std::int64_t kScale = std::int64_t{1} << 23;
    value = static_cast<float>(static_cast<std::int64_t>(z >> 40) - kScale) / kScale;
  }
  return values;
}

void append_base64_floats(std::string& out, const std::vector<float>& values) {
  std::vector<std::byte> bytes;
  bytes.reserve(values.size() * 4);
  for (const float value : values) {
    const auto bits = std::bit_cast<std::uint32_t>(value);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<std::byte>(bits >> shift));
  }
  out.push_back('"');
  append_base64(out, bytes);
  out.push_back('"');
}

void append_float_array(std::string& out, const std::vector<float>& values) {
  out.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_number(out, values[i]);
  }
  out.push_back(']');
}

}  // namespace

std::string embedding_array(std::string_view text, int dimensions) {
  std::string out;
  append_float_array(out, embedding_values(EmbeddingInput::of_text(text), dimensions));
  return out;
}

ApiReply embeddings(const ApiRequest& request, std::string_view model_override) {
  if (request.method != "POST") return method_not_allowed(request);
  const auto object = body_object(request);
  if (const auto* reply = std::get_if<FullReply>(&object)) return *reply;
  const json::object& body = *std::get<const json::object*>(object);

  std::variant<std::string_view, FullReply> model = model_override;
  if (model_override.empty()) model = required_model(body);
  if (const auto* reply = std::get_if<FullReply>(&model)) return *reply;

  auto parsed_inputs = parse_embedding_inputs(body.if_contains("input"));
  if (auto* reply = std::get_if<FullReply>(&parsed_inputs)) return std::move(*reply);
  const auto& inputs = std::get<std::vector<EmbeddingInput>>(parsed_inputs);

  int dimensions = request.dims;
  if (const json::value* requested = body.if_contains("dimensions")) {
    const auto value = requested->is_int64() ? requested->get_int64() : 0;
    if (value < 1 || value > kMaxEmbeddingDimensions) {
      return bad_request("'dimensions' must be an integer between 1 and 65536", "dimensions");
    }
    dimensions = static_cast<int>(value);
  }

  bool base64 = false;
  if (const json::value* format = body.if_contains("encoding_format")) {
    if (!format->is_string() || (format->get_string() != "float" && format->get_string() != "base64")) {
      return bad_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format");
    }
    base64 = format->get_string() == "base64";
  }

  FullReply reply;
  std::string& out = reply.body;
  out.reserve(128 + inputs.size() * static_cast<std::size_t>(dimensions) * (base64 ? 6 : 12));
  out.append(R"({"object":"list","data":[)");
  std::size_t prompt_tokens = 0;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const EmbeddingInput& input = inputs[index];
    prompt_tokens += input.tokens ? input.tokens->size() : estimate_tokens(utf8_length(input.text));
    if (index > 0) out.push_back(',');
    out.append(R"({"object":"embedding","index":)");
    append_number(out, index);
    out.append(R"(,"embedding":)");
    const std::vector<float> values = embedding_values(input, dimensions);
    if (base64) {
      append_base64_floats(out, values);
    } else {
      append_float_array(out, values);
    }
    out.push_back('}');
  }
  out.append(R"(],"model":)");
  append_json_string(out, std::get<std::string_view>(model));
  out.append(R"(,"usage":{"prompt_tokens":)");
  append_number(out, prompt_tokens);
  out.append(R"(,"total_tokens":)");
  append_number(out, prompt_tokens);
  out.append("}}");
  return reply;
}

namespace {

// ---- models ---------------------------------------------------------------------------------

ApiReply models(const ApiRequest& request) {
  if (request.method != "GET") return method_not_allowed(request);
  FullReply reply;
  if (request.models == nullptr || request.models->empty()) {
    reply.body = R"({"object":"list","data":[)"
                 R"({"id":"mock-gpt","object":"model","created":1700000000,"owned_by":"sluice-mock"},)"
                 R"({"id":"mock-embed","object":"model","created":1700000000,"owned_by":"sluice-mock"}]})";
    return reply;
  }
  std::string& out = reply.body;
  out = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < request.models->size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(R"({"id":)");
    append_json_string(out, (*request.models)[i]);
    out.append(R"(,"object":"model","created":1700000000,"owned_by":"sluice-mock"})");
  }
  out.append("]}");
  return reply;
}

}  // namespace

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (request.path.ends_with("/chat/completions")) return chat_completions(request, {});
  if (request.path.ends_with("/embeddings")) return embeddings(request, {});
  if (request.path.ends_with("/models")) return models(request);
  return std::nullopt;
}

namespace {

std::string quoted_list(std::initializer_list<std::string_view> values) {
  std::string out;
  std::size_t index = 0;
  for (const std::string_view value : values) {
    if (index > 0) out.append(index + 1 == values.size() ? ", and " : ", ");
    out.append("'").append(value).append("'");
    ++index;
  }
  return out;
}

std::string_view json_type_name(const json::value& value) {
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  if (value.is_bool()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_object()) return "an object";
  return "a number";
}

// OpenAI's strict mode: every object schema has "additionalProperties": false and lists every
// property in "required". The first violation, as OpenAI words it, or empty.
std::string strict_problem(const json::value& node, const std::string& context, int depth) {
  const json::object* fields = node.if_object();
  if (fields == nullptr || depth > 32) return {};
  const json::value* type = fields->if_contains("type");
  const json::value* properties = fields->if_contains("properties");
  const bool object = (type && type->is_string() && type->get_string() == "object") || properties != nullptr;
  const std::string where = "In context=(" + context + "), ";
  if (object && !fields->contains("$ref")) {
    const json::value* additional = fields->if_contains("additionalProperties");
    if (additional == nullptr || !additional->is_bool() || additional->get_bool()) {
      return where + "'additionalProperties' is required to be supplied and to be false.";
    }
    if (properties && properties->is_object()) {
      const json::value* required = fields->if_contains("required");
      for (const auto& property : properties->get_object()) {
        const bool listed = required && required->is_array() &&
                            std::ranges::any_of(required->get_array(), [&](const json::value& name) {
                              return name.is_string() && name.get_string() == property.key();
                            });
        if (!listed) {
          return where +
                 "'required' is required to be supplied and to be an array including every key in properties. "
                 "Missing '" +
                 std::string(property.key()) + "'.";
        }
      }
    }
  }
  const auto child = [&](std::string_view kind, std::string_view key) {
    std::string next = context;
    if (!next.empty()) next.append(", ");
    next.append("'").append(kind).append("'");
    if (!key.empty()) next.append(", '").append(key).append("'");
    return next;
  };
  for (const char* group : {"properties", "$defs", "definitions"}) {
    if (const json::value* members = fields->if_contains(group); members && members->is_object()) {
      for (const auto& member : members->get_object()) {
        std::string problem = strict_problem(member.value(), child(group, member.key()), depth + 1);
        if (!problem.empty()) return problem;
      }
    }
  }
  if (const json::value* items = fields->if_contains("items")) {
    std::string problem = strict_problem(*items, child("items", {}), depth + 1);
    if (!problem.empty()) return problem;
  }
  if (const json::value* options = fields->if_contains("anyOf"); options && options->is_array()) {
    std::size_t index = 0;
    for (const json::value& option : options->get_array()) {
      std::string problem = strict_problem(option, child("anyOf", std::to_string(index++)), depth + 1);
      if (!problem.empty()) return problem;
    }
  }
  return {};
}

}  // namespace

std::variant<OutputFormat, FullReply> parse_output_format(const json::value& value, std::string_view where,
                                                          bool nested) {
  const std::string name(where);
  if (!value.is_object()) {
    return bad_request("Invalid type for '" + name + "': expected an object, but got " +
                           std::string(json_type_name(value)) + " instead.",
                       name);
  }
  const json::object& format = value.get_object();
  const json::value* type = format.if_contains("type");
  if (type == nullptr) return bad_request("Missing required parameter: '" + name + ".type'.", name + ".type");
  const std::string_view kind = type->is_string() ? std::string_view(type->get_string()) : "";
  if (kind != "text" && kind != "json_object" && kind != "json_schema") {
    return bad_request("Invalid value: '" + (type->is_string() ? std::string(kind) : common::serialize(*type)) +
                           "'. Supported values are: " + quoted_list({"text", "json_object", "json_schema"}) + ".",
                       name + ".type");
  }
  OutputFormat out;
  if (kind == "text") return out;
  out.json = true;
  if (kind == "json_object") return out;
  const json::object* definition = &format;
  std::string prefix = name;
  if (nested) {
    prefix.append(".json_schema");
    const json::value* inner = format.if_contains("json_schema");
    if (inner == nullptr) return bad_request("Missing required parameter: '" + prefix + "'.", prefix);
    if (!inner->is_object()) {
      return bad_request("Invalid type for '" + prefix + "': expected an object, but got " +
                             std::string(json_type_name(*inner)) + " instead.",
                         prefix);
    }
    definition = &inner->get_object();
  }
  const json::value* schema_name = definition->if_contains("name");
  if (schema_name == nullptr)
    return bad_request("Missing required parameter: '" + prefix + ".name'.", prefix + ".name");
  const bool name_ok =
      schema_name->is_string() && !schema_name->get_string().empty() && schema_name->get_string().size() <= 64 &&
      std::ranges::all_of(schema_name->get_string(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (!name_ok) {
    return bad_request("Invalid '" + prefix +
                           ".name': string does not match pattern. Expected a string that matches the pattern "
                           "'^[a-zA-Z0-9_-]+$' (at most 64 characters).",
                       prefix + ".name");
  }
  const json::value* schema = definition->if_contains("schema");
  if (schema == nullptr) {
    return bad_request("Missing required parameter: '" + prefix + ".schema'.", prefix + ".schema");
  }
  if (!schema->is_object()) {
    return bad_request("Invalid type for '" + prefix + ".schema': expected an object, but got " +
                           std::string(json_type_name(*schema)) + " instead.",
                       prefix + ".schema");
  }
  const json::value* strict = definition->if_contains("strict");
  if (strict && !strict->is_null() && !strict->is_bool()) {
    return bad_request("Invalid type for '" + prefix + ".strict': expected a boolean, but got " +
                           std::string(json_type_name(*strict)) + " instead.",
                       prefix + ".strict");
  }
  if (strict && strict->is_bool() && strict->get_bool()) {
    const std::string problem = strict_problem(*schema, {}, 0);
    if (!problem.empty()) {
      return error(400,
                   "Invalid schema for response_format '" + std::string(schema_name->get_string()) + "': " + problem,
                   "invalid_request_error", prefix + ".schema", "invalid_json_schema");
    }
  }
  out.schema = schema;
  return out;
}

std::optional<FullReply> check_reasoning_effort(const json::value& value, std::string_view param) {
  const std::string_view effort = value.is_string() ? std::string_view(value.get_string()) : "";
  if (effort == "minimal" || effort == "low" || effort == "medium" || effort == "high") return std::nullopt;
  return bad_request("Invalid value: '" + (value.is_string() ? std::string(effort) : common::serialize(value)) +
                         "'. Supported values are: " + quoted_list({"minimal", "low", "medium", "high"}) + ".",
                     param);
}

std::size_t reasoning_tokens(std::string_view effort) {
  if (effort == "minimal") return 8;
  if (effort == "low") return 16;
  if (effort == "high") return 64;
  return 32;
}

const json::object* choose_function(const std::vector<const json::object*>& functions, const ToolChoice& choice,
                                    std::string_view last_user_text) {
  if (functions.empty() || choice.mode == "none" || choice.mode == "hosted") return nullptr;
  if (choice.mode == "function") {
    for (const json::object* function : functions) {
      const json::value* name = function->if_contains("name");
      if (name && name->is_string() && name->get_string() == choice.forced) return function;
    }
    return nullptr;
  }
  if (choice.mode == "required" || common::mentions_tool(last_user_text)) return functions.front();
  return nullptr;
}

bool mentions_json(std::string_view text) {
  for (std::size_t i = 0; i + 4 <= text.size(); ++i) {
    if (iequals(text.substr(i, 4), "json")) return true;
  }
  return false;
}

FullReply error(unsigned status, std::string_view message, std::string_view type, std::string_view param,
                std::string_view code) {
  const auto append_or_null = [](std::string& out, std::string_view text) {
    if (text.empty()) {
      out.append("null");
    } else {
      append_json_string(out, text);
    }
  };
  FullReply reply;
  reply.status = status;
  std::string& out = reply.body;
  out.append(R"({"error":{"message":)");
  append_json_string(out, message);
  out.append(R"(,"type":)");
  append_json_string(out, type);
  out.append(R"(,"param":)");
  append_or_null(out, param);
  out.append(R"(,"code":)");
  append_or_null(out, code);
  out.append("}}");
  return reply;
}

FullReply injected_error(unsigned status) {
  std::string message = "Injected error: status ";
  append_number(message, status);
  if (status == 429) return error(status, message, "rate_limit_error", {}, "rate_limit_exceeded");
  if (status >= 500) return error(status, message, "server_error");
  return error(status, message, "invalid_request_error");
}

FullReply unknown_url(std::string_view method, std::string_view target) {
  std::string message = "Unknown request URL: ";
  message.append(method).append(" ").append(target).append(". Please check the URL for typos.");
  return error(404, message, "invalid_request_error", {}, "unknown_url");
}

}  // namespace sluice::mock::openai
