// SigV4 signing stage: a Bedrock provider's requests are signed with AWS Signature Version 4
// over exactly what goes on the wire (method, Host, path, query, body hash). Runs last of the
// UpstreamRequest phase, after every stage that could change the request; the signature always
// travels in Authorization (a configured authHeader does not apply). Stateless, thread-safe.
#pragma once

#include <memory>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_aws_sigv4_signing_stage();

}  // namespace sluice::policy
