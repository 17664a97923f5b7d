// The exchange: the orchestrator of one routed client request. It reads as the request path:
// choose the Backend, run the request-head stages, read the body when the request needs it
// (JSON APIs, signing, body stages), run the body stages, plan the providers to try, try them
// in order under the retry policy (proxy/attempt.hpp does one try: attempt stages, conversion,
// the upstream request, the response relayed or converted), and answer through the responder.
// Policies live in stages (pipeline/stage.hpp, src/policy/), not here. The Complete phase runs
// exactly once, whatever ends the request. Runs on its worker's thread.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string_view>

#include "http/fields.hpp"
#include "http/io.hpp"
#include "pipeline/request_record.hpp"
#include "pipeline/responder.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker.hpp"
#include "route/route_table.hpp"

namespace sluice::proxy {

using pipeline::ClientIo;
using pipeline::ClientSchema;
using pipeline::RequestRecord;
using pipeline::send_error;

using RequestHeadParser = http::RequestParser<boost::beast::http::empty_body>;

// Serves one routed request whose head `head_parser` has read (its body, if any, is still to be
// read from the client through `buffer`) from the client at `peer` (its address). Returns
// whether the client connection may serve another request.
http::Task<bool> run_exchange(Worker& worker, const Snapshot& snapshot, const route::RouteMatchResult& match,
                              RequestHeadParser& head_parser, boost::beast::flat_buffer& buffer, ClientIo& client,
                              bool keep_alive, RequestRecord& record, std::string_view peer);

// The schema a request path's client speaks (Anthropic for ".../v1/messages").
ClientSchema client_schema_for(std::string_view path);

}  // namespace sluice::proxy
