#include "admin/spend.hpp"

#include <boost/json.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>
#include <span>
#include <vector>

#include "policy/budget.hpp"
#include "pricing/catalog.hpp"
#include "proxy/worker.hpp"
#include "state/redis_client.hpp"

namespace sluice::admin {

namespace json = boost::json;

namespace {

// A glob pattern matching `text` literally.
std::string glob_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// One command through the worker's current client, looked up anew for each command: a reload
// that changes spec.redis replaces the client while a report is under way.
http::Task<state::RedisResult> command(proxy::Worker& worker, std::span<const std::string_view> args) {
  auto* redis = worker.redis();
  if (redis == nullptr) {
    state::RedisResult none;
    none.failure = state::RedisResult::Failure::Unavailable;
    none.message = "no Redis configured";
    co_return none;
  }
  co_return co_await redis->command(args);
}

struct Scan {
  std::vector<std::string> keys;
  bool truncated = false;
  std::string error;
};

http::Task<Scan> scan(proxy::Worker& worker, std::string pattern) {
  Scan out;
  std::string cursor = "0";
  do {
    const std::vector<std::string_view> args{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
    const std::span<const std::string_view> span(args);
    auto result = co_await command(worker, span);
    if (!result.ok() || result.reply.elements.size() != 2) {
      out.error = result.failure != state::RedisResult::Failure::None ? result.message : result.reply.text;
      co_return out;
    }
    cursor = result.reply.elements[0].text;
    for (auto& key : result.reply.elements[1].elements) {
      if (out.keys.size() >= kMaxSpendKeys) {
        out.truncated = true;
        co_return out;
      }
      out.keys.push_back(std::move(key.text));
    }
  } while (cursor != "0");
  co_return out;
}

// A hash's fields (HGETALL) as a map-like list.
http::Task<std::vector<std::pair<std::string, std::string>>> fields_of(proxy::Worker& worker, const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string_view> args{"HGETALL", key};
  const std::span<const std::string_view> span(args);
  auto result = co_await command(worker, span);
  if (!result.ok()) co_return out;
  const auto& items = result.reply.elements;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) out.emplace_back(items[i].text, items[i + 1].text);
  co_return out;
}

std::int64_t integer_field(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
  for (const auto& [field, value] : fields)
    if (field == name) return std::strtoll(value.c_str(), nullptr, 10);
  return 0;
}

std::string text_field(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
  for (const auto& [field, value] : fields)
    if (field == name) return value;
  return {};
}

}  // namespace

std::string principal_parameter(std::string_view query) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!param.starts_with("principal=")) continue;
    const auto value = param.substr(10);
    boost::system::error_code ec;
    const auto encoded = boost::urls::make_pct_string_view(value);
    if (!encoded) return std::string(value);
    std::string out;
    for (const char c : boost::urls::decode_view(*encoded)) out += c;
    return out;
  }
  return {};
}

http::Task<std::pair<unsigned, std::string>> spend_report(proxy::Worker& worker, std::string key_prefix,
                                                          std::string principal) {
  const std::string base = key_prefix + "{limits}:";
  json::object body;
  if (!principal.empty()) body["principal"] = principal;

  const std::string spend_pattern = glob_escape(base) + "spend:*:" + (principal.empty() ? "*" : glob_escape(principal));
  auto spends = co_await scan(worker, spend_pattern);
  if (!spends.error.empty()) {
    json::object error{{"error", "Redis: " + spends.error}};
    co_return std::pair<unsigned, std::string>{503, json::serialize(error)};
  }
  json::array spend;
  for (const auto& key : spends.keys) {
    // <base>spend:<YYYY-MM>:<principal>
    const auto rest = std::string_view(key).substr(base.size() + 6);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) continue;
    const auto fields = co_await fields_of(worker, key);
    spend.push_back(json::object{{"principal", std::string(rest.substr(colon + 1))},
                                 {"month", std::string(rest.substr(0, colon))},
                                 {"spentUsd", pricing::format_usd_micros(integer_field(fields, "spent"))},
                                 {"requests", integer_field(fields, "requests")}});
  }
  body["spend"] = std::move(spend);

  auto budget_keys = co_await scan(worker, glob_escape(base) + "budget:*");
  json::array budgets;
  const std::string wanted = "principal=" + principal;
  for (const auto& key : budget_keys.keys) {
    const auto fields = co_await fields_of(worker, key);
    const auto label = text_field(fields, "by");
    if (!principal.empty()) {
      // The label ends with the counter's key values: "... principal=alice,model=gpt-4o".
      const auto at = label.find(wanted);
      const auto end = at + wanted.size();
      if (at == std::string::npos || (end < label.size() && label[end] != ',')) continue;
    }
    const auto spent = integer_field(fields, "spent");
    const auto limit = integer_field(fields, "limit");
    budgets.push_back(
        json::object{{"budget", label},
                     {"spentUsd", pricing::format_usd_micros(spent)},
                     {"limitUsd", pricing::format_usd_micros(limit)},
                     {"remainingUsd", pricing::format_usd_micros(std::max<std::int64_t>(0, limit - spent))},
                     {"periodEndUnixMs", integer_field(fields, "end")}});
  }
  body["budgets"] = std::move(budgets);
  if (spends.truncated || budget_keys.truncated) body["truncated"] = true;
  co_return std::pair<unsigned, std::string>{200, json::serialize(body)};
}

}  // namespace sluice::admin
