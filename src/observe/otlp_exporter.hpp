// The OTLP/HTTP exporter of spans and metrics (Gateway spec.telemetry), one per process.
//
// Spans: a worker finishes its spans into its own SpanBuffer (no lock, no system call); a full
// batch, or whatever is there at the worker's housekeeping tick, is handed over to the exporter
// under its mutex (one move of a vector). The exporter's queue is bounded (kMaxQueuedSpans):
// spans that do not fit are dropped and counted, never waited for. A background thread takes
// the queue every second (at once when a batch is full), encodes ExportTraceServiceRequest
// (protobuf or JSON, as configured) in requests of at most kMaxSpansPerRequest spans, each in one
// pass into one reused buffer, and POSTs them to {endpoint}/v1/traces over one kept-alive
// connection (OtlpClient) with the configured headers, a timeout per request, and up to three
// retries with backoff on 429, 502, 503, 504 and connection failures (Retry-After honoured up to
// 30 s). Spans of a request that finally failed are dropped and counted. Exported spans are
// emptied and kept (up to kMaxSpareSpans) for the workers to fill again: in steady state a span
// costs no allocation and the exporter thread frees none (a recycled span may go to another
// worker than the one that allocated it; it is freed there only if it is dropped).
//
// Metrics: every metrics.exportInterval the thread calls the process's metrics source and POSTs
// the collection as ExportMetricsServiceRequest to {endpoint}/v1/metrics.
//
// Problems (an unreachable collector, a refusal) go to the operational log at most once per
// 30 s; the counters (render_prometheus) say the rest. configure() takes new settings at any
// time (a reload): the next export uses them. Thread-safe except where noted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/resources.hpp"
#include "observe/log.hpp"
#include "observe/metric_points.hpp"
#include "observe/otlp_encode.hpp"
#include "observe/span.hpp"

namespace sluice::observe {

// The result of one OTLP/HTTP POST: the status (0 when no response came), why it failed, and
// the pause a 429/503 asked for.
struct OtlpPostResult {
  unsigned status = 0;
  std::string error;
  std::chrono::seconds retry_after{0};
};

// The exporter's HTTP/1.1 client: one connection to the collector, kept alive between POSTs and
// opened again when it is gone: after the collector closed it (an idle close is noticed when the
// next request on it finds no answer: that request is sent again at once on a new connection,
// within the same timeout), an error, a timeout, an answer with `Connection: close`, a change of
// endpoint, or kMaxIdle without a request. https endpoints: TLS with the system CA bundle (or
// none with insecureSkipVerify), SNI and host name checked. Blocking, with the settings'
// timeout over the whole POST: for the exporter's thread (and tests); one thread at a time.
class OtlpClient {
 public:
  static constexpr std::chrono::seconds kMaxIdle{30};

  OtlpClient();
  ~OtlpClient();
  OtlpClient(const OtlpClient&) = delete;
  OtlpClient& operator=(const OtlpClient&) = delete;

  // POSTs `body` to the endpoint's base path + `path` with the settings' headers and timeout.
  OtlpPostResult post(const config::OtlpSettings& settings, std::string_view path, std::string_view content_type,
                      std::string_view body);
  // Closes the connection, if one is open.
  void close();
  // Connections opened so far.
  std::uint64_t connections() const { return connections_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::uint64_t connections_ = 0;
};

class OtlpExporter {
 public:
  using MetricsSource = std::function<MetricCollection()>;

  static constexpr std::size_t kMaxQueuedSpans = 16384;
  static constexpr std::size_t kMaxSpansPerRequest = 512;
  // Exported spans kept for the workers to recycle; the rest are freed.
  static constexpr std::size_t kMaxSpareSpans = 2048;

  explicit OtlpExporter(OtlpResource resource, MetricsSource metrics = {});
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // The settings to export with from now on; without otlp nothing is exported (spans still
  // queued are dropped). Starts the thread the first time there is an endpoint.
  void configure(const config::Telemetry& telemetry);
  // A worker's finished spans; what does not fit in the queue is dropped and counted.
  void submit(std::vector<Span>&& spans);
  // Moves up to `count` exported spans, emptied with their room kept, into `out` (for a worker
  // to fill again without allocating).
  void take_spare(std::vector<Span>& out, std::size_t count);
  // Exports what is queued (one try each), then ends the thread. Idempotent.
  void stop();

  // sluice_otlp_* counters in the Prometheus text format.
  std::string render_prometheus() const;
  std::uint64_t exported_spans() const { return exported_spans_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_spans() const { return dropped_spans_.load(std::memory_order_relaxed); }

 private:
  void run();
  void export_spans(std::vector<Span> spans, const config::OtlpSettings& settings, bool final);
  void export_metrics(const config::OtlpSettings& settings);
  // POSTs body_ with retries; true when the collector took it.
  bool post_with_retries(const config::OtlpSettings& settings, std::string_view path, std::string_view content_type,
                         std::string_view signal, bool final);

  OtlpResource resource_;
  MetricsSource metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Span> queue_;
  std::vector<Span> spare_;
  std::optional<config::OtlpSettings> settings_;
  std::chrono::milliseconds export_interval_{60'000};
  bool stopping_ = false;
  std::thread thread_;
  // The exporter thread's own: its connection to the collector and the buffer every request is
  // encoded into (its capacity kept from one export to the next).
  OtlpClient client_;
  std::string body_;
  LogInterval log_interval_{std::chrono::seconds(30)};
  std::atomic<std::uint64_t> exported_spans_{0};
  std::atomic<std::uint64_t> dropped_spans_{0};
  std::atomic<std::uint64_t> trace_failures_{0};
  std::atomic<std::uint64_t> metric_exports_{0};
  std::atomic<std::uint64_t> metric_failures_{0};
};

// A worker's spans on their way to the exporter: filled on the worker's thread only, handed over
// whole when kBatchSpans are there or at flush() (the housekeeping tick), when it also takes
// back as many exported spans to recycle. Without an exporter attached (telemetry never
// configured, unit tests) spans are discarded.
class SpanBuffer {
 public:
  static constexpr std::size_t kBatchSpans = 128;

  void attach(OtlpExporter* exporter) { exporter_ = exporter; }
  bool attached() const { return exporter_ != nullptr; }
  // An empty span with room for `attributes` attributes and `text_bytes` bytes of strings: a
  // recycled one when there is one.
  Span make(std::size_t attributes, std::size_t text_bytes);
  void push(Span&& span);
  void flush();

 private:
  OtlpExporter* exporter_ = nullptr;
  std::vector<Span> pending_;
  std::vector<Span> spare_;
};

}  // namespace sluice::observe
