// The byte-moving half of an exchange, templated on the upstream stream type (plain or TLS):
// sending the request (the client's body pumped as it arrives when it is streamed), reading the
// response head, relaying the body as it arrives (raw, or through a translator event by event),
// and reading a body whole when it must be converted at once. Every operation is bounded by
// the connection's coarse deadline. A request's response tap, when it has one, is handed each
// client write's body bytes (pipeline/response_tap.hpp). Runs on the exchange's worker thread;
// no shared state.
#pragma once

#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "http/body_reader.hpp"
#include "http/fields.hpp"
#include "http/io.hpp"
#include "http/parse_errors.hpp"
#include "http/sse.hpp"
#include "http/upstream_pool.hpp"
#include "pipeline/response_filter.hpp"
#include "pipeline/response_tap.hpp"
#include "proxy/exchange.hpp"
#include "proxy/heads.hpp"
#include "proxy/worker.hpp"
#include "translate/common.hpp"
#include "translate/translator.hpp"

namespace sluice::proxy::relay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr std::size_t kRelayBufferBytes = Worker::kRelayBufferBytes;
using pipeline::kClientWriteTimeout;

enum class Failure { None, Connect, Timeout, Reset, Tls, Protocol };

inline std::string_view failure_label(Failure f) {
  switch (f) {
    case Failure::Connect:
      return "connect";
    case Failure::Timeout:
      return "timeout";
    case Failure::Reset:
      return "reset";
    case Failure::Tls:
      return "tls";
    case Failure::Protocol:
      return "protocol";
    case Failure::None:
      break;
  }
  return "";
}

// `timed_out`: the operation's deadline passed (it then fails with operation_aborted).
inline Failure classify(const boost::system::error_code& ec, bool timed_out) {
  if (timed_out) return Failure::Timeout;
  if (http::is_malformed_message(ec)) return Failure::Protocol;
  if (ec.category() == asio::error::get_ssl_category()) return Failure::Tls;
  return Failure::Reset;
}

using ResponseParser = http::ResponseParser<bhttp::buffer_body>;

// Interim (1xx) responses skipped before a final one; more is a protocol error.
inline constexpr unsigned kMaxInterimResponses = 16;

// A parser for the next response head on a connection: the head bounded, the body streamed
// (bounded by the connection's buffer, not by a body limit), no body for a HEAD request.
inline void fresh_parser(std::optional<ResponseParser>& parser, bool head_request) {
  parser.emplace();
  parser->header_limit(static_cast<std::uint32_t>(http::kUpstreamHeaderLimit));
  parser->body_limit(boost::none);
  if (head_request) parser->skip(true);
}

// The bound of one upstream body read: the Backend's streamIdle, within the exchange's deadline.
inline milliseconds body_read_timeout(const BackendRuntime& backend, std::optional<Clock::time_point> deadline) {
  auto timeout = backend.timeouts.streamIdle;
  if (deadline) timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(*deadline - Clock::now()));
  return std::max(timeout, milliseconds(1));
}

// After an async_read_some of a response body (`read` is its error): async_read_some stops after
// one chunk, so whatever else has already arrived is parsed too and events received together
// leave in one write. Nothing waits for more bytes here. Returns the read's outcome (a full
// buffer is not an error).
inline boost::system::error_code parse_already_received(ResponseParser& parser, beast::flat_buffer& received,
                                                        boost::system::error_code read) {
  auto ec = read == bhttp::error::need_buffer ? boost::system::error_code{} : read;
  auto& body = parser.get().body();
  while (!ec && !parser.is_done() && body.size > 0 && received.size() > 0) {
    boost::system::error_code pec;
    const auto used = parser.put(received.data(), pec);
    received.consume(used);
    if (pec == bhttp::error::need_more || pec == bhttp::error::need_buffer) break;
    if (pec) ec = pec;
    if (used == 0) break;
  }
  return ec;
}

// "<size in hex>\r\n" of an HTTP/1.1 chunk, written into `line`.
inline std::string_view chunk_size_line(char (&line)[24], std::size_t size) {
  const auto [end, ec] = std::to_chars(line, line + 16, size, 16);
  std::memcpy(end, "\r\n", 2);
  return std::string_view(line, static_cast<std::size_t>(end - line) + 2);
}

struct SendOutcome {
  boost::system::error_code ec;
  std::string protocol_error;     // why a well-formed head was refused (an unexpected 101, too many 1xx)
  std::size_t bytes_written = 0;  // request bytes the upstream's socket accepted
  bool got_bytes = false;
  bool body_consumed = false;                  // streamed client body bytes were read: the request cannot be replayed
  std::uint64_t body_bytes = 0;                // streamed client body bytes forwarded
  std::optional<http::ApiError> client_error;  // the client's body failed (413, 408, 400)
};

// The client's body still on its socket, for a streamed (passthrough) request.
struct StreamedBody {
  ClientIo& client;
  beast::flat_buffer& buffer;
  http::RequestParser<bhttp::buffer_body>& parser;
  BodyFraming framing;
  const config::Limits& limits;
  Worker& worker;
};

// Sends the request and reads the head of the final response into `parser`: interim responses
// (100 Continue, 103 Early Hints, any 1xx but 101) are read and dropped, at most
// kMaxInterimResponses of them; a 101 nobody asked for is a protocol error.
template <class Stream>
http::Task<SendOutcome> send_and_read_header(Stream& stream, http::UpstreamConnection& connection,
                                             const std::string& head, const std::string& body,
                                             std::optional<ResponseParser>& parser, bool head_request,
                                             milliseconds timeout, StreamedBody* streamed) {
  SendOutcome out;
  connection.deadline.expires_after(timeout);
  const std::array<asio::const_buffer, 2> request{asio::buffer(head), asio::buffer(body)};
  auto [wec, written] = co_await asio::async_write(stream, request, http::use_task);
  out.bytes_written = written;
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  if (streamed != nullptr && !streamed->parser.is_done()) {
    // Pump the client's body to the upstream as it arrives, a buffer at a time.
    RelayBuffer buffer(streamed->worker);
    auto& body_parser = streamed->parser;
    char size_line[24];
    static constexpr std::string_view kCrlf = "\r\n";
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    while (!body_parser.is_done()) {
      auto& b = body_parser.get().body();
      b.data = buffer.get();
      b.size = Worker::kRelayBufferBytes;
      streamed->client.deadline.expires_after(streamed->limits.idleTimeout);
      const auto rec = co_await http::read_body_some(streamed->client.socket, streamed->buffer, body_parser);
      streamed->client.deadline.expires_never();
      out.body_consumed = true;
      if (rec && rec != bhttp::error::need_buffer) {
        if (rec == bhttp::error::body_limit) {
          out.client_error = http::ApiError{413,
                                            "invalid_request_error",
                                            "request_too_large",
                                            "request body exceeds the limit of " +
                                                std::to_string(streamed->limits.maxRequestBodyBytes) +
                                                " bytes (Gateway spec.limits.maxRequestBodyBytes)",
                                            {}};
        } else if (streamed->client.deadline.expired()) {
          out.client_error = http::ApiError{408,
                                            "invalid_request_error",
                                            "request_timeout",
                                            "the request body stopped arriving for " +
                                                std::to_string(streamed->limits.idleTimeout.count()) +
                                                " ms (Gateway spec.limits.idleTimeout)",
                                            {}};
        } else {
          out.client_error = http::ApiError{400,
                                            "invalid_request_error",
                                            "malformed_request",
                                            "reading the request body failed: " + rec.message(),
                                            {}};
        }
        co_return out;
      }
      const std::size_t got = Worker::kRelayBufferBytes - b.size;
      out.body_bytes += got;
      std::array<asio::const_buffer, 4> pieces{};
      std::size_t count = 0;
      if (streamed->framing == BodyFraming::Chunked) {
        if (got > 0) {
          pieces[count++] = asio::buffer(chunk_size_line(size_line, got));
          pieces[count++] = asio::buffer(buffer.get(), got);
          pieces[count++] = asio::buffer(kCrlf);
        }
        if (body_parser.is_done()) pieces[count++] = asio::buffer(kLastChunk);
      } else if (got > 0) {
        pieces[count++] = asio::buffer(buffer.get(), got);
      }
      if (count == 0) continue;
      connection.deadline.expires_after(timeout);
      auto [pec, pn] = co_await asio::async_write(stream, pieces, http::use_task);
      out.bytes_written += pn;
      if (pec) {
        out.ec = pec;
        co_return out;
      }
    }
    connection.deadline.expires_after(timeout);
  }
  for (unsigned interim = 0;; ++interim) {
    auto [rec, read] = co_await bhttp::async_read_header(stream, connection.buffer, *parser, http::use_task);
    out.got_bytes = out.got_bytes || read > 0 || parser->got_some();
    out.ec = rec;
    if (rec) co_return out;
    const unsigned status = parser->get().result_int();
    if (status >= 200) co_return out;
    if (status == 101) {
      out.protocol_error = "it switched protocols (101) without being asked to";
    } else if (interim >= kMaxInterimResponses) {
      out.protocol_error = "it sent more than " + std::to_string(kMaxInterimResponses) + " interim (1xx) responses";
    }
    if (!out.protocol_error.empty()) {
      out.ec = bhttp::error::bad_status;
      co_return out;
    }
    fresh_parser(parser, head_request);
  }
}
struct RelayOutcome {
  bool head_sent = false;      // false: nothing reached the client, an error response is still possible
  bool client_ok = true;       // the client got a complete, well-formed response
  bool upstream_clean = true;  // the upstream response was read to its end
  Failure failure = Failure::None;
  boost::system::error_code ec;
};

// Relays the body as it arrives: each upstream read becomes one client write (the head goes
// with the first one). SSE streams are re-chunked event by event, never buffered. `filter`
// (a native reading) and then `post` (the stream's cost added to its usage) may rewrite the
// bytes; the tap gets them before `post`.
template <class Stream>
http::Task<RelayOutcome> relay_body(Stream& stream, http::UpstreamConnection& connection, ResponseParser& parser,
                                    ClientIo& client, const std::string& head, ClientFraming framing, bool sse,
                                    const BackendRuntime& backend, std::optional<Clock::time_point> deadline,
                                    Worker& worker, RequestRecord& record, ClientSchema schema,
                                    pipeline::ResponseFilter* filter = nullptr, pipeline::ResponseTap* tap = nullptr,
                                    pipeline::ResponseFilter* post = nullptr) {
  RelayOutcome out;
  std::string filtered;
  std::string posted;
  auto& body = parser.get().body();
  http::SseBoundaryTracker boundary;
  RelayBuffer buffer(worker);
  char size_line[24];
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";

  for (;;) {
    std::size_t got = 0;
    bool done = framing == ClientFraming::None || parser.is_done();
    boost::system::error_code ec;
    if (!done) {
      body.data = buffer.get();
      body.size = kRelayBufferBytes;
      connection.deadline.expires_after(body_read_timeout(backend, deadline));
      auto [rec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, http::use_task);
      ec = parse_already_received(parser, connection.buffer, rec);
      got = kRelayBufferBytes - body.size;
      done = !ec && parser.is_done();
    }
    if (ec) {
      out.upstream_clean = false;
      out.failure = classify(ec, connection.deadline.expired());
      out.ec = ec;
      if (!out.head_sent) co_return out;  // the caller answers with an error response instead
      if (!sse || framing != ClientFraming::Chunked) {
        out.client_ok = false;  // no way to signal the error in-band: cut the connection
        co_return out;
      }
    }
    if (got == 0 && !done && !ec) continue;  // only framing was read

    std::string_view data(got > 0 ? buffer.get() : nullptr, got);
    if (filter != nullptr) {
      // The filter sees every byte read and gives back what the client gets.
      filtered.clear();
      if (got > 0) filter->feed(data, filtered);
      if (done || ec) filter->finish(filtered);
      data = filtered;
      got = filtered.size();
    }
    if (post != nullptr) {
      // The reply as the tap keeps it, then the bytes of this answer only (its cost) added.
      if (tap != nullptr && got > 0) tap->body(data);
      posted.clear();
      post->feed(data, posted);
      if (done || ec) post->finish(posted);
      data = posted;
      got = posted.size();
    }
    if (got == 0 && !done && !ec) continue;  // an event is still being completed
    if (sse) boundary.feed(data);
    std::string error_event;
    if (ec) {
      error_event = std::string(boundary.separator_needed());
      const http::ApiError failure{502,
                                   "server_error",
                                   "upstream_stream_error",
                                   "upstream connection failed mid-stream (backend " + backend.name + ")",
                                   {}};
      if (schema == ClientSchema::Anthropic) {
        translate::append_anthropic_error_event(error_event, failure);
      } else if (schema == ClientSchema::Google) {
        translate::append_sse_data(error_event, http::google_error_body(failure));
      } else {
        translate::append_openai_error_event(error_event, failure);
      }
    }
    std::array<asio::const_buffer, 9> out_buffers{};
    std::size_t count = 0;
    if (!out.head_sent) out_buffers[count++] = asio::buffer(head);
    if (framing == ClientFraming::Chunked) {
      if (got > 0) {
        out_buffers[count++] = asio::buffer(chunk_size_line(size_line, got));
        out_buffers[count++] = asio::buffer(data);
        out_buffers[count++] = asio::buffer(kCrlf);
      }
      if (!error_event.empty()) {
        char hex[24];
        error_event = std::string(chunk_size_line(hex, error_event.size())) + error_event + "\r\n";
        out_buffers[count++] = asio::buffer(error_event);
      }
      if (done || ec) out_buffers[count++] = asio::buffer(kLastChunk);
    } else if (got > 0) {
      out_buffers[count++] = asio::buffer(data);
    }
    client.deadline.expires_after(kClientWriteTimeout);
    auto [wec, written] = co_await asio::async_write(client.socket, out_buffers, http::use_task);
    out.head_sent = true;
    record.bytes_sent += got;
    if (wec) {
      out.client_ok = false;
      if (!done) out.upstream_clean = false;
      co_return out;
    }
    if (tap != nullptr && post == nullptr) tap->body(data);
    if (done || ec) break;
  }
  client.deadline.expires_never();
  connection.deadline.expires_never();
  co_return out;
}

// Reads the rest of an upstream body into `out` (a non-streaming response to translate, or an
// error body). Fails past `limit` bytes.
template <class Stream>
http::Task<boost::system::error_code> read_upstream_body(Stream& stream, http::UpstreamConnection& connection,
                                                         ResponseParser& parser, const BackendRuntime& backend,
                                                         std::optional<Clock::time_point> deadline, std::size_t limit,
                                                         Worker& worker, std::string& out) {
  RelayBuffer buffer(worker);
  auto& body = parser.get().body();
  boost::system::error_code ec;
  while (!parser.is_done()) {
    body.data = buffer.get();
    body.size = kRelayBufferBytes;
    connection.deadline.expires_after(body_read_timeout(backend, deadline));
    auto [rec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, http::use_task);
    out.append(buffer.get(), kRelayBufferBytes - body.size);
    if (rec && rec != bhttp::error::need_buffer) {
      ec = rec;
      break;
    }
    if (out.size() > limit) {
      ec = bhttp::error::body_limit;
      break;
    }
  }
  connection.deadline.expires_never();
  co_return ec;
}

// Relays a streaming response through its translator: each upstream read is converted at once
// and the converted events leave in one write (the head with the first one). An upstream
// failure ends the stream with an error event in the client's schema. `post`, when given,
// filters the converted bytes before they leave (the stream's cost added to its usage); the
// tap then gets them before it.
template <class Stream>
http::Task<RelayOutcome> relay_translated(Stream& stream, http::UpstreamConnection& connection, ResponseParser& parser,
                                          ClientIo& client, const std::string& head, ClientFraming framing,
                                          translate::Translator& translator, const BackendRuntime& backend,
                                          std::optional<Clock::time_point> deadline, Worker& worker,
                                          RequestRecord& record, pipeline::ResponseTap* tap = nullptr,
                                          pipeline::ResponseFilter* post = nullptr) {
  RelayOutcome out;
  auto& body = parser.get().body();
  RelayBuffer buffer(worker);
  std::string converted;
  std::string posted;
  char size_line[24];
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  bool finished = false;  // the translator ended the stream (error event or normal end)
  for (;;) {
    boost::system::error_code ec;
    bool done = parser.is_done();
    std::size_t got = 0;
    if (!done) {
      body.data = buffer.get();
      body.size = kRelayBufferBytes;
      connection.deadline.expires_after(body_read_timeout(backend, deadline));
      auto [rec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, http::use_task);
      ec = parse_already_received(parser, connection.buffer, rec);
      got = kRelayBufferBytes - body.size;
      done = !ec && parser.is_done();
    }
    converted.clear();
    if (got > 0 && !translator.stream_feed(std::string_view(buffer.get(), got), converted)) finished = true;
    if (!finished && ec) {
      out.upstream_clean = false;
      out.failure = classify(ec, connection.deadline.expired());
      out.ec = ec;
      // Nothing reached the client yet: the caller answers with a proper 502/504 instead.
      if (!out.head_sent && converted.empty()) co_return out;
      const bool timeout = out.failure == Failure::Timeout;
      const http::ApiError failure{timeout ? 504u : 502u,
                                   "server_error",
                                   "upstream_stream_error",
                                   "upstream " + std::string(failure_label(out.failure)) + " mid-stream (backend " +
                                       backend.name + "): " + ec.message(),
                                   {}};
      translator.stream_fail(failure, converted);
      finished = true;
    } else if (!finished && done) {
      translator.stream_end(converted);
      finished = true;
    }
    if (post != nullptr) {
      // The reply as the tap keeps it, then the bytes of this answer only (its cost) added.
      if (tap != nullptr && !converted.empty()) tap->body(converted);
      posted.clear();
      post->feed(converted, posted);
      if (finished) post->finish(posted);
      converted.swap(posted);
    }
    if (converted.empty() && !finished) continue;
    std::array<asio::const_buffer, 5> pieces{};
    std::size_t count = 0;
    if (!out.head_sent) pieces[count++] = asio::buffer(head);
    if (framing == ClientFraming::Chunked) {
      if (!converted.empty()) {
        pieces[count++] = asio::buffer(chunk_size_line(size_line, converted.size()));
        pieces[count++] = asio::buffer(converted);
        pieces[count++] = asio::buffer(kCrlf);
      }
      if (finished) pieces[count++] = asio::buffer(kLastChunk);
    } else if (!converted.empty()) {
      pieces[count++] = asio::buffer(converted);
    }
    client.deadline.expires_after(kClientWriteTimeout);
    auto [wec, written] = co_await asio::async_write(client.socket, pieces, http::use_task);
    out.head_sent = true;
    record.bytes_sent += converted.size();
    if (wec) {
      out.client_ok = false;
      if (!done) out.upstream_clean = false;
      co_return out;
    }
    if (tap != nullptr && post == nullptr) tap->body(converted);
    if (finished) {
      if (!done) out.upstream_clean = false;  // the translator stopped early: the rest is unread
      break;
    }
  }
  client.deadline.expires_never();
  connection.deadline.expires_never();
  co_return out;
}

}  // namespace sluice::proxy::relay
