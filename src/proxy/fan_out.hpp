// Fan-out: one attempt sent as several upstream calls, for a request the provider takes only a
// piece at a time (Amazon Titan embeddings: one text per InvokeModel call; the translator says
// so with Translator::upstream_calls). The calls go to one endpoint of one provider, each on a
// pooled or new connection of the worker's pool, at most kMaxFanOutInFlight at once, each bounded
// like a single call (connect timeout, first-byte timeout, streamIdle per body read, the
// exchange's deadline). Every reply is read whole. The first call that fails (connect, send,
// a non-2xx status, a broken body) ends the fan-out: no further call starts, the calls in flight
// are cancelled (their connections dropped), and that failure is the result — never a partial
// answer. The caller (proxy/attempt.cpp) decides what a failure means exactly as for one call.
// Runs on the exchange's worker thread; the calls are coroutines of that worker, and fan_out
// returns only after every one of them ended.
#pragma once

#include <boost/beast/http/message.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http/fields.hpp"
#include "http/io.hpp"
#include "http/upstream_endpoint.hpp"
#include "http/upstream_pool.hpp"
#include "proxy/snapshot.hpp"

namespace sluice::proxy {

class Worker;

// The most calls of one request in flight at once. Enough to hide the provider's latency for a
// batch (8 calls of 200 ms: 2048 inputs take ~51 s instead of ~7 min one by one); few enough
// that one client request never holds more than a handful of the provider's connections and of
// its request rate at once, so concurrent clients share them fairly.
inline constexpr std::size_t kMaxFanOutInFlight = 8;

struct FanOutCall {
  std::string head;                   // the request head, credentialed and signed for this body
  const std::string* body = nullptr;  // outlives the fan-out
};

struct FanOutSpec {
  Worker& worker;
  const BackendRuntime& target;
  const UpstreamEndpoint& endpoint;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::milliseconds first_byte_timeout;  // per call, as for a single call
  std::size_t max_reply_bytes;                   // a 2xx body
  std::size_t max_error_bytes;                   // an error body
};

enum class FanOutFailure {
  None,     // every call answered 2xx
  Connect,  // a connection could not be opened
  Send,     // sending or reading the response head failed
  Status,   // a call answered a non-2xx status (its head and body are in the result)
  Body,     // reading a reply's body failed or passed its limit
};

struct FanOutResult {
  FanOutFailure failure = FanOutFailure::None;
  std::vector<std::string> bodies;  // None: every reply's body, in call order
  // None: the first call's response head; Status: the failing call's.
  http::ResponseHeader head;
  std::size_t call = 0;   // the failing call's index
  unsigned status = 0;    // Status: its status
  std::string body;       // Status: its error body
  bool timeout = false;   // Connect, Send, Body: the failure was a timeout
  bool protocol = false;  // Send: the upstream sent an invalid response
  http::ConnectFailure connect_failure = http::ConnectFailure::None;
  bool body_limit = false;  // Body: the reply passed its limit
  std::string error;        // Connect, Send, Body: what happened
};

// Sends every call (in order of start, at most kMaxFanOutInFlight in flight) and reads every
// reply. `spec` and `calls` must outlive the returned task.
http::Task<FanOutResult> fan_out(const FanOutSpec& spec, std::span<const FanOutCall> calls);

}  // namespace sluice::proxy
