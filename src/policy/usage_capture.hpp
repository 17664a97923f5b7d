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
#include <optional>
#include <string>

#include "pipeline/stage.hpp"

namespace sluice::policy {

std::shared_ptr<const pipeline::Stage> make_usage_capture_stage();

// The request body asking for the usage chunk: `body` (a validated JSON object) with
// "stream_options": {"include_usage": true} added, or merged into the client's stream_options;
// nullopt when the client asked for it itself (the body goes as it is). Parses the body at
// most once, and not at all when it has no stream_options. Exposed for tests.
std::optional<std::string> ask_include_usage(const std::string& body);

}  // namespace sluice::policy
