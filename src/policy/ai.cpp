#include "policy/ai.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <charconv>

#include "config/diagnostics.hpp"
#include "config/yaml_reader.hpp"
#include "guard/matcher.hpp"
#include "http/syntax.hpp"
#include "policy/budget.hpp"
#include "policy/model_alias.hpp"
#include "policy/moderation_guard.hpp"
#include "policy/prompt_enrichment.hpp"
#include "policy/prompt_guard.hpp"
#include "policy/request_defaults.hpp"
#include "policy/response_cache.hpp"
#include "policy/response_guard.hpp"
#include "policy/response_webhook.hpp"
#include "policy/targets.hpp"
#include "policy/webhook_guard.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::policy {

namespace json = boost::json;

namespace {

// A YAML value as JSON, its type kept: a plain scalar that reads as a boolean, null or number is
// one; a quoted scalar is always a string.
json::value yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    json::object out;
    for (const auto& item : node) out[item.first.Scalar()] = yaml_to_json(item.second);
    return out;
  }
  if (node.IsSequence()) {
    json::array out;
    for (const auto& item : node) out.push_back(yaml_to_json(item));
    return out;
  }
  if (!node.IsScalar()) return nullptr;
  const auto& text = node.Scalar();
  if (node.Tag() == "!") return json::string(text);
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  std::int64_t integer = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
      ec == std::errc() && end == text.data() + text.size())
    return integer;
  double number = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc() && end == text.data() + text.size())
    return number;
  return json::string(text);
}

bool is_field_path(std::string_view field) {
  if (field.empty() || field.front() == '.' || field.back() == '.') return false;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || (c == '.' && field[i - 1] != '.');
    if (!ok) return false;
  }
  return true;
}

std::vector<config::PromptMessage> decode_messages(config::YamlMap& map, std::string_view key) {
  std::vector<config::PromptMessage> out;
  auto node = map.take(key);
  const auto field = map.field(key);
  if (!node.IsDefined() || node.IsNull() || !config::is_sequence(node, field, map.ctx())) return out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    config::YamlMap m(node[i], field + "[" + std::to_string(i) + "]", map.ctx(), config::Need::Required);
    config::PromptMessage message;
    if (auto role = m.str("role", config::Need::Required)) {
      message.role = *role;
      if (*role != "system" && *role != "user" && *role != "assistant")
        map.ctx().error(node[i]["role"], m.field("role"),
                        "unknown role \"" + *role + "\"; expected one of system, user, assistant");
    }
    if (auto content = m.str("content", config::Need::Required)) message.content = *content;
    out.push_back(std::move(message));
  }
  return out;
}

// backendRef: {name: …} of a guard service (checked against the Backends by check_references).
std::string decode_backend_ref(config::YamlMap& map) {
  config::YamlMap ref(map.take("backendRef"), map.field("backendRef"), map.ctx(), config::Need::Required);
  return ref.str("name", config::Need::Required).value_or(std::string());
}

// Headers a guard call must not copy from the client: they frame or route the call itself.
bool framing_header(std::string_view name) {
  static constexpr std::string_view kFraming[] = {
      "host",    "content-length", "transfer-encoding", "connection",   "keep-alive", "te",
      "trailer", "upgrade",        "proxy-connection",  "content-type", "expect"};
  for (const auto framing : kFraming)
    if (boost::beast::iequals(name, framing)) return true;
  return false;
}

std::vector<std::string> decode_forward_headers(config::YamlMap& map) {
  std::vector<std::string> out;
  const auto& ctx = map.ctx();
  auto names = map.take("forwardHeaders");
  const auto field = map.field("forwardHeaders");
  if (!names.IsDefined() || names.IsNull() || !config::is_sequence(names, field, ctx)) return out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto item = field + "[" + std::to_string(i) + "]";
    auto name = config::scalar_string(names[i], item, ctx);
    if (!name) continue;
    if (!http::valid_field_name(*name)) {
      ctx.error(names[i], item, "\"" + *name + "\" is not a header name");
    } else if (framing_header(*name)) {
      ctx.error(names[i], item, "\"" + *name + "\" frames the guard call itself and cannot be forwarded");
    } else {
      out.push_back(*name);
    }
  }
  return out;
}

// timeout (longer than 0) and failureMode of a guard call.
void decode_call_limits(config::YamlMap& map, config::Duration& timeout, config::FailureMode& mode) {
  if (auto t = map.duration("timeout")) {
    if (t->count() <= 0)
      map.ctx().error(map.node()["timeout"], map.field("timeout"), "must be longer than 0 (e.g. \"2s\")");
    else
      timeout = *t;
  }
  if (auto m = map.enumeration<config::FailureMode>("failureMode", {{"FailClosed", config::FailureMode::FailClosed},
                                                                    {"FailOpen", config::FailureMode::FailOpen}}))
    mode = *m;
}

// customResponse and regex, shared by the request and the response guard.
template <class Guard>
void decode_regex_guard(config::YamlMap& request, Guard& guard) {
  const auto& ctx = request.ctx();
  if (request.has("customResponse")) {
    config::YamlMap custom(request.take("customResponse"), request.field("customResponse"), ctx);
    if (auto message = custom.str("message")) guard.message = *message;
    if (auto status = custom.integer("statusCode", 400, 599)) guard.statusCode = static_cast<unsigned>(*status);
  }
  if (request.has("regex")) {
    config::YamlMap regex(request.take("regex"), request.field("regex"), ctx);
    if (auto action = regex.enumeration<config::GuardAction>(
            "action", {{"REJECT", config::GuardAction::Reject}, {"MASK", config::GuardAction::Mask}}))
      guard.action = *action;
    if (auto builtins = regex.strings("builtins")) guard.builtins = std::move(*builtins);
    auto matches = regex.take("matches");
    if (matches.IsDefined() && !matches.IsNull() && config::is_sequence(matches, regex.field("matches"), ctx)) {
      for (std::size_t i = 0; i < matches.size(); ++i) {
        config::YamlMap m(matches[i], regex.field("matches") + "[" + std::to_string(i) + "]", ctx,
                          config::Need::Required);
        config::GuardPattern pattern;
        if (auto name = m.str("name", config::Need::Required)) pattern.name = *name;
        if (auto text = m.str("pattern", config::Need::Required)) pattern.pattern = *text;
        if (auto max = m.integer("maxLength", 1, static_cast<std::int64_t>(guard::Matcher::kMaxPatternLength)))
          pattern.maxLength = static_cast<std::size_t>(*max);
        guard.matches.push_back(std::move(pattern));
      }
    }
  }
}

config::RequestGuard decode_request_guard(config::YamlMap& request) {
  config::RequestGuard guard;
  decode_regex_guard(request, guard);
  const auto& ctx = request.ctx();
  if (request.has("moderation")) {
    config::YamlMap moderation(request.take("moderation"), request.field("moderation"), ctx);
    config::YamlMap openai(moderation.take("openAIModeration"), moderation.field("openAIModeration"), ctx,
                           config::Need::Required);
    if (openai.present()) {
      config::ModerationGuard m;
      m.backend = decode_backend_ref(openai);
      if (auto model = openai.str("model")) m.model = *model;
      decode_call_limits(openai, m.timeout, m.failureMode);
      guard.moderation = std::move(m);
    }
  }
  if (request.has("webhook")) {
    config::YamlMap webhook(request.take("webhook"), request.field("webhook"), ctx);
    config::GuardWebhook w;
    w.backend = decode_backend_ref(webhook);
    w.forwardHeaders = decode_forward_headers(webhook);
    decode_call_limits(webhook, w.timeout, w.failureMode);
    guard.webhook = std::move(w);
  }
  return guard;
}

config::ResponseGuard decode_response_guard(config::YamlMap& response) {
  config::ResponseGuard guard;
  decode_regex_guard(response, guard);
  if (response.has("webhook")) {
    config::YamlMap webhook(response.take("webhook"), response.field("webhook"), response.ctx());
    config::ResponseWebhook w;
    w.call.backend = decode_backend_ref(webhook);
    w.call.forwardHeaders = decode_forward_headers(webhook);
    decode_call_limits(webhook, w.call.timeout, w.call.failureMode);
    if (auto streaming = webhook.enumeration<config::WebhookStreaming>(
            "streaming", {{"Skip", config::WebhookStreaming::Skip}, {"Buffer", config::WebhookStreaming::Buffer}}))
      w.streaming = *streaming;
    guard.webhook = std::move(w);
  }
  return guard;
}

// A guard's detectors compile (validate reports what does not).
template <class Guard>
void validate_regex_guard(const Guard& guard, const config::YamlMap& section, std::string_view direction) {
  const auto& ctx = section.ctx();
  const auto node = section.node()["promptGuard"][std::string(direction)];
  const auto path = section.field("promptGuard") + "." + std::string(direction);
  if (guard.builtins.empty() && guard.matches.empty()) {
    ctx.error(node, path,
              direction == "response"
                  ? "needs regex.builtins or regex.matches, or webhook: a guard with nothing to look for"
                  : "needs regex.builtins or regex.matches: a guard with nothing to look for");
    return;
  }
  std::string error;
  if (!guard::Matcher::compile(guard_spec(guard.builtins, guard.matches), error))
    ctx.error(node["regex"], path + ".regex", error);
}

}  // namespace

std::optional<llm::RequestView> client_view(pipeline::RequestContext& request) {
  if (!request.json_api || !request.document.is_object()) return std::nullopt;
  return llm::RequestView(view_schema(request.api), request.document.as_object(),
                          llm::PathFacts{request.info.model, request.info.stream});
}

llm::Schema view_schema(route::ApiKind api) {
  switch (api) {
    case route::ApiKind::Messages:
    case route::ApiKind::MessagesCountTokens:
      return llm::Schema::AnthropicMessages;
    case route::ApiKind::Embeddings:
      return llm::Schema::OpenAIEmbeddings;
    case route::ApiKind::Responses:
      return llm::Schema::OpenAIResponses;
    case route::ApiKind::GeminiGenerate:
    case route::ApiKind::GeminiCountTokens:
      return llm::Schema::GeminiGenerate;
    case route::ApiKind::GeminiEmbed:
      return llm::Schema::GeminiEmbed;
    default:
      return llm::Schema::OpenAIChat;
  }
}

config::AiPolicy AiSection::decode(config::YamlMap& section) {
  const auto& ctx = section.ctx();
  config::AiPolicy ai;
  auto aliases = section.take("modelAliases");
  if (aliases.IsDefined() && !aliases.IsNull()) {
    if (!aliases.IsMap()) {
      ctx.error(aliases, section.field("modelAliases"), "expected a mapping of model names to model names");
    } else {
      std::map<std::string, std::string> map;
      for (const auto& item : aliases) {
        const auto name = item.first.IsScalar() ? item.first.Scalar() : std::string();
        if (auto target = config::scalar_string(item.second, section.field("modelAliases") + "." + name, ctx))
          map[name] = *target;
      }
      ai.modelAliases = std::move(map);
    }
  }
  auto defaults = section.take("defaults");
  if (defaults.IsDefined() && !defaults.IsNull() && config::is_sequence(defaults, section.field("defaults"), ctx)) {
    std::vector<config::RequestDefault> list;
    for (std::size_t i = 0; i < defaults.size(); ++i) {
      const auto path = section.field("defaults") + "[" + std::to_string(i) + "]";
      config::YamlMap m(defaults[i], path, ctx, config::Need::Required);
      config::RequestDefault d;
      if (auto field = m.str("field", config::Need::Required)) d.field = *field;
      auto value = m.take("value");
      if (!value.IsDefined()) {
        ctx.error(defaults[i], path + ".value", "is required");
      } else {
        d.value = json::serialize(yaml_to_json(value));
      }
      d.override = m.boolean("override").value_or(false);
      list.push_back(std::move(d));
    }
    ai.defaults = std::move(list);
  }
  if (section.has("promptGuard")) {
    config::YamlMap m(section.take("promptGuard"), section.field("promptGuard"), ctx);
    config::PromptGuard guard;
    if (m.has("request")) {
      config::YamlMap request(m.take("request"), m.field("request"), ctx);
      guard.request = decode_request_guard(request);
    }
    if (m.has("response")) {
      config::YamlMap response(m.take("response"), m.field("response"), ctx);
      guard.response = decode_response_guard(response);
    }
    ai.promptGuard = std::move(guard);
  }
  if (section.has("budgets")) ai.budgets = decode_budgets(section);
  if (section.has("promptEnrichment")) {
    config::YamlMap m(section.take("promptEnrichment"), section.field("promptEnrichment"), ctx);
    config::PromptEnrichment enrichment;
    enrichment.prepend = decode_messages(m, "prepend");
    enrichment.append = decode_messages(m, "append");
    ai.promptEnrichment = std::move(enrichment);
  }
  if (section.has("cache")) {
    config::YamlMap cache(section.take("cache"), section.field("cache"), ctx);
    ai.cache = decode_response_cache(cache);
  }
  return ai;
}

void AiSection::validate(const config::AiPolicy& value, const config::YamlMap& section) {
  const auto& ctx = section.ctx();
  if (value.modelAliases) {
    for (const auto& [alias, target] : *value.modelAliases) {
      if (alias.empty() || target.empty())
        ctx.error(section.node()["modelAliases"], section.field("modelAliases"), "an alias and its model are names");
      else if (value.modelAliases->contains(target) && target != alias)
        ctx.error(section.node()["modelAliases"][alias], section.field("modelAliases") + "." + alias,
                  "\"" + alias + "\" maps to \"" + target +
                      "\", itself an alias: aliases resolve once, name the model directly");
    }
  }
  if (value.promptGuard && value.promptGuard->request) {
    const auto& request = *value.promptGuard->request;
    const auto path = section.field("promptGuard") + ".request.regex";
    const auto node = section.node()["promptGuard"]["request"]["regex"];
    const bool has_regex = !request.builtins.empty() || !request.matches.empty();
    if (node.IsDefined() && !node.IsNull() && !has_regex) {
      ctx.error(node, path, "needs builtins or matches: a guard with nothing to look for");
    } else if (!has_regex && !request.moderation && !request.webhook) {
      ctx.error(section.node()["promptGuard"]["request"], section.field("promptGuard") + ".request",
                "needs regex.builtins or regex.matches, moderation or webhook: a guard with nothing to look for");
    } else if (has_regex) {
      std::string error;
      if (!make_request_guard_stage(request, error)) ctx.error(node, path, error);
    }
  }
  if (value.promptGuard && value.promptGuard->response) {
    const auto& response = *value.promptGuard->response;
    if (!response.webhook || !response.builtins.empty() || !response.matches.empty() ||
        section.node()["promptGuard"]["response"]["regex"].IsDefined())
      validate_regex_guard(response, section, "response");
  }
  if (value.defaults) {
    for (std::size_t i = 0; i < value.defaults->size(); ++i) {
      const auto& d = (*value.defaults)[i];
      const auto node = section.node()["defaults"][i];
      const auto path = section.field("defaults") + "[" + std::to_string(i) + "]";
      if (d.field.empty()) continue;  // reported as missing
      if (!is_field_path(d.field)) {
        ctx.error(node["field"], path + ".field",
                  "\"" + d.field + "\" is not a field name or a dot path (e.g. temperature, reasoning.effort)");
        continue;
      }
      if (d.field == "model" || d.field == "messages" || d.field == "stream" || d.field == "input" ||
          d.field == "system") {
        ctx.error(node["field"], path + ".field",
                  "\"" + d.field + "\" cannot be defaulted (use modelAliases, promptEnrichment or the route instead)");
        continue;
      }
      const auto type = default_field_type(d.field);
      if (!type) {
        ctx.warning(node["field"], path + ".field",
                    "\"" + d.field + "\" is not a request field Sluice knows; it is set as written");
      } else if (!d.value.empty() && !default_value_fits(*type, d.value)) {
        ctx.error(node["value"], path + ".value",
                  "\"" + d.field + "\" takes " + (type->front() == 'i' || type->front() == 'o' ? "an " : "a ") +
                      std::string(*type) + ", not " + d.value +
                      (type->find("string") != std::string_view::npos ? " (quote it to make it a string)" : ""));
      }
    }
  }
}

config::AiPolicy AiSection::merge(const config::AiPolicy& general, const config::AiPolicy& specific) {
  config::AiPolicy out = general;
  if (specific.promptGuard) out.promptGuard = specific.promptGuard;
  if (specific.modelAliases) out.modelAliases = specific.modelAliases;
  if (specific.defaults) out.defaults = specific.defaults;
  if (specific.promptEnrichment) out.promptEnrichment = specific.promptEnrichment;
  if (specific.budgets) out.budgets = specific.budgets;
  if (specific.cache) out.cache = specific.cache;
  return out;
}

Stages AiSection::make_stage(config::AiPolicy merged, const SectionContext& context) {
  Stages stages;
  if (merged.modelAliases && !merged.modelAliases->empty())
    stages.push_back(make_model_alias_stage(std::move(*merged.modelAliases)));
  const auto backend = [&context](const std::string& name) -> const proxy::BackendRuntime* {
    if (context.snapshot == nullptr) return nullptr;
    const auto it = context.snapshot->backends.find(name);
    return it == context.snapshot->backends.end() ? nullptr : &it->second;
  };
  if (merged.promptGuard && merged.promptGuard->request) {
    // The guards in order: regex (local, cheapest), moderation, webhook.
    const auto& request = *merged.promptGuard->request;
    std::string error;
    if (!request.builtins.empty() || !request.matches.empty())
      if (auto stage = make_request_guard_stage(request, error)) stages.push_back(std::move(stage));
    if (request.moderation) {
      const auto* b = backend(request.moderation->backend);
      const auto* provider = b != nullptr && b->ai && !b->groups.empty() && !b->groups.front().empty()
                                 ? &b->groups.front().front()
                                 : nullptr;
      stages.push_back(make_moderation_guard_stage(*request.moderation, provider, request.statusCode, request.message));
    }
    if (request.webhook) {
      const auto* b = backend(request.webhook->backend);
      stages.push_back(
          make_webhook_guard_stage(*request.webhook, b != nullptr && !b->ai ? b : nullptr, request.message));
    }
  }
  if (merged.promptGuard && merged.promptGuard->response) {
    // The webhook (on the reply read whole) first, then the regex guard on what it left.
    const auto& response = *merged.promptGuard->response;
    if (response.webhook) {
      const auto* b = backend(response.webhook->call.backend);
      stages.push_back(make_response_webhook_stage(*response.webhook, b != nullptr && !b->ai ? b : nullptr));
    }
    std::string error;
    if (!response.builtins.empty() || !response.matches.empty())
      if (auto stage = make_response_guard_stage(response, error)) stages.push_back(std::move(stage));
  }
  if (merged.defaults && !merged.defaults->empty())
    stages.push_back(make_request_defaults_stage(std::move(*merged.defaults)));
  if (merged.promptEnrichment &&
      (!merged.promptEnrichment->prepend.empty() || !merged.promptEnrichment->append.empty()))
    stages.push_back(make_prompt_enrichment_stage(std::move(*merged.promptEnrichment)));
  // ai.cache makes its stage at its own place, after the rate limits (response_cache_entry()).
  return stages;
}

void AiSection::check_references(const config::AiPolicy& value, const config::TrafficPolicy& policy,
                                 const config::Config& config, config::Diagnostics& diags) {
  auto error = [&](const std::string& field, std::string message) {
    diags.add(config::Diagnostic{config::Severity::Error, policy.origin.file, policy.origin.line, policy.origin.id(),
                                 field, std::move(message)});
  };
  const auto check_webhook = [&](const config::GuardWebhook& webhook, const std::string& field) {
    if (webhook.backend.empty()) return;
    const auto it = config.backends.find(webhook.backend);
    if (it == config.backends.end())
      error(field, "Backend \"" + webhook.backend + "\" does not exist");
    else if (it->second.type != config::BackendType::Static)
      error(field,
            "Backend \"" + webhook.backend + "\" is an AI Backend; a guard webhook is a Static Backend (its hosts)");
  };
  if (value.cache && value.cache->exact && value.cache->exact->store == config::CacheStore::Redis &&
      (!config.gateway || !config.gateway->spec.redis))
    error("spec.ai.cache.exact.store", "store Redis needs the Gateway's spec.redis (or store: Memory)");
  if (value.budgets && !value.budgets->empty() && !config.gatewaySpec().redis)
    error("spec.ai.budgets",
          "budgets are counted in Redis, shared by every replica: the Gateway needs spec.redis "
          "({address: host:port})");
  if (value.promptGuard && value.promptGuard->response && value.promptGuard->response->webhook)
    check_webhook(value.promptGuard->response->webhook->call, "spec.ai.promptGuard.response.webhook.backendRef.name");
  if (value.promptGuard && value.promptGuard->request) {
    const auto& request = *value.promptGuard->request;
    const std::string guard_field = "spec.ai.promptGuard.request.";
    if (request.webhook) check_webhook(*request.webhook, guard_field + "webhook.backendRef.name");
    if (request.moderation && !request.moderation->backend.empty()) {
      const auto& name = request.moderation->backend;
      const auto it = config.backends.find(name);
      const auto field = guard_field + "moderation.openAIModeration.backendRef.name";
      if (it == config.backends.end())
        error(field, "Backend \"" + name + "\" does not exist");
      else if (it->second.type != config::BackendType::AI || !it->second.priorityGroups.empty() ||
               it->second.llm.kind != config::ProviderKind::OpenAI)
        error(field, "Backend \"" + name +
                         "\" is not an AI Backend with ai.llm.openai; moderation calls an OpenAI provider's "
                         "/moderations with its key");
    }
  }
  // A Gateway's ai section applies to its AI rules: only route, rule and Backend targets are checked.
  for_each_targeted_backend(
      policy, config, false,
      [&](std::size_t i, const config::RouteRule* rule, const config::HttpRoute* route, const std::string& name) {
        const auto backend = config.backends.find(name);
        if (backend == config.backends.end() || backend->second.type == config::BackendType::AI) return;
        const auto field = "spec.targetRefs[" + std::to_string(i) + "]";
        if (rule == nullptr) {
          error(field, "Backend \"" + name + "\" (Static) is not an AI Backend; an ai section applies to AI Backends");
          return;
        }
        error(field, "rule \"" + rule->name + "\" of HTTPRoute \"" + route->origin.name + "\" sends to Backend \"" +
                         name + "\" (Static), which is not an AI Backend; " +
                         (policy.targetRefs[i].sectionName.empty() ? "target the AI rule with sectionName"
                                                                   : "an ai section applies to AI Backends"));
      });
}

}  // namespace sluice::policy
