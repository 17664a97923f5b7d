// Fuzzes the provider decoders (src/translate/decode_*.hpp) with hostile upstream bytes, every
// provider format in and every client schema out: the first input byte picks the decoder (OpenAI,
// Anthropic, Gemini, Bedrock; JSON mode on or off) and whether the rest is a stream (fed in
// input-derived chunks) or a complete reply; the decoded events go to the OpenAI chat and the
// Anthropic Messages encoders at once. Invariants: no crash or sanitizer report; the event
// contract holds (one MessageStart, nothing after Error or End); feed() keeps returning false
// after an Error; the encoders write whole SSE events with JSON data, nothing once closed, and
// complete bodies that are JSON objects.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "codec_check.hpp"
#include "fuzz_chunks.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/decode_bedrock.hpp"
#include "translate/decode_gemini.hpp"
#include "translate/decode_openai.hpp"
#include "translate/encode_anthropic_messages.hpp"
#include "translate/encode_openai_chat.hpp"

namespace {

using namespace sluice::translate;
namespace fuzz = sluice::fuzz;

std::unique_ptr<StreamDecoder> make_decoder(unsigned which, bool json_mode) {
  const std::string json_tool = json_mode ? "json_response" : "";
  switch (which % 4) {
    case 0:
      return std::make_unique<OpenAiStreamDecoder>();
    case 1:
      return std::make_unique<AnthropicStreamDecoder>(json_tool);
    case 2:
      return std::make_unique<GeminiStreamDecoder>();
    default:
      return std::make_unique<BedrockStreamDecoder>(json_tool);
  }
}

std::optional<sluice::http::ApiError> decode_complete(unsigned which, bool json_mode, std::string_view body,
                                                      sluice::llm::EventSink& sink) {
  const std::string_view json_tool = json_mode ? "json_response" : "";
  switch (which % 4) {
    case 0:
      return decode_openai_response(body, sink);
    case 1:
      return decode_anthropic_response(body, json_tool, sink);
    case 2:
      return decode_gemini_response(body, sink);
    default:
      return decode_bedrock_response(body, json_tool, sink);
  }
}

EncoderOptions options(bool include_usage) {
  EncoderOptions o;
  o.fallback_model = "model-x";
  o.include_usage = include_usage;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned selector = data[0];
  const bool json_mode = (selector & 0x10) != 0;
  const bool include_usage = (selector & 0x20) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  if ((selector & 0x40) != 0) {
    OpenAiChatResponseEncoder openai(options(include_usage));
    AnthropicResponseEncoder anthropic(options(include_usage));
    fuzz::Fanout both(openai, anthropic);
    fuzz::ContractCheck check(both);
    if (!decode_complete(selector, json_mode, rest, check)) {
      fuzz::check_json(openai.body());
      fuzz::check_json(anthropic.body());
    }
    return 0;
  }

  auto decoder = make_decoder(selector, json_mode);
  OpenAiChatStreamEncoder openai(options(include_usage));
  AnthropicStreamEncoder anthropic(options(include_usage));
  fuzz::CheckedEncoder openai_sink(openai);
  fuzz::CheckedEncoder anthropic_sink(anthropic);
  fuzz::Fanout both(openai_sink, anthropic_sink);
  fuzz::ContractCheck check(both);
  fuzz::ChunkSplitter chunks(data[1]);
  bool ok = true;
  while (!rest.empty()) {
    const bool fed = decoder->feed(chunks.next(rest), check);
    if (!ok && fed) std::abort();  // a failed decoder stays failed
    ok = fed;
  }
  decoder->end(check);
  if (!ok && decoder->feed("data: {}\n\n", check)) std::abort();
  return 0;
}
