#include "policy/usage_capture.hpp"

#include <boost/json.hpp>

#include "proxy/heads.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::AttemptContext;
using pipeline::Phase;
using pipeline::Verdict;

namespace {

// A native OpenAI-format chat or embeddings request, or a native Anthropic Messages one: the
// relay can read its response.
bool readable(const AttemptContext& attempt) {
  const auto& request = attempt.request;
  if (!request.json_api || !attempt.native || !attempt.provider.ai) return false;
  if (attempt.provider.format == provider::WireFormat::Anthropic) return request.api == route::ApiKind::Messages;
  return attempt.provider.format == provider::WireFormat::OpenAI && request.api != route::ApiKind::Messages;
}

// A POST Sluice passes through unread to an AI provider (an API it does not translate): its
// answer's usage is looked for (translate/passthrough_usage.hpp).
bool passthrough_call(const AttemptContext& attempt) {
  const auto& request = attempt.request;
  return !request.json_api && attempt.provider.ai && request.head != nullptr &&
         request.head->method() == boost::beast::http::verb::post;
}

class UsageCaptureStage final : public pipeline::Stage {
 public:
  std::string_view name() const override { return "usage-capture"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::Attempt) | pipeline::bit(Phase::UpstreamRequest) | pipeline::bit(Phase::ResponseEvents);
  }

  Verdict on_attempt(AttemptContext& attempt) const override {
    attempt.drop_usage_chunk = false;
    if (!readable(attempt) || !attempt.request.info.stream || attempt.request.api != route::ApiKind::ChatCompletions ||
        attempt.provider.format != provider::WireFormat::OpenAI)
      return Verdict::proceed();
    auto rewritten = ask_include_usage(*attempt.body);
    if (!rewritten) return Verdict::proceed();
    attempt.rewritten = std::move(*rewritten);
    attempt.body = &attempt.rewritten;
    attempt.drop_usage_chunk = true;
    return Verdict::proceed();
  }

  Verdict on_upstream_request(AttemptContext& attempt) const override {
    if (readable(attempt) || passthrough_call(attempt)) attempt.head->extra.emplace_back("Accept-Encoding", "identity");
    return Verdict::proceed();
  }
};

}  // namespace

std::optional<std::string> ask_include_usage(const std::string& body) {
  if (body.find("\"stream_options\"") == std::string::npos) {
    // No stream_options anywhere: insert the member after the opening brace, text only.
    const auto brace = body.find('{');
    if (brace == std::string::npos) return std::nullopt;
    const auto next = body.find_first_not_of(" \t\r\n", brace + 1);
    const bool empty_object = next != std::string::npos && body[next] == '}';
    std::string out;
    out.reserve(body.size() + 48);
    out.append(body, 0, brace + 1);
    out.append(empty_object ? "\"stream_options\":{\"include_usage\":true}"
                            : "\"stream_options\":{\"include_usage\":true},");
    out.append(body, brace + 1, std::string::npos);
    return out;
  }
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  auto& options = value.as_object()["stream_options"];
  if (!options.is_object()) options = json::object();
  const auto* include = options.as_object().if_contains("include_usage");
  if (include != nullptr && include->is_bool() && include->as_bool()) return std::nullopt;
  options.as_object()["include_usage"] = true;
  return json::serialize(value);
}

std::shared_ptr<const pipeline::Stage> make_usage_capture_stage() {
  static const auto stage = std::make_shared<const UsageCaptureStage>();
  return stage;
}

}  // namespace sluice::policy
