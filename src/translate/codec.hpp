// The two halves of a response translation. A provider's reply is decoded into canonical events
// (src/llm/events.hpp) by the decoder of its wire format; the events are encoded into the
// client's schema by the encoder of that schema. A Translator for (client schema, provider
// format) is then one decoder plus one encoder (see anthropic_client.cpp), and a new client
// schema costs one encoder, a new provider format one decoder.
//
//   decoders (decode_<format>.hpp):  upstream stream bytes / complete body -> llm::Event
//   encoders (encode_<schema>.hpp):  llm::Event -> client SSE events / complete body
//
// Streams are never buffered whole: a stream decoder emits the events of each complete
// upstream event as soon as its bytes arrive, and a stream encoder writes the client bytes of
// each event at once. A complete-reply encoder collects the events of one reply and renders the
// body at the end. Each object serves one response: not thread-safe, never throws (every
// problem becomes an llm::Error event or an http::ApiError).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/api_error.hpp"
#include "llm/events.hpp"
#include "llm/text_filter.hpp"

namespace sluice::translate {

// Decodes one provider stream. Events go to the sink passed to each call; string views in them
// are valid during the sink call only.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes `bytes` (any chunking). Returns false once the decoder emitted an llm::Error (the
  // stream is over: later calls emit nothing and return false).
  virtual bool feed(std::string_view bytes, llm::EventSink& sink) = 0;
  // The upstream body ended: emits llm::End when the provider completed its reply, else an
  // llm::Error saying the stream was cut short. Emits nothing after an Error or an End.
  virtual void end(llm::EventSink& sink) = 0;
};

// Encodes canonical events into the client's stream schema.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  // Appends the client bytes (complete SSE events) for `event`. llm::End appends the closing
  // events; llm::Error appends one error event. Nothing is appended once closed().
  virtual void encode(const llm::Event& event, std::string& out) = 0;
  // An error event or the closing events were written: the client stream is complete.
  virtual bool closed() const = 0;
};

// Encodes the events of one complete reply into the client's response body.
class ResponseEncoder : public llm::EventSink {
 public:
  // The client body for the events received so far.
  virtual std::string body() const = 0;
};

// Forwards decoded events to a stream encoder writing into `out`: the glue between the halves.
class EncodingSink final : public llm::EventSink {
 public:
  EncodingSink(StreamEncoder& encoder, std::string& out) : encoder_(encoder), out_(out) {}
  void on_event(const llm::Event& event) override { encoder_.encode(event, out_); }

 private:
  StreamEncoder& encoder_;
  std::string& out_;
};

// What a reply said about itself besides its text and usage, for the access log: the model that
// answered and why choice 0 stopped, in the provider's words (bounded), and when its first
// content event (text, reasoning or a tool call) was decoded (time to first token).
struct ReplyFacts {
  static constexpr std::size_t kMaxBytes = 256;
  std::string model;
  std::string finish_reason;
  std::chrono::steady_clock::time_point first_content{};  // epoch: none yet
};

// Whether `event` carries content of the answer: a token of text or reasoning, or a tool call.
inline bool carries_content(const llm::Event& event) {
  if (const auto* text = std::get_if<llm::TextDelta>(&event)) return !text->text.empty();
  if (const auto* reasoning = std::get_if<llm::ReasoningDelta>(&event)) return !reasoning->text.empty();
  return std::holds_alternative<llm::ToolCallDelta>(event);
}

// Forwards events and records the latest usage among them (a translator's usage()) and, when
// given, the reply's facts.
class UsageTap final : public llm::EventSink {
 public:
  UsageTap(llm::EventSink& next, llm::Usage& usage, ReplyFacts* facts = nullptr)
      : next_(next), usage_(usage), facts_(facts) {}
  void on_event(const llm::Event& event) override {
    if (const auto* u = std::get_if<llm::UsageEvent>(&event)) {
      usage_ = u->usage;
    } else if (facts_ != nullptr) {
      if (facts_->first_content == std::chrono::steady_clock::time_point{} && carries_content(event)) [[unlikely]]
        facts_->first_content = std::chrono::steady_clock::now();
      if (const auto* start = std::get_if<llm::MessageStart>(&event); start && facts_->model.empty()) {
        facts_->model = start->model.substr(0, ReplyFacts::kMaxBytes);
      } else if (const auto* finish = std::get_if<llm::Finish>(&event);
                 finish && finish->choice == 0 && facts_->finish_reason.empty()) {
        facts_->finish_reason = finish->raw.substr(0, ReplyFacts::kMaxBytes);
      }
    }
    next_.on_event(event);
  }

 private:
  llm::EventSink& next_;
  llm::Usage& usage_;
  ReplyFacts* facts_;
};

// One translated stream: the provider's stream decoder feeding the client schema's stream
// encoder, and the usage the events carried — the stream half every chat translator shares.
// `Encoder` reports failed() (an error event was written) apart from closed() (the reply is
// complete). Implements the Translator's streaming contract (translator.hpp):
//   feed: false once an error event was written (the relay stops reading); after a complete
//         reply the rest of the upstream body is read and ignored, so the connection stays
//         reusable; end: runs once, the decoder's closing events; fail: one error event.
template <class Decoder, class Encoder>
class StreamConversion {
 public:
  StreamConversion(Decoder decoder, Encoder encoder) : decoder_(std::move(decoder)), encoder_(std::move(encoder)) {}

  // The reply's text goes through `filter` (a response guard) between the halves.
  void filter_text(llm::TextFilter& filter) { filtering_.emplace(filter); }

  bool feed(std::string_view upstream_bytes, std::string& out, llm::Usage& usage, ReplyFacts* facts = nullptr) {
    if (ended_ || encoder_.failed()) return false;
    if (encoder_.closed()) return true;
    EncodingSink sink(encoder_, out);
    std::optional<llm::TextFilteringSink> filtered;
    UsageTap tap(filtered_sink(sink, filtered), usage, facts);
    return decoder_.feed(upstream_bytes, tap) && !encoder_.failed();
  }
  void end(std::string& out, llm::Usage& usage, ReplyFacts* facts = nullptr) {
    if (ended_) return;
    ended_ = true;
    EncodingSink sink(encoder_, out);
    std::optional<llm::TextFilteringSink> filtered;
    UsageTap tap(filtered_sink(sink, filtered), usage, facts);
    decoder_.end(tap);
  }
  void fail(const http::ApiError& error, std::string& out) { encoder_.encode(llm::Error{error}, out); }

 private:
  llm::EventSink& filtered_sink(llm::EventSink& sink, std::optional<llm::TextFilteringSink>& filtered) {
    if (!filtering_) return sink;
    return filtered.emplace(*filtering_, sink);
  }

  Decoder decoder_;
  Encoder encoder_;
  std::optional<llm::TextFilteringEvents> filtering_;
  bool ended_ = false;  // end() ran: nothing more is decoded
};

// Decodes a complete reply with `decode(sink)` into `encoder`, through `filter` when there is
// one (a response guard), recording usage and facts; a rejection by the filter is the error.
template <class Decode>
std::optional<http::ApiError> decode_complete(llm::TextFilter* filter, llm::EventSink& encoder, llm::Usage& usage,
                                              ReplyFacts& facts, Decode&& decode) {
  std::optional<llm::TextFilteringEvents> filtering;
  std::optional<llm::TextFilteringSink> filtered;
  llm::EventSink* target = &encoder;
  if (filter != nullptr) target = &filtered.emplace(filtering.emplace(*filter), encoder);
  UsageTap tap(*target, usage, &facts);
  if (auto error = decode(static_cast<llm::EventSink&>(tap))) return error;
  if (filter != nullptr && filter->rejection() != nullptr) return *filter->rejection();
  return std::nullopt;
}

// The provider half of an OpenAI-form chat translator (OpenAI -> Anthropic / Gemini / Bedrock),
// offered to translators for other client schemas: the Anthropic client translator chains the
// request through the OpenAI form, but decodes the provider's reply with these decoders
// directly into its own encoder. Valid after the translator translated the request (decoders
// are configured by it, e.g. JSON mode).
class ProviderCodec {
 public:
  virtual ~ProviderCodec() = default;
  virtual std::unique_ptr<StreamDecoder> make_stream_decoder() const = 0;
  virtual std::optional<http::ApiError> decode_response(std::string_view body, llm::EventSink& sink) const = 0;
};

// What an encoder needs to know about the exchange.
struct EncoderOptions {
  std::string client_model;    // when set, replies name this model (RequestContext::client_model)
  std::string fallback_model;  // named when the provider reports none (the model asked for)
  bool include_usage = false;  // OpenAI stream_options.include_usage

  // The model a reply names, given the one the provider reported (may be empty).
  std::string_view model_named(std::string_view provider_model) const {
    if (!client_model.empty()) return client_model;
    if (!provider_model.empty()) return provider_model;
    return fallback_model;
  }
};

// Visits an llm::Event with one lambda per alternative.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace sluice::translate
