#include "policy/global_rate_limit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <cmath>

#include "observe/log.hpp"
#include "policy/ai.hpp"
#include "policy/budget.hpp"
#include "policy/limit_key.hpp"
#include "policy/local_rate_limit.hpp"
#include "policy/rate_limit_headers.hpp"
#include "pricing/catalog.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "state/clock.hpp"
#include "state/redis_client.hpp"

namespace sluice::policy {

using pipeline::Phase;
using pipeline::RequestContext;
using pipeline::Verdict;

// The reservations of every request a worker started in one turn of its event loop, in one
// call: each request is checked and taken all or nothing, in order, exactly as if each had run
// alone, but every counter is read once and written once per call.
// KEYS: the distinct counters. ARGV[1]: the clock offset in ms (0 but in tests); then four
// values per key:
//   kind     "b": a token bucket (a request or token limit), "s": a spend counter (a budget)
//   capacity b: the bucket's size; s: the budget in micro-USD
//   rate     b: refill per ms; s: the period's end, Unix ms
//   label    s: who the counter counts, for /spend ("principal=alice"); b: ""
// then the number of requests, and per request its number of counters and three values per
// counter:
//   key      the counter's index in KEYS
//   amount   what the request takes
//   minimum  the least it may take (Truncate: the input part plus one output token); = amount
// Returns per request, 4 + 2 x its counters values: admitted (1/0), refused counter (1-based)
// or 0, retry after ms, cut, then per counter remaining and reset ms (0 when refused). `cut` is
// what every counter with minimum < amount took less (the output tokens the request gives up);
// all others take their amount.
const char* const kReserveScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local kind, cap, rate, label, value, added, dirty = {}, {}, {}, {}, {}, {}, {}
local a = 2
for k = 1, #KEYS do
  local kd, cp, rt = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  kind[k], cap[k], rate[k], label[k] = kd, cp, rt, ARGV[a + 3]
  a = a + 4
  if kd == 'b' then
    local h = redis.call('HMGET', KEYS[k], 'tokens', 'ts')
    local tokens, ts = tonumber(h[1]) or cp, tonumber(h[2]) or now
    if now > ts then tokens = tokens + (now - ts) * rt end
    if tokens > cp then tokens = cp end
    value[k] = tokens
  else
    value[k] = tonumber(redis.call('HGET', KEYS[k], 'spent')) or 0
  end
  added[k] = 0
  dirty[k] = false
end
local requests = tonumber(ARGV[a])
a = a + 1
local out, o = {}, 0
local ck, ca, cm, cv = {}, {}, {}, {}
for r = 1, requests do
  local n = tonumber(ARGV[a])
  a = a + 1
  local cut = 0
  for i = 1, n do
    local k, amount, minimum = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    a = a + 3
    local avail = value[k]
    if kind[k] ~= 'b' then avail = cap[k] - avail end
    ck[i], ca[i], cm[i], cv[i] = k, amount, minimum, avail
    if minimum < amount and avail < amount then
      local need = amount - math.max(avail, 0)
      if need > cut then cut = need end
    end
  end
  cut = math.ceil(cut)
  local refused, retry = 0, 0
  for i = 1, n do
    local k, amount, minimum, avail = ck[i], ca[i], cm[i], cv[i]
    local take = amount
    if minimum < amount then take = amount - cut end
    if take < minimum or avail < take then
      refused = i
      if kind[k] == 'b' then
        if rate[k] > 0 then retry = math.ceil((math.min(amount, cap[k]) - avail) / rate[k]) else retry = -1 end
      else
        retry = rate[k] - now
      end
      break
    end
  end
  if refused > 0 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, refused, retry, 0
    o = o + 4
    for i = 1, n do
      out[o + 1], out[o + 2] = 0, 0
      o = o + 2
    end
  else
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, 0, 0, cut
    o = o + 4
    for i = 1, n do
      local k, amount, minimum = ck[i], ca[i], cm[i]
      local take = amount
      if minimum < amount then take = amount - cut end
      dirty[k] = true
      local left, reset
      if kind[k] == 'b' then
        value[k] = value[k] - take
        left = value[k]
        if rate[k] > 0 then reset = math.ceil((cap[k] - left) / rate[k]) else reset = -1 end
      else
        value[k] = value[k] + take
        added[k] = added[k] + take
        left = cap[k] - value[k]
        reset = rate[k] - now
      end
      out[o + 1], out[o + 2] = math.floor(left), reset
      o = o + 2
    end
  end
end
for k = 1, #KEYS do
  if dirty[k] then
    if kind[k] == 'b' then
      redis.call('HSET', KEYS[k], 'tokens', tostring(value[k]), 'ts', tostring(now))
      if rate[k] > 0 then redis.call('PEXPIRE', KEYS[k], math.ceil((cap[k] - value[k]) / rate[k]) + 1000) end
    else
      if added[k] ~= 0 then redis.call('HINCRBY', KEYS[k], 'spent', added[k]) end
      redis.call('HSET', KEYS[k], 'limit', cap[k], 'by', label[k], 'end', rate[k])
      redis.call('PEXPIREAT', KEYS[k], rate[k] + 86400000)
    end
  end
end
return out
)lua";

// KEYS: the counters a reservation took, then (optionally) the principal's spend record.
// ARGV[1]: the clock offset in ms, ARGV[2]: the number of counters; then four values per
// counter: kind ("b", "s" as above; "r": a spend record), capacity, rate (b: per ms; s, r: the
// expiry, Unix ms), delta (b: tokens given back, negative to take more; s, r: micro-USD added,
// negative to give back).
const char* const kSettleScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local kind, cap, rate, delta = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if kind == 'b' then
    local h = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
    local tokens, ts = tonumber(h[1]) or cap, tonumber(h[2]) or now
    if now > ts then tokens = tokens + (now - ts) * rate end
    tokens = math.min(cap, tokens + delta)
    redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'ts', tostring(now))
    if rate > 0 then redis.call('PEXPIRE', KEYS[i], math.ceil((cap - math.min(tokens, cap)) / rate) + 1000) end
  elseif kind == 's' then
    if delta ~= 0 then redis.call('HINCRBY', KEYS[i], 'spent', delta) end
  else
    redis.call('HINCRBY', KEYS[i], 'spent', delta)
    redis.call('HINCRBY', KEYS[i], 'requests', 1)
    redis.call('PEXPIREAT', KEYS[i], rate)
  end
end
return 1
)lua";

void GlobalLimitsRuntime::note_fullness(Fullness fullness) {
  std::lock_guard lock(fullest_mutex_);
  auto same = std::find_if(fullest_.begin(), fullest_.end(),
                           [&](const Fullness& kept) { return kept.counter == fullness.counter; });
  if (same != fullest_.end()) {
    *same = std::move(fullness);
  } else if (fullest_.size() < kFullestKept) {
    fullest_.push_back(std::move(fullness));
  } else {
    auto emptiest = std::min_element(fullest_.begin(), fullest_.end(),
                                     [](const Fullness& a, const Fullness& b) { return a.used_share < b.used_share; });
    if (emptiest->used_share > fullness.used_share) return;
    *emptiest = std::move(fullness);
  }
}

std::vector<GlobalLimitsRuntime::Fullness> GlobalLimitsRuntime::fullest() const {
  std::lock_guard lock(fullest_mutex_);
  auto out = fullest_;
  std::sort(out.begin(), out.end(), [](const Fullness& a, const Fullness& b) { return a.used_share > b.used_share; });
  return out;
}

std::string render_limit_metrics(const GlobalLimitsRuntime& runtime) {
  std::string out =
      "# HELP sluice_ratelimit_decisions_total Rate limit and budget decisions, by kind (local, global) and "
      "outcome.\n# TYPE sluice_ratelimit_decisions_total counter\n";
  out += fmt::format("sluice_ratelimit_decisions_total{{kind=\"local\",outcome=\"allowed\"}} {}\n",
                     runtime.local_decisions(true));
  out += fmt::format("sluice_ratelimit_decisions_total{{kind=\"local\",outcome=\"limited\"}} {}\n",
                     runtime.local_decisions(false));
  for (unsigned i = 0; i < static_cast<unsigned>(GlobalLimitsRuntime::Outcome::Count); ++i)
    out += fmt::format("sluice_ratelimit_decisions_total{{kind=\"global\",outcome=\"{}\"}} {}\n",
                       GlobalLimitsRuntime::kOutcomeNames[i],
                       runtime.decisions(static_cast<GlobalLimitsRuntime::Outcome>(i)));
  out +=
      "# HELP sluice_ratelimit_settle_failures_total Reservations that could not be settled in Redis (they stay "
      "charged).\n# TYPE sluice_ratelimit_settle_failures_total counter\n";
  out += fmt::format("sluice_ratelimit_settle_failures_total {}\n", runtime.settle_failures());
  out +=
      "# HELP sluice_budget_spent_usd_total Cost settled against budgets, in USD.\n"
      "# TYPE sluice_budget_spent_usd_total counter\n";
  out += "sluice_budget_spent_usd_total " + pricing::format_usd_micros(runtime.spend_micros()) + "\n";
  out +=
      "# HELP sluice_budget_saved_usd_total What answers from the response cache would have cost, in USD (not "
      "charged to budgets).\n# TYPE sluice_budget_saved_usd_total counter\n";
  out += "sluice_budget_saved_usd_total " + pricing::format_usd_micros(runtime.saved_micros()) + "\n";
  return out;
}

boost::json::object limit_status(const GlobalLimitsRuntime& runtime) {
  boost::json::object decisions;
  decisions["localAllowed"] = runtime.local_decisions(true);
  decisions["localLimited"] = runtime.local_decisions(false);
  for (unsigned i = 0; i < static_cast<unsigned>(GlobalLimitsRuntime::Outcome::Count); ++i)
    decisions[GlobalLimitsRuntime::kOutcomeNames[i]] = runtime.decisions(static_cast<GlobalLimitsRuntime::Outcome>(i));
  boost::json::array fullest;
  for (const auto& entry : runtime.fullest())
    fullest.push_back(boost::json::object{{"counter", entry.counter},
                                          {"usedShare", entry.used_share},
                                          {"remaining", entry.remaining},
                                          {"limit", entry.limit},
                                          {"atUnixMs", entry.at_unix_ms}});
  return boost::json::object{{"decisions", std::move(decisions)},
                             {"settleFailures", runtime.settle_failures()},
                             {"spentUsd", pricing::format_usd_micros(runtime.spend_micros())},
                             {"savedByCacheUsd", pricing::format_usd_micros(runtime.saved_micros())},
                             {"fullest", std::move(fullest)}};
}

namespace {

const state::RedisScript& reserve_script() {
  static const state::RedisScript script(kReserveScript);
  return script;
}

const state::RedisScript& settle_script() {
  static const state::RedisScript script(kSettleScript);
  return script;
}

// 64-bit FNV-1a of a limit's identity: the fixed part of its counters' keys.
std::string identity_hash(std::string_view identity) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : identity) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
  return out;
}

struct CompiledLimit {
  config::GlobalRateLimit spec;
  LimitKey key;
  std::string key_base;  // "<identity hash>:"
  double capacity = 0;
  double per_ms = 0;
  bool tokens = false;
  std::string what;  // "600 requests/Minute by principal"
};

struct CompiledBudget {
  config::Budget spec;
  LimitKey key;
  std::string key_base;
};

// One counter a request takes.
struct Counter {
  std::string key;
  char kind = 'b';
  double capacity = 0;
  double rate = 0;  // b: per ms; s: the period's end, Unix ms
  std::int64_t amount = 0;
  std::int64_t minimum = 0;
  std::string label;
  // What the counter is, for refusals, headers and settlement.
  const CompiledLimit* limit = nullptr;
  const CompiledBudget* budget = nullptr;
  std::int64_t taken = 0;  // after the reservation
};

// A request's reservation, settled at Complete.
struct Reservation final : pipeline::StageState {
  enum class Where : std::uint8_t { None, Redis, Local } where = Where::None;
  std::vector<Counter> counters;
  std::int64_t input_tokens = 0;   // estimated
  std::int64_t output_tokens = 0;  // reserved (after any cut)
  std::int64_t cost = 0;           // worst case reserved, micro-USD
  std::string spend_key;           // the principal's monthly spend record; empty: no principal
  std::int64_t spend_expiry_ms = 0;
};

std::int64_t unix_ms(state::WallClock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// The request's max_tokens (or max_completion_tokens) as it asks for it.
std::optional<std::int64_t> requested_max_tokens(RequestContext& request) {
  auto view = client_view(request);
  if (!view) return std::nullopt;
  const auto* value = view->param(llm::Param::MaxTokens);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64() && value->as_int64() > 0) return value->as_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(value->as_uint64(), INT64_MAX));
  return std::nullopt;
}

// A number as the script reads it back exactly (shortest round-trip form).
std::string fmt_number(double value) {
  return fmt::format("{}", value);
}

// One request's reservation, waiting for its worker's next reserve call.
struct PendingReserve {
  explicit PendingReserve(boost::asio::io_context& io) : wake(io, http::Timer::time_point::max()) {}
  std::vector<std::string> keys;    // its counters' keys
  std::vector<std::string> values;  // per counter: kind, capacity, rate, label, amount, minimum
  http::Timer wake;                 // the request sleeps on it until the call is answered
  bool answered = false;
  std::string failure;              // the call failed: why
  std::vector<std::int64_t> reply;  // 4 + 2 x its counters values (kReserveScript)
};

// A worker's reservations and settlements not yet sent: everything its requests asked for in
// one turn of the event loop leaves in one script call of each kind (a post to the loop sends
// them once the handlers already queued have run). Worker-thread only.
struct LimitBatches final : proxy::Worker::Local {
  std::vector<std::shared_ptr<PendingReserve>> reserves;
  bool reserves_posted = false;
  std::vector<std::string> settle_keys;
  std::vector<std::string> settle_values;  // per counter: kind, capacity, rate, delta (kSettleScript)
  std::shared_ptr<GlobalLimitsRuntime> settle_runtime;
  bool settles_posted = false;
};
const char kBatchesKey = 0;

void answer_reserves(std::vector<std::shared_ptr<PendingReserve>>& batch, std::string_view failure) {
  for (auto& entry : batch) {
    entry->answered = true;
    entry->failure = failure;
    entry->wake.cancel();
  }
}

// Sends a worker's pending reservations as one kReserveScript call and wakes each request with
// its part of the answer.
http::Task<void> send_reserves(proxy::Worker& worker, std::vector<std::shared_ptr<PendingReserve>> batch) {
  auto* redis = worker.redis();
  if (redis == nullptr) {
    answer_reserves(batch, "no Redis client");
    co_return;
  }
  std::size_t counters = 0;
  for (const auto& entry : batch) counters += entry->keys.size();
  // The distinct keys with what they are, then each request's counters by key index. The
  // numbers the call writes live in `numbers` (reserved, never reallocated: views point in).
  std::vector<std::string_view> keys;
  std::vector<std::string_view> key_values;
  std::vector<std::string_view> request_values;
  std::vector<std::string> numbers;
  numbers.reserve(3 + batch.size() + counters);
  request_values.reserve(1 + batch.size() + counters * 3);
  numbers.push_back(std::to_string(batch.size()));
  request_values.push_back(numbers.back());
  for (const auto& entry : batch) {
    numbers.push_back(std::to_string(entry->keys.size()));
    request_values.push_back(numbers.back());
    for (std::size_t c = 0; c < entry->keys.size(); ++c) {
      const std::string_view key = entry->keys[c];
      const auto same = std::find(keys.begin(), keys.end(), key);
      const auto index = static_cast<std::size_t>(same - keys.begin()) + 1;
      if (same == keys.end()) {
        keys.push_back(key);
        for (std::size_t v = 0; v < 4; ++v) key_values.push_back(entry->values[c * 6 + v]);
      }
      numbers.push_back(std::to_string(index));
      request_values.push_back(numbers.back());
      request_values.push_back(entry->values[c * 6 + 4]);
      request_values.push_back(entry->values[c * 6 + 5]);
    }
  }
  numbers.push_back(std::to_string(state::WallClock::offset().count()));
  std::vector<std::string_view> args;
  args.reserve(1 + key_values.size() + request_values.size());
  args.push_back(numbers.back());
  args.insert(args.end(), key_values.begin(), key_values.end());
  args.insert(args.end(), request_values.begin(), request_values.end());
  const std::span<const std::string_view> key_span(keys);
  const std::span<const std::string_view> arg_span(args);
  const auto result = co_await redis->eval(reserve_script(), key_span, arg_span);
  std::string failure;
  if (!result.ok()) {
    failure = result.failure != state::RedisResult::Failure::None ? result.message : result.reply.text;
  } else if (result.reply.type != state::RedisReply::Type::Array ||
             result.reply.elements.size() != 4 * batch.size() + 2 * counters) {
    failure = "unexpected reply to the limit script";
  }
  if (!failure.empty()) {
    answer_reserves(batch, failure);
    co_return;
  }
  std::size_t at = 0;
  for (auto& entry : batch) {
    const std::size_t size = 4 + 2 * entry->keys.size();
    entry->reply.resize(size);
    for (std::size_t i = 0; i < size; ++i) entry->reply[i] = result.reply.elements[at + i].as_integer();
    at += size;
    entry->answered = true;
    entry->wake.cancel();
  }
}

// Settles the reservations a worker's requests gave back in one turn, as one kSettleScript
// call (the script applies its counters in order, so requests' counters simply follow each
// other). A failure is counted and logged: those reservations stay charged, never twice.
http::Task<void> send_settles(proxy::Worker& worker, std::shared_ptr<GlobalLimitsRuntime> runtime,
                              std::vector<std::string> keys, std::vector<std::string> values) {
  auto* redis = worker.redis();
  if (redis == nullptr) {
    runtime->count_settle_failure();
    co_return;
  }
  const std::string offset = std::to_string(state::WallClock::offset().count());
  const std::string count = std::to_string(keys.size());
  std::vector<std::string_view> args;
  args.reserve(2 + values.size());
  args.push_back(offset);
  args.push_back(count);
  args.insert(args.end(), values.begin(), values.end());
  const std::vector<std::string_view> key_views(keys.begin(), keys.end());
  const std::span<const std::string_view> key_span(key_views);
  const std::span<const std::string_view> arg_span(args);
  const auto result = co_await redis->eval(settle_script(), key_span, arg_span);
  if (!result.ok()) {
    runtime->count_settle_failure();
    if (runtime->failure_log.due())
      observe::log(
          observe::Level::Warning, "rate limit settlement failed",
          {{"error", result.failure != state::RedisResult::Failure::None ? result.message : result.reply.text}});
  }
}

class GlobalLimitStage final : public pipeline::Stage {
 public:
  GlobalLimitStage(GlobalLimitSettings settings, std::vector<CompiledLimit> limits, std::vector<CompiledBudget> budgets,
                   std::shared_ptr<GlobalLimitsRuntime> runtime, const proxy::Snapshot* snapshot)
      : settings_(std::move(settings)),
        limits_(std::move(limits)),
        budgets_(std::move(budgets)),
        runtime_(std::move(runtime)),
        snapshot_(snapshot) {
    for (const auto& limit : limits_) needs_document_ = needs_document_ || limit.tokens;
    needs_document_ = needs_document_ || !budgets_.empty();
  }

  std::string_view name() const override { return "global-rate-limit"; }
  pipeline::Phases phases() const override {
    return pipeline::bit(Phase::RequestHead) | pipeline::bit(Phase::RequestBody) | pipeline::bit(Phase::Complete) |
           (needs_document_ ? pipeline::bit(Phase::BodyDocument) : 0);
  }
  bool waits() const override { return true; }

  // A JSON API request is counted once its body is read (model, max_tokens); any other request
  // (passthrough) at its head, its tokens and cost unknown.
  http::Task<Verdict> await_request_head(RequestContext& request) const override {
    if (request.json_api) co_return Verdict::proceed();
    co_return co_await reserve(request);
  }
  http::Task<Verdict> await_request_body(RequestContext& request) const override {
    co_return co_await reserve(request);
  }

  void on_complete(RequestContext& request) const noexcept override;

 private:
  // What a cached answer's stored usage costs at the Backend's first provider (0 unpriced).
  std::int64_t saved_cost(const RequestContext& request) const {
    const auto& record = request.record;
    if (snapshot_ == nullptr || snapshot_->prices == nullptr || request.backend.groups.empty()) return 0;
    const auto& provider = request.backend.groups.front().front();
    if (provider.llm == nullptr) return 0;
    const auto* price = snapshot_->prices->find(record.model, provider.llm->kind);
    if (price == nullptr) return 0;
    const pricing::Usage usage{std::max<std::int64_t>(0, record.prompt_tokens), 0,
                               std::max<std::int64_t>(0, record.completion_tokens), 0};
    return pricing::cost_micros(*price, usage);
  }

  // failureMode Local: `counter` as an in-process bucket holding this replica's share (a budget
  // does not refill: its period names the bucket).
  state::TokenBuckets::Limit local_share(const Counter& counter) const {
    const double share = 1.0 / std::max(1u, settings_.replicas);
    return {counter.capacity * share, counter.kind == 'b' ? counter.rate * 1000.0 * share : 0.0};
  }

  http::Task<Verdict> reserve(RequestContext& request) const;
  Verdict refuse(RequestContext& request, const Counter& counter, std::int64_t retry_ms) const;
  Verdict reserve_locally(RequestContext& request, Reservation& reservation) const;
  void offer_headers(RequestContext& request, const Counter& counter, std::int64_t remaining,
                     std::int64_t reset_ms) const;
  std::optional<Verdict> plan(RequestContext& request, Reservation& reservation) const;

  GlobalLimitSettings settings_;
  std::vector<CompiledLimit> limits_;
  std::vector<CompiledBudget> budgets_;
  std::shared_ptr<GlobalLimitsRuntime> runtime_;
  const proxy::Snapshot* snapshot_;
  bool needs_document_ = false;
};

// The counters of `request` and what it takes from each; a verdict when it cannot be planned
// (a budget applies to a model without a price and unknownModel is Reject).
std::optional<Verdict> GlobalLimitStage::plan(RequestContext& request, Reservation& reservation) const {
  const bool measured = request.json_api;
  const bool chat = measured && request.api != route::ApiKind::Embeddings;
  std::int64_t input = 0;
  std::int64_t output = 0;
  if (measured) {
    input = static_cast<std::int64_t>((request.body.size() + 3) / 4);
    if (chat) {
      if (needs_document_) output = requested_max_tokens(request).value_or(0);
      if (output <= 0) {
        output = settings_.default_max_tokens
                     ? static_cast<std::int64_t>(*settings_.default_max_tokens)
                     : static_cast<std::int64_t>(request.backend.groups.empty()
                                                     ? request.backend.default_max_tokens
                                                     : request.backend.groups.front().front().default_max_tokens);
      }
    }
  }
  reservation.input_tokens = input;
  reservation.output_tokens = output;
  const bool truncate = chat && settings_.on_exceed == config::StreamExceed::Truncate && output > 1;

  const auto now = state::WallClock::now();
  const auto& redis = snapshot_ != nullptr ? snapshot_->redis : nullptr;
  const std::string key_prefix = redis ? redis->key_prefix : std::string("sluice:");
  for (const auto& limit : limits_) {
    Counter counter;
    counter.key = key_prefix + "{limits}:rl:" + limit.key_base;
    limit.key.append_values(request, counter.key);
    counter.kind = 'b';
    counter.capacity = limit.capacity;
    counter.rate = limit.per_ms;
    counter.limit = &limit;
    if (!limit.tokens) {
      counter.amount = counter.minimum = 1;
    } else if (!measured) {
      counter.amount = counter.minimum = 1;  // an exhausted token limit refuses passthrough requests too
    } else {
      const auto count = limit.spec.count;
      counter.amount =
          (count == config::TokenCount::Output ? 0 : input) + (count == config::TokenCount::Input ? 0 : output);
      counter.minimum = truncate && count != config::TokenCount::Input ? counter.amount - output + 1 : counter.amount;
    }
    reservation.counters.push_back(std::move(counter));
  }
  if (!budgets_.empty()) {
    std::int64_t cost = measured ? 0 : 1;
    if (measured) {
      // The worst case: the most expensive provider of the Backend that may answer.
      std::string unpriced;
      const auto consider = [&](const proxy::BackendRuntime& provider) {
        const std::string_view model = provider.model ? std::string_view(*provider.model) : request.info.model;
        const auto* price = snapshot_ != nullptr && snapshot_->prices != nullptr && provider.llm != nullptr
                                ? snapshot_->prices->find(model, provider.llm->kind)
                                : nullptr;
        if (price != nullptr) {
          cost = std::max(cost, pricing::cost_micros(*price, pricing::Usage{input, 0, output, 0}));
        } else if (unpriced.empty()) {
          unpriced = std::string(model);
        }
      };
      for (const auto& group : request.backend.groups)
        for (const auto& provider : group) consider(provider);
      const auto unknown = snapshot_ != nullptr && snapshot_->prices != nullptr ? snapshot_->prices->unknown_model()
                                                                                : config::UnknownModelPricing::Reject;
      if (!unpriced.empty() && unknown == config::UnknownModelPricing::Reject) {
        return Verdict::fail({400,
                              "invalid_request_error",
                              "model_not_priced",
                              "a budget applies to this request but model \"" + unpriced +
                                  "\" has no price; the gateway's operators can add it under Gateway "
                                  "spec.pricing.models or set spec.pricing.unknownModel: Free",
                              {}});
      }
    }
    reservation.cost = cost;
    for (const auto& budget : budgets_) {
      const auto span = period_of(budget.spec.period, now);
      const auto period = period_label(budget.spec.period, span);
      Counter counter;
      counter.key = key_prefix + "{limits}:budget:" + budget.key_base + period + ":";
      budget.key.append_values(request, counter.key);
      counter.kind = 's';
      counter.capacity = static_cast<double>(budget.spec.limit);
      counter.rate = static_cast<double>(span.end * 1000);
      counter.amount = counter.minimum = cost;
      counter.label = budget.spec.policy + " " + std::string(period_name(budget.spec.period)) + " " + period + " " +
                      budget.key.describe_values(request);
      counter.budget = &budget;
      reservation.counters.push_back(std::move(counter));
    }
  }
  if (request.principal != nullptr && !budgets_.empty()) {
    const auto span = period_of(config::BudgetPeriod::Month, now);
    reservation.spend_key =
        key_prefix + "{limits}:spend:" + period_label(config::BudgetPeriod::Month, span) + ":" + request.principal->id;
    reservation.spend_expiry_ms = (span.end + 40 * 86400) * 1000;
  }
  return std::nullopt;
}

Verdict GlobalLimitStage::refuse(RequestContext& request, const Counter& counter, std::int64_t retry_ms) const {
  const std::int64_t seconds = retry_ms < 0 ? 3600 : std::max<std::int64_t>(1, (retry_ms + 999) / 1000);
  request.record.limit = counter.budget != nullptr ? counter.budget->spec.name : counter.limit->spec.name;
  if (counter.budget != nullptr) {
    runtime_->count(GlobalLimitsRuntime::Outcome::BudgetExceeded);
    const auto& spec = counter.budget->spec;
    return Verdict::fail(
        {429,
         "insufficient_quota",
         "budget_exceeded",
         "Budget exceeded: " + pricing::format_usd_micros(spec.limit) + " USD per " +
             std::string(period_name(spec.period)) + " for " + counter.budget->key.describe_values(request) + " (" +
             spec.policy + "); the budget renews in " + std::to_string(seconds) + "s",
         {}},
        std::to_string(seconds));
  }
  runtime_->count(GlobalLimitsRuntime::Outcome::Limited);
  const auto& limit = *counter.limit;
  const bool tokens = limit.tokens;
  std::string message = "Rate limit reached: " + limit.what + " (" + limit.spec.policy + ")";
  if (tokens && counter.amount > static_cast<std::int64_t>(limit.capacity)) {
    message += "; this request needs " + std::to_string(counter.amount) + " tokens, more than the limit holds" +
               " (lower max_tokens)";
  }
  message += "; retry after " + std::to_string(seconds) + "s";
  return Verdict::fail({429, tokens ? "tokens" : "requests", "rate_limit_exceeded", std::move(message), {}},
                       std::to_string(seconds));
}

void GlobalLimitStage::offer_headers(RequestContext& request, const Counter& counter, std::int64_t remaining,
                                     std::int64_t reset_ms) const {
  const double limit = counter.capacity;
  if (counter.limit != nullptr)
    offer_limit_reading(request,
                        {counter.limit->tokens, static_cast<std::uint64_t>(limit), static_cast<double>(remaining),
                         std::chrono::milliseconds(std::max<std::int64_t>(0, reset_ms))});
  // The fullest counters, for /status: past half used.
  if (limit <= 0) return;
  const double used = 1.0 - static_cast<double>(remaining) / limit;
  if (used < 0.5) return;
  std::string name = counter.limit != nullptr ? counter.limit->what + " (" + counter.limit->spec.policy + ") " +
                                                    counter.limit->key.describe_values(request)
                                              : "budget " + counter.label;
  runtime_->note_fullness(
      {std::move(name), used, remaining, static_cast<std::int64_t>(limit), unix_ms(state::WallClock::now())});
}

// failureMode Local: the same counters in process, each at limit / replicas.
Verdict GlobalLimitStage::reserve_locally(RequestContext& request, Reservation& reservation) const {
  runtime_->count(GlobalLimitsRuntime::Outcome::Local);
  const auto now = state::TokenBuckets::Clock::now();
  std::size_t taken = 0;
  for (auto& counter : reservation.counters) {
    const auto outcome =
        runtime_->fallback.take(counter.key, static_cast<double>(counter.amount), local_share(counter), now);
    if (!outcome.allowed) {
      for (std::size_t i = 0; i < taken; ++i) {
        const auto& back = reservation.counters[i];
        runtime_->fallback.adjust(back.key, static_cast<double>(back.taken), local_share(back), now);
      }
      reservation.counters.clear();
      const std::int64_t retry = counter.kind == 'b'
                                     ? outcome.retry_after.count()
                                     : static_cast<std::int64_t>(counter.rate) - unix_ms(state::WallClock::now());
      return refuse(request, counter, retry);
    }
    counter.taken = counter.amount;
    offer_headers(request, counter, static_cast<std::int64_t>(outcome.remaining), outcome.reset.count());
    ++taken;
  }
  reservation.where = Reservation::Where::Local;
  return Verdict::proceed();
}

http::Task<Verdict> GlobalLimitStage::reserve(RequestContext& request) const {
  auto& reservation = request.state<Reservation>(this);
  if (auto refused = plan(request, reservation)) co_return *refused;
  if (reservation.counters.empty()) co_return Verdict::proceed();

  auto& worker = request.worker;
  auto entry = std::make_shared<PendingReserve>(worker.io());
  entry->keys.reserve(reservation.counters.size());
  entry->values.reserve(reservation.counters.size() * 6);
  for (const auto& counter : reservation.counters) {
    entry->keys.push_back(counter.key);
    entry->values.push_back(std::string(1, counter.kind));
    entry->values.push_back(fmt_number(counter.capacity));
    entry->values.push_back(fmt_number(counter.rate));
    entry->values.push_back(counter.label);
    entry->values.push_back(std::to_string(counter.amount));
    entry->values.push_back(std::to_string(counter.minimum));
  }
  if (worker.redis() == nullptr) {
    entry->failure = "no Redis client";
  } else {
    auto& batches = worker.local<LimitBatches>(&kBatchesKey);
    batches.reserves.push_back(entry);
    if (!batches.reserves_posted) {
      batches.reserves_posted = true;
      boost::asio::post(worker.io(), [&worker, &batches] {
        batches.reserves_posted = false;
        auto batch = std::move(batches.reserves);
        batches.reserves.clear();
        if (worker.stopped()) return answer_reserves(batch, "the worker is stopping");
        boost::asio::co_spawn(worker.io(), send_reserves(worker, std::move(batch)), boost::asio::detached);
      });
    }
    while (!entry->answered) {
      auto [ec] = co_await entry->wake.async_wait(http::use_task);
      (void)ec;
    }
  }

  if (!entry->failure.empty()) {
    const std::string& why = entry->failure;
    if (runtime_->failure_log.due())
      observe::log(observe::Level::Warning, "rate limit store failed",
                   {{"error", why},
                    {"failure_mode", settings_.failure_mode == config::RedisFailureMode::FailOpen ? "FailOpen"
                                     : settings_.failure_mode == config::RedisFailureMode::Local  ? "Local"
                                                                                                  : "FailClosed"}});
    switch (settings_.failure_mode) {
      case config::RedisFailureMode::FailOpen:
        runtime_->count(GlobalLimitsRuntime::Outcome::FailedOpen);
        reservation.counters.clear();
        co_return Verdict::proceed();
      case config::RedisFailureMode::Local:
        co_return reserve_locally(request, reservation);
      case config::RedisFailureMode::FailClosed:
        break;
    }
    runtime_->count(GlobalLimitsRuntime::Outcome::FailedClosed);
    reservation.counters.clear();
    co_return Verdict::fail({503,
                             "server_error",
                             "rate_limit_unavailable",
                             "rate limits cannot be checked now (their store is unavailable); retry shortly",
                             {}},
                            "1");
  }

  const auto& reply = entry->reply;
  if (reply[0] != 1) {
    const auto index = static_cast<std::size_t>(reply[1]);
    const auto retry = reply[2];
    const auto& counter = reservation.counters[std::clamp<std::size_t>(index, 1, reservation.counters.size()) - 1];
    offer_headers(request, counter, 0, retry);
    auto verdict = refuse(request, counter, retry);
    reservation.counters.clear();
    co_return verdict;
  }
  runtime_->count(GlobalLimitsRuntime::Outcome::Allowed);
  reservation.where = Reservation::Where::Redis;
  const std::int64_t cut = reply[3];
  for (std::size_t i = 0; i < reservation.counters.size(); ++i) {
    auto& counter = reservation.counters[i];
    counter.taken = counter.minimum < counter.amount ? counter.amount - cut : counter.amount;
    offer_headers(request, counter, reply[4 + 2 * i], reply[4 + 2 * i + 1]);
  }
  if (cut > 0) {
    // Truncate: the request is admitted with what remains of its token limits.
    reservation.output_tokens -= cut;
    if (auto view = client_view(request)) {
      view->set_param(llm::Param::MaxTokens, boost::json::value(reservation.output_tokens));
      request.document_changed = true;
    }
  }
  co_return Verdict::proceed();
}

void GlobalLimitStage::on_complete(RequestContext& request) const noexcept {
  try {
    auto& reservation = request.state<Reservation>(this);
    if (reservation.where == Reservation::Where::None || reservation.counters.empty()) return;
    const auto& record = request.record;
    // What the request really used: its usage when the answer said it; the reservation when a
    // 2xx answer said nothing (a stream cut short); nothing when no answer came.
    const bool answered = record.status >= 200 && record.status < 300;
    const bool usage_known = record.prompt_tokens >= 0 || record.completion_tokens >= 0;
    std::int64_t input = reservation.input_tokens;
    std::int64_t output = reservation.output_tokens;
    std::int64_t cost = reservation.cost;
    if (record.cache_hit) {
      // Answered from the response cache: no provider was asked. Nothing is charged; what the
      // answer would have cost is counted as saved.
      runtime_->add_saved(saved_cost(request));
      input = output = cost = 0;
    } else if (usage_known) {
      input = std::max<std::int64_t>(0, record.prompt_tokens);
      output = std::max<std::int64_t>(0, record.completion_tokens);
      cost = std::max<std::int64_t>(0, record.cost_micros);  // -1: no price (unknownModel: Free let it in)
    } else if (!answered) {
      input = output = cost = 0;
    }
    runtime_->add_spend(std::max<std::int64_t>(0, cost));

    std::vector<std::string> keys;
    std::vector<std::string> args;
    const auto now = state::TokenBuckets::Clock::now();
    for (const auto& counter : reservation.counters) {
      std::int64_t used = counter.taken;
      if (counter.kind == 's') {
        used = cost;
      } else if (counter.limit != nullptr && counter.limit->tokens && (request.json_api || usage_known)) {
        const auto count = counter.limit->spec.count;
        used = (count == config::TokenCount::Output ? 0 : input) + (count == config::TokenCount::Input ? 0 : output);
      }
      if (used == counter.taken) continue;
      if (reservation.where == Reservation::Where::Local) {
        runtime_->fallback.adjust(counter.key, static_cast<double>(counter.taken - used), local_share(counter), now);
        continue;
      }
      keys.push_back(counter.key);
      args.push_back(std::string(1, counter.kind));
      args.push_back(fmt_number(counter.capacity));
      args.push_back(fmt_number(counter.rate));
      args.push_back(std::to_string(counter.kind == 'b' ? counter.taken - used : used - counter.taken));
    }
    if (reservation.where == Reservation::Where::Redis && !reservation.spend_key.empty()) {
      keys.push_back(reservation.spend_key);
      args.push_back("r");
      args.push_back("0");
      args.push_back(std::to_string(reservation.spend_expiry_ms));
      args.push_back(std::to_string(std::max<std::int64_t>(0, cost)));
    }
    if (reservation.where != Reservation::Where::Redis || keys.empty()) return;
    if (request.worker.stopped()) {
      // The event loop is ending (its frames are being destroyed): nothing may be spawned on it.
      runtime_->count_settle_failure();
      return;
    }
    auto& worker = request.worker;
    auto& batches = worker.local<LimitBatches>(&kBatchesKey);
    std::move(keys.begin(), keys.end(), std::back_inserter(batches.settle_keys));
    std::move(args.begin(), args.end(), std::back_inserter(batches.settle_values));
    batches.settle_runtime = runtime_;
    if (!batches.settles_posted) {
      batches.settles_posted = true;
      boost::asio::post(worker.io(), [&worker, &batches] {
        batches.settles_posted = false;
        auto keys = std::move(batches.settle_keys);
        auto values = std::move(batches.settle_values);
        batches.settle_keys.clear();
        batches.settle_values.clear();
        if (worker.stopped()) return batches.settle_runtime->count_settle_failure();
        boost::asio::co_spawn(worker.io(),
                              send_settles(worker, batches.settle_runtime, std::move(keys), std::move(values)),
                              boost::asio::detached);
      });
    }
  } catch (...) {
    runtime_->count_settle_failure();
  }
}

}  // namespace

std::shared_ptr<const pipeline::Stage> make_global_limit_stage(GlobalLimitSettings settings,
                                                               std::shared_ptr<GlobalLimitsRuntime> runtime,
                                                               const proxy::Snapshot* snapshot) {
  std::vector<CompiledLimit> limits;
  for (const auto& spec : settings.limits) {
    auto key = LimitKey::parse(spec.by, nullptr);
    if (!key || (!spec.requests && !spec.tokens)) continue;  // refused by the loader
    CompiledLimit limit{spec, std::move(*key), identity_hash(spec.identity) + ":", 0, 0, spec.tokens.has_value(), {}};
    const auto amount = spec.tokens ? *spec.tokens : *spec.requests;
    limit.capacity = static_cast<double>(amount);
    limit.per_ms = static_cast<double>(amount) / (unit_seconds(spec.unit) * 1000.0);
    limit.what = std::to_string(amount) + (spec.tokens ? " tokens/" : " requests/") +
                 std::string(unit_name(spec.unit)) +
                 (limit.key.description().empty() ? std::string() : " by " + limit.key.description());
    limits.push_back(std::move(limit));
  }
  std::vector<CompiledBudget> budgets;
  for (const auto& spec : settings.budgets) {
    auto key = LimitKey::parse(spec.by, nullptr);
    if (!key) continue;
    budgets.push_back({spec, std::move(*key), identity_hash(spec.identity) + ":"});
  }
  if (limits.empty() && budgets.empty()) return nullptr;
  if (!runtime) runtime = std::make_shared<GlobalLimitsRuntime>();
  return std::make_shared<GlobalLimitStage>(std::move(settings), std::move(limits), std::move(budgets),
                                            std::move(runtime), snapshot);
}

}  // namespace sluice::policy
