// The TrafficPolicy `ai` section: what an AI request may carry and how it is completed before a
// provider sees it. One section, one stage per policy it holds, in this order:
//   modelAliases      policy/model_alias.*        the client's model name -> the configured one
//   promptGuard       policy/prompt_guard.*       REJECT or MASK what the model would read, then
//                     policy/moderation_guard.*   OpenAI moderation of the user's text, then
//                     policy/webhook_guard.*      a guard service (kgateway's webhook contract)
//   defaults          policy/request_defaults.*   fields set when absent (or always: override)
//   promptEnrichment  policy/prompt_enrichment.*  messages added before and after the conversation
//   cache             policy/response_cache.*     answers stored and replayed (last: it keys on
//                                                 the body the others leave)
// Each is a RequestBody stage on the parsed body (BodyDocument), through the canonical request
// view (llm/request_view.hpp), so it is written once for every client schema; translations then
// carry the result to the provider's format. The moderation and webhook guards call a service:
// they wait (Stage::waits) and name a Backend, checked by check_references.
//
// Attachment: an `ai` section applies to AI requests only. Attached to an HTTPRoute or one of its
// rules (sectionName) that sends to a Static Backend, it is a configuration error naming the
// policy, the rule and the Backend (kgateway users asked for an error, not a log line); attached
// to the Gateway it applies to the AI rules. Merging is per policy (aliases, defaults,
// enrichment, cache): the most specific policy that sets one wins it whole.
// Pure functions over the immutable config; the stages are immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "config/resources.hpp"
#include "llm/request_view.hpp"
#include "pipeline/stage.hpp"
#include "policy/section.hpp"

namespace sluice::config {
class Diagnostics;
}

namespace sluice::policy {

struct AiSection {
  using Value = config::AiPolicy;
  static constexpr std::string_view key = "ai";
  static constexpr auto field = &config::TrafficPolicy::ai;
  static constexpr std::string_view every_branch =
      "{modelAliases: {fast: gpt-4o-mini}, defaults: [{field: temperature, value: 0.2, override: true}], "
      "promptGuard: {request: {customResponse: {message: m, statusCode: 400}, regex: {action: MASK, "
      "builtins: [SSN], matches: [{name: ticket, pattern: 'TCK-[0-9]{6}', maxLength: 10}]}, "
      "moderation: {openAIModeration: {backendRef: {name: openai}, model: m, timeout: 2s, failureMode: FailOpen}}, "
      "webhook: {backendRef: {name: static}, forwardHeaders: [x-request-id], timeout: 2s, failureMode: FailOpen}}, "
      "response: {customResponse: {message: m, statusCode: 451}, regex: {action: MASK, builtins: [EMAIL], "
      "matches: [{name: ticket, pattern: 'TCK-[0-9]{6}', maxLength: 10}]}, webhook: {backendRef: {name: static}, "
      "forwardHeaders: [x-request-id], timeout: 2s, failureMode: FailOpen, streaming: Buffer}}}, "
      "promptEnrichment: {prepend: [{role: system, content: a}], append: [{role: user, content: b}]}, "
      "budgets: [{by: [principal], limit: '1.00', period: Day}], "
      "cache: {exact: {ttl: 1h, maxEntryBytes: 1Mi, store: Memory, scope: Shared, maxBytes: 64Mi}}}";
  static Value decode(config::YamlMap& section);
  static void validate(const Value& value, const config::YamlMap& section);
  static Value merge(const Value& general, const Value& specific);
  static Stages make_stage(Value merged, const SectionContext& context);
  // HTTPRoute / rule / Backend targets must reach AI Backends only; a guard's backendRef must
  // name a Backend of the right kind.
  static void check_references(const Value& value, const config::TrafficPolicy& policy, const config::Config& config,
                               config::Diagnostics& diags);
};

// The canonical view of a request's parsed body, for RequestBody stages: none when the request
// is not a JSON API call or its body is not an object.
std::optional<llm::RequestView> client_view(pipeline::RequestContext& request);
// The view schema of a JSON API (chat for anything else).
llm::Schema view_schema(route::ApiKind api);

}  // namespace sluice::policy
