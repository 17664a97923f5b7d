// Native OpenAI chat replies through a text filter (native_filter.hpp).
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "translate/common.hpp"
#include "translate/decode_openai.hpp"
#include "translate/native_filter.hpp"
#include "translate/native_reader.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace {

namespace json = boost::json;
using llm::TextChannel;

std::uint64_t index_or(const json::object& object, std::uint64_t fallback) {
  const auto* index = object.if_contains("index");
  return index != nullptr && index->is_int64() && index->get_int64() >= 0
             ? static_cast<std::uint64_t>(index->get_int64())
             : fallback;
}

// The channel each choice is writing, so a switch (text, then a tool call) releases what the
// previous one held, and a choice's finish releases all.
class OpenChannels {
 public:
  // Makes `channel` its choice's open channel; the previous one is closed into `closed`.
  void enter(const TextChannel& channel, boost::container::small_vector<TextChannel, 2>& closed) {
    for (auto& open : open_) {
      if (open.choice != channel.choice) continue;
      if (!(open == channel)) closed.push_back(std::exchange(open, channel));
      return;
    }
    open_.push_back(channel);
  }
  // Closes the open channel of `choice` (or of every choice) into `closed`.
  void close(std::optional<std::uint64_t> choice, boost::container::small_vector<TextChannel, 2>& closed) {
    for (std::size_t i = 0; i < open_.size();) {
      if (choice && open_[i].choice != *choice) {
        ++i;
        continue;
      }
      closed.push_back(open_[i]);
      open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

 private:
  boost::container::small_vector<TextChannel, 2> open_;
};

class OpenAiNativeFilter final : public NativeTextFilter {
 public:
  OpenAiNativeFilter(llm::TextFilter& filter, bool drop_usage_chunk, std::size_t max_event_bytes)
      : NativeTextFilter(filter), drop_usage_chunk_(drop_usage_chunk), parser_(max_event_bytes) {}

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto body = json::parse(upstream_body, ec);
    if (ec || !body.is_object()) return bad_upstream("the provider's reply is not a JSON object");
    auto& reply = body.get_object();
    if (const auto* usage = object_or_null(reply.if_contains("usage"))) usage_ = openai_usage_from(*usage);
    note_facts(reply);
    auto* choices = reply.if_contains("choices");
    if (choices != nullptr && choices->is_array()) {
      std::uint64_t position = 0;
      for (auto& item : choices->get_array()) {
        if (!item.is_object()) continue;
        const auto choice = index_or(item.get_object(), position++);
        auto* message = item.get_object().if_contains("message");
        if (message == nullptr || !message->is_object()) continue;
        filter_member(message->get_object(), "content", {choice, TextChannel::Kind::Text, 0});
        filter_member(message->get_object(), "reasoning_content", {choice, TextChannel::Kind::Reasoning, 0});
        if (auto* calls = message->get_object().if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
          std::uint64_t call_position = 0;
          for (auto& call : calls->get_array()) {
            if (!call.is_object()) continue;
            const auto index = call_position++;
            if (auto* function = call.get_object().if_contains("function"); function && function->is_object())
              filter_member(function->get_object(), "arguments", {choice, TextChannel::Kind::ToolArguments, index});
          }
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
      append_openai_error_event(out, bad_upstream("the provider's stream is not valid server-sent events"));
      stopped_ = rejected_ = true;
    }
    return !rejected_;
  }

  void stream_end(std::string& out) override {
    if (stopped_) return;
    release_all(out);
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (stopped_) return;
    stopped_ = true;
    append_openai_error_event(out, error);
  }

  Usage usage() const override { return usage_; }

 private:
  // A complete reply's string member `key`: filtered whole.
  void filter_member(json::object& object, std::string_view key, const TextChannel& channel) {
    if (auto* value = object.if_contains(key)) filter_whole(*value, channel);
  }

  void on_event(const SseEvent& event, std::string& out) {
    if (stopped_) return;
    if (event.data == "[DONE]") {
      release_all(out);
      if (!stopped_) append_sse_done(out);
      return;
    }
    boost::system::error_code ec;
    unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    auto chunk = json::parse(event.data, ec, &resource);
    if (ec || !chunk.is_object()) {
      pass(event, out);
      return;
    }
    auto& object = chunk.get_object();
    if (const auto* usage = object_or_null(object.if_contains("usage"))) usage_ = openai_usage_from(*usage);
    note_facts(object);
    auto* choices = object.if_contains("choices");
    if (drop_usage_chunk_) {
      if (object.contains("usage") && (choices == nullptr || (choices->is_array() && choices->get_array().empty())))
        return;
      if (const auto* usage = object.if_contains("usage"); usage != nullptr && usage->is_null()) object.erase("usage");
    }
    if (choices == nullptr || !choices->is_array()) {
      pass(event, out);
      return;
    }
    remember_envelope(object);
    std::uint64_t position = 0;
    for (auto& item : choices->get_array()) {
      if (!item.is_object()) continue;
      auto& choice_object = item.get_object();
      const auto choice = index_or(choice_object, position++);
      if (!filter_choice(choice, choice_object)) return reject(choice, out);
    }
    append_sse_json(out, chunk);
  }

  // Filters one choice of a chunk in place; false when the filter rejected.
  bool filter_choice(std::uint64_t choice, json::object& choice_object) {
    auto* delta_value = choice_object.if_contains("delta");
    if (delta_value == nullptr || !delta_value->is_object()) return true;
    auto& delta = delta_value->get_object();
    if (!filter_piece(delta, "content", {choice, TextChannel::Kind::Text, 0})) return false;
    if (!filter_piece(delta, "reasoning_content", {choice, TextChannel::Kind::Reasoning, 0})) return false;
    if (auto* calls = delta.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
      std::uint64_t call_position = 0;
      for (auto& call : calls->get_array()) {
        if (!call.is_object()) continue;
        const auto index = index_or(call.get_object(), call_position++);
        auto* function = call.get_object().if_contains("function");
        if (function == nullptr || !function->is_object()) continue;
        if (!filter_piece(function->get_object(), "arguments", {choice, TextChannel::Kind::ToolArguments, index}))
          return false;
      }
    }
    const auto* finish = choice_object.if_contains("finish_reason");
    if (finish != nullptr && !finish->is_null()) {
      closed_.clear();
      open_.close(choice, closed_);
      for (const auto& channel : closed_)
        if (!release_into(delta, channel)) return false;
    }
    return true;
  }

  // One piece of a channel in a delta member: entering the channel releases the choice's
  // previous one into the same delta, then the piece is replaced by what the filter releases.
  bool filter_piece(json::object& delta, std::string_view key, const TextChannel& channel) {
    auto* value = delta.if_contains(key);
    if (value == nullptr || !value->is_string()) return true;
    closed_.clear();
    open_.enter(channel, closed_);
    for (const auto& previous : closed_)
      if (!release_into(delta, previous)) return false;
    value = delta.if_contains(key);  // releasing may have added members
    released_.clear();
    filter_.feed(channel, value->get_string(), released_);
    if (filter_.rejection() != nullptr) return false;
    *value = released_;
    return true;
  }

  // What `channel` holds, appended to its member of `delta`.
  bool release_into(json::object& delta, const TextChannel& channel) {
    released_.clear();
    filter_.finish(channel, released_);
    if (filter_.rejection() != nullptr) return false;
    if (released_.empty()) return true;
    switch (channel.kind) {
      case TextChannel::Kind::Text:
        append_member(delta, "content", released_);
        break;
      case TextChannel::Kind::Reasoning:
        append_member(delta, "reasoning_content", released_);
        break;
      case TextChannel::Kind::ToolArguments: {
        auto& calls = delta["tool_calls"];
        if (!calls.is_array()) calls = json::array();
        for (auto& call : calls.get_array()) {
          if (!call.is_object() || index_or(call.get_object(), ~std::uint64_t{0}) != channel.index) continue;
          auto& function = call.get_object()["function"];
          if (!function.is_object()) function = json::object();
          append_member(function.get_object(), "arguments", released_);
          return true;
        }
        calls.get_array().push_back(json::object{{"index", channel.index}, {"function", {{"arguments", released_}}}});
        break;
      }
    }
    return true;
  }

  static void append_member(json::object& object, std::string_view key, std::string_view text) {
    auto& value = object[key];
    if (value.is_string()) {
      value.get_string().append(text);
    } else {
      value = json::string(text);
    }
  }

  // The stream ends: what every channel holds goes out in one more chunk.
  void release_all(std::string& out) {
    closed_.clear();
    open_.close(std::nullopt, closed_);
    if (closed_.empty()) return;
    json::array choices;
    for (const auto& channel : closed_) {
      json::object* delta = nullptr;
      for (auto& item : choices)
        if (item.get_object()["index"].to_number<std::uint64_t>() == channel.choice)
          delta = &item.get_object()["delta"].get_object();
      if (delta == nullptr) {
        choices.push_back(
            json::object{{"index", channel.choice}, {"delta", json::object()}, {"finish_reason", nullptr}});
        delta = &choices.back().get_object()["delta"].get_object();
      }
      if (!release_into(*delta, channel)) return reject(channel.choice, out);
    }
    auto chunk = envelope();
    chunk["choices"] = std::move(choices);
    append_sse_json(out, chunk);
  }

  // The answering model and choice 0's finish reason, first seen.
  void note_facts(const json::object& reply) {
    if (reply_facts_.model.empty()) reply_facts_.model = string_or(reply, "model").substr(0, ReplyFacts::kMaxBytes);
    if (!reply_facts_.finish_reason.empty()) return;
    const auto* choices = array_or_null(reply.if_contains("choices"));
    if (choices == nullptr) return;
    for (const auto& item : *choices) {
      const auto* choice = item.if_object();
      if (choice == nullptr || index_or(*choice, 0) != 0) continue;
      reply_facts_.finish_reason = string_or(*choice, "finish_reason").substr(0, ReplyFacts::kMaxBytes);
    }
  }

  void remember_envelope(const json::object& chunk) {
    if (!envelope_.empty()) return;
    for (const auto key : {"id", "object", "created", "model", "system_fingerprint"})
      if (const auto* value = chunk.if_contains(key)) envelope_[key] = *value;
  }

  json::object envelope() const {
    json::object chunk = envelope_;
    if (!chunk.contains("object")) chunk["object"] = "chat.completion.chunk";
    return chunk;
  }

  // The filter rejected: the choice ends as content_filter, then the error event; nothing more.
  void reject(std::uint64_t choice, std::string& out) {
    stopped_ = rejected_ = true;
    auto chunk = envelope();
    chunk["choices"] =
        json::array{json::object{{"index", choice}, {"delta", json::object()}, {"finish_reason", "content_filter"}}};
    append_sse_json(out, chunk);
    append_openai_error_event(out, *filter_.rejection());
  }

  static void pass(const SseEvent& event, std::string& out) { append_sse_event_lines(out, event); }

  bool drop_usage_chunk_;
  SseParser parser_;
  OpenChannels open_;
  boost::container::small_vector<TextChannel, 2> closed_;
  json::object envelope_;  // id, object, created, model of the stream's chunks
  Usage usage_;
  bool stopped_ = false;   // an error event was written: nothing more goes out
  bool rejected_ = false;  // ... because of the filter or a broken stream: stop reading
};

}  // namespace

std::unique_ptr<Translator> make_openai_native_filter(llm::TextFilter& filter, bool drop_usage_chunk,
                                                      std::size_t max_event_bytes) {
  return std::make_unique<OpenAiNativeFilter>(filter, drop_usage_chunk, max_event_bytes);
}

}  // namespace sluice::translate
