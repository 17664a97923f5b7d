#include "translate/responses_store_echo.hpp"

#include <boost/json.hpp>
#include <utility>

#include "translate/common.hpp"
#include "translate/native_reader.hpp"
#include "translate/passthrough_usage.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

class ResponsesStoreEcho final : public NativeReader {
 public:
  ResponsesStoreEcho(bool stream, StoreEcho echo, std::size_t max_event_bytes)
      : echo_(std::move(echo)), parser_(max_event_bytes), usage_(stream, max_event_bytes) {}

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto body = json::parse(upstream_body, ec);
    if (ec || !body.is_object()) return bad_upstream("the provider's reply is not a JSON object");
    echo_.apply(body.get_object());
    client_body = json::serialize(body);
    usage_.feed(client_body);
    usage_.finish();
    reply_facts_.model = usage_.model();
    return std::nullopt;
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    if (stopped_) return false;
    const auto start = out.size();
    const bool ok = parser_.feed(upstream_bytes, [&](const SseEvent& event) { on_event(event, out); });
    usage_.feed(std::string_view(out).substr(start));
    if (!ok) {
      append_openai_error_event(out, bad_upstream("the provider's stream is not valid server-sent events"));
      stopped_ = true;
    }
    return ok;
  }

  void stream_end(std::string&) override {
    usage_.finish();
    reply_facts_.model = usage_.model();
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (stopped_) return;
    stopped_ = true;
    append_openai_error_event(out, error);
  }

  Usage usage() const override { return usage_.usage(); }

 private:
  void on_event(const SseEvent& event, std::string& out) {
    if (event.data.find("\"response\"") != std::string::npos) {
      boost::system::error_code ec;
      auto data = json::parse(event.data, ec);
      auto* object = !ec && data.is_object() ? data.get_object().if_contains("response") : nullptr;
      if (object != nullptr && object->is_object()) {
        echo_.apply(object->get_object());
        SseEvent rewritten;
        rewritten.event = event.event;
        rewritten.data = json::serialize(data);
        append_sse_event_lines(out, rewritten);
        return;
      }
    }
    append_sse_event_lines(out, event);
  }

  StoreEcho echo_;
  SseParser parser_;
  PassthroughUsageReader usage_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Translator> make_responses_store_echo(bool stream, StoreEcho echo, std::size_t max_event_bytes) {
  return std::make_unique<ResponsesStoreEcho>(stream, std::move(echo), max_event_bytes);
}

}  // namespace sluice::translate
