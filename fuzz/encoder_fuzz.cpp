// Fuzzes the client encoders (src/translate/encode_*.hpp) with arbitrary event sequences, so
// orders no decoder produces today are covered too: the input is a program of one event per
// line, `<kind><fields separated by '|'>`:
//   S<id>|<model>|<opened 0/1>   T<choice>|<text>   R<choice>|<text>
//   G<choice>|<signature>|<redacted 0/1>   C<index>|<id>|<name>|<arguments>|<choice>|<signature>
//   U<prompt>|<completion>|<cached>|<writes>
//   F<reason 0-4>|<raw>|<choice>   E   X<status>|<message>
// Text in events is valid UTF-8 (decoders take it from parsed JSON), so fields that are not are
// made so (bytes of invalid sequences become '?'). Every event goes to the OpenAI chat, Anthropic Messages and
// Responses API stream encoders and to the three complete-reply encoders. Invariants: no crash or sanitizer report;
// whole SSE events with JSON data; nothing written once an encoder is closed; complete bodies are JSON objects.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec_check.hpp"
#include "translate/encode_anthropic_messages.hpp"
#include "translate/encode_openai_chat.hpp"
#include "translate/encode_openai_responses.hpp"

namespace {

using namespace sluice;
using namespace sluice::translate;
using fuzz::fields;
using fuzz::text;
using fuzz::valid_utf8;

std::uint64_t number(const std::vector<std::string_view>& f, std::size_t i) {
  std::uint64_t n = 0;
  if (i < f.size()) std::from_chars(f[i].data(), f[i].data() + f[i].size(), n);
  return n % 1000000;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view program(reinterpret_cast<const char*>(data), size);
  EncoderOptions options;
  options.fallback_model = "model-x";
  options.include_usage = size % 2 == 0;
  OpenAiChatStreamEncoder openai(options);
  AnthropicStreamEncoder anthropic(options);
  OpenAiChatResponseEncoder openai_reply(options);
  AnthropicResponseEncoder anthropic_reply(options);
  ResponseEcho echo;
  if (size % 3 == 0)
    echo.fields = {{"instructions", "i"}, {"metadata", {{"k", "v"}}}, {"reasoning", {{"effort", "low"}}}};
  ResponsesStreamEncoder responses(options, echo);
  ResponsesResponseEncoder responses_reply(options, echo);
  fuzz::CheckedEncoder openai_sink(openai);
  fuzz::CheckedEncoder anthropic_sink(anthropic);
  fuzz::CheckedEncoder responses_sink(responses);
  while (!program.empty()) {
    const auto end = program.find('\n');
    const std::string line = valid_utf8(program.substr(0, end));
    program.remove_prefix(end == std::string_view::npos ? program.size() : end + 1);
    if (line.empty()) continue;
    const auto f = fields(std::string_view(line).substr(1));
    llm::Event event;
    switch (line.front()) {
      case 'S':
        event = llm::MessageStart{text(f, 0), text(f, 1), number(f, 2) == 1};
        break;
      case 'T':
        event = llm::TextDelta{number(f, 0) % 4, text(f, 1)};
        break;
      case 'R':
        event = llm::ReasoningDelta{number(f, 0) % 4, text(f, 1)};
        break;
      case 'G':
        event = llm::ReasoningSignature{number(f, 0) % 4, text(f, 1), number(f, 2) == 1};
        break;
      case 'C':
        event = llm::ToolCallDelta{number(f, 0) % 64, text(f, 1), text(f, 2), text(f, 3), number(f, 4) % 4, text(f, 5)};
        break;
      case 'U': {
        llm::Usage usage;
        usage.prompt_tokens = number(f, 0);
        usage.completion_tokens = number(f, 1);
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        usage.cached_tokens = number(f, 2);
        usage.cache_creation_tokens = number(f, 3);
        usage.known = true;
        event = llm::UsageEvent{usage};
        break;
      }
      case 'F':
        event = llm::Finish{static_cast<llm::FinishReason>(number(f, 0) % 5), text(f, 1), number(f, 2) % 4};
        break;
      case 'E':
        event = llm::End{};
        break;
      case 'X':
        event = llm::Error{http::ApiError{static_cast<unsigned>(400 + number(f, 0) % 200), "server_error", "x",
                                          std::string(text(f, 1)), std::nullopt}};
        break;
      default:
        continue;
    }
    openai_sink.on_event(event);
    anthropic_sink.on_event(event);
    openai_reply.on_event(event);
    anthropic_reply.on_event(event);
    responses_sink.on_event(event);
    responses_reply.on_event(event);
  }
  fuzz::check_json(openai_reply.body());
  fuzz::check_json(anthropic_reply.body());
  fuzz::check_json(responses_reply.body());
  return 0;
}
