// The response store's echo on a native Responses API answer: an OpenAI-format provider was
// sent store: false and no previous_response_id (policy/response_store.hpp keeps the state), so
// its response objects say so; this rewrites them to say what the client asked, as OpenAI's own
// stored responses do: `store: true` when Sluice keeps the answer, and the
// `previous_response_id` the request continued.
//
// A Translator (the request direction is the identity) the exchange runs on a 2xx native answer,
// uncompressed: a complete body's top-level response object, or a stream's events whose data has
// a `response` object (response.created, .in_progress, .completed, .incomplete, .failed) are
// parsed and written back with those two members set; every other event passes as it came.
// Usage and the model are read as the relay would (translate/passthrough_usage.hpp). An event
// past `max_event_bytes` ends the stream with an error event. One per response; not thread-safe;
// never throws.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "translate/translator.hpp"

namespace sluice::translate {

// What the response store asks a native answer's response objects to say. Also applied by the
// native Responses text filter (native_filter.hpp), which reads the same events when a response
// guard applies.
struct StoreEcho {
  bool stored = false;               // Sluice keeps the answer: `store: true`
  std::string previous_response_id;  // the conversation continued; empty: none

  bool any() const { return stored || !previous_response_id.empty(); }
  void apply(boost::json::object& response) const {
    if (stored) response["store"] = true;
    if (!previous_response_id.empty()) response["previous_response_id"] = previous_response_id;
  }
};

std::unique_ptr<Translator> make_responses_store_echo(bool stream, StoreEcho echo, std::size_t max_event_bytes);

}  // namespace sluice::translate
