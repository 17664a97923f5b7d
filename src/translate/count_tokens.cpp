#include "translate/count_tokens.hpp"

#include <boost/json.hpp>
#include <string>
#include <utility>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// The max_tokens an Anthropic client's count_tokens body is given for the pivot (which requires
// one): large enough that no thinking budget is clamped under it; never sent.
constexpr std::uint64_t kPivotMaxTokens = 1'000'000;

// The members of `from` named in `keys`, copied into a new object.
json::object pick(const json::object& from, std::initializer_list<std::string_view> keys) {
  json::object out;
  for (const auto key : keys)
    if (const auto* value = from.if_contains(key); value != nullptr && !value->is_null()) out[key] = *value;
  return out;
}

std::string_view bare_model(std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  return model;
}

class CountTokens final : public Translator {
 public:
  CountTokens(CountClient client, CountProvider provider, RequestContext context, std::unique_ptr<Translator> chat)
      : client_(client), provider_(provider), context_(std::move(context)), chat_(std::move(chat)) {}

  std::optional<http::ApiError> translate_request(const json::object& client_body,
                                                  std::string& upstream_body) override {
    json::object out;
    if (client_ == CountClient::Anthropic && provider_ == CountProvider::VertexAnthropic) {
      // The provider speaks the client's API: only what Vertex AI needs is set.
      out = client_body;
      out["model"] = context_.model;
      if (!out.contains("anthropic_version")) out["anthropic_version"] = vertex_version();
      upstream_body = json::serialize(out);
      return std::nullopt;
    }
    std::string chat_body;
    if (auto error = chat_request(client_body, chat_body)) return error;
    boost::system::error_code ec;
    auto parsed = json::parse(chat_body, ec);
    if (ec || !parsed.is_object()) return bad_upstream("the chat conversion of the count request is not a JSON object");
    const auto& chat = parsed.get_object();
    switch (provider_) {
      case CountProvider::Gemini: {
        auto inner = pick(chat, {"contents", "systemInstruction", "tools", "toolConfig"});
        inner["model"] = "models/" + std::string(bare_model(context_.model));
        out["generateContentRequest"] = std::move(inner);
        break;
      }
      case CountProvider::VertexGemini:
        out = pick(chat, {"contents", "systemInstruction", "tools"});
        break;
      case CountProvider::Anthropic:
        out = pick(chat, {"model", "messages", "system", "tools", "tool_choice", "thinking"});
        out["model"] = context_.model;
        break;
      case CountProvider::VertexAnthropic:
        out = pick(chat, {"messages", "system", "tools", "tool_choice", "thinking"});
        out["model"] = context_.model;
        out["anthropic_version"] = vertex_version();
        break;
      case CountProvider::Bedrock:
        out["input"] = json::object{
            {"converse", pick(chat, {"messages", "system", "toolConfig", "additionalModelRequestFields"})}};
        break;
    }
    upstream_body = json::serialize(out);
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    const auto parsed = json::parse(upstream_body, ec);
    const auto* reply = ec ? nullptr : parsed.if_object();
    const std::string_view member = provider_ == CountProvider::Bedrock ? "inputTokens"
                                    : provider_ == CountProvider::Gemini || provider_ == CountProvider::VertexGemini
                                        ? "totalTokens"
                                        : "input_tokens";
    const auto* count = reply != nullptr ? reply->if_contains(member) : nullptr;
    if (count == nullptr || !(count->is_int64() || count->is_uint64()) || (count->is_int64() && count->get_int64() < 0))
      return bad_upstream("the provider's token count has no \"" + std::string(member) + "\" count");
    const auto tokens = json_count(count);
    client_body = json::serialize(client_ == CountClient::Anthropic ? json::object{{"input_tokens", tokens}}
                                                                    : json::object{{"totalTokens", tokens}});
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    return chat_->translate_error(status, error_type_header, upstream_body);
  }

  bool stream_feed(std::string_view, std::string& out) override {
    chat_->stream_fail(bad_upstream("a token count does not stream"), out);
    return false;
  }
  void stream_end(std::string&) override {}
  void stream_fail(const http::ApiError& error, std::string& out) override { chat_->stream_fail(error, out); }

  Usage usage() const override { return {}; }

 private:
  std::string vertex_version() const {
    return context_.anthropic_body_version.empty() ? std::string("vertex-2023-10-16") : context_.anthropic_body_version;
  }

  // The provider's chat body for the client's count request.
  std::optional<http::ApiError> chat_request(const json::object& client_body, std::string& chat_body) {
    if (client_ == CountClient::Anthropic) {
      json::object with_max = client_body;
      with_max["max_tokens"] = kPivotMaxTokens;
      return chat_->translate_request(with_max, chat_body);
    }
    const auto* inner = client_body.if_contains("generateContentRequest");
    if (inner == nullptr || inner->is_null()) inner = client_body.if_contains("generate_content_request");
    if (inner != nullptr && !inner->is_null()) {
      if (!inner->is_object())
        return invalid_request("generateContentRequest: expected an object", "generateContentRequest",
                               "invalid_request");
      return chat_->translate_request(inner->get_object(), chat_body);
    }
    return chat_->translate_request(client_body, chat_body);
  }

  CountClient client_;
  CountProvider provider_;
  RequestContext context_;
  std::unique_ptr<Translator> chat_;
};

}  // namespace

std::unique_ptr<Translator> make_count_tokens(CountClient client, CountProvider provider, RequestContext context,
                                              std::unique_ptr<Translator> chat) {
  return std::make_unique<CountTokens>(client, provider, std::move(context), std::move(chat));
}

bool counts_tokens_for(CountProvider provider, std::string_view model) {
  if (provider != CountProvider::Bedrock) return true;
  return model.find("anthropic.claude") != std::string_view::npos;
}

}  // namespace sluice::translate
