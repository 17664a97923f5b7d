// OpenAI embeddings <-> Gemini :batchEmbedContents and Vertex AI :predict (see openai_gemini.hpp).
#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "translate/common.hpp"
#include "translate/openai_gemini.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

http::ApiError bad_request(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "invalid_request");
}

bool all_numbers(const json::array& values) {
  for (const auto& v : values)
    if (!v.is_number()) return false;
  return true;
}

class OpenAiEmbeddingsToGoogle final : public Translator {
 public:
  OpenAiEmbeddingsToGoogle(RequestContext context, bool vertex) : ctx_(std::move(context)), vertex_(vertex) {}

  std::optional<http::ApiError> translate_request(const json::object& body, std::string& upstream_body) override {
    const std::string_view provider = vertex_ ? "Vertex AI" : "Gemini";
    std::vector<std::string> inputs;
    const auto* input = body.if_contains("input");
    if (input != nullptr && input->is_string()) {
      inputs.emplace_back(input->get_string());
    } else if (input != nullptr && input->is_array() && !input->get_array().empty()) {
      for (const auto& item : input->get_array()) {
        if (!item.is_string()) {
          return bad_request(
              "input: token-id arrays are not supported by " + std::string(provider) + " embeddings; send strings",
              "input");
        }
        inputs.emplace_back(item.get_string());
      }
    } else {
      return bad_request("input must be a string or a non-empty array of strings", "input");
    }
    if (const auto* fmt = body.if_contains("encoding_format"); fmt != nullptr && !fmt->is_null()) {
      if (!fmt->is_string() || (fmt->get_string() != "float" && fmt->get_string() != "base64"))
        return bad_request("encoding_format must be float or base64", "encoding_format");
      base64_ = fmt->get_string() == "base64";
    }
    std::optional<std::uint64_t> dimensions;
    if (const auto* dim = body.if_contains("dimensions"); dim != nullptr && !dim->is_null()) {
      if ((!dim->is_int64() && !dim->is_uint64()) || json_count(dim) == 0)
        return bad_request("dimensions must be a positive integer", "dimensions");
      dimensions = json_count(dim);
    }
    input_count_ = inputs.size();

    json::object out;
    if (vertex_) {
      json::array instances;
      for (auto& text : inputs) instances.push_back(json::object{{"content", std::move(text)}});
      out["instances"] = std::move(instances);
      if (dimensions) out["parameters"] = json::object{{"outputDimensionality", *dimensions}};
    } else {
      const std::string model = ctx_.model.starts_with("models/") ? ctx_.model : "models/" + ctx_.model;
      json::array requests;
      for (auto& text : inputs) {
        json::object request{
            {"model", model},
            {"content", json::object{{"parts", json::array{json::object{{"text", std::move(text)}}}}}}};
        if (dimensions) request["outputDimensionality"] = *dimensions;
        requests.push_back(std::move(request));
      }
      out["requests"] = std::move(requests);
    }
    upstream_body = json::serialize(out);
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto parsed = json::parse(upstream_body, ec);
    if (ec || !parsed.is_object()) return bad_upstream("embedding response is not a JSON object");
    const auto& resp = parsed.get_object();
    const auto* list = resp.if_contains(vertex_ ? "predictions" : "embeddings");
    if (list == nullptr || !list->is_array())
      return bad_upstream(vertex_ ? "Vertex AI response has no predictions" : "Gemini response has no embeddings");
    if (input_count_ != 0 && list->get_array().size() != input_count_)
      return bad_upstream("embedding response has " + std::to_string(list->get_array().size()) + " embeddings for " +
                          std::to_string(input_count_) + " inputs");
    json::array data;
    std::uint64_t tokens = 0;
    std::size_t index = 0;
    for (const auto& item : list->get_array()) {
      const json::value* embedding =
          item.is_object() ? item.get_object().if_contains(vertex_ ? "embeddings" : "values") : nullptr;
      const json::value* values = embedding;
      if (vertex_ && embedding != nullptr && embedding->is_object()) {
        values = embedding->get_object().if_contains("values");
        if (const auto* stats = embedding->get_object().if_contains("statistics");
            stats != nullptr && stats->is_object())
          tokens += json_count(stats->get_object().if_contains("token_count"));
      }
      if (values == nullptr || !values->is_array() || !all_numbers(values->get_array()))
        return bad_upstream("embedding " + std::to_string(index) + " has no numeric values");
      json::value vector = base64_ ? json::value(json::string(embedding_to_base64(values->get_array())))
                                   : json::value(values->get_array());
      data.push_back(json::object{{"object", "embedding"}, {"index", index}, {"embedding", std::move(vector)}});
      ++index;
    }
    usage_.known = vertex_;
    usage_.prompt_tokens = tokens;
    usage_.total_tokens = tokens;
    json::object out{{"object", "list"},
                     {"data", std::move(data)},
                     {"model", ctx_.client_model.empty() ? ctx_.model : ctx_.client_model},
                     {"usage", json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
    client_body = json::serialize(out);
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view, std::string_view upstream_body) override {
    return gemini_error_to_api_error(status, upstream_body);
  }

  bool stream_feed(std::string_view, std::string& out) override {
    stream_fail(
        http::ApiError{400, "invalid_request_error", "invalid_request", "embeddings cannot be streamed", std::nullopt},
        out);
    return false;
  }
  void stream_end(std::string&) override {}
  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (failed_) return;
    failed_ = true;
    append_openai_error_event(out, error);
  }
  Usage usage() const override { return usage_; }

 private:
  RequestContext ctx_;
  bool vertex_;
  bool base64_ = false;
  bool failed_ = false;
  std::size_t input_count_ = 0;
  Usage usage_;
};

}  // namespace

std::unique_ptr<Translator> make_openai_embeddings_to_gemini(RequestContext context) {
  return std::make_unique<OpenAiEmbeddingsToGoogle>(std::move(context), false);
}

std::unique_ptr<Translator> make_openai_embeddings_to_vertex(RequestContext context) {
  return std::make_unique<OpenAiEmbeddingsToGoogle>(std::move(context), true);
}

}  // namespace sluice::translate
