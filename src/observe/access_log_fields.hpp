// The access log's fields by name (Gateway spec.accessLog.fields): which fields a line can have
// and the order they have by default. Header-only and constexpr, so the configuration loader
// checks names without the formatter. Thread-safe (constant data).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sluice::observe {

// The fields a line can have, in the order a line has them when spec.accessLog.fields is not set.
enum class AccessLogField : std::uint8_t {
  Time,
  RequestId,
  TraceId,
  Client,
  Method,
  Path,
  Protocol,
  Route,
  Backend,
  Principal,
  Upstream,
  UpstreamPath,
  PathSource,
  Model,
  RequestedModel,
  Stream,
  Status,
  BytesReceived,
  BytesSent,
  DurationMs,
  UpstreamFirstByteMs,
  TimeToFirstTokenMs,
  Provider,
  Attempts,
  Translation,
  Guard,
  Limit,
  Cache,
  PromptTokens,
  CompletionTokens,
  CachedTokens,
  CostUsd,
  FinishReason,
  ResponseModel,
  Error,
  FailoverReasons,
};
inline constexpr std::size_t kAccessLogFieldCount = static_cast<std::size_t>(AccessLogField::FailoverReasons) + 1;

// Each field's name, by AccessLogField.
inline constexpr std::array<std::string_view, kAccessLogFieldCount> kAccessLogFieldNames = {"time",
                                                                                            "request_id",
                                                                                            "trace_id",
                                                                                            "client",
                                                                                            "method",
                                                                                            "path",
                                                                                            "protocol",
                                                                                            "route",
                                                                                            "backend",
                                                                                            "principal",
                                                                                            "upstream",
                                                                                            "upstream_path",
                                                                                            "path_source",
                                                                                            "model",
                                                                                            "requested_model",
                                                                                            "stream",
                                                                                            "status",
                                                                                            "bytes_received",
                                                                                            "bytes_sent",
                                                                                            "duration_ms",
                                                                                            "upstream_first_byte_ms",
                                                                                            "time_to_first_token_ms",
                                                                                            "provider",
                                                                                            "attempts",
                                                                                            "translation",
                                                                                            "guard",
                                                                                            "limit",
                                                                                            "cache",
                                                                                            "prompt_tokens",
                                                                                            "completion_tokens",
                                                                                            "cached_tokens",
                                                                                            "cost_usd",
                                                                                            "finish_reason",
                                                                                            "response_model",
                                                                                            "error",
                                                                                            "failover_reasons"};

inline constexpr std::array<AccessLogField, kAccessLogFieldCount> kDefaultAccessLogFields = [] {
  std::array<AccessLogField, kAccessLogFieldCount> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<AccessLogField>(i);
  return all;
}();

constexpr std::string_view access_log_field_name(AccessLogField field) {
  return kAccessLogFieldNames[static_cast<std::size_t>(field)];
}

// The field named `name`; nullopt for an unknown name.
constexpr std::optional<AccessLogField> access_log_field(std::string_view name) {
  for (std::size_t i = 0; i < kAccessLogFieldCount; ++i)
    if (kAccessLogFieldNames[i] == name) return static_cast<AccessLogField>(i);
  return std::nullopt;
}

// Every field, in the default order.
inline std::span<const AccessLogField> default_access_log_fields() {
  return kDefaultAccessLogFields;
}

}  // namespace sluice::observe
