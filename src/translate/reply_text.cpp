#include "translate/reply_text.hpp"

#include <memory>
#include <variant>

#include "translate/decode_anthropic.hpp"
#include "translate/decode_bedrock.hpp"
#include "translate/decode_gemini.hpp"
#include "translate/decode_openai.hpp"

namespace sluice::translate {

namespace {

class TextCollector final : public llm::EventSink {
 public:
  explicit TextCollector(ReplyTexts& out) : out_(out) {}
  void on_event(const llm::Event& event) override {
    if (const auto* text = std::get_if<llm::TextDelta>(&event)) {
      if (text->index >= kMaxChoices) return;
      if (out_.choices.size() <= text->index) out_.choices.resize(text->index + 1);
      out_.choices[text->index].append(text->text);
    } else if (const auto* error = std::get_if<llm::Error>(&event)) {
      if (!out_.error) out_.error = error->error;
    }
  }

 private:
  static constexpr std::uint64_t kMaxChoices = 128;
  ReplyTexts& out_;
};

std::unique_ptr<StreamDecoder> stream_decoder(provider::WireFormat format) {
  switch (format) {
    case provider::WireFormat::OpenAI:
      return std::make_unique<OpenAiStreamDecoder>();
    case provider::WireFormat::Anthropic:
    case provider::WireFormat::VertexAnthropic:
      return std::make_unique<AnthropicStreamDecoder>();
    case provider::WireFormat::Gemini:
    case provider::WireFormat::VertexGemini:
      return std::make_unique<GeminiStreamDecoder>();
    case provider::WireFormat::Bedrock:
      return std::make_unique<BedrockStreamDecoder>();
  }
  return nullptr;
}

std::optional<http::ApiError> decode_complete(provider::WireFormat format, std::string_view body,
                                              llm::EventSink& sink) {
  switch (format) {
    case provider::WireFormat::OpenAI:
      return decode_openai_response(body, sink);
    case provider::WireFormat::Anthropic:
    case provider::WireFormat::VertexAnthropic:
      return decode_anthropic_response(body, {}, sink);
    case provider::WireFormat::Gemini:
    case provider::WireFormat::VertexGemini:
      return decode_gemini_response(body, sink);
    case provider::WireFormat::Bedrock:
      return decode_bedrock_response(body, {}, sink);
  }
  return std::nullopt;
}

}  // namespace

ReplyTexts reply_texts(provider::WireFormat format, bool stream, std::string_view body) {
  ReplyTexts out;
  TextCollector collector(out);
  if (stream) {
    auto decoder = stream_decoder(format);
    decoder->feed(body, collector);
    decoder->end(collector);
  } else if (auto error = decode_complete(format, body, collector)) {
    out.error = std::move(error);
  }
  if (out.choices.empty()) out.choices.emplace_back();
  return out;
}

}  // namespace sluice::translate
