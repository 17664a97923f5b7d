// The admin /status document: every Backend of the running configuration with its priority
// groups and providers, what each provider is (kind, wire format, endpoint, model), whether it
// can serve (and why not: a missing Secret), and its outlier-detection health (ejected until
// when, consecutive failures, ejections so far); the Gateway's Redis when it names one (address,
// connections, replies, failures by kind, latency, last error); the rate limits' and budgets'
// decisions and fullest counters (`limits`, when a policy limits anything); the last failed
// requests (`recent_errors`: when, status, route, backend, provider, model, error). JSON; secrets never
// appear. Reads the snapshot's atomics without locking; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "observe/recent_errors.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::admin {

// `limits`: the /status object of the rate limits (policy::limit_status), or null.
// `recent_errors`: the last failed requests, newest first (observe/recent_errors.hpp), or null.
std::string render_status(const proxy::Snapshot& snapshot, const boost::json::object* limits = nullptr,
                          const std::vector<observe::RecentError>* recent_errors = nullptr);

}  // namespace sluice::admin
