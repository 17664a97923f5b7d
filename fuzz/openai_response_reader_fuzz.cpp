// libFuzzer target for the native OpenAI response reader (translate/openai_response_reader):
// arbitrary upstream bytes, fed in pieces whose size the first input byte chooses, as a stream
// or a JSON body, with and without dropping the usage chunk. Invariants: no crash or sanitizer
// report; without dropping, the bytes forwarded are exactly the bytes received (the reader only
// reads); with dropping, it never forwards more than it received; the names it keeps are bounded;
// a JSON body is read exactly as a parsed document (boost::json::value, the reference) says:
// the same model, finish reason and usage as the reader's one-pass scan.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "translate/openai_response_reader.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::string run(sluice::translate::OpenAiResponseReader& reader, std::string_view body, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) reader.feed(body.substr(at, piece), out);
  reader.finish(out);
  return out;
}

std::uint64_t reference_count(const boost::json::object& usage, std::string_view key) {
  const auto* value = usage.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0) return static_cast<std::uint64_t>(value->as_int64());
  return 0;
}

// What a JSON body says, read from the parsed document: the reference for the reader's scan.
void check_against_document(const sluice::translate::OpenAiResponseReader& reader, std::string_view body) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  sluice::translate::Usage usage;
  std::string model;
  std::string finish_reason;
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    if (const auto* m = object.if_contains("model"); m && m->is_string())
      model = std::string(std::string_view(m->as_string()).substr(0, 256));
    if (const auto* choices = object.if_contains("choices"); choices && choices->is_array()) {
      for (const auto& choice : choices->as_array()) {
        if (!choice.is_object()) continue;
        const auto* reason = choice.as_object().if_contains("finish_reason");
        if (reason && reason->is_string())
          finish_reason = std::string(std::string_view(reason->as_string()).substr(0, 256));
      }
    }
    if (const auto* u = object.if_contains("usage"); u && u->is_object()) {
      const auto& counts = u->as_object();
      usage.prompt_tokens = reference_count(counts, "prompt_tokens");
      usage.completion_tokens = reference_count(counts, "completion_tokens");
      usage.total_tokens = reference_count(counts, "total_tokens");
      if (const auto* d = counts.if_contains("prompt_tokens_details"); d && d->is_object())
        usage.cached_tokens = reference_count(d->as_object(), "cached_tokens");
      if (const auto* d = counts.if_contains("completion_tokens_details"); d && d->is_object())
        usage.reasoning_tokens = reference_count(d->as_object(), "reasoning_tokens");
      usage.known = true;
    }
  }
  const auto& read = reader.usage();
  check(reader.model() == model && reader.finish_reason() == finish_reason);
  check(read.known == usage.known && read.prompt_tokens == usage.prompt_tokens &&
        read.completion_tokens == usage.completion_tokens && read.total_tokens == usage.total_tokens &&
        read.cached_tokens == usage.cached_tokens && read.reasoning_tokens == usage.reasoning_tokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + (data[0] & 0x3f);
  const bool stream = (data[0] & 0x40) == 0;
  const std::size_t bound = (data[0] & 0x80) ? 64 : 1 << 20;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  sluice::translate::OpenAiResponseReader reading(stream, false, bound);
  check(run(reading, body, piece) == body);
  check(reading.model().size() <= 256 && reading.finish_reason().size() <= 256);
  if (!stream && body.size() <= bound) check_against_document(reading, body);

  sluice::translate::OpenAiResponseReader dropping(stream, true, bound);
  check(run(dropping, body, piece).size() <= body.size());
  return 0;
}
