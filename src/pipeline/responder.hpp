// Responder: the one writer of answers to the client. Stages return verdicts; the exchange
// asks the responder to write them (an error in the client's schema, a JSON reply, a local
// response) or to build the head a relay sends. It decides in one place whether the connection
// stays open (the client's wish, the worker not draining, the request body read to its end)
// and which headers every answer carries: x-request-id (the record's request id, every answer;
// an upstream's own x-request-id is renamed x-upstream-request-id), x-sluice-* (every answer of
// an AI Backend, once a provider was tried) and the response header lines the request's stages computed (CORS); it
// feeds the answers it writes whole to the request's response tap, if any. Per
// request; lives in the exchange's coroutine frame; not thread-safe.
#pragma once

#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "http/api_error.hpp"
#include "http/client_stream.hpp"
#include "http/deadline.hpp"
#include "http/fields.hpp"
#include "http/io.hpp"
#include "pipeline/request_record.hpp"
#include "pipeline/stage.hpp"
#include "proxy/heads.hpp"

namespace sluice::pipeline {

// The client side of an exchange: its stream (plain TCP or TLS) and the deadline that bounds
// each operation.
struct ClientIo {
  http::ClientStream& socket;
  http::Deadline& deadline;
};

// How long one write to the client may take.
inline constexpr std::chrono::milliseconds kClientWriteTimeout{60'000};

// Writes an error response in `schema`. `extra_headers`: "name: value\r\n" lines. Returns
// whether the connection may be kept (`keep_alive` and the write succeeded).
http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version, bool keep_alive,
                            RequestRecord& record, ClientSchema schema = ClientSchema::OpenAI,
                            std::string_view retry_after = {}, std::string_view extra_headers = {});

class Responder {
 public:
  // `draining`: the worker's flag, read at each answer (a drain closes connections after their
  // current answer).
  Responder(ClientIo& client, unsigned version, bool keep_alive, const bool& draining, ClientSchema schema,
            RequestRecord& record)
      : client_(client),
        version_(version),
        keep_alive_(keep_alive),
        draining_(draining),
        schema_(schema),
        record_(record) {
    if (!record.request_id.empty()) {
      sluice_headers_.reserve(64 + record.request_id.view().size());
      sluice_headers_.append("x-request-id: ").append(record.request_id.view()).append("\r\n");
      request_id_bytes_ = sluice_headers_.size();
    }
  }

  ClientIo& client() { return client_; }
  unsigned version() const { return version_; }
  ClientSchema schema() const { return schema_; }
  RequestRecord& record() { return record_; }

  // Whether the client's request has been read to its end; until it has, an answer closes the
  // connection (the client may still be sending).
  // `request_read` (a callable returning bool) is kept by reference: it must outlive the
  // responder (no allocation, unlike a std::function holding the callable).
  template <class F>
  void track_request_read(const F& request_read) {
    request_read_context_ = &request_read;
    request_read_ = [](const void* context) { return (*static_cast<const F*>(context))(); };
  }
  // Whether the connection may serve another request after an answer written now.
  bool keep_alive() const {
    return keep_alive_ && !draining_ && (!request_read_ || request_read_(request_read_context_));
  }
  // The answer that follows ends the connection (e.g. a request body that could not be read).
  void close_after() { keep_alive_ = false; }

  // The request's response header edits (applied to relayed and converted heads) and response
  // header lines (written on every answer, errors included), read each time an answer is
  // written; `request` outlives the responder. None until set.
  void use_response_headers(const RequestContext& request) {
    response_edits_ = &request.response_header_edits;
    response_lines_ = &request.response_header_lines;
    response_tap_ = &request.response_tap;
  }
  // The request's response tap (pipeline/response_tap.hpp), for the relays; null when none.
  ResponseTap* tap() const { return response_tap_ == nullptr ? nullptr : *response_tap_; }

  // An AI Backend's provider is being tried (the `attempts`-th try): every later answer names it.
  void set_attempt(std::string_view provider, unsigned attempts);
  std::string_view sluice_headers() const { return sluice_headers_; }

  // Each returns whether the connection may serve another request.
  // `more_headers`: "name: value\r\n" lines of this answer only (a verdict's).
  http::Task<bool> error(const http::ApiError& error, std::string_view retry_after = {},
                         std::string_view more_headers = {});
  // A complete JSON answer (a translated reply, the model list): head and body in one write;
  // `upstream` lends its non-framing headers (request ids, rate limits).
  // `more_headers`: "name: value\r\n" lines of this answer only.
  http::Task<bool> json(unsigned status, std::string body, const http::ResponseHeader* upstream = nullptr,
                        std::string_view more_headers = {});
  // A 204 carries no body, type or length.
  http::Task<bool> local(const LocalResponse& response);
  // What a verdict that stops the request answers.
  http::Task<bool> verdict(const Verdict& verdict);

  // Heads for the relays: an upstream response relayed as it is, or converted by a translator.
  std::string relay_head(const http::ResponseHeader& response, bool keep_alive, proxy::ClientFraming framing) const;
  std::string converted_head(const http::ResponseHeader* upstream, unsigned status, std::string_view content_type,
                             std::size_t content_length, bool keep_alive, proxy::ClientFraming framing) const;

 private:
  ClientIo& client_;
  const HeaderEditList* response_edits_ = nullptr;
  const std::string* response_lines_ = nullptr;
  ResponseTap* const* response_tap_ = nullptr;
  proxy::HeaderEdits response_edits() const {
    return response_edits_ == nullptr ? proxy::HeaderEdits{} : proxy::HeaderEdits(*response_edits_);
  }
  std::string_view response_lines() const {
    return response_lines_ == nullptr ? std::string_view{} : std::string_view(*response_lines_);
  }
  // An answer written whole, told to the response tap (`written`: it reached the client).
  void tap_whole(unsigned status, std::string_view content_type, std::string_view body, bool written) const;
  // `head` (ending with its blank line) with the response header lines added before that line.
  std::string with_response_lines(std::string head) const;
  unsigned version_;
  bool keep_alive_;
  const bool& draining_;
  ClientSchema schema_;
  RequestRecord& record_;
  bool (*request_read_)(const void*) = nullptr;
  const void* request_read_context_ = nullptr;
  std::string sluice_headers_;  // x-request-id, then the x-sluice-* lines
  std::size_t request_id_bytes_ = 0;
};

}  // namespace sluice::pipeline
