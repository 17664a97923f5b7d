#include "policy/request_defaults.hpp"

#include <array>
#include <boost/json.hpp>
#include <utility>

#include "policy/ai.hpp"

namespace sluice::policy {

namespace json = boost::json;

namespace {

struct KnownField {
  std::string_view name;
  std::string_view type;
};

// Request fields of the OpenAI and Anthropic chat schemas a default is commonly given for.
constexpr std::array kKnownFields{
    KnownField{"temperature", "number"},
    KnownField{"top_p", "number"},
    KnownField{"top_k", "integer"},
    KnownField{"max_tokens", "integer"},
    KnownField{"max_completion_tokens", "integer"},
    KnownField{"n", "integer"},
    KnownField{"seed", "integer"},
    KnownField{"presence_penalty", "number"},
    KnownField{"frequency_penalty", "number"},
    KnownField{"stop", "string or array"},
    KnownField{"stop_sequences", "array"},
    KnownField{"user", "string"},
    KnownField{"service_tier", "string"},
    KnownField{"store", "boolean"},
    KnownField{"logprobs", "boolean"},
    KnownField{"top_logprobs", "integer"},
    KnownField{"parallel_tool_calls", "boolean"},
    KnownField{"reasoning_effort", "string"},
    KnownField{"reasoning.effort", "string"},
    KnownField{"reasoning.summary", "string"},
    KnownField{"response_format", "object"},
    KnownField{"response_format.type", "string"},
    KnownField{"metadata", "object"},
    KnownField{"metadata.user_id", "string"},
    KnownField{"tool_choice", "string or object"},
    KnownField{"thinking", "object"},
    KnownField{"thinking.type", "string"},
    KnownField{"thinking.budget_tokens", "integer"},
    KnownField{"stream_options.include_usage", "boolean"},
    KnownField{"dimensions", "integer"},
    KnownField{"encoding_format", "string"},
};

std::optional<llm::Param> sampling_param(std::string_view field) {
  if (field == "temperature") return llm::Param::Temperature;
  if (field == "top_p") return llm::Param::TopP;
  if (field == "max_tokens") return llm::Param::MaxTokens;
  if (field == "stop") return llm::Param::Stop;
  return std::nullopt;
}

struct CompiledDefault {
  std::vector<std::string> path;  // the dot path's parts
  std::optional<llm::Param> param;
  bool openai_field = false;  // a field of the OpenAI / Anthropic schemas (kKnownFields)
  json::value value;
  bool override = false;
};

class RequestDefaultsStage final : public pipeline::Stage {
 public:
  explicit RequestDefaultsStage(const std::vector<config::RequestDefault>& defaults) {
    for (const auto& d : defaults) {
      CompiledDefault c;
      for (std::size_t start = 0;;) {
        const auto dot = d.field.find('.', start);
        c.path.push_back(d.field.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      c.param = sampling_param(d.field);
      c.openai_field = default_field_type(d.field).has_value();
      boost::system::error_code ec;
      c.value = json::parse(d.value, ec);
      if (ec) continue;  // decode wrote valid JSON; nothing else reaches here
      c.override = d.override;
      defaults_.push_back(std::move(c));
    }
  }
  std::string_view name() const override { return "request-defaults"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::BodyDocument);
  }

  pipeline::Verdict on_request_body(pipeline::RequestContext& request) const override {
    auto view = client_view(request);
    if (!view) return pipeline::Verdict::proceed();
    auto& body = request.document.as_object();
    const bool gemini = view->schema() == llm::Schema::GeminiGenerate || view->schema() == llm::Schema::GeminiEmbed;
    bool changed = false;
    for (const auto& d : defaults_) {
      const json::value value(d.value, body.storage());
      if (d.param) {
        changed = (d.override ? view->set_param(*d.param, value) : view->set_default(*d.param, value)) || changed;
        continue;
      }
      // Gemini bodies have none of the other OpenAI / Anthropic fields (the API refuses unknown
      // names): those defaults are for the other schemas; a field Sluice does not know is set.
      if (gemini && d.openai_field) continue;
      // The objects on the way: created when missing; a member of another kind is left alone.
      json::object* at = &body;
      for (std::size_t i = 0; at != nullptr && i + 1 < d.path.size(); ++i) {
        auto& next = (*at)[d.path[i]];
        if (next.is_null()) next = json::object(body.storage());
        at = next.if_object();
      }
      if (at == nullptr) continue;
      const auto* existing = at->if_contains(d.path.back());
      if (!d.override && existing != nullptr && !existing->is_null()) continue;
      (*at)[d.path.back()] = value;
      changed = true;
    }
    request.document_changed = request.document_changed || changed;
    return pipeline::Verdict::proceed();
  }

 private:
  std::vector<CompiledDefault> defaults_;
};

}  // namespace

std::optional<std::string_view> default_field_type(std::string_view field) {
  for (const auto& known : kKnownFields)
    if (known.name == field) return known.type;
  return std::nullopt;
}

bool default_value_fits(std::string_view type, std::string_view value) {
  boost::system::error_code ec;
  const auto v = json::parse(value, ec);
  if (ec) return false;
  const auto is = [&](std::string_view kind) {
    if (kind == "number") return v.is_number();
    if (kind == "integer") return v.is_int64() || v.is_uint64();
    if (kind == "string") return v.is_string();
    if (kind == "boolean") return v.is_bool();
    if (kind == "object") return v.is_object();
    if (kind == "array") return v.is_array();
    return false;
  };
  for (std::size_t start = 0;;) {
    const auto sep = type.find(" or ", start);
    if (is(type.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start))) return true;
    if (sep == std::string_view::npos) return false;
    start = sep + 4;
  }
}

std::shared_ptr<const pipeline::Stage> make_request_defaults_stage(std::vector<config::RequestDefault> defaults) {
  return std::make_shared<const RequestDefaultsStage>(defaults);
}

}  // namespace sluice::policy
