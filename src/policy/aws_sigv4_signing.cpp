#include "policy/aws_sigv4_signing.hpp"

#include "provider/aws_sigv4.hpp"
#include "proxy/heads.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

using pipeline::AttemptContext;
using pipeline::Phase;
using pipeline::Verdict;

namespace {

class AwsSigV4SigningStage final : public pipeline::Stage {
 public:
  std::string_view name() const override { return "aws-sigv4-signing"; }
  pipeline::Phases phases() const override { return pipeline::bit(Phase::UpstreamRequest); }

  Verdict on_upstream_request(AttemptContext& attempt) const override {
    const auto& provider = attempt.provider;
    auto& head = *attempt.head;
    const std::string_view wire = attempt.upstream_target;
    const auto q = wire.find('?');
    provider::SigV4Request to_sign;
    to_sign.method = attempt.request.head->method_string();
    to_sign.host = head.host;
    to_sign.path = wire.substr(0, q);
    to_sign.query = q == std::string_view::npos ? std::string_view{} : wire.substr(q + 1);
    to_sign.payload = *attempt.body;
    const auto signature =
        provider::sign_sigv4(to_sign, provider.aws, provider.aws_region, "bedrock", std::chrono::system_clock::now());
    head.auth_value.clear();
    for (auto& header : signature.headers()) head.extra.push_back(std::move(header));
    return Verdict::proceed();
  }
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_aws_sigv4_signing_stage() {
  static const auto stage = std::make_shared<const AwsSigV4SigningStage>();
  return stage;
}

}  // namespace sluice::policy
