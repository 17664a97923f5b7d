// Cost report stage: tells the client what each 2xx chat, messages or embeddings reply cost,
// priced from its usage like the access log's cost_usd (pricing::record_cost). A complete reply
// carries the header `x-sluice-cost-usd: 0.000123` (USD, six decimals); a stream carries
// `"sluice_cost_usd": 0.000123` in its final usage object (the OpenAI usage chunk, Anthropic's
// message_delta), since its head left before the usage was known. No price for the model, or
// no usage in the reply: nothing is reported. Attached to every rule after usage capture (which
// reads the usage) unless Gateway spec.pricing.reportCost is false. Stateless, thread-safe.
#pragma once

#include <memory>

#include "pipeline/stage.hpp"

namespace sluice::pricing {
class PriceBook;
}

namespace sluice::policy {

// `prices`: the snapshot's, which outlives the stage.
std::shared_ptr<const pipeline::Stage> make_cost_report_stage(const pricing::PriceBook& prices);

}  // namespace sluice::policy
