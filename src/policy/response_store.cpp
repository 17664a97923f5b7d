#include "policy/response_store.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <span>
#include <string>

#include "http/sse.hpp"
#include "observe/log.hpp"
#include "pipeline/principal.hpp"
#include "pipeline/response_tap.hpp"
#include "proxy/worker.hpp"
#include "route/api_path.hpp"
#include "state/memory_cache.hpp"
#include "state/redis_client.hpp"

namespace sluice::policy {

namespace json = boost::json;
using pipeline::Verdict;

namespace {

using Clock = std::chrono::steady_clock;

// One Responses request's conversation, and the tap on its answer when it is to be kept.
struct StoreRequest final : pipeline::StageState, pipeline::ResponseTap {
  bool keep = false;
  std::string principal;
  json::array input;  // the conversation sent: stored items, then this request's input
  std::size_t max_bytes = 0;
  unsigned status = 0;
  bool sse = false;
  bool too_large = false;
  bool ended = false;
  bool complete = false;
  std::string held;            // a complete body so far, or the stream's event in progress
  std::string final_response;  // a stream's last response.completed / response.incomplete data

  void begin(unsigned answer_status, std::string_view content_type) override {
    status = answer_status;
    sse = boost::beast::iequals(content_type.substr(0, 17), "text/event-stream");
    too_large = ended = complete = false;
    held.clear();
    final_response.clear();
  }
  void body(std::string_view bytes) override {
    if (too_large) return;
    held.append(bytes);
    if (sse) {
      for (auto end = http::sse_event_end(held); end != std::string::npos; end = http::sse_event_end(held)) {
        const std::string_view event(held.data(), end);
        if (event.find("\"response.completed\"") != std::string_view::npos ||
            event.find("\"response.incomplete\"") != std::string_view::npos)
          final_response = http::sse_event_data(event);
        held.erase(0, end);
      }
    }
    if (held.size() + final_response.size() > max_bytes) {
      too_large = true;
      std::string().swap(held);
      std::string().swap(final_response);
    }
  }
  void end(bool whole) override {
    ended = true;
    complete = whole;
  }
};

http::ApiError not_found(std::string message, std::string param) {
  return http::ApiError{400, "invalid_request_error", "previous_response_not_found", std::move(message),
                        std::move(param)};
}

// A stored entry's value for this principal: the entry parsed, when it was stored for them.
std::optional<json::object> entry_for(std::string_view text, std::string_view principal) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  auto& entry = value.as_object();
  const auto* owner = entry.if_contains("principal");
  if (owner == nullptr || !owner->is_string() || owner->as_string() != principal) return std::nullopt;
  return std::move(entry);
}

// This request's input as items (a string is one user message).
json::array input_items(const json::value* input) {
  if (input == nullptr || input->is_null()) return {};
  if (input->is_string()) return json::array{json::object{{"role", "user"}, {"content", input->as_string()}}};
  if (input->is_array()) return input->as_array();
  return {};
}

// What a request needs from the store before it can be expanded: the previous response and the
// referenced items, as keys.
struct Lookups {
  std::string previous;                                    // the previous response id, or empty
  std::vector<std::pair<std::size_t, std::string>> items;  // input index -> item id
};

Lookups lookups_of(const json::object& body) {
  Lookups out;
  if (const auto* previous = body.if_contains("previous_response_id"); previous != nullptr && previous->is_string())
    out.previous = previous->as_string();
  if (const auto* input = body.if_contains("input"); input != nullptr && input->is_array()) {
    const auto& items = input->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto* item = items[i].if_object();
      if (item == nullptr) continue;
      const auto* type = item->if_contains("type");
      const auto* id = item->if_contains("id");
      if (type != nullptr && type->is_string() && type->as_string() == "item_reference" && id != nullptr &&
          id->is_string())
        out.items.emplace_back(i, std::string(id->as_string()));
    }
  }
  return out;
}

// Redis failures: logged at most once per interval.
void log_redis_failure(std::string_view what, std::string_view message) {
  static observe::LogInterval interval{std::chrono::seconds(10)};  // as the response cache
  if (!interval.due()) return;
  observe::log(observe::Level::Warning, "response store: redis failed",
               {{"command", std::string(what)}, {"error", std::string(message)}});
}

class ResponseStoreStage final : public pipeline::Stage {
 public:
  ResponseStoreStage(const config::ResponseStore& settings, std::shared_ptr<state::MemoryCache> memory)
      : settings_(settings), memory_(std::move(memory)) {}

  std::string_view name() const override { return "response-store"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(pipeline::Phase::RequestBody) | pipeline::bit(pipeline::Phase::Complete);
  }
  bool waits() const override { return memory_ == nullptr; }

  Verdict on_request_body(pipeline::RequestContext& request) const override {
    json::value parsed;
    auto* body = responses_body(request, parsed);
    if (body == nullptr) return Verdict::proceed();
    const auto wanted = lookups_of(*body);
    std::optional<std::string> previous;
    std::vector<std::optional<std::string>> items;
    const auto now = Clock::now();
    if (!wanted.previous.empty()) {
      if (auto value = memory_->get(key("resp:", wanted.previous), now)) previous = *value;
    }
    for (const auto& [index, id] : wanted.items) {
      auto value = memory_->get(key("item:", id), now);
      items.push_back(value ? std::optional<std::string>(*value) : std::nullopt);
    }
    return expand(request, *body, wanted, previous, items);
  }

  http::Task<Verdict> await_request_body(pipeline::RequestContext& request) const override {
    if (memory_ != nullptr) co_return on_request_body(request);
    json::value parsed;
    auto* body = responses_body(request, parsed);
    if (body == nullptr) co_return Verdict::proceed();
    const auto wanted = lookups_of(*body);
    std::optional<std::string> previous;
    std::vector<std::optional<std::string>> items;
    if (!wanted.previous.empty() || !wanted.items.empty()) {
      auto* client = request.worker.redis();
      if (client == nullptr) co_return unavailable("no Redis connection");
      std::string failure;
      if (!wanted.previous.empty()) {
        const std::string redis_key = client->endpoint().key_prefix + "responses:" + key("resp:", wanted.previous);
        previous = co_await redis_get(*client, redis_key, failure);
      }
      for (const auto& [index, id] : wanted.items) {
        if (!failure.empty()) break;
        const std::string redis_key = client->endpoint().key_prefix + "responses:" + key("item:", id);
        auto value = co_await redis_get(*client, redis_key, failure);
        items.push_back(std::move(value));
      }
      if (!failure.empty()) {
        log_redis_failure("GET", failure);
        co_return unavailable(failure);
      }
    }
    co_return expand(request, *body, wanted, previous, items);
  }

  void on_complete(pipeline::RequestContext& request) const noexcept override {
    try {
      auto* kept = request.find_state<StoreRequest>(this);
      if (kept == nullptr) return;
      auto& state = *kept;
      if (!state.keep || !state.ended || !state.complete || state.too_large) return;
      if (state.status < 200 || state.status >= 300) return;
      boost::system::error_code ec;
      auto response = json::parse(state.sse ? state.final_response : state.held, ec);
      if (ec || !response.is_object()) return;
      auto* object = &response.as_object();
      if (state.sse) {
        auto* inner = object->if_contains("response");
        if (inner == nullptr || !inner->is_object()) return;
        object = &inner->as_object();
      }
      const auto* id = object->if_contains("id");
      const auto* output = object->if_contains("output");
      if (id == nullptr || !id->is_string() || output == nullptr || !output->is_array()) return;
      json::array conversation = std::move(state.input);
      for (const auto& item : output->as_array()) conversation.push_back(item);
      std::vector<std::pair<std::string, std::string>> entries;
      entries.emplace_back(key("resp:", id->as_string()),
                           json::serialize(json::object{{"principal", state.principal}, {"items", conversation}}));
      for (const auto& item : output->as_array()) {
        const auto* item_id = item.is_object() ? item.as_object().if_contains("id") : nullptr;
        if (item_id == nullptr || !item_id->is_string()) continue;
        entries.emplace_back(key("item:", item_id->as_string()),
                             json::serialize(json::object{{"principal", state.principal}, {"item", item}}));
      }
      if (entries.front().second.size() > settings_.maxEntryBytes) return;
      if (memory_ != nullptr) {
        const auto now = Clock::now();
        for (auto& [entry_key, value] : entries) memory_->put(entry_key, std::move(value), now + settings_.ttl, now);
      } else {
        store_in_redis(request.worker, std::move(entries));
      }
    } catch (...) {
      // Storing is best-effort: an allocation failure loses one conversation, never the request.
      return;
    }
  }

 private:
  static std::string key(std::string_view prefix, std::string_view id) {
    std::string out(prefix);
    out.append(id);
    return out;
  }

  // GET `redis_key`: the value, nullopt when absent; `failure` set when Redis failed.
  static http::Task<std::optional<std::string>> redis_get(state::RedisClient& client, const std::string& redis_key,
                                                          std::string& failure) {
    const std::array<std::string_view, 2> args{"GET", redis_key};
    const std::span<const std::string_view> command(args);
    auto result = co_await client.command(command);
    if (!result.ok()) {
      failure = result.failure == state::RedisResult::Failure::None ? result.reply.text : result.message;
      co_return std::nullopt;
    }
    if (result.reply.type != state::RedisReply::Type::String) co_return std::nullopt;
    co_return std::move(result.reply.text);
  }

  static Verdict unavailable(std::string_view why) {
    return Verdict::fail(http::ApiError{503,
                                        "server_error",
                                        "response_store_unavailable",
                                        "the response store could not be read: " + std::string(why),
                                        {}});
  }

  // The Responses request's body, edited in place: the parsed document, or the body parsed here
  // into `parsed` (one native provider: it was only scanned). Null for other requests.
  static json::object* responses_body(pipeline::RequestContext& request, json::value& parsed) {
    if (request.api != route::ApiKind::Responses || !request.json_api) return nullptr;
    if (request.document.is_object()) return &request.document.as_object();
    boost::system::error_code ec;
    parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) return nullptr;
    return &parsed.as_object();
  }

  // The body with the stored conversation and items in place, `store: false` for the provider;
  // the answer tapped when it is to be kept.
  Verdict expand(pipeline::RequestContext& request, json::object& body, const Lookups& wanted,
                 const std::optional<std::string>& previous,
                 const std::vector<std::optional<std::string>>& items) const {
    const std::string principal = request.principal != nullptr ? request.principal->id : std::string();
    json::array conversation;
    if (!wanted.previous.empty()) {
      auto entry = previous ? entry_for(*previous, principal) : std::nullopt;
      const auto* stored = entry ? entry->if_contains("items") : nullptr;
      if (stored == nullptr || !stored->is_array())
        return Verdict::fail(
            not_found("Previous response with id '" + wanted.previous + "' not found.", "previous_response_id"));
      conversation = stored->as_array();
    }
    auto input = input_items(body.if_contains("input"));
    for (std::size_t k = 0; k < wanted.items.size(); ++k) {
      const auto& [index, id] = wanted.items[k];
      auto entry = items[k] ? entry_for(*items[k], principal) : std::nullopt;
      const auto* item = entry ? entry->if_contains("item") : nullptr;
      if (item == nullptr || index >= input.size())
        return Verdict::fail(
            not_found("Item with id '" + id + "' not found.", "input[" + std::to_string(index) + "].id"));
      input[index] = *item;
    }
    for (auto& item : input) conversation.push_back(std::move(item));
    const auto* store = body.if_contains("store");
    const bool keep = store == nullptr || !store->is_bool() || store->as_bool();
    if (keep || !wanted.previous.empty() || !wanted.items.empty()) {
      if (!wanted.previous.empty() || !wanted.items.empty()) body["input"] = conversation;
      body.erase("previous_response_id");
      body["store"] = false;
      if (request.document.is_object()) {
        request.document_changed = true;  // `body` is the document: the exchange writes it anew
      } else {
        request.body = json::serialize(body);
      }
    }
    request.responses_stored = keep;
    request.responses_previous_id = wanted.previous;
    if (keep) {
      auto& state = request.state<StoreRequest>(this);
      state.keep = true;
      state.principal = principal;
      state.input = std::move(conversation);
      state.max_bytes = settings_.maxEntryBytes;
      request.response_tap = &state;
    }
    return Verdict::proceed();
  }

  void store_in_redis(proxy::Worker& worker, std::vector<std::pair<std::string, std::string>> entries) const {
    if (worker.stopped()) return;  // the event loop is ending: nothing may be spawned on it
    const auto ttl_ms = std::to_string(settings_.ttl.count());
    auto task = [](proxy::Worker& worker, std::vector<std::pair<std::string, std::string>> entries,
                   std::string ttl) -> http::Task<void> {
      for (const auto& [entry_key, value] : entries) {
        auto* client = worker.redis();
        if (client == nullptr) co_return;
        const std::string redis_key = client->endpoint().key_prefix + "responses:" + entry_key;
        const std::array<std::string_view, 5> args{"SET", redis_key, value, "PX", ttl};
        const std::span<const std::string_view> command(args);
        auto result = co_await client->command(command);
        if (!result.ok()) {
          log_redis_failure("SET",
                            result.failure == state::RedisResult::Failure::None ? result.reply.text : result.message);
          co_return;
        }
      }
    };
    boost::asio::co_spawn(worker.io(), task(worker, std::move(entries), ttl_ms), boost::asio::detached);
  }

  config::ResponseStore settings_;
  std::shared_ptr<state::MemoryCache> memory_;  // Memory store; null with Redis
};

}  // namespace

std::shared_ptr<const pipeline::Stage> make_response_store_stage(const config::ResponseStore& settings,
                                                                 std::shared_ptr<state::MemoryCache> memory) {
  return std::make_shared<const ResponseStoreStage>(settings, std::move(memory));
}

}  // namespace sluice::policy
