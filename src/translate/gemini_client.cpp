#include "translate/gemini_client.hpp"

#include <boost/json.hpp>
#include <string>
#include <utility>

#include "translate/chained_client.hpp"
#include "translate/encode_gemini.hpp"
#include "translate/gemini_client_request.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// generationConfig.thinkingConfig.includeThoughts (either spelling), false when absent.
bool includes_thoughts(const json::object& in) {
  const auto* config = in.if_contains("generationConfig");
  if (config == nullptr) config = in.if_contains("generation_config");
  if (config == nullptr || !config->is_object()) return false;
  const auto* thinking = config->get_object().if_contains("thinkingConfig");
  if (thinking == nullptr) thinking = config->get_object().if_contains("thinking_config");
  if (thinking == nullptr || !thinking->is_object()) return false;
  const auto* include = thinking->get_object().if_contains("includeThoughts");
  if (include == nullptr) include = thinking->get_object().if_contains("include_thoughts");
  return include != nullptr && include->is_bool() && include->get_bool();
}

// A pivot field named as the Gemini request names it.
std::string gemini_field(std::string_view pivot) {
  static constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
      {"max_completion_tokens", "generationConfig.maxOutputTokens"},
      {"max_tokens", "generationConfig.maxOutputTokens"},
      {"temperature", "generationConfig.temperature"},
      {"top_p", "generationConfig.topP"},
      {"stop", "generationConfig.stopSequences"},
      {"n", "generationConfig.candidateCount"},
      {"response_format", "generationConfig.responseJsonSchema"},
      {"reasoning_effort", "generationConfig.thinkingConfig"},
      {"tool_choice", "toolConfig.functionCallingConfig"},
      {"tools", "tools"},
      {"messages", "contents"},
  };
  for (const auto& [from, to] : kRenames) {
    if (pivot.starts_with(from)) return std::string(to) + std::string(pivot.substr(from.size()));
  }
  return std::string(pivot);
}

// The Gemini generateContent schema of a ChainedClient.
class GeminiSchema {
 public:
  explicit GeminiSchema(bool json_array)
      : framing_(json_array ? GeminiStreamFraming::JsonArray : GeminiStreamFraming::Sse) {}

  std::optional<http::ApiError> to_openai(const json::object& in, const RequestContext& context, json::object& out) {
    include_thoughts_ = includes_thoughts(in);
    return gemini_request_to_openai(in, context, context.stream, out);
  }
  GeminiStreamEncoder stream_encoder(const EncoderOptions& options) const {
    return GeminiStreamEncoder(options, framing_, include_thoughts_);
  }
  GeminiResponseEncoder response_encoder(const EncoderOptions& options) const { return GeminiResponseEncoder(options); }
  http::ApiError rename_fields(http::ApiError error) const {
    if (error.param) {
      const auto renamed = gemini_field(*error.param);
      // A chat message index is not a contents index: name the list.
      error.param = renamed.starts_with("contents[") ? std::string("contents") : renamed;
    }
    return error;
  }
  http::ApiError upstream_error(unsigned, http::ApiError error) const { return error; }
  std::string_view stream_content_type() const { return gemini_stream_content_type(framing_); }

 private:
  GeminiStreamFraming framing_;
  bool include_thoughts_ = false;
};

// Bytes of text in a Gemini request: text parts of contents and systemInstruction, the function
// declarations serialized.
std::size_t text_bytes(const json::object& request) {
  std::size_t total = 0;
  const auto parts_text = [&](const json::value& content) {
    const auto* object = content.if_object();
    if (object == nullptr) return;
    const auto* parts = object->if_contains("parts");
    if (parts == nullptr || !parts->is_array()) return;
    for (const auto& part : parts->get_array())
      if (const auto* p = part.if_object())
        if (const auto* text = p->if_contains("text"); text != nullptr && text->is_string())
          total += text->get_string().size();
  };
  if (const auto* contents = request.if_contains("contents"); contents != nullptr && contents->is_array())
    for (const auto& content : contents->get_array()) parts_text(content);
  if (const auto* system = request.if_contains("systemInstruction")) {
    if (system->is_string()) {
      total += system->get_string().size();
    } else {
      parts_text(*system);
    }
  }
  if (const auto* tools = request.if_contains("tools"); tools != nullptr && tools->is_array())
    total += json::serialize(*tools).size();
  return total;
}

}  // namespace

TokenEstimate estimate_gemini_count_tokens(std::string_view body) {
  TokenEstimate out;
  boost::system::error_code ec;
  const auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    out.error = invalid_request("the countTokens body is not a JSON object", "", "invalid_json");
    return out;
  }
  const json::object* request = &value.get_object();
  if (const auto* inner = request->if_contains("generateContentRequest"); inner != nullptr && inner->is_object())
    request = &inner->get_object();
  if (!request->contains("contents")) {
    out.error = invalid_request("contents: Field required (or generateContentRequest)", "contents", "invalid_request");
    return out;
  }
  const auto tokens = (text_bytes(*request) + 3) / 4;
  out.body = json::serialize(json::object{{"totalTokens", tokens}});
  return out;
}

std::unique_ptr<Translator> make_gemini_client(RequestContext context, std::unique_ptr<Translator> inner) {
  const bool json_array = context.json_array_stream;
  return std::make_unique<ChainedClient<GeminiSchema>>(std::move(context), std::move(inner), GeminiSchema(json_array));
}

}  // namespace sluice::translate
