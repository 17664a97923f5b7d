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

// One POST; `timer` (armed by the caller) cancels what is pending through `pending` when the
// timeout passes. Everything lives on the caller's io_context and thread.
struct PendingIo {
  http::Resolver* resolver = nullptr;
  http::Socket* socket = nullptr;
  bool timed_out = false;
};

// The TLS context of https endpoints: the system CA bundle (OpenSSL's default paths, so
// SSL_CERT_FILE and SSL_CERT_DIR apply), or no verification; made once per process each.
std::shared_ptr<asio::ssl::context> tls_context(bool verify, std::string& error) {
  static std::mutex mutex;
  static std::shared_ptr<asio::ssl::context> verifying, skipping;
  std::lock_guard lock(mutex);
  auto& ctx = verify ? verifying : skipping;
  if (!ctx) ctx = http::make_client_tls_context(http::TlsClientSettings{verify, std::nullopt}, &error);
  return ctx;
}

// The request, then the answer, over `stream` (a TCP socket or a TLS stream on one).
template <class Stream>
http::Task<void> exchange(Stream& stream, const config::OtlpSettings& settings, std::string_view path,
                          std::string_view content_type, const std::string& body, OtlpPostResult& result,
                          const bool& timed_out) {
  const auto port = std::to_string(settings.port);
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, settings.base_path + std::string(path), 11};
  request.set(bhttp::field::host, settings.host + ":" + port);
  request.set(bhttp::field::content_type, content_type);
  request.set(bhttp::field::user_agent, "sluice-otlp");
  for (const auto& [name, value] : settings.headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  request.keep_alive(false);
  auto [wec, written] = co_await bhttp::async_write(stream, request, http::use_task);
  if (wec) {
    result.error = timed_out ? "timed out sending" : "sending failed: " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  auto [hec, read] = co_await bhttp::async_read(stream, buffer, parser, http::use_task);
  if (hec && !parser.is_header_done()) {
    result.error = timed_out ? "timed out waiting for the answer" : "reading the answer failed: " + hec.message();
    co_return;
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
}

http::Task<void> post_task(const config::OtlpSettings& settings, std::string_view path, std::string_view content_type,
                           const std::string& body, OtlpPostResult& result, PendingIo& pending) {
  auto executor = co_await asio::this_coro::executor;
  http::Resolver resolver(executor);
  http::Socket socket(executor);
  pending.resolver = &resolver;
  pending.socket = &socket;
  struct Release {
    PendingIo& pending;
    ~Release() {
      pending.resolver = nullptr;
      pending.socket = nullptr;
    }
  } release{pending};
  const bool& timed_out = pending.timed_out;
  const auto port = std::to_string(settings.port);
  auto [rec, endpoints] = co_await resolver.async_resolve(settings.host, port, http::use_task);
  if (rec) {
    result.error =
        timed_out ? "timed out resolving " + settings.host : "cannot resolve " + settings.host + ": " + rec.message();
    co_return;
  }
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, http::use_task);
  if (cec) {
    result.error = timed_out ? "timed out connecting" : "cannot connect: " + cec.message();
    co_return;
  }
  boost::system::error_code ignored;
  if (!settings.tls) {
    co_await exchange(socket, settings, path, content_type, body, result, timed_out);
    socket.shutdown(http::Socket::shutdown_both, ignored);
    co_return;
  }
  std::string error;
  const auto context = tls_context(!settings.insecureSkipVerify, error);
  if (!context) {
    result.error = error;
    co_return;
  }
  asio::ssl::stream<http::Socket> tls(std::move(socket), *context);
  pending.socket = &tls.next_layer();
  if (!http::is_ip_literal(settings.host)) SSL_set_tlsext_host_name(tls.native_handle(), settings.host.c_str());
  if (!settings.insecureSkipVerify) tls.set_verify_callback(asio::ssl::host_name_verification(settings.host));
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, http::use_task);
  if (hec) {
    result.error =
        timed_out ? "timed out in the TLS handshake" : "TLS handshake with the collector failed: " + hec.message();
    co_return;
  }
  co_await exchange(tls, settings, path, content_type, body, result, timed_out);
  tls.next_layer().shutdown(http::Socket::shutdown_both, ignored);
}

}  // namespace

OtlpPostResult otlp_post(const config::OtlpSettings& settings, std::string_view path, std::string_view content_type,
                         const std::string& body) {
  asio::io_context io(1);
  OtlpPostResult result;
  PendingIo pending;
  http::Timer timer(io.get_executor(), settings.timeout);
  timer.async_wait([&pending](const boost::system::error_code& ec) {
    if (ec) return;
    pending.timed_out = true;
    boost::system::error_code ignored;
    if (pending.resolver != nullptr) pending.resolver->cancel();
    if (pending.socket != nullptr) pending.socket->cancel(ignored);
  });
  asio::co_spawn(io, post_task(settings, path, content_type, body, result, pending), [&](std::exception_ptr e) {
    timer.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      result.status = 0;
      result.error = ex.what();
    }
  });
  io.run();
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
    } else if (!spans.empty()) {
      dropped_spans_.fetch_add(spans.size(), std::memory_order_relaxed);
    }
    if (stopping) return;
  }
}

void OtlpExporter::export_spans(std::vector<Span> spans, const config::OtlpSettings& settings, bool final) {
  const bool json = settings.protocol == config::OtlpProtocol::HttpJson;
  for (std::size_t at = 0; at < spans.size(); at += kMaxSpansPerRequest) {
    const auto count = std::min(kMaxSpansPerRequest, spans.size() - at);
    const std::span<const Span> batch(spans.data() + at, count);
    const auto body = json ? encode_traces_json(resource_, batch) : encode_traces_protobuf(resource_, batch);
    if (post_with_retries(settings, "/v1/traces", json ? "application/json" : "application/x-protobuf", body, "traces",
                          final)) {
      exported_spans_.fetch_add(count, std::memory_order_relaxed);
    } else {
      trace_failures_.fetch_add(1, std::memory_order_relaxed);
      dropped_spans_.fetch_add(count, std::memory_order_relaxed);
    }
  }
}

void OtlpExporter::export_metrics(const config::OtlpSettings& settings) {
  auto collection = metrics_();
  if (collection.families.empty()) return;
  const bool json = settings.protocol == config::OtlpProtocol::HttpJson;
  const auto body = json ? encode_metrics_json(resource_, collection) : encode_metrics_protobuf(resource_, collection);
  if (post_with_retries(settings, "/v1/metrics", json ? "application/json" : "application/x-protobuf", body, "metrics",
                        false))
    metric_exports_.fetch_add(1, std::memory_order_relaxed);
  else
    metric_failures_.fetch_add(1, std::memory_order_relaxed);
}

bool OtlpExporter::post_with_retries(const config::OtlpSettings& settings, std::string_view path,
                                     std::string_view content_type, const std::string& body, std::string_view signal,
                                     bool final) {
  std::chrono::milliseconds backoff{500};
  for (unsigned attempt = 1;; ++attempt) {
    const auto result = otlp_post(settings, path, content_type, body);
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
      const auto last = otlp_post(settings, path, content_type, body);
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
}

}  // namespace sluice::observe
