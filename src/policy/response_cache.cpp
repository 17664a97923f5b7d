#include "policy/response_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <charconv>

#include "config/yaml_reader.hpp"
#include "observe/log.hpp"
#include "policy/ai.hpp"
#include "provider/aws_sigv4.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "state/memory_cache.hpp"
#include "state/runtime_registry.hpp"

namespace sluice::policy {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

// Appends `text` length-prefixed, so no two sequences of fields hash alike.
void add_field(std::string& out, std::string_view text) {
  out.append(std::to_string(text.size())).append(":").append(text).append(";");
}

std::string_view api_name(route::ApiKind api) {
  switch (api) {
    case route::ApiKind::Embeddings:
      return "openai-embeddings";
    case route::ApiKind::Messages:
      return "anthropic-messages";
    default:
      return "openai-chat";
  }
}

// Chat, embeddings and Messages replies are cached; Responses API replies are stored by the
// provider and referred to by id, token counts are not answers, and Gemini replies are not
// cached (the path, not the body, chooses their stream form).
bool cacheable_api(route::ApiKind api) {
  return api == route::ApiKind::ChatCompletions || api == route::ApiKind::Embeddings || api == route::ApiKind::Messages;
}

}  // namespace

std::string response_cache_key(const proxy::BackendRuntime& backend, route::ApiKind api, const json::object& body,
                               const pipeline::Principal* principal, config::CacheScope scope) {
  std::string material;
  material.reserve(256 + body.size() * 64);
  add_field(material, "sluice-cache-v1");
  add_field(material, backend.name);
  for (std::size_t g = 0; g < backend.groups.size(); ++g) {
    for (const auto& provider : backend.groups[g]) {
      add_field(material, std::to_string(g));
      add_field(material, provider.name);
      add_field(material, provider.provider != nullptr ? provider.provider->name : std::string_view{});
      add_field(material, provider.model.value_or(std::string()));
    }
  }
  add_field(material, api_name(api));
  // canonical_form() reads the body only; the view's type takes it mutable.
  const llm::RequestView view(view_schema(api), const_cast<json::object&>(body));
  add_field(material, view.canonical_form());
  const auto* stream = body.if_contains("stream");
  add_field(material, stream != nullptr && stream->is_bool() && stream->as_bool() ? "stream" : "whole");
  const auto* options = body.if_contains("stream_options");
  add_field(material, options != nullptr ? json::serialize(*options) : std::string());
  if (scope == config::CacheScope::Shared) {
    add_field(material, "shared");
  } else if (principal == nullptr) {
    add_field(material, "anonymous");
  } else {
    add_field(material, "principal");
    add_field(material, principal->id);
  }
  return provider::sha256_hex(material);
}

std::string encode_cached_answer(const CachedAnswer& answer) {
  std::string out = "SLC1 " + std::to_string(answer.status) + " " + std::to_string(answer.prompt_tokens) + " " +
                    std::to_string(answer.completion_tokens) + " " + std::to_string(answer.cached_tokens) + " " +
                    std::to_string(answer.stored_at_ms) + " " + answer.content_type + "\n";
  out.append(answer.body);
  return out;
}

std::optional<CachedAnswer> decode_cached_answer(std::string_view entry) {
  const auto line_end = entry.find('\n');
  if (!entry.starts_with("SLC1 ") || line_end == std::string_view::npos) return std::nullopt;
  std::string_view head = entry.substr(5, line_end - 5);
  CachedAnswer out;
  const auto number = [&head](auto& value) {
    const auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), value);
    if (ec != std::errc() || end == head.data() + head.size() || *end != ' ') return false;
    head.remove_prefix(static_cast<std::size_t>(end - head.data()) + 1);
    return true;
  };
  if (!number(out.status) || !number(out.prompt_tokens) || !number(out.completion_tokens) ||
      !number(out.cached_tokens) || !number(out.stored_at_ms))
    return std::nullopt;
  out.content_type = std::string(head);
  out.body = std::string(entry.substr(line_end + 1));
  return out;
}

bool stream_complete(std::string_view sse, pipeline::ClientSchema schema) {
  while (!sse.empty() && (sse.back() == '\n' || sse.back() == '\r' || sse.back() == ' ')) sse.remove_suffix(1);
  if (schema == pipeline::ClientSchema::Anthropic) {
    if (sse.find("event: error") != std::string_view::npos) return false;
    const auto last = sse.rfind("event: ");
    return last != std::string_view::npos && sse.substr(last).starts_with("event: message_stop");
  }
  if (sse.find("data: {\"error\"") != std::string_view::npos) return false;
  return sse.ends_with("data: [DONE]");
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kHeaderName = "x-sluice-cache: ";

// Whether the request's Cache-Control names `directive` (case-insensitive, comma-separated).
bool cache_control_says(const pipeline::RequestContext& request, std::string_view directive) {
  if (request.head == nullptr) return false;
  for (const auto& field : *request.head) {
    if (field.name() != bhttp::field::cache_control) continue;
    std::string_view value = field.value();
    while (!value.empty()) {
      const auto comma = value.find(',');
      auto token = value.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (boost::beast::iequals(token, directive)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

// One request's lookup, and the tap on its answer once it missed.
struct CacheRequest final : pipeline::StageState, pipeline::ResponseTap {
  std::string key;  // set on a miss that is to be stored
  std::size_t max_bytes = 0;
  unsigned status = 0;
  std::string content_type;
  std::string collected;  // the answer's body so far
  bool begun = false;
  bool too_large = false;
  bool ended = false;
  bool complete = false;

  void begin(unsigned answer_status, std::string_view type) override {
    status = answer_status;
    content_type.assign(type);
    collected.clear();
    begun = true;
    too_large = false;
    ended = false;
    complete = false;
  }
  void body(std::string_view bytes) override {
    if (too_large) return;
    if (collected.size() + bytes.size() > max_bytes) {
      too_large = true;
      std::string().swap(collected);
      return;
    }
    collected.append(bytes);
  }
  void end(bool whole) override {
    ended = true;
    complete = whole;
  }
};

// Redis failures: counted by the client (RedisStatus); logged at most once per interval.
void log_redis_failure(std::string_view what, std::string_view message) {
  static observe::LogInterval interval{kRedisLogInterval};
  if (!interval.due()) return;
  observe::log(observe::Level::Warning, "response cache: redis failed, answered as a miss",
               {{"command", std::string(what)}, {"error", std::string(message)}});
}

class ResponseCacheStage final : public pipeline::Stage {
 public:
  ResponseCacheStage(const config::ExactCache& cache, std::shared_ptr<state::MemoryCache> memory, bool redis)
      : cache_(cache), memory_(std::move(memory)), redis_(redis) {}

  std::string_view name() const override { return "response-cache"; }
  pipeline::Phases phases() const override {
    using pipeline::bit;
    using pipeline::Phase;
    return bit(Phase::RequestHead) | bit(Phase::RequestBody) | bit(Phase::BodyDocument) | bit(Phase::ResponseEvents) |
           bit(Phase::Complete);
  }
  bool waits() const override { return redis_; }

  pipeline::Verdict on_request_head(pipeline::RequestContext& request) const override {
    auto& state = request.state<CacheRequest>(this);
    set_header(request, state, "bypass");
    return pipeline::Verdict::proceed();
  }

  pipeline::Verdict on_request_body(pipeline::RequestContext& request) const override {
    auto& state = request.state<CacheRequest>(this);
    const auto key = lookup_key(request);
    if (!key) return pipeline::Verdict::proceed();
    if (cache_control_says(request, "no-cache")) return miss(request, state, *key);
    const auto stored = memory_ != nullptr ? memory_->get(*key) : nullptr;
    if (stored == nullptr) return miss(request, state, *key);
    return answer(request, state, *stored, *key);
  }

  http::Task<pipeline::Verdict> await_request_body(pipeline::RequestContext& request) const override {
    if (!redis_) co_return on_request_body(request);
    auto& state = request.state<CacheRequest>(this);
    const auto key = lookup_key(request);
    if (!key) co_return pipeline::Verdict::proceed();
    auto* client = request.worker.redis();
    if (cache_control_says(request, "no-cache") || client == nullptr) co_return miss(request, state, *key);
    const std::string redis_key = client->endpoint().key_prefix + "cache:" + *key;
    const std::array<std::string_view, 2> args{"GET", redis_key};
    const std::span<const std::string_view> command(args);
    auto result = co_await client->command(command);
    if (!result.ok()) {
      log_redis_failure("GET",
                        result.failure == state::RedisResult::Failure::None ? result.reply.text : result.message);
      co_return miss(request, state, *key);
    }
    if (result.reply.type != state::RedisReply::Type::String) co_return miss(request, state, *key);
    co_return answer(request, state, result.reply.text, *key);
  }

  void on_complete(pipeline::RequestContext& request) const noexcept override {
    try {
      auto& state = request.state<CacheRequest>(this);
      if (state.key.empty() || !state.begun || !state.ended || !state.complete || state.too_large) return;
      if (state.status < 200 || state.status >= 300) return;
      const bool sse = boost::beast::iequals(std::string_view(state.content_type).substr(0, 17), "text/event-stream");
      if (sse && !stream_complete(state.collected, request.schema)) return;
      CachedAnswer answer;
      answer.status = state.status;
      answer.content_type = state.content_type;
      answer.prompt_tokens = request.record.prompt_tokens;
      answer.completion_tokens = request.record.completion_tokens;
      answer.cached_tokens = request.record.cached_tokens;
      answer.stored_at_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      answer.body = std::move(state.collected);
      auto entry = encode_cached_answer(answer);
      if (redis_) {
        store_in_redis(request.worker, std::move(state.key), std::move(entry));
      } else if (memory_ != nullptr) {
        const auto now = Clock::now();
        memory_->put(state.key, std::move(entry), now + cache_.ttl, now);
      }
    } catch (...) {
      // Storing is best-effort: an allocation failure loses one entry, never the request.
      return;
    }
  }

 private:
  // The key of a request the cache handles; none (bypass) otherwise.
  std::optional<std::string> lookup_key(pipeline::RequestContext& request) const {
    // The Responses API is stateful (stored responses, previous_response_id): not cached.
    if (!request.json_api || !cacheable_api(request.api) || !request.document.is_object() ||
        cache_control_says(request, "no-store"))
      return std::nullopt;
    return response_cache_key(request.backend, request.api, request.document.as_object(), request.principal,
                              cache_.scope);
  }

  static void set_header(pipeline::RequestContext& request, CacheRequest& state, std::string_view result) {
    request.record.cache = result;
    std::string line(kHeaderName);
    line.append(result).append("\r\n");
    request.set_response_header_block(&state, line);
  }

  pipeline::Verdict miss(pipeline::RequestContext& request, CacheRequest& state, std::string key) const {
    set_header(request, state, "miss");
    state.key = std::move(key);
    state.max_bytes = cache_.maxEntryBytes;
    request.response_tap = &state;
    return pipeline::Verdict::proceed();
  }

  pipeline::Verdict answer(pipeline::RequestContext& request, CacheRequest& state, std::string_view entry,
                           std::string key) const {
    auto stored = decode_cached_answer(entry);
    if (!stored) return miss(request, state, std::move(key));
    set_header(request, state, "hit");
    auto& record = request.record;
    record.cache_hit = true;
    record.prompt_tokens = stored->prompt_tokens;
    record.completion_tokens = stored->completion_tokens;
    record.cached_tokens = stored->prompt_tokens;
    return pipeline::Verdict::answer(
        pipeline::LocalResponse{stored->status, std::move(stored->content_type), std::move(stored->body)});
  }

  void store_in_redis(proxy::Worker& worker, std::string key, std::string entry) const {
    if (worker.stopped()) return;  // the event loop is ending: nothing may be spawned on it
    auto* client = worker.redis();
    if (client == nullptr) return;
    const auto ttl_ms = std::to_string(cache_.ttl.count());
    auto task = [](proxy::Worker& worker, std::string key, std::string entry, std::string ttl) -> http::Task<void> {
      auto* client = worker.redis();
      if (client == nullptr) co_return;
      const std::string redis_key = client->endpoint().key_prefix + "cache:" + key;
      const std::array<std::string_view, 5> args{"SET", redis_key, entry, "PX", ttl};
      const std::span<const std::string_view> command(args);
      auto result = co_await client->command(command);
      if (!result.ok())
        log_redis_failure("SET",
                          result.failure == state::RedisResult::Failure::None ? result.reply.text : result.message);
    };
    boost::asio::co_spawn(worker.io(), task(worker, std::move(key), std::move(entry), ttl_ms), boost::asio::detached);
  }

  config::ExactCache cache_;
  std::shared_ptr<state::MemoryCache> memory_;  // Memory store; null with Redis
  bool redis_;
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_response_cache_stage(const config::ExactCache& cache,
                                                                 const std::string& identity,
                                                                 const SectionContext& context) {
  const bool gateway_redis = context.snapshot != nullptr && context.snapshot->redis != nullptr;
  const auto store = cache.store.value_or(gateway_redis ? config::CacheStore::Redis : config::CacheStore::Memory);
  if (store == config::CacheStore::Redis) return std::make_shared<const ResponseCacheStage>(cache, nullptr, true);
  std::shared_ptr<state::MemoryCache> memory;
  if (context.registry != nullptr && context.claims != nullptr) {
    auto gauges = context.registry->metric_series().cache_gauges();
    memory = context.registry->state_for<state::MemoryCache>(
        state::StateKey{"ai.cache", identity}, *context.claims,
        [&] { return std::make_shared<state::MemoryCache>(cache.maxBytes, gauges); },
        [](const state::MemoryCache&) { return true; });
    memory->set_max_bytes(cache.maxBytes);
  } else {
    memory = std::make_shared<state::MemoryCache>(cache.maxBytes);
  }
  return std::make_shared<const ResponseCacheStage>(cache, std::move(memory), false);
}

}  // namespace sluice::policy
