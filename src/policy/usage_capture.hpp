// Usage capture stage: the access log's wish to know what every AI response cost. It declares
// the ResponseEvents phase, so the exchange reads native OpenAI-format responses too (usage,
// finish reason, answering model into the request record; translated responses are read by
// their translator anyway). For a native stream whose client did not ask for
// stream_options.include_usage it asks the provider for it (the extra usage chunk is removed
// from what the client receives), and it asks for an uncompressed answer so the body can be
// read. Attached to every rule unless Gateway spec.accessLog.captureUsage is false. Stateless,
// thread-safe.
#pragma once

#include <memory>
#include <string>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_usage_capture_stage();

// `body` (a validated JSON object) with "stream_options": {"include_usage": true} added, or
// merged into the client's stream_options. Exposed for tests.
std::string with_include_usage(const std::string& body);

// Whether the client's request asked for the usage chunk itself.
bool asks_include_usage(const std::string& body);

}  // namespace sluice::policy
