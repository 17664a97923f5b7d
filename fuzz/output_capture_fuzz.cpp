// libFuzzer target for the captureContent readers: proxy::OutputCapture (answers) and
// proxy::capture_input (request bodies). The input picks the client API, a complete reply or a
// stream, and the chunks the body arrives in; the same bytes are also read as a request body.
// Invariants checked: no crash or sanitizer report; the text kept is at most kMaxCapturedText
// bytes; the span attribute written at the end is a JSON array (so also valid UTF-8) of one
// message; the request's attributes are empty or JSON arrays, within their limits.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_chunks.hpp"
#include "proxy/input_capture.hpp"
#include "proxy/output_capture.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  using sluice::route::ApiKind;
  static constexpr ApiKind kApis[] = {ApiKind::ChatCompletions, ApiKind::Messages, ApiKind::Responses,
                                      ApiKind::GeminiGenerate};
  const auto api = kApis[data[0] % 4];
  const bool stream = (data[0] & 4) != 0;
  sluice::observe::RequestTrace trace;
  trace.capture = (data[0] & 8) != 0 ? sluice::config::CaptureContent::Full : sluice::config::CaptureContent::Metadata;
  sluice::proxy::OutputCapture capture(trace, api, nullptr);
  capture.begin(200, stream ? "text/event-stream" : "application/json");
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  sluice::fuzz::ChunkSplitter chunks(data[1]);
  while (!rest.empty()) capture.body(chunks.next(rest));
  capture.end(true);
  check(capture.text().size() <= sluice::proxy::OutputCapture::kMaxCapturedText);
  boost::system::error_code ec;
  const auto out = boost::json::parse(trace.output_messages, ec);
  check(!ec && out.is_array() && out.as_array().size() == 1);

  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto request = boost::json::parse(body, ec);
  if (ec || !request.is_object()) return 0;
  const auto input = sluice::proxy::capture_input(request.as_object(), (data[0] & 16) ? ApiKind::Embeddings : api,
                                                  trace.capture == sluice::config::CaptureContent::Full);
  for (const auto* attribute : {&input.system_instructions, &input.messages}) {
    if (attribute->empty()) continue;
    const auto parsed = boost::json::parse(*attribute, ec);
    check(!ec && parsed.is_array());
  }
  return 0;
}
