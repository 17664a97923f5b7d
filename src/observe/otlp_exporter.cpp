#include "observe/otlp_exporter.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <iterator>
#include <mutex>

#include "http/io.hpp"
#include "http/tls_client.hpp"

namespace sluice::observe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kMaxResponseBytes = 64 * 1024;
constexpr unsigned kMaxTries = 4;  // the first one and three retries
constexpr std::chrono::seconds kMaxRetryAfter{30};

bool retryable(const OtlpPostResult& r) {
  return r.status == 0 || r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

// The TLS context of https endpoints: the system CA bundle (OpenSSL's default paths, so
// SSL_CERT_FILE and SSL_CERT_DIR apply), or no verification; made once per process each.
std::shared_ptr<asio::ssl::context> shared_tls_context(bool verify, std::string& error) {
  static std::mutex mutex;
  static std::shared_ptr<asio::ssl::context> verifying, skipping;
  std::lock_guard lock(mutex);
  auto& ctx = verify ? verifying : skipping;
  if (!ctx) ctx = http::make_client_tls_context(http::TlsClientSettings{verify, std::nullopt}, &error);
  return ctx;
}

// The request head: the settings' headers after the exporter's own.
std::string request_head(const config::OtlpSettings& settings, std::string_view path, std::string_view content_type,
                         std::size_t body_size) {
  std::string head;
  head.reserve(256);
  head.append("POST ").append(settings.base_path).append(path).append(" HTTP/1.1\r\nHost: ");
  // An IPv6 literal is bracketed in Host (RFC 9110 7.2, RFC 3986 3.2.2).
  const bool ipv6_literal = settings.host.find(':') != std::string::npos;
  if (ipv6_literal) head.append("[");
  head.append(settings.host);
  if (ipv6_literal) head.append("]");
  head.append(":").append(std::to_string(settings.port));
  head.append("\r\nContent-Type: ").append(content_type).append("\r\nUser-Agent: sluice-otlp\r\n");
  for (const auto& [name, value] : settings.headers) head.append(name).append(": ").append(value).append("\r\n");
  head.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n\r\n");
  return head;
}

// How one request on a connection ended.
enum class Exchanged {
  Answered,  // a response (result.status), or an error after part of one
  Nothing,   // no byte of a response came back: a kept-alive connection the collector closed
};

}  // namespace

// The connection and what it was opened for. Every socket lives on `io` (declared first: it
// outlives them), run by post() on the caller's thread.
struct OtlpClient::State {
  asio::io_context io{1};
  std::optional<http::Socket> socket;
  std::optional<asio::ssl::stream<http::Socket>> tls;
  std::shared_ptr<asio::ssl::context> tls_context;  // while `tls` uses it
  std::string host;
  std::uint16_t port = 0;
  bool secure = false;
  bool verify = true;
  std::chrono::steady_clock::time_point idle_since;
  beast::flat_buffer buffer;
  // What the timeout cancels.
  http::Resolver* resolver = nullptr;
  bool timed_out = false;

  bool open() const { return socket || tls; }
  http::Socket* lowest() {
    if (tls) return &tls->next_layer();
    return socket ? &*socket : nullptr;
  }
  bool opened_for(const config::OtlpSettings& s) const {
    return host == s.host && port == s.port && secure == s.tls && verify == !s.insecureSkipVerify;
  }
  void close() {
    boost::system::error_code ignored;
    if (auto* s = lowest()) {
      s->shutdown(http::Socket::shutdown_both, ignored);
      s->close(ignored);
    }
    tls.reset();
    socket.reset();
    tls_context.reset();
    buffer.clear();
  }

  // A new connection for `settings` (resolve, connect, TLS handshake); false with result.error.
  http::Task<bool> connect(const config::OtlpSettings& settings, OtlpPostResult& result) {
    auto executor = co_await asio::this_coro::executor;
    http::Resolver resolver_here(executor);
    resolver = &resolver_here;
    struct Release {
      http::Resolver*& r;
      ~Release() { r = nullptr; }
    } release{resolver};
    const auto port_text = std::to_string(settings.port);
    auto [rec, endpoints] = co_await resolver_here.async_resolve(settings.host, port_text, http::use_task);
    if (rec) {
      result.error =
          timed_out ? "timed out resolving " + settings.host : "cannot resolve " + settings.host + ": " + rec.message();
      co_return false;
    }
    socket.emplace(executor);
    host = settings.host;
    port = settings.port;
    secure = settings.tls;
    verify = !settings.insecureSkipVerify;
    auto [cec, ep] = co_await asio::async_connect(*socket, endpoints, http::use_task);
    if (cec) {
      result.error = timed_out ? "timed out connecting" : "cannot connect: " + cec.message();
      close();
      co_return false;
    }
    boost::system::error_code ignored;
    socket->set_option(http::tcp::no_delay(true), ignored);
    if (!settings.tls) co_return true;
    std::string error;
    tls_context = shared_tls_context(verify, error);
    if (!tls_context) {
      result.error = error;
      close();
      co_return false;
    }
    tls.emplace(std::move(*socket), *tls_context);
    socket.reset();
    if (!http::is_ip_literal(settings.host)) SSL_set_tlsext_host_name(tls->native_handle(), settings.host.c_str());
    if (verify) tls->set_verify_callback(asio::ssl::host_name_verification(settings.host));
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, http::use_task);
    if (hec) {
      result.error =
          timed_out ? "timed out in the TLS handshake" : "TLS handshake with the collector failed: " + hec.message();
      close();
      co_return false;
    }
    co_return true;
  }

  // The request, then the answer, over `stream` (the socket or the TLS stream on it).
  template <class Stream>
  http::Task<Exchanged> exchange(Stream& stream, std::string_view head, std::string_view body, OtlpPostResult& result) {
    const std::array<asio::const_buffer, 2> request{asio::buffer(head), asio::buffer(body)};
    auto [wec, written] = co_await asio::async_write(stream, request, http::use_task);
    if (wec) {
      result.error = timed_out ? "timed out sending" : "sending failed: " + wec.message();
      co_return Exchanged::Nothing;
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    auto [hec, read] = co_await bhttp::async_read(stream, buffer, parser, http::use_task);
    if (hec && !parser.is_header_done()) {
      result.error = timed_out ? "timed out waiting for the answer" : "reading the answer failed: " + hec.message();
      co_return parser.got_some() ? Exchanged::Answered : Exchanged::Nothing;
    }
    const auto& response = parser.get();
    result.status = response.result_int();
    if (const auto it = response.find(bhttp::field::retry_after); it != response.end()) {
      unsigned seconds = 0;
      const auto v = it->value();
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      if (ec == std::errc()) result.retry_after = std::min(std::chrono::seconds(seconds), kMaxRetryAfter);
    }
    if (result.status < 200 || result.status >= 300) {
      auto text = response.body().substr(0, 200);
      result.error = "the collector answered HTTP " + std::to_string(result.status) + (text.empty() ? "" : ": " + text);
    }
    // Kept for the next request only when the whole answer was read and the collector keeps it.
    if (hec || !parser.is_done() || !response.keep_alive() || buffer.size() > 0) close();
    co_return Exchanged::Answered;
  }

  http::Task<void> post(const config::OtlpSettings& settings, std::string_view head, std::string_view body,
                        OtlpPostResult& result, std::uint64_t& connections) {
    for (;;) {
      const bool reused = open();
      if (!reused) {
        ++connections;
        if (!co_await connect(settings, result)) co_return;
      }
      Exchanged answered;
      if (tls)
        answered = co_await exchange(*tls, head, body, result);
      else
        answered = co_await exchange(*socket, head, body, result);
      if (answered == Exchanged::Answered) co_return;
      close();
      // A kept-alive connection the collector had closed: once more on a new one.
      if (!reused || timed_out) co_return;
      result = OtlpPostResult{};
    }
  }
};

OtlpClient::OtlpClient() : state_(std::make_unique<State>()) {}

OtlpClient::~OtlpClient() {
  close();
}

void OtlpClient::close() {
  state_->close();
}

OtlpPostResult OtlpClient::post(const config::OtlpSettings& settings, std::string_view path,
                                std::string_view content_type, std::string_view body) {
  auto& s = *state_;
  if (s.open() && (!s.opened_for(settings) || std::chrono::steady_clock::now() - s.idle_since > kMaxIdle)) s.close();
  const auto head = request_head(settings, path, content_type, body.size());
  OtlpPostResult result;
  s.timed_out = false;
  s.io.restart();
  http::Timer timer(s.io.get_executor(), settings.timeout);
  timer.async_wait([&s](const boost::system::error_code& ec) {
    if (ec) return;
    s.timed_out = true;
    boost::system::error_code ignored;
    if (s.resolver != nullptr) s.resolver->cancel();
    if (auto* socket = s.lowest()) socket->cancel(ignored);
  });
  asio::co_spawn(s.io, s.post(settings, head, body, result, connections_), [&](std::exception_ptr e) {
    timer.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      result.status = 0;
      result.error = ex.what();
    }
  });
  s.io.run();
  if (s.timed_out || result.status == 0) s.close();
  s.idle_since = std::chrono::steady_clock::now();
  return result;
}

OtlpExporter::OtlpExporter(OtlpResource resource, MetricsSource metrics)
    : resource_(std::move(resource)), metrics_(std::move(metrics)) {}

OtlpExporter::~OtlpExporter() {
  stop();
}

void OtlpExporter::configure(const config::Telemetry& telemetry) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  settings_ = telemetry.otlp;
  export_interval_ = telemetry.exportInterval;
  if (!settings_) {
    dropped_spans_.fetch_add(queue_.size(), std::memory_order_relaxed);
    queue_.clear();
  }
  if (settings_ && !thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.notify_all();
}

void OtlpExporter::submit(std::vector<Span>&& spans) {
  std::size_t dropped = 0;
  bool full_batch = false;
  {
    std::lock_guard lock(mutex_);
    if (!settings_ || stopping_) {
      dropped = spans.size();
    } else {
      const auto room = kMaxQueuedSpans - std::min(kMaxQueuedSpans, queue_.size());
      const auto taken = std::min(room, spans.size());
      dropped = spans.size() - taken;
      if (queue_.empty() && taken == spans.size()) {
        queue_ = std::move(spans);
      } else {
        std::move(spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(taken), std::back_inserter(queue_));
      }
      full_batch = queue_.size() >= kMaxSpansPerRequest;
    }
  }
  if (dropped > 0) dropped_spans_.fetch_add(dropped, std::memory_order_relaxed);
  if (full_batch) wake_.notify_one();
}

void OtlpExporter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::run() {
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::seconds kFlushEvery{1};
  auto next_flush = Clock::now() + kFlushEvery;
  auto next_metrics = Clock::time_point::max();
  for (;;) {
    std::vector<Span> spans;
    std::optional<config::OtlpSettings> settings;
    bool stopping = false;
    bool metrics_due = false;
    {
      std::unique_lock lock(mutex_);
      if (next_metrics == Clock::time_point::max()) next_metrics = Clock::now() + export_interval_;
      wake_.wait_until(lock, std::min(next_flush, next_metrics),
                       [&] { return stopping_ || queue_.size() >= kMaxSpansPerRequest || Clock::now() >= next_flush; });
      const auto now = Clock::now();
      stopping = stopping_;
      if (now >= next_flush || stopping || queue_.size() >= kMaxSpansPerRequest) {
        spans.swap(queue_);
        next_flush = now + kFlushEvery;
      }
      if (now >= next_metrics) {
        metrics_due = true;
        next_metrics = now + export_interval_;
      }
      settings = settings_;
    }
    if (settings) {
      if (!spans.empty()) export_spans(std::move(spans), *settings, stopping);
      if (metrics_due && metrics_) export_metrics(*settings);
    } else {
      client_.close();
      if (!spans.empty()) dropped_spans_.fetch_add(spans.size(), std::memory_order_relaxed);
    }
    if (stopping) {
      client_.close();
      return;
    }
  }
}

void OtlpExporter::export_spans(std::vector<Span> spans, const config::OtlpSettings& settings, bool final) {
  const bool json = settings.protocol == config::OtlpProtocol::HttpJson;
  for (std::size_t at = 0; at < spans.size(); at += kMaxSpansPerRequest) {
    const auto count = std::min(kMaxSpansPerRequest, spans.size() - at);
    const std::span<const Span> batch(spans.data() + at, count);
    if (json)
      encode_traces_json(resource_, batch, body_);
    else
      encode_traces_protobuf(resource_, batch, body_);
    if (post_with_retries(settings, "/v1/traces", json ? "application/json" : "application/x-protobuf", "traces",
                          final)) {
      exported_spans_.fetch_add(count, std::memory_order_relaxed);
    } else {
      trace_failures_.fetch_add(1, std::memory_order_relaxed);
      dropped_spans_.fetch_add(count, std::memory_order_relaxed);
    }
  }
  if (final) return;
  // Back to the workers, emptied: their buffers are reused instead of freed here.
  const auto keep = std::min(spans.size(), kMaxSpareSpans);
  for (std::size_t i = 0; i < keep; ++i) spans[i].clear();
  std::lock_guard lock(mutex_);
  const auto room = kMaxSpareSpans - std::min(kMaxSpareSpans, spare_.size());
  const auto moved = std::min(room, keep);
  std::move(spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(moved), std::back_inserter(spare_));
}

void OtlpExporter::export_metrics(const config::OtlpSettings& settings) {
  auto collection = metrics_();
  if (collection.families.empty()) return;
  const bool json = settings.protocol == config::OtlpProtocol::HttpJson;
  if (json)
    encode_metrics_json(resource_, collection, body_);
  else
    encode_metrics_protobuf(resource_, collection, body_);
  if (post_with_retries(settings, "/v1/metrics", json ? "application/json" : "application/x-protobuf", "metrics",
                        false))
    metric_exports_.fetch_add(1, std::memory_order_relaxed);
  else
    metric_failures_.fetch_add(1, std::memory_order_relaxed);
}

bool OtlpExporter::post_with_retries(const config::OtlpSettings& settings, std::string_view path,
                                     std::string_view content_type, std::string_view signal, bool final) {
  std::chrono::milliseconds backoff{500};
  for (unsigned attempt = 1;; ++attempt) {
    const auto result = client_.post(settings, path, content_type, body_);
    if (result.status >= 200 && result.status < 300) return true;
    const bool again = retryable(result) && attempt < kMaxTries && !final;
    if (!again) {
      if (log_interval_.due())
        log(Level::Warning, "OTLP export failed",
            {{"signal", signal},
             {"endpoint", settings.endpoint + std::string(path)},
             {"error", result.error},
             {"tries", std::to_string(attempt)}});
      return false;
    }
    auto pause = std::max<std::chrono::milliseconds>(backoff, result.retry_after);
    backoff *= 2;
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, pause, [&] { return stopping_; })) {
      lock.unlock();
      const auto last = client_.post(settings, path, content_type, body_);
      return last.status >= 200 && last.status < 300;
    }
  }
}

std::string OtlpExporter::render_prometheus() const {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, std::string_view labels, std::uint64_t value,
                     bool header) {
    if (header) {
      out.append("# HELP ").append(name).append(" ").append(help).append("\n");
      out.append("# TYPE ").append(name).append(" counter\n");
    }
    out.append(name).append(labels).append(" ").append(std::to_string(value)).append("\n");
  };
  counter("sluice_otlp_exported_spans_total", "Spans the OTLP collector accepted.", "",
          exported_spans_.load(std::memory_order_relaxed), true);
  counter("sluice_otlp_dropped_spans_total",
          "Spans dropped: the export queue was full, or the collector could not take them.", "",
          dropped_spans_.load(std::memory_order_relaxed), true);
  counter("sluice_otlp_export_failures_total", "OTLP export requests that failed after their retries.",
          "{signal=\"traces\"}", trace_failures_.load(std::memory_order_relaxed), true);
  counter("sluice_otlp_export_failures_total", "", "{signal=\"metrics\"}",
          metric_failures_.load(std::memory_order_relaxed), false);
  counter("sluice_otlp_metric_exports_total", "Metric collections the OTLP collector accepted.", "",
          metric_exports_.load(std::memory_order_relaxed), true);
  return out;
}

void OtlpExporter::take_spare(std::vector<Span>& out, std::size_t count) {
  std::lock_guard lock(mutex_);
  const auto n = std::min(count, spare_.size());
  const auto from = spare_.end() - static_cast<std::ptrdiff_t>(n);
  std::move(from, spare_.end(), std::back_inserter(out));
  spare_.erase(from, spare_.end());
}

Span SpanBuffer::make(std::size_t attributes, std::size_t text_bytes) {
  if (spare_.empty()) return Span(attributes, text_bytes);
  Span span = std::move(spare_.back());
  spare_.pop_back();
  span.reserve(attributes, text_bytes);
  return span;
}

void SpanBuffer::push(Span&& span) {
  if (exporter_ == nullptr) return;
  if (pending_.capacity() == 0) pending_.reserve(kBatchSpans);
  pending_.push_back(std::move(span));
  if (pending_.size() >= kBatchSpans) flush();
}

void SpanBuffer::flush() {
  if (pending_.empty() || exporter_ == nullptr) return;
  exporter_->submit(std::move(pending_));
  pending_ = std::vector<Span>();
  if (spare_.size() < kBatchSpans) exporter_->take_spare(spare_, kBatchSpans - spare_.size());
}

}  // namespace sluice::observe
