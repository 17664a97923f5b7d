#include "policy/model_override.hpp"

#include <boost/json.hpp>

#include "proxy/snapshot.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::AttemptContext;
using pipeline::Phase;
using pipeline::Verdict;

namespace {

class ModelOverrideStage final : public pipeline::Stage {
 public:
  std::string_view name() const override { return "model-override"; }
  pipeline::Phases phases() const override { return pipeline::bit(Phase::Attempt); }

  Verdict on_attempt(AttemptContext& attempt) const override {
    const auto& pinned = attempt.provider.model;
    if (!pinned || !attempt.request.json_api) return Verdict::proceed();
    attempt.model = *pinned;
    if (!attempt.native) return Verdict::proceed();  // the translation writes attempt.model
    // Gemini names the model in the path the provider builds from attempt.model, not the body.
    if (attempt.request.schema == pipeline::ClientSchema::Google) return Verdict::proceed();
    auto& request = attempt.request;
    if (attempt.body == &attempt.rewritten) {
      // An earlier stage of the attempt rewrote the body (the usage capture asked a stream for
      // its usage): the model is set in that body, so what it added is kept.
      boost::system::error_code ec;
      auto value = json::parse(attempt.rewritten, ec);
      if (ec || !value.is_object()) return Verdict::proceed();
      value.as_object()["model"] = *pinned;
      attempt.rewritten = json::serialize(value);
    } else if (request.document.is_object()) {
      json::object rewritten(request.document.as_object(), json::storage_ptr());
      rewritten["model"] = *pinned;
      attempt.rewritten = json::serialize(rewritten);
    } else {
      // The body was only scanned (one native provider): it is valid JSON, parsed here once.
      boost::system::error_code ec;
      auto value = json::parse(request.body, ec);
      if (ec || !value.is_object()) return Verdict::proceed();
      value.as_object()["model"] = *pinned;
      attempt.rewritten = json::serialize(value);
    }
    attempt.body = &attempt.rewritten;
    return Verdict::proceed();
  }
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_model_override_stage() {
  static const auto stage = std::make_shared<const ModelOverrideStage>();
  return stage;
}

}  // namespace sluice::policy
