#include "translate/gemini_embed_client.hpp"

#include <boost/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "translate/chained_client.hpp"
#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

http::ApiError bad_field(const std::string& field, std::string_view message) {
  return invalid_request(field + ": " + std::string(message), field, "invalid_request");
}

// A member under either of its spellings (the API takes camelCase and snake_case).
const json::value* member(const json::object& object, std::string_view camel, std::string_view snake) {
  if (const auto* v = object.if_contains(camel)) return v;
  return object.if_contains(snake);
}

// A member's name as a field path; the empty name written "" so the path names something.
std::string member_name(std::string_view key) {
  return key.empty() ? std::string("\"\"") : std::string(key);
}

// "models/x" and "x" name the same model.
std::string_view bare_model(std::string_view model) {
  return model.starts_with("models/") ? model.substr(7) : model;
}

// What one EmbedContentRequest asks for.
struct EmbedAsk {
  std::string text;
  std::string model;      // empty: not named
  std::string task_type;  // empty: none
  std::optional<std::uint64_t> dimensions;
};

// One EmbedContentRequest (the embedContent body, or an item of a batch's requests) whose
// fields are named under `prefix` ("" or "requests[3].").
std::optional<http::ApiError> read_request(const json::object& request, const std::string& prefix, EmbedAsk& ask) {
  for (const auto& m : request) {
    const std::string_view key = m.key();
    if (key == "content" || key == "model" || key == "taskType" || key == "task_type" ||
        key == "outputDimensionality" || key == "output_dimensionality")
      continue;
    if (key == "title") return bad_field(prefix + "title", "a title has no equivalent on this provider; leave it out");
    return bad_field(prefix + member_name(key), "Sluice cannot carry this field to a provider that is not Gemini");
  }

  const auto* content = request.if_contains("content");
  if (content == nullptr || !content->is_object())
    return bad_field(prefix + "content", "required: an object with text parts");
  const auto* parts = content->get_object().if_contains("parts");
  if (parts == nullptr || !parts->is_array() || parts->get_array().empty())
    return bad_field(prefix + "content.parts", "required: a non-empty list of text parts");
  std::size_t index = 0;
  for (const auto& part : parts->get_array()) {
    const auto* p = part.if_object();
    const auto* text = p != nullptr ? p->if_contains("text") : nullptr;
    if (text == nullptr || !text->is_string() || p->size() != 1)
      return bad_field(prefix + "content.parts[" + std::to_string(index) + "]",
                       "only text parts ({\"text\": \"…\"}) can be embedded by this provider");
    if (index > 0) ask.text.push_back('\n');
    ask.text.append(text->get_string());
    ++index;
  }

  if (const auto* model = request.if_contains("model"); model != nullptr && !model->is_null()) {
    if (!model->is_string() || model->get_string().empty())
      return bad_field(prefix + "model", "must be a model name such as \"models/text-embedding-004\"");
    ask.model = std::string(bare_model(model->get_string()));
  }
  if (const auto* task = member(request, "taskType", "task_type"); task != nullptr && !task->is_null()) {
    if (!task->is_string()) return bad_field(prefix + "taskType", "must be a TaskType name such as RETRIEVAL_QUERY");
    if (task->get_string() != "TASK_TYPE_UNSPECIFIED") ask.task_type = std::string(task->get_string());
  }
  if (const auto* dims = member(request, "outputDimensionality", "output_dimensionality");
      dims != nullptr && !dims->is_null()) {
    if ((!dims->is_int64() && !dims->is_uint64()) || json_count(dims) == 0)
      return bad_field(prefix + "outputDimensionality", "must be a positive integer");
    ask.dimensions = json_count(dims);
  }
  return std::nullopt;
}

// The numbers of an OpenAI embedding, or null when it is not a list of numbers.
const json::array* vector_of(const json::object& item) {
  const auto* embedding = item.if_contains("embedding");
  if (embedding == nullptr || !embedding->is_array()) return nullptr;
  for (const auto& x : embedding->get_array())
    if (!x.is_number()) return nullptr;
  return &embedding->get_array();
}

}  // namespace

std::optional<http::ApiError> gemini_embed_to_openai(const json::object& body, bool batch, std::string_view model,
                                                     GeminiEmbedPivot& pivot) {
  pivot = GeminiEmbedPivot{};
  std::vector<EmbedAsk> asks;
  if (!batch) {
    asks.emplace_back();
    if (auto error = read_request(body, "", asks.back())) return error;
  } else {
    for (const auto& m : body)
      if (m.key() != "requests") return bad_field(member_name(m.key()), "batchEmbedContents takes only \"requests\"");
    const auto* requests = body.if_contains("requests");
    if (requests == nullptr || !requests->is_array() || requests->get_array().empty())
      return bad_field("requests", "required: a non-empty list of embedContent requests");
    if (requests->get_array().size() > kMaxGeminiEmbedContents)
      return bad_field("requests", "has " + std::to_string(requests->get_array().size()) + " requests; at most " +
                                       std::to_string(kMaxGeminiEmbedContents) + " may be embedded at once");
    std::size_t index = 0;
    for (const auto& item : requests->get_array()) {
      const std::string prefix = indexed("requests", index) + ".";
      if (!item.is_object()) return bad_field(indexed("requests", index), "must be an embedContent request object");
      asks.emplace_back();
      if (auto error = read_request(item.get_object(), prefix, asks.back())) return error;
      // One upstream request carries one model, one task type and one dimension.
      const auto& first = asks.front();
      const auto& ask = asks.back();
      if (ask.model != first.model)
        return bad_field(prefix + "model", "the requests of one batch must name the same model ('" + first.model +
                                               "' and '" + ask.model + "')");
      if (ask.task_type != first.task_type)
        return bad_field(prefix + "taskType", "the requests of one batch must ask for the same task type");
      if (ask.dimensions != first.dimensions)
        return bad_field(prefix + "outputDimensionality",
                         "the requests of one batch must ask for the same outputDimensionality");
      ++index;
    }
  }

  const auto& first = asks.front();
  const std::string first_prefix = batch ? "requests[0]." : "";
  pivot.inputs = asks.size();
  pivot.openai["model"] = bare_model(model);
  if (batch) {
    json::array input;
    for (auto& ask : asks) input.emplace_back(std::move(ask.text));
    pivot.openai["input"] = std::move(input);
  } else {
    pivot.openai["input"] = first.text;
  }
  pivot.openai["encoding_format"] = "float";
  if (first.dimensions) {
    pivot.openai["dimensions"] = *first.dimensions;
    pivot.dimensions_field = first_prefix + "outputDimensionality";
  }
  if (!first.task_type.empty()) {
    pivot.openai[kPivotTaskType] = first.task_type;
    pivot.task_type_field = first_prefix + "taskType";
  }
  return std::nullopt;
}

std::optional<http::ApiError> openai_embeddings_to_gemini(std::string_view openai_reply, bool batch, std::size_t inputs,
                                                          std::string& gemini_reply, Usage& usage) {
  boost::system::error_code ec;
  const auto parsed = json::parse(openai_reply, ec);
  if (ec || !parsed.is_object()) return bad_upstream("the embeddings reply is not a JSON object");
  const auto* data = array_or_null(parsed.get_object().if_contains("data"));
  if (data == nullptr) return bad_upstream("the embeddings reply has no \"data\" list");
  if (data->size() != inputs)
    return bad_upstream("the embeddings reply has " + std::to_string(data->size()) + " embeddings for " +
                        std::to_string(inputs) + " inputs");
  // Placed by their index (in order when an item has none); each index once.
  std::vector<const json::array*> vectors(inputs, nullptr);
  std::size_t position = 0;
  for (const auto& item : *data) {
    const auto* object = item.if_object();
    const auto* vector = object != nullptr ? vector_of(*object) : nullptr;
    if (vector == nullptr)
      return bad_upstream("embedding " + std::to_string(position) + " of the reply has no list of numbers");
    std::size_t index = position;
    if (const auto* i = object->if_contains("index"); i != nullptr && !i->is_null()) {
      if (!i->is_int64() && !i->is_uint64()) return bad_upstream("an embedding of the reply has a non-integer index");
      index = json_count(i);
    }
    if (index >= inputs || vectors[index] != nullptr)
      return bad_upstream("the embeddings reply has a missing or repeated index " + std::to_string(index));
    vectors[index] = vector;
    ++position;
  }

  if (const auto* u = object_or_null(parsed.get_object().if_contains("usage"))) {
    usage = Usage{};
    usage.prompt_tokens = json_count(u->if_contains("prompt_tokens"));
    usage.total_tokens = usage.prompt_tokens;
    usage.known = true;
  }

  json::object out;
  if (batch) {
    json::array embeddings;
    for (const auto* vector : vectors) embeddings.push_back(json::object{{"values", *vector}});
    out["embeddings"] = std::move(embeddings);
  } else {
    out["embedding"] = json::object{{"values", *vectors.front()}};
  }
  gemini_reply = json::serialize(out);
  return std::nullopt;
}

namespace {

class GeminiEmbedClient final : public Translator {
 public:
  GeminiEmbedClient(RequestContext context, std::unique_ptr<Translator> inner)
      : context_(std::move(context)),
        inner_(std::move(inner)),
        batch_(context_.gemini_action == "batchEmbedContents") {}

  std::optional<http::ApiError> translate_request(const json::object& client_body,
                                                  std::string& upstream_body) override {
    if (auto error = gemini_embed_to_openai(client_body, batch_, context_.model, pivot_)) return error;
    if (!inner_) {
      if (!pivot_.task_type_field.empty())
        return bad_field(pivot_.task_type_field,
                         "OpenAI-format embedding models have no task type; leave taskType out (or route this "
                         "request to a Gemini, Vertex AI or Bedrock Cohere backend)");
      upstream_body = json::serialize(pivot_.openai);
      return std::nullopt;
    }
    if (auto error = inner_->translate_request(pivot_.openai, upstream_body)) return rename(std::move(*error));
    return std::nullopt;
  }

  std::span<const std::string> upstream_calls() const override {
    return inner_ ? inner_->upstream_calls() : std::span<const std::string>{};
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    std::string openai;
    if (inner_) {
      if (auto error = inner_->translate_response(upstream_body, openai)) return error;
      upstream_body = openai;
    }
    return openai_embeddings_to_gemini(upstream_body, batch_, pivot_.inputs, client_body, usage_);
  }

  std::optional<http::ApiError> translate_responses(std::span<const std::string> upstream_bodies,
                                                    std::string& client_body) override {
    if (!inner_) return Translator::translate_responses(upstream_bodies, client_body);
    std::string openai;
    if (auto error = inner_->translate_responses(upstream_bodies, openai)) return error;
    return openai_embeddings_to_gemini(openai, batch_, pivot_.inputs, client_body, usage_);
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    if (inner_) return inner_->translate_error(status, error_type_header, upstream_body);
    return openai_upstream_error(status, upstream_body);
  }

  // Embeddings never stream; a streamed body is a gateway bug reported as one error event.
  bool stream_feed(std::string_view, std::string& out) override {
    stream_fail(bad_upstream("embeddings responses do not stream"), out);
    return false;
  }
  void stream_end(std::string&) override {}
  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (failed_) return;
    failed_ = true;
    append_sse_data(out, http::google_error_body(error));
  }

  Usage usage() const override { return usage_; }

 private:
  // An inner translator's 400 named in the Gemini request's fields.
  http::ApiError rename(http::ApiError error) const {
    if (!error.param) return error;
    const std::string& param = *error.param;
    if (param == "input") {
      error.param = batch_ ? "requests" : "content";
    } else if (param == "dimensions") {
      error.param = pivot_.dimensions_field.empty() ? std::string("outputDimensionality") : pivot_.dimensions_field;
    } else if (param == kPivotTaskType) {
      error.param = pivot_.task_type_field.empty() ? std::string("taskType") : pivot_.task_type_field;
    }
    return error;
  }

  RequestContext context_;
  std::unique_ptr<Translator> inner_;
  bool batch_;
  bool failed_ = false;
  GeminiEmbedPivot pivot_;
  Usage usage_;
};

}  // namespace

std::unique_ptr<Translator> make_gemini_embed_client(RequestContext context, std::unique_ptr<Translator> inner) {
  return std::make_unique<GeminiEmbedClient>(std::move(context), std::move(inner));
}

}  // namespace sluice::translate
