// The response store (Gateway `spec.responseStore`): the Responses API's stored responses, kept
// by Sluice so `previous_response_id`, `store` and `item_reference` work on every provider —
// translated ones included — and a conversation continues across providers.
//
// A RequestBody stage on every rule when the Gateway has a store; it acts on Responses API
// requests only (others pass at the cost of one comparison):
//   - `previous_response_id`: the stored conversation of that response (its input items and its
//     output items) is put before this request's input, and the field removed. A response that
//     is not stored, has expired, or was stored for another principal is a 400
//     `previous_response_not_found` naming the field (never another principal's existence).
//   - `item_reference` items: replaced by the stored item (an output item of a stored response,
//     same principal), else a 400 naming `input[i].id`.
//   - `store` (true unless the request says false): the answer is kept. The provider is sent
//     `store: false` either way: Sluice keeps the state, not the provider.
//   - What was taken out is put in the RequestContext (responses_stored,
//     responses_previous_id), so a translated answer echoes `store: true` and the
//     `previous_response_id` as OpenAI's would.
// Filling: a tap on the answer the client receives (a complete `response` object, or a stream's
// `response.completed` / `response.incomplete` event) keeps, at Complete, the conversation
// (the input items sent, then the output items) under the response's id, and each output item
// under its id, for `ttl`; an answer that is not 2xx, did not end complete, or exceeds
// maxEntryBytes is not kept.
//
// Stores: Memory (state/memory_cache.hpp, bounded by maxBytes, kept across reloads in the
// runtime registry) or Redis (`GET` / `SET <keyPrefix>responses:<id> … PX <ttl>` through the
// worker's client, shared by every replica; a Redis failure to look up is a 503
// `response_store_unavailable`, a failure to store is logged).
//
// Entries are JSON: {"principal": <id or "">, "items": [...]} for a response, {"principal",
// "item": {...}} for an item. The stage is immutable and shared by every worker; a request's
// state lives in its RequestContext.
#pragma once

#include <memory>

#include "config/resources.hpp"
#include "pipeline/stage.hpp"

namespace sluice::state {
class MemoryCache;
}

namespace sluice::policy {

// `memory`: the Memory store (null for Redis).
std::shared_ptr<const pipeline::Stage> make_response_store_stage(const config::ResponseStore& settings,
                                                                 std::shared_ptr<state::MemoryCache> memory);

}  // namespace sluice::policy
