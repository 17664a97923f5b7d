// Credential stage: the provider's key on each upstream request of an AI Backend — the
// configured key (inline or from a Secret), the next key not benched of a provider with several
// (a Secret holding apiKey, apiKey2, ...), or the client's own credential (Passthrough). Sluice
// replaces whatever credential the client sent. A key the provider refuses (401/403) or finds
// out of quota (429) is benched (5 minutes; a 429 for its Retry-After, else a minute) and the
// request is tried again on the same provider with the next key. Stateless (the key rotation
// state is the provider's KeyRing); thread-safe.
#pragma once

#include <memory>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_credential_stage();

}  // namespace sluice::policy
