// Provider-neutral vocabulary between the HTTP server and the provider wire formats.
// A provider format (one file each, e.g. openai_api.cpp) turns an ApiRequest into an ApiReply
// and never touches sockets or timers: the server decides when and how the bytes are written
// (latency, time to first token, delay between stream events, resets).
#pragma once

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice::mock {

// One request, read fully, with the shaping parameters already resolved from headers and CLI.
struct ApiRequest {
  std::string_view method;
  std::string_view target;  // path + query, exactly as received
  std::string_view path;    // target without the query string
  std::string_view body;
  const boost::json::value* json = nullptr;  // the body parsed as JSON, null if it is not JSON
  int chunks = 4;  // content pieces of a generated reply (x-mock-chunks, else --chunks)
  int dims = 8;    // embedding dimension unless the body says otherwise (x-mock-dims, else --dims)
};

// A reply written at once, with a Content-Length.
struct FullReply {
  unsigned status = 200;
  std::string_view content_type = "application/json";  // points to static storage
  std::string body;
};

// A reply streamed with chunked transfer encoding, one HTTP chunk per event.
struct StreamReply {
  std::string_view content_type = "text/event-stream";  // points to static storage
  std::vector<std::string> events;  // each already framed for the wire, e.g. "data: {...}\n\n"
};

using ApiReply = std::variant<FullReply, StreamReply>;

}  // namespace sluice::mock
