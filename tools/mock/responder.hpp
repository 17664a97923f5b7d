// Decides what the mock answers to one request, without doing any I/O: resolves the fault and
// shaping headers (x-mock-*) over the CLI defaults, serves /echo, dispatches the provider
// endpoints, and builds the echo headers every response carries. The server executes the plan.
// Promises: never throws on hostile input; an invalid x-mock-* header yields a 400 plan.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api.hpp"

namespace sluice::mock {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using RequestHeader = boost::beast::http::request_header<>;

// Behaviour when a request carries no x-mock-* header (set from the command line).
struct Defaults {
  unsigned status = 200;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds ttft{0};
  std::chrono::milliseconds chunk_delay{0};
  int chunks = 4;
  int dims = 8;
  std::string aws_access_key_id = "AKIDMOCKEXAMPLE";  // Bedrock SigV4 verification
  std::string aws_secret_access_key = "mock-secret-key";
  // --key-status KEY=STATUS: a request whose key (Bearer, x-api-key, api-key, x-goog-api-key)
  // is KEY gets STATUS, in the provider's error shape (key rotation tests).
  std::vector<std::pair<std::string, unsigned>> key_status;
  // --models ID,...: the model lists of every format name these (empty: each format's own).
  std::vector<std::string> models;
  // --models-page-size N: a paginated model list (Anthropic, Gemini) holds at most N per page.
  std::size_t models_page_size = 0;
  // --outage PERIOD/DOWN/OFFSET/MODE (milliseconds): scheduled outages for chaos tests. Every
  // PERIOD ms, counted from start + OFFSET, the mock is down for DOWN ms: it answers 503
  // (MODE 503) or resets each connection before answering (MODE reset).
  struct Outage {
    std::chrono::milliseconds period{0};
    std::chrono::milliseconds down{0};
    std::chrono::milliseconds offset{0};
    bool reset = false;
  };
  std::optional<Outage> outage;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

enum class Reset {
  none,
  before_headers,       // read the request, answer nothing, reset the connection
  mid_stream,           // send the headers and the first half of the reply, then reset
  close_after_request,  // read the request, answer nothing, close the connection (FIN, no RST)
};

struct ResponsePlan {
  bool blackhole = false;  // read the request and never answer
  Reset reset = Reset::none;
  std::chrono::milliseconds latency{0};      // before the response headers
  std::chrono::milliseconds ttft{0};         // streams: after the headers, before the first event
  std::chrono::milliseconds chunk_delay{0};  // streams: between events
  std::string headers;                       // echo headers and extras, as "name: value\r\n" lines
  ApiReply reply;
};

ResponsePlan plan_response(const Request& request, const Defaults& defaults, std::uint64_t connection_id);

// The echo headers for a request whose body could not be read (e.g. too large).
std::string echo_headers(const RequestHeader& header, std::uint64_t connection_id);

// The error reply for a request the server could not read (malformed, too large).
FullReply unreadable_request(unsigned status, std::string_view message);

}  // namespace sluice::mock
