// One attempt: one try of one provider of an AI Backend (or of a Static Backend) for an
// exchange. In order: the circuit breaker; the provider's Attempt stages (model override); the
// conversion of the body when the provider speaks another schema; the upstream path; the
// UpstreamRequest stages (credentials, then signing over the final bytes); connecting (a pooled
// connection, or a new one) and sending; the ResponseHead stages (a benched key asks for the
// same provider again); the retry decision, taken before an answer is dropped (retry policy and
// budget); and the response relayed as it arrives or converted. Answers the client through the
// exchange's responder unless the attempt failed before any byte reached it and another provider
// may try. Runs on the exchange's worker thread.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "http/api_error.hpp"
#include "http/fields.hpp"
#include "http/io.hpp"
#include "pipeline/responder.hpp"
#include "pipeline/stage.hpp"
#include "policy/retry.hpp"
#include "proxy/heads.hpp"
#include "proxy/snapshot.hpp"
#include "route/route_table.hpp"
#include "translate/select.hpp"

namespace sluice::proxy {

using StreamedBodyParser = http::RequestParser<boost::beast::http::buffer_body>;

// What every attempt of one exchange shares.
struct ExchangeInputs {
  pipeline::RequestContext& request;
  pipeline::Responder& responder;
  const config::Limits& limits;  // the snapshot's the request runs on
  const route::RouteMatchResult& match;
  boost::beast::flat_buffer& client_buffer;
  // A body streamed to the upstream as it arrives (not read whole): its parser, when there is one.
  std::optional<StreamedBodyParser>* streamed_parser = nullptr;
  BodyFraming streamed_framing = BodyFraming::None;
  std::uint64_t streamed_size = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::steady_clock::time_point started;
  translate::ClientApi client_api = translate::ClientApi::OpenAIChat;
  provider::Operation operation = provider::Operation::Other;
  std::string_view action;         // Operation::ModelAction: the Gemini action (points into the target)
  bool json_array_stream = false;  // a Gemini client's stream without alt=sse
  policy::EffectiveRetry retry;
  unsigned attempts = 0;       // tries so far, this one included
  bool counted_retry = false;  // this try is a retry, counted in the worker's retries in flight
};

struct AttemptResult {
  bool responded = false;  // an answer went to the client; `keep` says whether the connection stays
  bool keep = false;
  std::string failure;    // why the attempt failed, when it did not answer (for the final error)
  unsigned status = 502;  // the status a final error would carry
  // A failure that is the client's request, not the provider (a conversion this provider cannot
  // make): the answer when no other provider takes the request.
  std::optional<http::ApiError> request_error;
  bool retry_same = false;              // a stage asked for the same provider again (another key)
  std::chrono::seconds retry_after{0};  // a 429/503 that moved on asked for this pause
  bool circuit_open = false;            // at its circuit-breaker limit: not tried, not a failure
};

// The error answered when an upstream failed (504 upstream_timeout, else upstream_unavailable).
http::ApiError upstream_error(unsigned status, std::string message);

// `can_retry`: another provider remains and the deadline has not passed.
http::Task<AttemptResult> attempt(ExchangeInputs& exchange, const BackendRuntime& target, bool can_retry);

}  // namespace sluice::proxy
