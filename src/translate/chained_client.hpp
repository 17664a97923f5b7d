// ChainedClient: serves a client schema other than OpenAI Chat Completions (Anthropic Messages,
// the OpenAI Responses API, Gemini generateContent) from any backend, through the pivot form. It
// is an adapter in front of an OpenAI Chat Completions chain: the client's request becomes an
// OpenAI chat request (the schema's request decoder), which is either handed to an inner
// Translator (OpenAI -> Anthropic / Gemini / Bedrock) or, when there is no inner translator,
// sent as is (OpenAI-compatible backends: OpenAI, Azure, Ollama, vLLM ...). Replies are encoded
// by the schema's encoders from canonical events: decoded straight from the provider's format
// when the inner translator offers its decoder (ProviderCodec: Anthropic on Vertex, Gemini,
// Bedrock), else decoded from OpenAI (spoken by the upstream itself, or produced by an inner
// translator without a codec). Errors of non-2xx replies go through the inner translator.
//
// A client schema is thus one request decoder and one pair of encoders, never a translator per
// provider. `Schema` provides (one object per request, it may keep what the request said for
// the encoders, e.g. the Responses API's echoed fields):
//   std::optional<http::ApiError> to_openai(const json::object& client, const RequestContext&,
//                                           json::object& openai);
//   Stream   stream_encoder(const EncoderOptions&) const;    // a StreamEncoder with failed()
//   Complete response_encoder(const EncoderOptions&) const;  // a ResponseEncoder
//   http::ApiError rename_fields(http::ApiError) const;     // an inner translator's 400 named
//                                                            // in the client's fields
//   http::ApiError upstream_error(unsigned status, http::ApiError) const;  // the error of a
//                         // non-2xx reply (status: the provider's), as the client's API says it
// and optionally std::string_view stream_content_type() const (default text/event-stream).
// Encoders are made on first use, after the request was decoded.
//
// Promises: one object per request (it keeps the stream state), not thread-safe, never throws.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "translate/common.hpp"
#include "translate/decode_openai.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

// Errors decoded straight from a provider (not through the OpenAI decoder) take the status an
// OpenAI error event with the same type and code would have given (the chained path's mapping,
// e.g. Gemini UNAVAILABLE -> 529 overloaded_error), so both paths answer a client alike.
class ChainedErrorStatus final : public llm::EventSink {
 public:
  explicit ChainedErrorStatus(llm::EventSink& next) : next_(next) {}
  void on_event(const llm::Event& event) override {
    const auto* error = std::get_if<llm::Error>(&event);
    if (error == nullptr) return next_.on_event(event);
    const boost::json::object as_openai{
        {"message", error->error.message}, {"type", error->error.type}, {"code", error->error.code}};
    next_.on_event(llm::Error{openai_stream_error(as_openai)});
  }

 private:
  llm::EventSink& next_;
};

// The error of a non-2xx reply from an OpenAI-format upstream (OpenAI, vLLM, Ollama shapes).
http::ApiError openai_upstream_error(unsigned status, std::string_view upstream_body);

template <class Schema>
class ChainedClient final : public Translator {
 public:
  ChainedClient(RequestContext context, std::unique_ptr<Translator> inner, Schema schema = {})
      : context_(std::move(context)),
        inner_(std::move(inner)),
        codec_(dynamic_cast<const ProviderCodec*>(inner_.get())),
        schema_(std::move(schema)) {}

  std::optional<http::ApiError> translate_request(const boost::json::object& client_body,
                                                  std::string& upstream_body) override {
    // The pivot lives only for this call: its nodes come from one arena, not one malloc each.
    unsigned char arena[8192];
    boost::json::monotonic_resource resource(arena, sizeof arena);
    boost::json::object openai(&resource);
    if (auto error = schema_.to_openai(client_body, context_, openai)) return error;
    if (!inner_) {
      strip_pivot_extensions(openai);  // an OpenAI-format backend rejects members it does not know
      upstream_body = boost::json::serialize(openai);
      return std::nullopt;
    }
    auto error = inner_->translate_request(openai, upstream_body);
    if (error) return schema_.rename_fields(std::move(*error));
    return std::nullopt;
  }

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    auto encoder = schema_.response_encoder(encoder_options_for(context_));
    if (codec_ != nullptr) {
      if (auto error = decode_complete(text_filter(), encoder, usage_, reply_facts_, [&](llm::EventSink& sink) {
            return codec_->decode_response(upstream_body, sink);
          }))
        return error;
      client_body = encoder.body();
      return std::nullopt;
    }
    std::string openai;
    if (inner_) {
      if (auto error = inner_->translate_response(upstream_body, openai)) return error;
      upstream_body = openai;
    }
    if (auto error = decode_complete(text_filter(), encoder, usage_, reply_facts_,
                                     [&](llm::EventSink& sink) { return decode_openai_response(upstream_body, sink); }))
      return error;
    client_body = encoder.body();
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view error_type_header,
                                 std::string_view upstream_body) override {
    if (inner_)
      return schema_.upstream_error(status, inner_->translate_error(status, error_type_header, upstream_body));
    return schema_.upstream_error(status, openai_upstream_error(status, upstream_body));
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    auto& encoder = stream_encoder();
    if (encoder.closed()) return !encoder.failed();
    if (codec_ != nullptr || !inner_) {
      decode(upstream_bytes, out);
      return !encoder.failed();
    }
    std::string openai;
    const bool ok = inner_->stream_feed(upstream_bytes, openai);
    decode(openai, out);
    if (!ok && !encoder.closed()) encoder.encode(llm::Error{bad_upstream("upstream stream error")}, out);
    return !encoder.failed();
  }

  void stream_end(std::string& out) override {
    auto& encoder = stream_encoder();
    if (encoder.closed()) return;
    if (inner_ && codec_ == nullptr) {
      std::string openai;
      inner_->stream_end(openai);
      decode(openai, out);
      if (encoder.closed()) return;
    }
    EncodingSink sink(encoder, out);
    std::optional<llm::TextFilteringSink> filtered;
    UsageTap tap(filtered_sink(sink, filtered), usage_, &reply_facts_);
    ChainedErrorStatus errors(tap);
    decoder().end(codec_ != nullptr ? static_cast<llm::EventSink&>(errors) : tap);
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    stream_encoder().encode(llm::Error{error}, out);
  }

  // The schema's stream content type when it has its own (Gemini's JSON-array streams).
  std::string_view stream_content_type() const override {
    if constexpr (requires { schema_.stream_content_type(); }) {
      return schema_.stream_content_type();
    } else {
      return Translator::stream_content_type();
    }
  }

  Usage usage() const override { return usage_; }

  const Schema& schema() const { return schema_; }

 private:
  using Stream = decltype(std::declval<const Schema&>().stream_encoder(std::declval<const EncoderOptions&>()));

  Stream& stream_encoder() {
    if (!encoder_) encoder_.emplace(schema_.stream_encoder(encoder_options_for(context_)));
    return *encoder_;
  }

  // The provider's decoder, or the OpenAI one; made on first use (after the request).
  StreamDecoder& decoder() {
    if (!decoder_)
      decoder_ = codec_ != nullptr ? codec_->make_stream_decoder() : std::make_unique<OpenAiStreamDecoder>();
    return *decoder_;
  }

  void decode(std::string_view bytes, std::string& out) {
    if (bytes.empty()) return;
    EncodingSink sink(stream_encoder(), out);
    std::optional<llm::TextFilteringSink> filtered;
    UsageTap tap(filtered_sink(sink, filtered), usage_, &reply_facts_);
    ChainedErrorStatus errors(tap);
    decoder().feed(bytes, codec_ != nullptr ? static_cast<llm::EventSink&>(errors) : tap);
  }

  // The encoder's sink, behind the response's text filter when there is one.
  llm::EventSink& filtered_sink(llm::EventSink& sink, std::optional<llm::TextFilteringSink>& filtered) {
    if (text_filter() == nullptr) return sink;
    if (!filtering_) filtering_.emplace(*text_filter());
    return filtered.emplace(*filtering_, sink);
  }

  RequestContext context_;
  std::unique_ptr<Translator> inner_;
  const ProviderCodec* codec_;  // inner_ as a provider codec, or null
  Schema schema_;
  Usage usage_;
  std::unique_ptr<StreamDecoder> decoder_;
  std::optional<llm::TextFilteringEvents> filtering_;
  std::optional<Stream> encoder_;
};

}  // namespace sluice::translate
