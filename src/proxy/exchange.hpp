// The exchange: one routed client request forwarded to its backend and the response relayed
// back as it arrives (an SSE stream event by event, never buffered whole). Chooses the
// backend (weighted), decides what the request is (chat / embeddings / Anthropic messages with
// a JSON body read once; models answered from the config; any other API passed through with
// its body streamed both ways when the Backend allows it), translates between the client's
// schema and the provider's when they differ, applies auth (key, passthrough, SigV4), model
// override, header filters and the upstream path precedence, reuses pooled upstream
// connections, and turns every upstream failure into an error in the client's schema (before
// the first response byte) or an error event (after it). Runs on its worker's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "http/deadline.hpp"
#include "http/io.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "route/route_table.hpp"

namespace sluice::proxy {

// Filled as a request progresses; written to the access log and metrics once at the end.
struct RequestRecord {
  std::string_view route;    // CompiledRule::id (owned by the snapshot)
  std::string_view backend;  // BackendRuntime::name (owned by the snapshot)
  std::string_view upstream; // endpoint display (owned by the snapshot)
  std::string upstream_path;
  std::string_view path_source;
  std::string model;
  bool stream = false;
  unsigned status = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  double upstream_first_byte_ms = -1;
  std::string_view upstream_error;  // metrics label: connect, timeout, reset, tls, protocol
  std::string error;
  std::string_view translation;  // "openai->anthropic", ... empty when none
  std::string_view provider;     // the provider of an AI Backend that answered (or was tried last)
  unsigned attempts = 0;         // providers tried
  std::int64_t prompt_tokens = -1;      // -1: not known
  std::int64_t completion_tokens = -1;
};

// The schema errors are written in: OpenAI's, or Anthropic's for /v1/messages clients.
enum class ClientSchema { OpenAI, Anthropic };

using RequestHeadParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// The client side of an exchange: its socket and the deadline that bounds each operation.
struct ClientIo {
  http::Socket& socket;
  http::Deadline& deadline;
};

// Serves one routed request whose head `head_parser` has read (its body, if any, is still to be
// read from the client through `buffer`). Returns whether the client connection may serve
// another request.
http::Task<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                              RequestHeadParser& head_parser, boost::beast::flat_buffer& buffer, ClientIo& client,
                              bool keep_alive, RequestRecord& record);

// Writes an error response in the client's schema. Returns whether the connection may be kept.
http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version, bool keep_alive,
                            RequestRecord& record, ClientSchema schema = ClientSchema::OpenAI,
                            std::string_view retry_after = {}, std::string_view extra_headers = {});

// The schema a request path's client speaks (Anthropic for ".../v1/messages").
ClientSchema client_schema_for(std::string_view path);

}  // namespace sluice::proxy
