#include "azure_api.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <string>

#include "openai_api.hpp"
#include "provider_common.hpp"

namespace sluice::mock::azure {
namespace {

namespace json = boost::json;

constexpr std::string_view kDeployments = "/openai/deployments/";
constexpr std::string_view kV1 = "/openai/v1/";

FullReply azure_error(unsigned status, std::string_view code, std::string_view message) {
  FullReply reply;
  reply.status = status;
  reply.body = common::serialize(json::object{{"error", {{"code", code}, {"message", message}}}});
  common::add_header(reply.headers, "x-ms-error-code", code);
  return reply;
}

// YYYY-MM-DD, optionally followed by "-preview".
bool valid_api_version(std::string_view version) {
  if (version.ends_with("-preview")) version.remove_suffix(8);
  if (version.size() != 10 || version[4] != '-' || version[7] != '-') return false;
  for (std::size_t i = 0; i < version.size(); ++i) {
    if (i == 4 || i == 7) continue;
    if (version[i] < '0' || version[i] > '9') return false;
  }
  return true;
}

bool authenticated(const ApiRequest& request) {
  const auto key = request.header("api-key");
  return (key && !key->empty()) || common::bearer_token(request);
}

FullReply unauthorized() {
  return azure_error(401, "401",
                     "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                     "provide a valid key for an active subscription and use a correct regional API "
                     "endpoint for your resource.");
}

}  // namespace

bool matches(std::string_view path) {
  if (path.find(kDeployments) != std::string_view::npos) return true;
  const std::size_t at = path.find(kV1);
  if (at == std::string_view::npos) return false;
  const std::string_view rest = path.substr(at + kV1.size());
  return rest == "chat/completions" || rest == "embeddings";
}

std::optional<ApiReply> handle(const ApiRequest& request) {
  if (!matches(request.path)) return std::nullopt;
  const std::size_t deployments = request.path.find(kDeployments);
  if (deployments == std::string_view::npos) {  // the v1 form
    if (!authenticated(request)) return unauthorized();
    if (request.path.ends_with("/embeddings")) return openai::embeddings(request, {});
    return openai::chat_completions(request, {});
  }
  const std::string_view rest = request.path.substr(deployments + kDeployments.size());
  const std::size_t slash = rest.find('/');
  const std::string deployment = common::percent_decode(rest.substr(0, slash));
  const std::string_view operation = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const auto version = common::query_param(request.query, "api-version");
  if (deployment.empty() || (operation != "chat/completions" && operation != "embeddings") || !version) {
    return azure_error(404, "404", "Resource not found");
  }
  if (!authenticated(request)) return unauthorized();
  if (!valid_api_version(*version)) {
    return azure_error(400, "BadRequest", "API version not supported");
  }
  if (operation == "embeddings") return openai::embeddings(request, deployment);
  return openai::chat_completions(request, deployment);
}

}  // namespace sluice::mock::azure
