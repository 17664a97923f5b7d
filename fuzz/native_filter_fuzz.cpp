// Fuzzes the native text filters (src/translate/native_filter.hpp) and the canonical text
// filtering between decoder and encoder (llm::TextFilteringEvents) with hostile upstream bytes:
// the first byte picks OpenAI chat, Anthropic, Gemini (SSE or JSON array), the Responses API or
// the canonical path, stream or complete reply, and the filter's behaviour
// (a hold-back filter that releases a channel's text a few bytes late, and rejects when the
// text holds "REJECT"). Invariants: no crash or sanitizer report; a stream's output is whole SSE
// events (it ends on a blank line; a Gemini JSON-array stream starts with `[`) and nothing
// follows a rejection; a complete reply is a JSON object or an error.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_chunks.hpp"
#include "llm/text_filter.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/encode_openai_chat.hpp"
#include "translate/native_filter.hpp"

namespace {

using namespace sluice;

// Holds the last `hold` bytes of each channel; rejects a channel whose text holds "REJECT".
class HoldBack final : public llm::TextFilter {
 public:
  explicit HoldBack(std::size_t hold) : hold_(hold) {}
  void feed(const llm::TextChannel& channel, std::string_view text, std::string& released) override {
    auto& held = held_for(channel);
    held.append(text);
    if (held.find("REJECT") != std::string::npos) {
      rejection_ = http::ApiError{403, "invalid_request_error", "content_filter", "rejected", {}};
      return;
    }
    if (held.size() > hold_) {
      released.append(held, 0, held.size() - hold_);
      held.erase(0, held.size() - hold_);
    }
  }
  void finish(const llm::TextChannel& channel, std::string& released) override {
    auto& held = held_for(channel);
    released.append(held);
    held.clear();
  }
  const http::ApiError* rejection() const override { return rejection_ ? &*rejection_ : nullptr; }

 private:
  std::string& held_for(const llm::TextChannel& channel) {
    for (auto& [key, text] : channels_)
      if (key == channel) return text;
    channels_.emplace_back(channel, std::string());
    return channels_.back().second;
  }
  std::size_t hold_;
  std::vector<std::pair<llm::TextChannel, std::string>> channels_;
  std::optional<http::ApiError> rejection_;
};

void check_sse(std::string_view out) {
  if (!out.empty() && out.substr(out.size() - 2) != "\n\n") std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  HoldBack filter(selector >> 4);
  std::unique_ptr<translate::Translator> translator;
  switch (selector & 3) {
    case 0:
      translator = translate::make_openai_native_filter(filter, (selector & 4) != 0, 64 * 1024);
      break;
    case 1:
      translator = translate::make_anthropic_native_filter(filter, 64 * 1024);
      break;
    case 2:
      translator = translate::make_gemini_native_filter(filter, (selector & 4) != 0, 64 * 1024);
      break;
    case 3:
      if ((selector & 4) == 0) {
        translator =
            translate::make_responses_native_filter(filter, {(selector & 0x80) != 0, "resp_previous"}, 64 * 1024);
        break;
      }
      [[fallthrough]];
    default: {
      // The canonical path: an Anthropic stream decoded, filtered, encoded for an OpenAI client.
      translate::EncoderOptions options;
      options.fallback_model = "m";
      translate::StreamConversion<translate::AnthropicStreamDecoder, translate::OpenAiChatStreamEncoder> stream{
          translate::AnthropicStreamDecoder{}, translate::OpenAiChatStreamEncoder{options}};
      stream.filter_text(filter);
      llm::Usage usage;
      std::string out;
      fuzz::ChunkSplitter chunks(data[1]);
      while (!rest.empty() && stream.feed(chunks.next(rest), out, usage)) {
      }
      stream.end(out, usage);
      check_sse(out);
      return 0;
    }
  }
  if ((selector & 8) != 0) {
    std::string body;
    if (!translator->translate_response(rest, body)) {
      boost::system::error_code ec;
      const auto parsed = boost::json::parse(body, ec);
      if (ec || !parsed.is_object()) std::abort();
    }
    return 0;
  }
  std::string out;
  fuzz::ChunkSplitter chunks(data[1]);
  bool reading = true;
  while (!rest.empty() && reading) reading = translator->stream_feed(chunks.next(rest), out);
  const auto before_end = out.size();
  translator->stream_end(out);
  if (filter.rejection() != nullptr && out.size() != before_end) std::abort();  // nothing after a rejection
  if ((selector & 3) == 2 && (selector & 4) != 0) {
    if (!out.empty() && out.front() != '[') std::abort();
  } else {
    check_sse(out);
  }
  return 0;
}
