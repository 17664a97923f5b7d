#include "translate/reply_text.hpp"

#include <boost/json.hpp>
#include <memory>
#include <variant>

#include "translate/common.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/decode_bedrock.hpp"
#include "translate/decode_gemini.hpp"
#include "translate/decode_openai.hpp"
#include "translate/json_array_stream.hpp"
#include "translate/sse_parser.hpp"

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

namespace json = boost::json;

// The text of a Responses API reply's output messages (choice 0): a complete response, or a
// stream's output_text deltas (its final response when it had none).
ReplyTexts responses_reply_texts(bool stream, std::string_view body) {
  ReplyTexts out;
  out.choices.emplace_back();
  const auto output_text = [&out](const json::object& response) {
    const auto* output = response.if_contains("output");
    if (output == nullptr || !output->is_array()) return;
    for (const auto& item : output->get_array()) {
      const auto* object = item.if_object();
      if (object == nullptr || string_or(*object, "type") != "message") continue;
      const auto* content = object->if_contains("content");
      if (content == nullptr || !content->is_array()) continue;
      for (const auto& part : content->get_array())
        if (const auto* p = part.if_object(); p != nullptr && string_or(*p, "type") == "output_text")
          out.choices[0].append(string_or(*p, "text"));
    }
  };
  boost::system::error_code ec;
  if (!stream) {
    const auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      out.error = bad_upstream("the provider's reply is not a JSON object");
      return out;
    }
    output_text(parsed.get_object());
    return out;
  }
  bool deltas = false;
  json::object final_response;
  SseParser parser(body.size() + 1);
  parser.feed(body, [&](const SseEvent& event) {
    const auto parsed = json::parse(event.data, ec);
    if (ec || !parsed.is_object()) return;
    const auto& object = parsed.get_object();
    const auto type = string_or(object, "type");
    if (type == "response.output_text.delta") {
      out.choices[0].append(string_or(object, "delta"));
      deltas = true;
    } else if (type == "response.completed" || type == "response.incomplete") {
      if (const auto* response = object_or_null(object.if_contains("response"))) final_response = *response;
    } else if (type == "response.failed" || type == "error") {
      if (!out.error) out.error = bad_upstream("the provider's stream reported an error");
    }
  });
  if (!deltas) output_text(final_response);
  return out;
}

}  // namespace

ReplyTexts reply_texts(provider::WireFormat format, bool stream, std::string_view body, ReplyFormat reply_format) {
  if (reply_format == ReplyFormat::Responses) return responses_reply_texts(stream, body);
  ReplyTexts out;
  TextCollector collector(out);
  if (stream && reply_format == ReplyFormat::GeminiJsonArray) {
    // Each element of the array is one event of the SSE form.
    GeminiStreamDecoder decoder;
    JsonArrayStream array(body.size() + 1);
    std::string event;
    const bool ok = array.feed(body, [&](std::string_view element) {
      event.assign("data: ").append(element).append("\n\n");
      decoder.feed(event, collector);
    });
    if (!ok || !array.closed()) out.error = bad_upstream("the provider's stream is not a complete JSON array");
    decoder.end(collector);
  } else if (stream) {
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
