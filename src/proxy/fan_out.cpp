#include "proxy/fan_out.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <memory>

#include "proxy/relay.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {

namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace relay;

namespace {

// What the calls of one fan-out share. Owned by the fan-out and its lanes together.
struct FanOutState {
  explicit FanOutState(http::Executor executor, std::size_t calls, std::size_t lanes)
      : done(executor, Clock::time_point::max()), active(lanes, nullptr) {
    result.bodies.resize(calls);
  }
  std::size_t next = 0;     // the next call to start
  std::size_t running = 0;  // lanes not ended yet
  bool failed = false;      // a call failed: no more start, the result says which
  FanOutResult result;
  http::Timer done;                               // cancelled when the last lane ends
  std::vector<http::UpstreamConnection*> active;  // each lane's connection in use, if any
};

// The first failure is the result; the calls still in flight are cancelled.
void fail(FanOutState& state, FanOutResult failure) {
  if (state.failed) return;
  state.failed = true;
  failure.bodies.clear();
  state.result = std::move(failure);
  for (auto* connection : state.active) {
    if (connection == nullptr) continue;
    boost::system::error_code ignored;
    connection->lowest().cancel(ignored);
  }
}

milliseconds within_deadline(milliseconds timeout, const FanOutSpec& spec) {
  if (spec.deadline)
    timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*spec.deadline - Clock::now()));
  return std::max(timeout, milliseconds(1));
}

// One call: connect (or reuse), send, read the head and the whole body.
http::Task<void> run_call(FanOutState& state, std::size_t lane, const FanOutSpec& spec, const FanOutCall& call,
                          std::size_t index) {
  auto& worker = spec.worker;
  std::unique_ptr<http::UpstreamConnection> connection;
  std::optional<ResponseParser> parser;
  FanOutResult failure;
  failure.call = index;
  // A pooled connection the server closed while idle, seen before any byte of the request was
  // accepted, is replaced by a fresh one, once (as for a single call).
  for (int pass = 0;; ++pass) {
    connection = pass == 0 ? worker.pool().take(spec.endpoint) : nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      const auto connect_timeout = within_deadline(spec.target.timeouts.connect, spec);
      auto connected = co_await worker.pool().connect(spec.endpoint, connect_timeout);
      if (!connected.connection) {
        failure.failure = FanOutFailure::Connect;
        failure.connect_failure = connected.failure;
        failure.timeout = connected.failure == http::ConnectFailure::Timeout;
        failure.error = std::move(connected.error);
        fail(state, std::move(failure));
        co_return;
      }
      connection = std::move(connected.connection);
    }
    if (state.failed) {
      // Another call failed meanwhile: this one is not sent, its unused connection kept.
      worker.pool().give_back(spec.endpoint, std::move(connection), spec.target.timeouts.poolIdle);
      co_return;
    }
    state.active[lane] = connection.get();
    fresh_parser(parser, false);
    const auto timeout = within_deadline(spec.first_byte_timeout, spec);
    SendOutcome sent;
    if (connection->tls) {
      sent = co_await send_and_read_header(*connection->tls, *connection, call.head, *call.body, parser, false, timeout,
                                           nullptr);
    } else {
      sent = co_await send_and_read_header(*connection->plain, *connection, call.head, *call.body, parser, false,
                                           timeout, nullptr);
    }
    if (!sent.ec) break;
    state.active[lane] = nullptr;
    if (state.failed) co_return;
    const bool stale = reused && pass == 0 && sent.bytes_written == 0 && !sent.got_bytes;
    if (stale) continue;
    const auto kind = classify(sent.ec, connection->deadline.expired());
    failure.failure = FanOutFailure::Send;
    failure.timeout = kind == Failure::Timeout;
    failure.protocol = kind == Failure::Protocol;
    failure.error = !sent.protocol_error.empty() ? sent.protocol_error : sent.ec.message();
    fail(state, std::move(failure));
    co_return;
  }

  if (state.failed) co_return;
  const unsigned status = parser->get().result_int();
  const bool success = status >= 200 && status < 300;
  const std::size_t limit = success ? spec.max_reply_bytes : spec.max_error_bytes;
  std::string body;
  boost::system::error_code rec;
  if (connection->tls) {
    rec = co_await read_upstream_body(*connection->tls, *connection, *parser, spec.target, spec.deadline, limit, worker,
                                      body);
  } else {
    rec = co_await read_upstream_body(*connection->plain, *connection, *parser, spec.target, spec.deadline, limit,
                                      worker, body);
  }
  state.active[lane] = nullptr;
  if (state.failed) co_return;
  if (rec) {
    failure.failure = FanOutFailure::Body;
    failure.timeout = classify(rec, connection->deadline.expired()) == Failure::Timeout;
    failure.body_limit = rec == bhttp::error::body_limit;
    failure.error = rec.message();
    fail(state, std::move(failure));
    co_return;
  }
  if (parser->keep_alive() && parser->is_done())
    worker.pool().give_back(spec.endpoint, std::move(connection), spec.target.timeouts.poolIdle);
  if (!success) {
    failure.failure = FanOutFailure::Status;
    failure.status = status;
    failure.head = parser->get().base();
    failure.body = std::move(body);
    fail(state, std::move(failure));
    co_return;
  }
  if (index == 0) state.result.head = parser->get().base();
  state.result.bodies[index] = std::move(body);
}

// A lane starts the next call when its previous one ended, until none is left or one failed.
http::Task<void> run_lane(std::shared_ptr<FanOutState> state, std::size_t lane, const FanOutSpec& spec,
                          std::span<const FanOutCall> calls) {
  while (!state->failed && state->next < calls.size()) {
    const std::size_t index = state->next++;
    co_await run_call(*state, lane, spec, calls[index], index);
  }
}

}  // namespace

http::Task<FanOutResult> fan_out(const FanOutSpec& spec, std::span<const FanOutCall> calls) {
  const std::size_t lanes = std::min(calls.size(), kMaxFanOutInFlight);
  auto state = std::make_shared<FanOutState>(spec.worker.io().get_executor(), calls.size(), lanes);
  state->running = lanes;
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    boost::asio::co_spawn(spec.worker.io(), run_lane(state, lane, spec, calls), [state](std::exception_ptr thrown) {
      if (thrown) {
        FanOutResult failure;
        failure.failure = FanOutFailure::Send;
        failure.error = "internal error while sending the calls";
        fail(*state, std::move(failure));
      }
      if (--state->running == 0) state->done.cancel();
    });
  }
  // The lanes start once this coroutine waits (co_spawn posts their start): the last one to end
  // wakes it.
  while (state->running > 0) co_await state->done.async_wait(http::use_task);
  co_return std::move(state->result);
}

}  // namespace sluice::proxy
