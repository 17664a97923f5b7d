// GET /spend: what callers spent, read from Redis where the global-limit stage settles it
// (policy/global_rate_limit.hpp): each principal's spend per calendar month (the record every
// settled request of a rule with budgets adds to) and every budget counter of the current and
// recent periods (spent, limit, remaining, when the period ends). `?principal=<id>` keeps that
// caller's entries only. Keys are found with SCAN (never KEYS), at most kMaxSpendKeys of each
// kind ("truncated": true beyond).
//
// Runs as a coroutine on a worker's event loop, through that worker's RedisClient, looked up
// for each command (the admin thread hands the query over and is called back). Thread-safety:
// the worker's.
#pragma once

#include <string>
#include <utility>

#include "http/io.hpp"

namespace sluice::proxy {
class Worker;
}

namespace sluice::admin {

inline constexpr std::size_t kMaxSpendKeys = 10'000;

// The answer's status and JSON body.
http::Task<std::pair<unsigned, std::string>> spend_report(proxy::Worker& worker, std::string key_prefix,
                                                          std::string principal);

// The `principal` parameter of a query string ("principal=alice&x=1"), percent-decoded; empty
// when absent.
std::string principal_parameter(std::string_view query);

}  // namespace sluice::admin
