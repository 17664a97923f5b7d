// OpenAI /v1/embeddings <-> Bedrock InvokeModel for Amazon Titan and Cohere embedding models.
// See openai_bedrock.hpp.
#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "translate/common.hpp"
#include "translate/openai_bedrock.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

enum class Family { kTitan, kCohere };

bool is_float_vector(const json::value& v) {
  if (!v.is_array()) return false;
  for (const auto& x : v.get_array())
    if (!x.is_number()) return false;
  return true;
}

class OpenAiEmbeddingsToBedrock final : public Translator {
 public:
  explicit OpenAiEmbeddingsToBedrock(RequestContext context) : context_(std::move(context)) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream_body) override {
    if (context_.model.find("titan-embed") != std::string::npos) {
      family_ = Family::kTitan;
    } else if (context_.model.find("cohere.embed") != std::string::npos) {
      family_ = Family::kCohere;
    } else {
      return invalid_request("model '" + context_.model +
                                 "' is not a Bedrock embedding model Sluice can translate to (Amazon Titan "
                                 "\"titan-embed\" or Cohere \"cohere.embed\")",
                             "model", "model_not_supported");
    }

    std::vector<std::string> inputs;
    const auto* input = body.if_contains("input");
    if (input != nullptr && input->is_string()) {
      inputs.emplace_back(input->get_string());
    } else if (input != nullptr && input->is_array() && !input->get_array().empty()) {
      for (const auto& item : input->get_array()) {
        if (!item.is_string())
          return invalid_request("Bedrock embeddings take text input only (token-id arrays are not supported)", "input",
                                 "unsupported_parameter");
        inputs.emplace_back(item.get_string());
      }
    } else {
      return invalid_request("input must be a string or a non-empty array of strings", "input");
    }

    if (const auto* format = body.if_contains("encoding_format"); format != nullptr && !format->is_null()) {
      const std::string_view f = format->is_string() ? std::string_view(format->get_string()) : std::string_view{};
      if (f == "base64") {
        base64_ = true;
      } else if (f != "float") {
        return invalid_request("encoding_format must be float or base64", "encoding_format");
      }
    }
    const auto* dimensions = body.if_contains("dimensions");
    if (dimensions != nullptr && dimensions->is_null()) dimensions = nullptr;
    if (dimensions != nullptr && !(dimensions->is_int64() || dimensions->is_uint64()))
      return invalid_request("dimensions must be an integer", "dimensions");

    json::object out;
    if (family_ == Family::kTitan) {
      if (inputs.size() > 1)
        return invalid_request(
            "Amazon Titan embeds one input per request; send " + std::to_string(inputs.size()) + " separate requests",
            "input", "unsupported_parameter");
      out["inputText"] = inputs.front();
      if (dimensions != nullptr) out["dimensions"] = *dimensions;
    } else {
      if (dimensions != nullptr)
        return invalid_request("dimensions is not supported for Cohere embedding models on Bedrock", "dimensions",
                               "unsupported_parameter");
      json::array texts;
      for (auto& s : inputs) texts.emplace_back(s);
      out["texts"] = std::move(texts);
      out["input_type"] = "search_document";
    }
    upstream_body = json::serialize(out);
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    const auto parsed = json::parse(upstream_body, ec);
    const auto* root = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
    if (root == nullptr) return bad_upstream("Bedrock returned an embeddings response that is not a JSON object");

    std::vector<const json::array*> vectors;
    if (family_ == Family::kTitan) {
      const auto* embedding = root->if_contains("embedding");
      if (embedding == nullptr || !is_float_vector(*embedding))
        return bad_upstream("Bedrock Titan response has no \"embedding\" array of numbers");
      vectors.push_back(&embedding->get_array());
      if (const auto* count = root->if_contains("inputTextTokenCount"); count != nullptr && count->is_number()) {
        const auto n = count->to_number<double>(ec);
        usage_.prompt_tokens = usage_.total_tokens = n > 0 ? static_cast<std::uint64_t>(n) : 0;
        usage_.known = true;
      }
    } else {
      const auto* embeddings = root->if_contains("embeddings");
      if (embeddings != nullptr && embeddings->is_object()) embeddings = embeddings->get_object().if_contains("float");
      if (embeddings == nullptr || !embeddings->is_array())
        return bad_upstream("Bedrock Cohere response has no \"embeddings\" list of float vectors");
      for (const auto& v : embeddings->get_array()) {
        if (!is_float_vector(v)) return bad_upstream("Bedrock Cohere response has a non-numeric embedding");
        vectors.push_back(&v.get_array());
      }
    }

    json::array data;
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      json::value embedding = base64_ ? json::value(embedding_to_base64(*vectors[i])) : json::value(*vectors[i]);
      data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
    }
    json::object response{
        {"object", "list"},
        {"data", std::move(data)},
        {"model", context_.client_model.empty() ? context_.model : context_.client_model},
        {"usage", json::object{{"prompt_tokens", usage_.prompt_tokens}, {"total_tokens", usage_.total_tokens}}}};
    client_body = json::serialize(response);
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    return bedrock_detail::translate_error(status, error_type_header, upstream_body);
  }

  // Embeddings never stream; a streamed body is a gateway bug reported as one error event.
  bool stream_feed(std::string_view, std::string& out) override {
    stream_fail(bad_upstream("embeddings responses do not stream"), out);
    return false;
  }
  void stream_end(std::string&) override {}
  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (failed_) return;
    append_openai_error_event(out, error);
    failed_ = true;
  }

  Usage usage() const override { return usage_; }

 private:
  RequestContext context_;
  Family family_ = Family::kTitan;
  bool base64_ = false;
  bool failed_ = false;
  Usage usage_;
};

}  // namespace

std::unique_ptr<Translator> make_openai_embeddings_to_bedrock(RequestContext context) {
  return std::make_unique<OpenAiEmbeddingsToBedrock>(std::move(context));
}

}  // namespace sluice::translate
