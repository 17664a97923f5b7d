// H2Connection: the server side of one HTTP/2 connection (RFC 9113), framed by Debian's
// nghttp2 with its HTTP messaging checks on. It does no I/O itself: its driver (the proxy's
// client session) feeds it what the client sent (receive) and writes what it produces
// (take_output), so the same code serves h2 over TLS (ALPN) and h2c (prior knowledge) on any
// ClientStream. Every request stream becomes an H2Stream handed to `on_request`, which serves
// it as one HTTP/1.1 request (http/h2_stream.hpp).
//
// Bounds: at most Settings::max_concurrent_streams streams at once (SETTINGS, enforced by
// nghttp2); a header block larger than the header limit is cut (the request then fails the
// proxy's header limit: 431); request bodies are bounded by the flow-control windows, reopened
// only as the proxy reads; nghttp2's own defences (CONTINUATION, SETTINGS, PING and RST_STREAM
// floods) stay on.
//
// Single-threaded: one worker. The driver owns the connection; streams outliving it are
// detached (their operations fail with connection_reset).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/h2_stream.hpp"
#include "http/io.hpp"

namespace sluice::http {

// What an HTTP/2 client sends first on a connection with prior knowledge (h2c).
inline constexpr std::string_view kH2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class H2Connection {
 public:
  struct Settings {
    std::uint32_t max_concurrent_streams = 100;
    std::size_t max_head_bytes = 32 * 1024;        // the proxy's request header limit
    std::int32_t stream_window = 256 * 1024;       // per request body, unread
    std::int32_t connection_window = 1024 * 1024;  // all request bodies, unread
  };
  using RequestHandler = std::function<void(std::shared_ptr<H2Stream>)>;

  // `on_request`: a stream's request head is complete; serve it. `on_output`: there may be
  // frames to send. `on_idle`: the last stream being served has finished. `draining`: while
  // true, new streams are refused (REFUSED_STREAM, which a client retries elsewhere) and a
  // GOAWAY is sent.
  H2Connection(Executor executor, const Settings& settings, RequestHandler on_request, std::function<void()> on_output,
               std::function<void()> on_idle, const bool& draining);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Bytes read from the client. false: a connection error (nghttp2 queued the GOAWAY).
  bool receive(const std::uint8_t* data, std::size_t size);
  // Appends frames to send to `out`, about `max` bytes at most. false: a fatal error.
  bool take_output(std::string& out, std::size_t max);
  // GOAWAY(NO_ERROR): streams not yet begun are refused; those begun run to their end.
  void goaway();
  bool goaway_sent() const { return goaway_sent_; }
  // Streams whose request the proxy is serving.
  std::size_t active_streams() const { return active_; }
  // Nothing more to do: nghttp2 wants neither to read nor to write, or after a GOAWAY every
  // stream has ended. The driver closes the connection once its output is written.
  bool finished() const;

  // ---- for H2Stream ----
  void submit_response(H2Stream& stream, const nghttp2_nv* fields, std::size_t count, bool has_body);
  void submit_interim(H2Stream& stream, const nghttp2_nv* fields, std::size_t count);
  void resume(std::int32_t id);
  void consume(std::int32_t id, std::size_t size);
  void reset(std::int32_t id, std::uint32_t error_code);
  void stream_finished();

 private:
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t, const std::uint8_t*,
                       std::size_t, std::uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*, std::size_t, void*);
  static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static ssize_t read_data(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t, std::uint32_t*,
                           nghttp2_data_source*, void*);
  H2Stream* stream(std::int32_t id) const;

  Executor executor_;
  Settings settings_;
  RequestHandler on_request_;
  std::function<void()> on_output_;
  std::function<void()> on_idle_;
  const bool& draining_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::size_t active_ = 0;
  bool goaway_sent_ = false;
};

}  // namespace sluice::http
