// OpenAI /v1/embeddings <-> Bedrock InvokeModel for Amazon Titan and Cohere embedding models.
// See openai_bedrock.hpp. Titan embeds one text per call: a list of N inputs becomes N calls
// (upstream_calls), whose replies are joined in input order with their token counts summed.
// Cohere takes the whole list in one call.
#include <boost/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "translate/common.hpp"
#include "translate/openai_bedrock.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

enum class Family { kTitan, kCohere };

// The most inputs one request may carry: OpenAI's own limit for /v1/embeddings, which also
// bounds the calls a Titan request fans out to.
constexpr std::size_t kMaxInputs = 2048;

// Cohere's input_type for a Gemini taskType (the pivot's x_sluice_task_type); empty when Cohere
// has no equivalent.
std::string_view cohere_input_type(std::string_view task_type) {
  if (task_type == "RETRIEVAL_DOCUMENT") return "search_document";
  if (task_type == "RETRIEVAL_QUERY") return "search_query";
  if (task_type == "CLASSIFICATION") return "classification";
  if (task_type == "CLUSTERING") return "clustering";
  return {};
}

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
      if (input->get_array().size() > kMaxInputs)
        return invalid_request("input has " + std::to_string(input->get_array().size()) + " items; at most " +
                                   std::to_string(kMaxInputs) + " may be embedded in one request",
                               "input");
      for (const auto& item : input->get_array()) {
        if (!item.is_string())
          return invalid_request("Bedrock embeddings take text input only (token-id arrays are not supported)", "input",
                                 "unsupported_parameter");
        inputs.emplace_back(item.get_string());
      }
    } else {
      return invalid_request("input must be a string or a non-empty array of strings", "input");
    }
    std::string_view task_type;
    if (const auto* task = body.if_contains(kPivotTaskType); task != nullptr && !task->is_null()) {
      if (!task->is_string()) return invalid_request("the task type must be a string", std::string(kPivotTaskType));
      task_type = task->get_string();
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

    calls_.clear();
    input_count_ = inputs.size();
    if (family_ == Family::kTitan) {
      if (!task_type.empty())
        return invalid_request("Amazon Titan embedding models have no task type (model '" + context_.model + "')",
                               std::string(kPivotTaskType), "unsupported_parameter");
      // One call per input; a single input is one call, as before.
      for (auto& text : inputs) {
        json::object call{{"inputText", std::move(text)}};
        if (dimensions != nullptr) call["dimensions"] = *dimensions;
        if (input_count_ == 1) {
          upstream_body = json::serialize(call);
          return std::nullopt;
        }
        calls_.push_back(json::serialize(call));
      }
      upstream_body = calls_.front();
      return std::nullopt;
    }
    if (dimensions != nullptr)
      return invalid_request("dimensions is not supported for Cohere embedding models on Bedrock", "dimensions",
                             "unsupported_parameter");
    std::string_view input_type = "search_document";
    if (!task_type.empty()) {
      input_type = cohere_input_type(task_type);
      if (input_type.empty())
        return invalid_request("Cohere embedding models on Bedrock have no task type " + std::string(task_type) +
                                   " (they take RETRIEVAL_DOCUMENT, RETRIEVAL_QUERY, CLASSIFICATION or CLUSTERING)",
                               std::string(kPivotTaskType), "unsupported_parameter");
    }
    json::object out;
    json::array texts;
    for (auto& text : inputs) texts.emplace_back(std::move(text));
    out["texts"] = std::move(texts);
    out["input_type"] = input_type;
    upstream_body = json::serialize(out);
    return std::nullopt;
  }

  std::span<const std::string> upstream_calls() const override { return calls_; }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    const std::string_view one[] = {upstream_body};
    return join(one, client_body);
  }

  std::optional<http::ApiError> translate_responses(std::span<const std::string> upstream_bodies,
                                                    std::string& client_body) override {
    std::vector<std::string_view> bodies(upstream_bodies.begin(), upstream_bodies.end());
    return join(bodies, client_body);
  }

 private:
  // The replies of a request's calls (Titan: one per input; Cohere: one) as one OpenAI list.
  std::optional<http::ApiError> join(std::span<const std::string_view> upstream_bodies, std::string& client_body) {
    const std::size_t expected = calls_.empty() ? 1 : calls_.size();
    if (upstream_bodies.size() != expected)
      return bad_upstream("Bedrock embeddings: " + std::to_string(upstream_bodies.size()) + " replies for " +
                          std::to_string(expected) + " calls");
    std::vector<json::value> parsed(upstream_bodies.size());
    std::vector<const json::array*> vectors;
    usage_ = Usage{};
    for (std::size_t call = 0; call < upstream_bodies.size(); ++call) {
      boost::system::error_code ec;
      parsed[call] = json::parse(upstream_bodies[call], ec);
      const auto* root = !ec && parsed[call].is_object() ? &parsed[call].get_object() : nullptr;
      if (root == nullptr) return bad_upstream("Bedrock returned an embeddings response that is not a JSON object");
      if (auto error = read_vectors(*root, vectors)) return error;
    }
    if (family_ == Family::kCohere && input_count_ != 0 && vectors.size() != input_count_)
      return bad_upstream("Bedrock Cohere response has " + std::to_string(vectors.size()) + " embeddings for " +
                          std::to_string(input_count_) + " inputs");
    return write_list(vectors, client_body);
  }

  // The vectors of one reply, appended; Titan's token count added to the usage.
  std::optional<http::ApiError> read_vectors(const json::object& root, std::vector<const json::array*>& vectors) {
    if (family_ == Family::kTitan) {
      const auto* embedding = root.if_contains("embedding");
      if (embedding == nullptr || !is_float_vector(*embedding))
        return bad_upstream("Bedrock Titan response has no \"embedding\" array of numbers");
      vectors.push_back(&embedding->get_array());
      if (const auto* count = root.if_contains("inputTextTokenCount"); count != nullptr && count->is_number()) {
        boost::system::error_code ec;
        const auto n = count->to_number<double>(ec);
        const auto tokens = n > 0 ? static_cast<std::uint64_t>(n) : 0;
        usage_.prompt_tokens += tokens;
        usage_.total_tokens += tokens;
        usage_.known = true;
      }
    } else {
      const auto* embeddings = root.if_contains("embeddings");
      if (embeddings != nullptr && embeddings->is_object()) embeddings = embeddings->get_object().if_contains("float");
      if (embeddings == nullptr || !embeddings->is_array())
        return bad_upstream("Bedrock Cohere response has no \"embeddings\" list of float vectors");
      for (const auto& v : embeddings->get_array()) {
        if (!is_float_vector(v)) return bad_upstream("Bedrock Cohere response has a non-numeric embedding");
        vectors.push_back(&v.get_array());
      }
    }
    return std::nullopt;
  }

  std::optional<http::ApiError> write_list(const std::vector<const json::array*>& vectors, std::string& client_body) {
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

 public:
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
  std::size_t input_count_ = 0;
  std::vector<std::string> calls_;  // Titan with several inputs: one body per input
  Usage usage_;
};

}  // namespace

std::unique_ptr<Translator> make_openai_embeddings_to_bedrock(RequestContext context) {
  return std::make_unique<OpenAiEmbeddingsToBedrock>(std::move(context));
}

}  // namespace sluice::translate
