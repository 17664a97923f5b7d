// Native Anthropic Messages replies through a text filter (native_filter.hpp).
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "translate/common.hpp"
#include "translate/decode_anthropic.hpp"
#include "translate/native_filter.hpp"
#include "translate/native_reader.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace {

namespace json = boost::json;
using llm::TextChannel;

class AnthropicNativeFilter final : public NativeTextFilter {
 public:
  AnthropicNativeFilter(llm::TextFilter& filter, std::size_t max_event_bytes)
      : NativeTextFilter(filter), parser_(max_event_bytes) {}

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto body = json::parse(upstream_body, ec);
    if (ec || !body.is_object()) return bad_upstream("the provider's reply is not a JSON object");
    auto& message = body.get_object();
    if (const auto* usage = object_or_null(message.if_contains("usage"))) usage_.update(*usage);
    reply_facts_.model = string_or(message, "model").substr(0, ReplyFacts::kMaxBytes);
    reply_facts_.finish_reason = string_or(message, "stop_reason").substr(0, ReplyFacts::kMaxBytes);
    if (auto* content = message.if_contains("content"); content != nullptr && content->is_array()) {
      std::uint64_t index = 0;
      for (auto& block : content->get_array()) {
        const auto block_index = index++;
        if (!block.is_object()) continue;
        auto& object = block.get_object();
        const auto type = string_or(object, "type");
        if (type == "text") {
          filter_whole(object["text"], {0, TextChannel::Kind::Text, block_index});
        } else if (type == "tool_use") {
          if (auto* input = object.if_contains("input"))
            filter_strings(*input, {0, TextChannel::Kind::ToolArguments, block_index});
        }
        if (filter_.rejection() != nullptr) return *filter_.rejection();
      }
    }
    client_body = json::serialize(body);
    return std::nullopt;
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    if (stopped_) return !rejected_;
    const bool ok = parser_.feed(upstream_bytes, [&](const SseEvent& event) { on_event(event, out); });
    if (!ok && !stopped_) {
      append_anthropic_error_event(out, bad_upstream("the provider's stream is not valid server-sent events"));
      stopped_ = rejected_ = true;
    }
    return !rejected_;
  }

  void stream_end(std::string& out) override {
    if (stopped_) return;
    // A stream cut before its blocks stopped: what they hold goes out.
    for (const auto& block : blocks_) {
      if (!release(block, out)) return;
    }
    blocks_.clear();
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (stopped_) return;
    stopped_ = true;
    append_anthropic_error_event(out, error);
  }

  Usage usage() const override { return usage_.to_usage(); }

 private:
  std::string_view error_type(unsigned status) const override { return http::anthropic_error_type(status); }

  void on_event(const SseEvent& event, std::string& out) {
    if (stopped_) return;
    boost::system::error_code ec;
    unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    auto parsed = json::parse(event.data, ec, &resource);
    if (ec || !parsed.is_object()) {
      append_sse_event_lines(out, event);
      return;
    }
    auto& object = parsed.get_object();
    const auto type = string_or(object, "type");
    if (type == "message_start") {
      if (const auto* message = object_or_null(object.if_contains("message"))) {
        if (const auto* usage = object_or_null(message->if_contains("usage"))) usage_.update(*usage);
        reply_facts_.model = string_or(*message, "model").substr(0, ReplyFacts::kMaxBytes);
      }
    } else if (type == "message_delta") {
      if (const auto* usage = object_or_null(object.if_contains("usage"))) usage_.update(*usage);
      if (const auto* delta = object_or_null(object.if_contains("delta")); delta && reply_facts_.finish_reason.empty())
        reply_facts_.finish_reason = string_or(*delta, "stop_reason").substr(0, ReplyFacts::kMaxBytes);
    } else if (type == "content_block_start") {
      const auto* block = object_or_null(object.if_contains("content_block"));
      const auto block_type = block != nullptr ? string_or(*block, "type") : std::string_view{};
      if (block_type == "text" || block_type == "tool_use")
        blocks_.push_back(TextChannel{
            0, block_type == "text" ? TextChannel::Kind::Text : TextChannel::Kind::ToolArguments, index_of(object)});
    } else if (type == "content_block_delta") {
      if (!filter_delta(object)) return reject(out);
      append_sse_json_event(out, event.event.empty() ? std::string_view("content_block_delta") : event.event, parsed);
      return;
    } else if (type == "content_block_stop") {
      const auto index = index_of(object);
      for (std::size_t i = 0; i < blocks_.size(); ++i) {
        if (blocks_[i].index != index) continue;
        const auto block = blocks_[i];
        blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        if (!release(block, out)) return;
        break;
      }
    }
    append_sse_event_lines(out, event);
  }

  // A content_block_delta of a filtered block: its text replaced by what the filter releases.
  bool filter_delta(json::object& object) {
    const auto index = index_of(object);
    auto* delta = object.if_contains("delta");
    if (delta == nullptr || !delta->is_object()) return true;
    for (const auto& block : blocks_) {
      if (block.index != index) continue;
      auto& fields = delta->get_object();
      auto* text = fields.if_contains(block.kind == TextChannel::Kind::Text ? "text" : "partial_json");
      if (text == nullptr || !text->is_string()) return true;
      released_.clear();
      filter_.feed(block, text->get_string(), released_);
      if (filter_.rejection() != nullptr) return false;
      *text = released_;
      return true;
    }
    return true;
  }

  // What `block` holds goes out as one more delta of it; false when the filter rejected.
  bool release(const TextChannel& block, std::string& out) {
    released_.clear();
    filter_.finish(block, released_);
    if (filter_.rejection() != nullptr) {
      reject(out);
      return false;
    }
    if (released_.empty()) return true;
    const bool text = block.kind == TextChannel::Kind::Text;
    const json::object delta{{"type", "content_block_delta"},
                             {"index", block.index},
                             {"delta", text ? json::object{{"type", "text_delta"}, {"text", released_}}
                                            : json::object{{"type", "input_json_delta"}, {"partial_json", released_}}}};
    append_sse_json_event(out, "content_block_delta", delta);
    return true;
  }

  // The filter rejected: the message stops as a refusal, then the error event; nothing more.
  void reject(std::string& out) {
    stopped_ = rejected_ = true;
    const json::object delta{{"type", "message_delta"},
                             {"delta", {{"stop_reason", "refusal"}, {"stop_sequence", nullptr}}},
                             {"usage", {{"output_tokens", usage_.output}}}};
    append_sse_json_event(out, "message_delta", delta);
    append_anthropic_error_event(out, *filter_.rejection());
  }

  static std::uint64_t index_of(const json::object& object) { return json_count(object.if_contains("index")); }

  SseParser parser_;
  boost::container::small_vector<TextChannel, 2> blocks_;  // the filtered blocks started and not stopped
  AnthropicUsage usage_;
  bool stopped_ = false;
  bool rejected_ = false;
};

}  // namespace

std::unique_ptr<Translator> make_anthropic_native_filter(llm::TextFilter& filter, std::size_t max_event_bytes) {
  return std::make_unique<AnthropicNativeFilter>(filter, max_event_bytes);
}

}  // namespace sluice::translate
