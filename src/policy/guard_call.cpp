#include "policy/guard_call.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "http/upstream_pool.hpp"
#include "observe/request_trace.hpp"
#include "proxy/worker.hpp"

namespace sluice::policy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

namespace {

using AnswerParser = bhttp::response_parser<bhttp::string_body>;

struct Exchanged {
  boost::system::error_code ec;
  bool got_bytes = false;  // any byte of an answer arrived
};

template <class Stream>
http::Task<Exchanged> post(Stream& stream, http::UpstreamConnection& connection, const std::string& head,
                           std::string_view body, AnswerParser& parser) {
  Exchanged out;
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.data(), body.size())};
  auto [wec, written] = co_await asio::async_write(stream, buffers, http::use_task);
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  auto [rec, read] = co_await bhttp::async_read(stream, connection.buffer, parser, http::use_task);
  out.ec = rec;
  out.got_bytes = read > 0 || parser.got_some();
  co_return out;
}

std::string describe_failure(const Exchanged& sent, bool timed_out, milliseconds timeout) {
  if (timed_out) return "no answer within " + std::to_string(timeout.count()) + " ms";
  if (sent.ec == bhttp::error::body_limit)
    return "an answer larger than " + std::to_string(kMaxGuardAnswerBytes / 1024) + " KiB";
  if (sent.ec == bhttp::error::end_of_stream || sent.ec == asio::error::eof)
    return "the connection closed before an answer";
  if (sent.ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
    return "an invalid HTTP answer: " + sent.ec.message();
  return "the connection failed: " + sent.ec.message();
}

}  // namespace

http::Task<GuardAnswer> call_guard_service(proxy::Worker& worker, const GuardCall& call) {
  GuardAnswer answer;
  const auto& endpoint = *call.endpoint;
  const auto ends = http::Deadline::Clock::now() + call.timeout;
  std::string head = "POST " + std::string(call.target) + " HTTP/1.1\r\nHost: " + endpoint.host_header +
                     "\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: " +
                     std::to_string(call.body.size()) + "\r\nUser-Agent: sluice-guard\r\n";
  head.append(call.headers);
  if (call.trace != nullptr) {
    char traceparent[observe::kTraceParentBytes];
    observe::format_traceparent(call.trace->trace_id, call.trace->server_span_id, call.trace->sampled, traceparent);
    head.append("traceparent: ").append(traceparent, sizeof traceparent).append("\r\n");
    if (!call.trace->tracestate.empty()) head.append("tracestate: ").append(call.trace->tracestate).append("\r\n");
  }
  head.append("\r\n");

  for (int pass = 0; pass < 2; ++pass) {
    auto connection = pass == 0 ? worker.pool().take(endpoint) : nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      const auto left = std::chrono::duration_cast<milliseconds>(ends - http::Deadline::Clock::now());
      auto connected = co_await worker.pool().connect(endpoint, std::max(left, milliseconds(1)));
      if (!connected.connection) {
        answer.error = connected.failure == http::ConnectFailure::Timeout
                           ? "no answer within " + std::to_string(call.timeout.count()) + " ms"
                           : connected.error;
        co_return answer;
      }
      connection = std::move(connected.connection);
    }
    AnswerParser parser;
    parser.header_limit(static_cast<std::uint32_t>(http::kUpstreamHeaderLimit));
    parser.body_limit(kMaxGuardAnswerBytes);
    connection->deadline.expires_at(ends);
    Exchanged sent;
    if (connection->tls) {
      sent = co_await post(*connection->tls, *connection, head, call.body, parser);
    } else {
      sent = co_await post(*connection->plain, *connection, head, call.body, parser);
    }
    const bool timed_out = connection->deadline.expired();
    connection->deadline.expires_never();
    // A pooled connection the service closed while it sat idle: a guard call is safe to send
    // again, nothing was answered.
    if (sent.ec && reused && !sent.got_bytes && !timed_out) continue;
    if (sent.ec) {
      answer.error = describe_failure(sent, timed_out, call.timeout);
      co_return answer;
    }
    answer.status = parser.get().result_int();
    const bool keep_alive = parser.keep_alive();
    answer.body = std::move(parser.get().body());
    if (keep_alive) worker.pool().give_back(endpoint, std::move(connection), call.idle_limit);
    co_return answer;
  }
  answer.error = "the connection failed";
  co_return answer;
}

void note_guard(pipeline::RequestRecord& record, std::string_view what) {
  if (!record.guard.empty()) record.guard.append("; ");
  record.guard.append(what);
}

}  // namespace sluice::policy
