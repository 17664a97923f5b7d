#include "admin/status.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <map>

namespace sluice::admin {

namespace json = boost::json;

namespace {

std::string_view format_name(provider::WireFormat format) {
  switch (format) {
    case provider::WireFormat::OpenAI:
      return "openai";
    case provider::WireFormat::Anthropic:
      return "anthropic";
    case provider::WireFormat::Gemini:
      return "gemini";
    case provider::WireFormat::VertexGemini:
      return "vertex-gemini";
    case provider::WireFormat::VertexAnthropic:
      return "vertex-anthropic";
    case provider::WireFormat::Bedrock:
      return "bedrock";
  }
  return "openai";
}

json::object provider_status(const proxy::BackendRuntime& p, proxy::ProviderHealth::Clock::time_point now) {
  json::object out;
  out["name"] = p.name;
  out["provider"] = p.provider ? p.provider->name : std::string_view("static");
  out["format"] = format_name(p.format);
  out["weight"] = p.weight;
  json::array endpoints;
  for (const auto& e : p.endpoints)
    endpoints.push_back(json::string(std::string(e.tls ? "https://" : "http://") + e.display));
  out["endpoints"] = std::move(endpoints);
  if (p.model) out["model"] = *p.model;
  out["available"] = p.unavailable_reason.empty();
  if (!p.unavailable_reason.empty()) out["unavailable_reason"] = p.unavailable_reason;
  if (p.keys) {
    // Several keys: which are benched and for how long (never the keys themselves).
    json::array keys;
    for (std::size_t k = 0; k < p.keys->size(); ++k) {
      json::object key{{"key", k + 1}, {"benched", p.keys->benched(k, now)}};
      if (p.keys->benched(k, now))
        key["benched_for_ms"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(p.keys->benched_until(k) - now).count();
      keys.push_back(std::move(key));
    }
    out["keys"] = std::move(keys);
  }
  if (p.health) {
    json::object health;
    const bool ejected = p.health->ejected(now);
    health["ejected"] = ejected;
    if (ejected)
      health["ejected_for_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(p.health->ejected_until() - now).count();
    if (p.health->held(now))
      health["held_for_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(p.health->held_until() - now).count();
    health["consecutive_failures"] = p.health->consecutive_failures();
    if (p.spec && p.spec->healthCheck.enabled) health["active_check"] = p.health->unhealthy() ? "unhealthy" : "healthy";
    health["ejections"] = p.health->ejections();
    out["health"] = std::move(health);
  }
  return out;
}

// Gateway spec.redis: where it is and how it answers (never the password).
json::object redis_status(const state::RedisEndpoint& endpoint, const state::RedisStatus& status) {
  using Failure = state::RedisResult::Failure;
  json::object out;
  out["address"] = endpoint.display();
  out["tls"] = endpoint.tls;
  out["connected"] = status.connections();
  out["replies"] = status.replies();
  json::object failures;
  for (const auto failure : {Failure::Unavailable, Failure::Timeout, Failure::Protocol, Failure::Auth})
    failures[state::failure_label(failure)] = status.failures(failure);
  out["failures"] = std::move(failures);
  out["average_latency_ms"] = status.replies() == 0 ? 0.0
                                                    : static_cast<double>(status.latency_ns_total()) / 1e6 /
                                                          static_cast<double>(status.replies());
  if (status.last_error_unix_ms() != 0) {
    out["last_error"] = status.last_error();
    out["last_error_unix_ms"] = status.last_error_unix_ms();
  }
  return out;
}

}  // namespace

std::string render_status(const proxy::Snapshot& snapshot, const json::object* limits,
                          const std::vector<observe::RecentError>* recent_errors) {
  const auto now = proxy::ProviderHealth::Clock::now();
  // Sorted by name: a stable document to read and diff.
  std::map<std::string_view, const proxy::BackendRuntime*> sorted;
  for (const auto& [name, b] : snapshot.backends) sorted.emplace(name, &b);
  json::array backends;
  for (const auto& [name, b] : sorted) {
    json::object backend;
    backend["name"] = name;
    backend["type"] = b->ai ? "AI" : "Static";
    if (b->ai) {
      json::array groups;
      for (const auto& group : b->groups) {
        json::array providers;
        for (const auto& p : group) providers.push_back(provider_status(p, now));
        groups.push_back(json::object{{"providers", std::move(providers)}});
      }
      backend["groups"] = std::move(groups);
      const auto& outlier = b->spec->outlierDetection;
      backend["outlier_detection"] =
          outlier.enabled ? json::value(json::object{{"consecutive_failures", outlier.consecutiveFailures},
                                                     {"base_ejection_ms", outlier.baseEjectionTime.count()},
                                                     {"max_ejection_percent", outlier.maxEjectionPercent}})
                          : json::value(nullptr);
    } else {
      backend["static"] = provider_status(*b, now);
    }
    backends.push_back(std::move(backend));
  }
  json::object out;
  out["generation"] = snapshot.generation;
  out["backends"] = std::move(backends);
  if (snapshot.redis && snapshot.redis_status) out["redis"] = redis_status(*snapshot.redis, *snapshot.redis_status);
  if (limits != nullptr) out["limits"] = *limits;
  if (recent_errors != nullptr) {
    json::array errors;
    for (const auto& e : *recent_errors) {
      json::object error{{"unix_ms", e.unix_ms}, {"status", e.status}, {"route", e.route}, {"backend", e.backend}};
      if (!e.provider.empty()) error["provider"] = e.provider;
      if (!e.model.empty()) error["model"] = e.model;
      if (!e.error.empty()) error["error"] = e.error;
      errors.push_back(std::move(error));
    }
    out["recent_errors"] = std::move(errors);
  }
  return json::serialize(out) + "\n";
}

}  // namespace sluice::admin
