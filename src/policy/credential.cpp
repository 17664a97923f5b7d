#include "policy/credential.hpp"

#include <charconv>

#include "observe/log.hpp"
#include "proxy/heads.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

namespace bhttp = boost::beast::http;
using pipeline::AttemptContext;
using pipeline::Phase;
using pipeline::ResponseContext;
using pipeline::Verdict;
using proxy::KeyRing;

namespace {

KeyRing::Clock::time_point earliest_key_back(const KeyRing& keys) {
  auto earliest = KeyRing::Clock::time_point::max();
  for (std::size_t k = 0; k < keys.size(); ++k) earliest = std::min(earliest, keys.benched_until(k));
  return earliest;
}

std::string who(const AttemptContext& attempt) {
  return proxy::describe_upstream(attempt.request.backend, attempt.provider);
}

class CredentialStage final : public pipeline::Stage {
 public:
  std::string_view name() const override { return "credential"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::UpstreamRequest) | pipeline::bit(Phase::ResponseHead);
  }

  Verdict on_upstream_request(AttemptContext& attempt) const override {
    const auto& provider = attempt.provider;
    auto& head = *attempt.head;
    head.replace_auth = true;
    head.injects_credential = provider.sigv4 || provider.auth_kind == config::AuthKind::Inline ||
                              provider.auth_kind == config::AuthKind::SecretRef;
    if (provider.auth_kind == config::AuthKind::Passthrough) {
      const auto prefix = provider.llm->authHeader ? std::string_view(provider.llm->authHeader->prefix)
                                                   : provider.provider->auth_prefix;
      const auto credential = proxy::client_credential(*attempt.request.head, provider, prefix);
      if (!credential.empty()) head.auth_value = std::string(prefix) + std::string(credential);
      return Verdict::proceed();
    }
    if (!provider.keys) {
      head.auth_value = provider.auth_value;
      return Verdict::proceed();
    }
    // Several keys: the next one not benched.
    const auto now = KeyRing::Clock::now();
    attempt.key_index = provider.keys->pick(now);
    if (!attempt.key_index) {
      const auto back_in =
          std::chrono::duration_cast<std::chrono::seconds>(earliest_key_back(*provider.keys) - now).count();
      return Verdict::fail(http::ApiError{503,
                                          "server_error",
                                          "all_keys_benched",
                                          who(attempt) +
                                              ": every API key is benched after 401/403/429 answers; the first is "
                                              "back in " +
                                              std::to_string(back_in) + " s",
                                          {}});
    }
    head.auth_value = provider.auth_values[*attempt.key_index];
    return Verdict::proceed();
  }

  Verdict on_response_head(ResponseContext& response) const override {
    auto& attempt = response.attempt;
    const auto status = response.status;
    if (!attempt.key_index || (status != 401 && status != 403 && status != 429)) return Verdict::proceed();
    const auto& provider = attempt.provider;
    auto bench = std::chrono::seconds(status == 429 ? 60 : 300);
    if (status == 429) {
      const std::string_view retry_after = response.head[bhttp::field::retry_after];
      unsigned seconds = 0;
      if (std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds).ec == std::errc{} &&
          seconds > 0)
        bench = std::chrono::seconds(std::min(seconds, 3600u));
    }
    const auto now = KeyRing::Clock::now();
    provider.keys->bench(*attempt.key_index, now + bench);
    observe::log(observe::Level::Warning, "API key benched",
                 {{"backend", attempt.request.backend.name},
                  {"provider", provider.name},
                  {"key", *attempt.key_index + 1},
                  {"status", status},
                  {"for_s", bench.count()}});
    if (response.body_sent_upstream || !provider.keys->pick(now)) return Verdict::proceed();
    attempt.request.record.upstream_error = "key";
    return Verdict::retry_same_provider(http::ApiError{status,
                                                       "server_error",
                                                       "key_refused",
                                                       who(attempt) + " refused key " +
                                                           std::to_string(*attempt.key_index + 1) + " (HTTP " +
                                                           std::to_string(status) + ")",
                                                       {}});
  }
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_credential_stage() {
  static const auto stage = std::make_shared<const CredentialStage>();
  return stage;
}

}  // namespace sluice::policy
