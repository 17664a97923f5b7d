// Native OpenAI Responses API replies through a text filter (native_filter.hpp).
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "translate/common.hpp"
#include "translate/native_filter.hpp"
#include "translate/native_reader.hpp"
#include "translate/passthrough_usage.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace {

namespace json = boost::json;
using llm::TextChannel;

// Output items and their parts are numbered apart: a channel's index is both.
constexpr std::uint64_t kPartsPerItem = 1 << 16;
// The most channels (output items x parts) one answer may open: far above what any model
// returns, a bound on what a hostile upstream can make the filter keep.
constexpr std::size_t kMaxChannels = 256;

std::uint64_t channel_index(std::uint64_t output_index, std::uint64_t part_index) {
  return output_index * kPartsPerItem + part_index;
}

class ResponsesNativeFilter final : public NativeTextFilter {
 public:
  ResponsesNativeFilter(llm::TextFilter& filter, StoreEcho echo, std::size_t max_event_bytes)
      : NativeTextFilter(filter),
        echo_(std::move(echo)),
        max_text_bytes_(max_event_bytes),
        parser_(max_event_bytes),
        usage_(false, max_event_bytes) {}

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto body = json::parse(upstream_body, ec);
    if (ec || !body.is_object()) return bad_upstream("the provider's reply is not a JSON object");
    auto& response = body.get_object();
    read_facts(response);
    echo_.apply(response);
    if (auto* output = response.if_contains("output"); output != nullptr && output->is_array()) {
      std::uint64_t output_index = 0;
      for (auto& item : output->get_array()) {
        if (item.is_object()) filter_item_whole(item.get_object(), output_index);
        ++output_index;
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
      fail(bad_upstream("the provider's stream is not valid server-sent events"), out);
      rejected_ = true;
    }
    return !rejected_;
  }

  void stream_end(std::string&) override {}

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (stopped_) return;
    fail(error, out);
  }

  Usage usage() const override { return usage_.usage(); }

 private:
  // A channel of the reply and the text it let out so far.
  struct Channel {
    TextChannel channel;
    std::string item_id;
    std::string text;  // everything released for it
    bool finished = false;
  };

  void read_facts(const json::object& response) {
    usage_.observe(response);
    reply_facts_.model = string_or(response, "model").substr(0, ReplyFacts::kMaxBytes);
    if (const auto* details = object_or_null(response.if_contains("incomplete_details")))
      reply_facts_.finish_reason = string_or(*details, "reason").substr(0, ReplyFacts::kMaxBytes);
  }

  void filter_item_whole(json::object& item, std::uint64_t output_index) {
    const auto type = string_or(item, "type");
    if (type == "message") {
      auto* content = item.if_contains("content");
      if (content == nullptr || !content->is_array()) return;
      std::uint64_t part_index = 0;
      for (auto& part : content->get_array()) {
        if (auto* object = part.if_object(); object != nullptr && string_or(*object, "type") == "output_text")
          if (auto* text = object->if_contains("text"))
            filter_whole(*text, {0, TextChannel::Kind::Text, channel_index(output_index, part_index)});
        ++part_index;
      }
    } else if (type == "function_call") {
      if (auto* arguments = item.if_contains("arguments"))
        filter_whole(*arguments, {0, TextChannel::Kind::ToolArguments, channel_index(output_index, 0)});
    } else if (type == "reasoning") {
      auto* summary = item.if_contains("summary");
      if (summary == nullptr || !summary->is_array()) return;
      std::uint64_t part_index = 0;
      for (auto& part : summary->get_array()) {
        if (auto* object = part.if_object())
          if (auto* text = object->if_contains("text"))
            filter_whole(*text, {0, TextChannel::Kind::Reasoning, channel_index(output_index, part_index)});
        ++part_index;
      }
    }
  }

  // The channel an event names: its kind, output_index and content_index / summary_index.
  Channel& channel_of(TextChannel::Kind kind, const json::object& event) {
    const auto output_index = json_count(event.if_contains("output_index"));
    const auto part_index = kind == TextChannel::Kind::Reasoning ? json_count(event.if_contains("summary_index"))
                            : kind == TextChannel::Kind::Text    ? json_count(event.if_contains("content_index"))
                                                                 : 0;
    const TextChannel wanted{0, kind, channel_index(output_index, part_index)};
    for (auto& channel : channels_)
      if (channel.channel == wanted) return channel;
    channels_.push_back(Channel{wanted, std::string(string_or(event, "item_id")), {}, false});
    return channels_.back();
  }

  const Channel* find(TextChannel::Kind kind, std::uint64_t output_index, std::uint64_t part_index) const {
    const TextChannel wanted{0, kind, channel_index(output_index, part_index)};
    for (const auto& channel : channels_)
      if (channel.channel == wanted) return &channel;
    return nullptr;
  }

  // A delta event: its text replaced by what the filter lets out now.
  bool filter_delta(json::object& event, TextChannel::Kind kind) {
    auto& channel = channel_of(kind, event);
    auto* delta = event.if_contains("delta");
    if (delta == nullptr || !delta->is_string()) return true;
    released_.clear();
    filter_.feed(channel.channel, delta->get_string(), released_);
    if (filter_.rejection() != nullptr) return false;
    channel.text += released_;
    text_bytes_ += released_.size();
    *delta = released_;
    return true;
  }

  // A .done event: the channel's held text goes out first as one more delta event, then the
  // event carries the filtered text (`member`). A .done with no delta before it is filtered whole.
  bool finish_channel(json::object& event, TextChannel::Kind kind, std::string_view delta_type, std::string_view member,
                      std::string& out) {
    const bool seen = find(kind, json_count(event.if_contains("output_index")),
                           kind == TextChannel::Kind::Reasoning ? json_count(event.if_contains("summary_index"))
                           : kind == TextChannel::Kind::Text    ? json_count(event.if_contains("content_index"))
                                                                : 0) != nullptr;
    auto& channel = channel_of(kind, event);
    if (!seen) {
      if (auto* text = event.if_contains(member); text != nullptr && text->is_string()) {
        released_.clear();
        filter_.feed(channel.channel, text->get_string(), released_);
        channel.text += released_;
        text_bytes_ += released_.size();
      }
    }
    released_.clear();
    filter_.finish(channel.channel, released_);
    if (filter_.rejection() != nullptr) return false;
    channel.finished = true;
    if (!released_.empty()) {
      channel.text += released_;
      text_bytes_ += released_.size();
      if (seen) {
        json::object extra{{"type", delta_type}, {"item_id", channel.item_id}};
        for (const std::string_view key : {"output_index", "content_index", "summary_index"})
          if (const auto* value = event.if_contains(key)) extra[key] = *value;
        extra["delta"] = released_;
        if (delta_type == "response.output_text.delta") extra["logprobs"] = json::array();
        emit(extra, out);
      }
    }
    event[member] = channel.text;
    return true;
  }

  // An output item (output_item.done, or an item of a final response) given the filtered texts.
  void rewrite_item(json::object& item, std::uint64_t output_index) const {
    const auto type = string_or(item, "type");
    const auto rewrite_parts = [&](std::string_view list, TextChannel::Kind kind) {
      auto* parts = item.if_contains(list);
      if (parts == nullptr || !parts->is_array()) return;
      std::uint64_t part_index = 0;
      for (auto& part : parts->get_array()) {
        const auto* channel = find(kind, output_index, part_index++);
        if (auto* object = part.if_object(); object != nullptr && channel != nullptr && object->contains("text"))
          (*object)["text"] = channel->text;
      }
    };
    if (type == "message") {
      rewrite_parts("content", TextChannel::Kind::Text);
    } else if (type == "reasoning") {
      rewrite_parts("summary", TextChannel::Kind::Reasoning);
    } else if (type == "function_call") {
      if (const auto* channel = find(TextChannel::Kind::ToolArguments, output_index, 0))
        item["arguments"] = channel->text;
    }
  }

  void rewrite_response(json::object& event) const {
    auto* response = event.if_contains("response");
    auto* output =
        response != nullptr && response->is_object() ? response->get_object().if_contains("output") : nullptr;
    if (output == nullptr || !output->is_array()) return;
    std::uint64_t output_index = 0;
    for (auto& item : output->get_array()) {
      if (auto* object = item.if_object()) rewrite_item(*object, output_index);
      ++output_index;
    }
  }

  void on_event(const SseEvent& event, std::string& out) {
    if (stopped_) return;
    boost::system::error_code ec;
    auto parsed = json::parse(event.data, ec);
    if (ec || !parsed.is_object()) {
      append_sse_event_lines(out, event);
      return;
    }
    auto& object = parsed.get_object();
    const auto type = string_or(object, "type");
    bool ok = true;
    if (type == "response.created" || type == "response.in_progress") {
      if (const auto* response = object.if_contains("response"); response != nullptr && response->is_object())
        response_ = response->get_object();
    } else if (type == "response.output_text.delta") {
      ok = filter_delta(object, TextChannel::Kind::Text);
    } else if (type == "response.function_call_arguments.delta") {
      ok = filter_delta(object, TextChannel::Kind::ToolArguments);
    } else if (type == "response.reasoning_summary_text.delta") {
      ok = filter_delta(object, TextChannel::Kind::Reasoning);
    } else if (type == "response.output_text.done") {
      ok = finish_channel(object, TextChannel::Kind::Text, "response.output_text.delta", "text", out);
    } else if (type == "response.function_call_arguments.done") {
      ok = finish_channel(object, TextChannel::Kind::ToolArguments, "response.function_call_arguments.delta",
                          "arguments", out);
    } else if (type == "response.reasoning_summary_text.done") {
      ok = finish_channel(object, TextChannel::Kind::Reasoning, "response.reasoning_summary_text.delta", "text", out);
    } else if (type == "response.content_part.done" || type == "response.reasoning_summary_part.done") {
      const bool reasoning = type == "response.reasoning_summary_part.done";
      const auto* channel = find(reasoning ? TextChannel::Kind::Reasoning : TextChannel::Kind::Text,
                                 json_count(object.if_contains("output_index")),
                                 json_count(object.if_contains(reasoning ? "summary_index" : "content_index")));
      if (auto* part = object.if_contains("part");
          part != nullptr && part->is_object() && channel != nullptr && part->get_object().contains("text"))
        part->get_object()["text"] = channel->text;
    } else if (type == "response.output_item.done") {
      if (auto* item = object.if_contains("item"); item != nullptr && item->is_object())
        rewrite_item(item->get_object(), json_count(object.if_contains("output_index")));
    } else if (type == "response.completed" || type == "response.incomplete") {
      if (const auto* response = object_or_null(object.if_contains("response"))) read_facts(*response);
      rewrite_response(object);
    } else if (type == "response.failed") {
      if (const auto* response = object_or_null(object.if_contains("response"))) read_facts(*response);
    }
    if (!ok) return reject(out);
    // The text kept to repeat in the .done events is bounded like one event (the final
    // response.completed repeats it all): an answer past it, or past kMaxChannels, ends here.
    if (text_bytes_ > max_text_bytes_ || channels_.size() > kMaxChannels) {
      fail(bad_upstream("the provider's answer is larger than " + std::to_string(max_text_bytes_) +
                        " bytes of text or " + std::to_string(kMaxChannels) + " output parts"),
           out);
      rejected_ = true;
      return;
    }
    if (auto* response = object.if_contains("response"); response != nullptr && response->is_object())
      echo_.apply(response->get_object());
    emit(object, out);
  }

  // Writes an event with the next sequence number (deltas Sluice adds shift the ones after).
  void emit(json::object& event, std::string& out) {
    if (auto* number = event.if_contains("sequence_number")) {
      if (!numbered_) next_sequence_ = json_count(number);
      numbered_ = true;
    }
    if (numbered_) event["sequence_number"] = next_sequence_++;
    append_sse_json_event(out, string_or(event, "type"), event);
  }

  // The stream ends with response.failed carrying the error; nothing follows it.
  void fail(const http::ApiError& error, std::string& out) {
    stopped_ = true;
    json::object response = response_;
    echo_.apply(response);
    response["status"] = "failed";
    response["error"] =
        json::object{{"code", error.code.empty() ? error.type : error.code}, {"message", error.message}};
    json::object event{{"type", "response.failed"}, {"response", std::move(response)}};
    emit(event, out);
  }

  void reject(std::string& out) {
    rejected_ = true;
    fail(*filter_.rejection(), out);
  }

  StoreEcho echo_;
  std::size_t max_text_bytes_;
  std::size_t text_bytes_ = 0;  // the text of every channel, kept for the .done events
  SseParser parser_;
  PassthroughUsageReader usage_;
  json::object response_;  // the response as response.created / in_progress described it
  boost::container::small_vector<Channel, 4> channels_;
  std::uint64_t next_sequence_ = 0;
  bool numbered_ = false;
  bool stopped_ = false;
  bool rejected_ = false;
};

}  // namespace

std::unique_ptr<Translator> make_responses_native_filter(llm::TextFilter& filter, StoreEcho echo,
                                                         std::size_t max_event_bytes) {
  return std::make_unique<ResponsesNativeFilter>(filter, std::move(echo), max_event_bytes);
}

}  // namespace sluice::translate
