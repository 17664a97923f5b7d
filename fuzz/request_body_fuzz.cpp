// Fuzzes the two readers of an API request body (src/proxy/request_body.hpp) against each other:
// inspect_json_body (the allocation-free scanner used for bodies forwarded as they are) and
// parse_json_body (the DOM used for bodies that are translated). Invariants, on arbitrary bytes:
// no crash or sanitizer report; one accepts exactly when the other does; an accepted body gives
// both the same "model", "stream" and generation parameters, and those parameters are what a
// lookup in the parsed document finds; with a model override the scanner still accepts, reports
// the override, and its rewritten body parses to the override and the same "stream".
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/request_body.hpp"

namespace {

using sluice::proxy::BodyInfo;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "request_body_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input as a crash artifact
}

bool same(const sluice::proxy::GenerationParameters& a, const sluice::proxy::GenerationParameters& b) {
  return a.max_tokens == b.max_tokens && a.temperature == b.temperature && a.top_p == b.top_p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  std::string scanned = body;
  BodyInfo scan;
  const auto scan_error = sluice::proxy::inspect_json_body(scanned, std::nullopt, scan);
  if (scanned != body) broken("inspect_json_body rewrote a body without an override");

  boost::json::value document;
  BodyInfo dom;
  const auto dom_error = sluice::proxy::parse_json_body(
      body, boost::json::make_shared_resource<boost::json::monotonic_resource>(), document, dom);

  if (scan_error.has_value() != dom_error.has_value()) broken("scanner and parser disagree on acceptance");
  if (scan_error) {
    if (scan_error->status != 400 || dom_error->status != 400) broken("a refused body is not a 400");
    return 0;
  }
  if (!document.is_object()) broken("parse_json_body accepted a non-object");
  if (scan.model != dom.model) broken("scanner and parser extract different models");
  if (scan.stream != dom.stream) broken("scanner and parser extract different stream flags");
  if (!same(scan.parameters, dom.parameters)) broken("scanner and parser extract different parameters");
  if (!same(scan.parameters, sluice::proxy::generation_parameters(document.get_object())))
    broken("the scanned parameters are not the document's");

  std::string rewritten = body;
  BodyInfo over;
  const std::optional<std::string> override_model{"override-model"};
  if (sluice::proxy::inspect_json_body(rewritten, override_model, over)) broken("override refused a valid body");
  if (over.model != *override_model || over.stream != scan.stream) broken("override changed the wrong fields");
  boost::json::value again;
  BodyInfo reparsed;
  // (A number beyond double's range is refused by both readers, so a rewrite never carries
  // `Infinity` or `NaN`.)
  if (sluice::proxy::parse_json_body(rewritten, {}, again, reparsed)) broken("rewritten body does not parse");
  if (reparsed.model != *override_model || reparsed.stream != scan.stream) broken("rewritten body lost the override");
  return 0;
}
