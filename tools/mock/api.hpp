// Provider-neutral vocabulary between the HTTP server and the provider wire formats.
// A provider format (one file each, e.g. openai_api.cpp) turns an ApiRequest into an ApiReply
// and never touches sockets or timers: the server decides when and how the bytes are written
// (latency, time to first token, delay between stream events, resets).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice::mock {

// A text chosen by the client (x-mock-reply, x-mock-tool-args) and the pieces it is streamed in.
// The pieces are never empty and cover the text in order; an empty text has none.
struct ScriptedText {
  std::string text;
  std::vector<std::size_t> ends;  // byte offset where each piece ends; the last is text.size()

  std::size_t pieces() const { return ends.size(); }
  std::string_view piece(std::size_t index) const {
    const std::size_t begin = index == 0 ? 0 : ends[index - 1];
    return std::string_view(text).substr(begin, ends[index] - begin);
  }
  std::string_view through(std::size_t index) const {  // the pieces 0..index joined
    return std::string_view(text).substr(0, ends[index]);
  }
};

// One request, read fully, with the shaping parameters already resolved from headers and CLI.
struct ApiRequest {
  std::string_view method;
  std::string_view target;  // path + query, exactly as received
  std::string_view path;    // target without the query string
  std::string_view query;   // what follows '?' in the target (empty if none)
  std::string_view body;
  const boost::json::value* json = nullptr;             // the body parsed as JSON, null if it is not JSON
  const boost::beast::http::fields* headers = nullptr;  // the request headers, if known
  int chunks = 4;  // content pieces of a generated reply (x-mock-chunks, else --chunks)
  // The body's max_tokens / max_completion_tokens (OpenAI chat, Anthropic) was below `chunks`:
  // the reply was cut to that many pieces (one token each) and ends as a provider's does at
  // its output limit (finish_reason "length", stop_reason "max_tokens").
  bool cut_at_max_tokens = false;
  int dims = 8;                   // embedding dimension unless the body says otherwise (x-mock-dims, else --dims)
  long cache_read = -1;           // x-mock-cache-read (Anthropic), -1 when absent
  long thoughts = -1;             // x-mock-thoughts (Gemini), -1 when absent
  std::string_view stream_error;  // x-mock-stream-error: error/exception type sent mid-stream
  const ScriptedText* reply_text = nullptr;  // x-mock-reply replacing the generated text, null when absent
  const ScriptedText* tool_args = nullptr;   // x-mock-tool-args replacing generated tool arguments, null when absent
  std::string_view aws_access_key_id;        // --aws-access-key-id (Bedrock SigV4)
  std::string_view aws_secret_access_key;    // --aws-secret-access-key
  // --models: the ids every format's model list names instead of its own defaults (empty: the
  // defaults); --models-page-size: the most models a page of a paginated list holds (0: the
  // provider's page size rules alone).
  const std::vector<std::string>* models = nullptr;
  std::size_t models_page_size = 0;

  // The first value of a request header (case-insensitive name), nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const {
    if (headers == nullptr) return std::nullopt;
    const auto found = headers->find(name);
    if (found == headers->end()) return std::nullopt;
    return found->value();
  }
};

// A reply written at once, with a Content-Length.
struct FullReply {
  unsigned status = 200;
  std::string_view content_type = "application/json";  // points to static storage
  std::string body;
  std::string headers;  // extra response headers, as "name: value\r\n" lines
};

// A reply streamed with chunked transfer encoding, one HTTP chunk per event.
struct StreamReply {
  std::string_view content_type = "text/event-stream";  // points to static storage
  std::vector<std::string> events;                      // each already framed for the wire, e.g. "data: {...}\n\n"
  std::string headers;                                  // extra response headers, as "name: value\r\n" lines
};

using ApiReply = std::variant<FullReply, StreamReply>;

}  // namespace sluice::mock
