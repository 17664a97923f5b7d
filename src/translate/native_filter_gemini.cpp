// Native Gemini generateContent replies through a text filter (native_filter.hpp).
#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "translate/common.hpp"
#include "translate/json_array_stream.hpp"
#include "translate/native_filter.hpp"
#include "translate/native_reader.hpp"
#include "translate/passthrough_usage.hpp"
#include "translate/sse_parser.hpp"

namespace sluice::translate {

namespace {

namespace json = boost::json;
using llm::TextChannel;

bool is_thought(const json::object& part) {
  const auto* thought = part.if_contains("thought");
  return thought != nullptr && thought->is_bool() && thought->get_bool();
}

// The most candidates a reply may carry (Gemini's candidateCount is at most 8): a bound on the
// channels a hostile upstream can make the filter hold.
constexpr std::uint64_t kMaxCandidates = 128;

json::array* parts_of(json::object& candidate) {
  auto* content = candidate.if_contains("content");
  auto* parts = content != nullptr && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
  return parts != nullptr && parts->is_array() ? &parts->get_array() : nullptr;
}

class GeminiNativeFilter final : public NativeTextFilter {
 public:
  GeminiNativeFilter(llm::TextFilter& filter, bool json_array, std::size_t max_event_bytes)
      : NativeTextFilter(filter),
        json_array_(json_array),
        sse_(max_event_bytes),
        array_(max_event_bytes),
        usage_(false, max_event_bytes) {}

  std::optional<http::ApiError> translate_response(std::string_view upstream_body, std::string& client_body) override {
    boost::system::error_code ec;
    auto body = json::parse(upstream_body, ec);
    if (ec || !body.is_object()) return bad_upstream("the provider's reply is not a JSON object");
    auto& response = body.get_object();
    read_facts(response);
    if (auto* candidates = response.if_contains("candidates"); candidates != nullptr && candidates->is_array()) {
      for (auto& value : candidates->get_array()) {
        if (!value.is_object()) continue;
        auto& candidate = value.get_object();
        const auto choice = json_count(candidate.if_contains("index"));
        auto* parts = parts_of(candidate);
        if (parts == nullptr) continue;
        std::uint64_t call = 0;
        for (auto& part_value : *parts) {
          if (!part_value.is_object()) continue;
          auto& part = part_value.get_object();
          if (auto* text = part.if_contains("text"); text != nullptr && !is_thought(part)) {
            filter_whole(*text, {choice, TextChannel::Kind::Text, 0});
          } else if (auto* function = part.if_contains("functionCall"); function != nullptr && function->is_object()) {
            if (auto* args = function->get_object().if_contains("args"))
              filter_strings(*args, {choice, TextChannel::Kind::ToolArguments, call});
            ++call;
          }
          if (filter_.rejection() != nullptr) return *filter_.rejection();
        }
      }
    }
    client_body = json::serialize(body);
    return std::nullopt;
  }

  bool stream_feed(std::string_view upstream_bytes, std::string& out) override {
    if (stopped_) return !rejected_;
    bool ok = true;
    if (json_array_) {
      ok = array_.feed(upstream_bytes, [&](std::string_view element) { on_chunk(element, out); });
      if (ok && array_.closed() && !stopped_) close(out);
    } else {
      ok = sse_.feed(upstream_bytes, [&](const SseEvent& event) {
        if (event.data.empty()) {
          append_sse_event_lines(out, event);
        } else {
          on_chunk(event.data, out);
        }
      });
    }
    if (!ok && !stopped_) {
      fail(bad_upstream(json_array_ ? "the provider's stream is not a JSON array of objects"
                                    : "the provider's stream is not valid server-sent events"),
           out);
      rejected_ = true;
    }
    return !rejected_;
  }

  void stream_end(std::string& out) override {
    if (stopped_) return;
    if (!release_all(out)) return;
    // A JSON-array stream cut before its closing bracket is left as the provider left it.
  }

  void stream_fail(const http::ApiError& error, std::string& out) override {
    if (stopped_) return;
    fail(error, out);
  }

  std::string_view stream_content_type() const override {
    return json_array_ ? "application/json" : "text/event-stream";
  }

  Usage usage() const override { return usage_.usage(); }

 private:
  void read_facts(const json::object& response) {
    usage_.observe(response);
    if (const auto* version = response.if_contains("modelVersion"); version != nullptr && version->is_string())
      reply_facts_.model = std::string(version->get_string().subview().substr(0, ReplyFacts::kMaxBytes));
    const auto* candidates = response.if_contains("candidates");
    if (candidates == nullptr || !candidates->is_array() || candidates->get_array().empty()) return;
    if (const auto* first = object_or_null(&candidates->get_array().front());
        first && reply_facts_.finish_reason.empty())
      reply_facts_.finish_reason = string_or(*first, "finishReason").substr(0, ReplyFacts::kMaxBytes);
  }

  // One GenerateContentResponse of the stream: its text parts go through the filter (a
  // candidate's text is one channel), a functionCall's strings are filtered whole (it comes
  // whole), and a candidate's held text goes out as one more text part before a function call
  // and at its finishReason.
  void on_chunk(std::string_view data, std::string& out) {
    if (stopped_) return;
    boost::system::error_code ec;
    auto parsed = json::parse(data, ec);
    if (ec || !parsed.is_object()) {
      write(data, out);
      return;
    }
    auto& chunk = parsed.get_object();
    read_facts(chunk);
    if (auto* candidates = chunk.if_contains("candidates"); candidates != nullptr && candidates->is_array()) {
      for (auto& value : candidates->get_array()) {
        if (!value.is_object()) continue;
        auto& candidate = value.get_object();
        const auto choice = json_count(candidate.if_contains("index"));
        if (choice >= kMaxCandidates) {
          fail(bad_upstream("the provider's stream names more than " + std::to_string(kMaxCandidates) + " candidates"),
               out);
          rejected_ = true;
          return;
        }
        if (!filter_candidate(candidate, choice)) return reject(choice, out);
      }
    }
    write(json::serialize(chunk), out);
  }

  bool filter_candidate(json::object& candidate, std::uint64_t choice) {
    const TextChannel text_channel{choice, TextChannel::Kind::Text, 0};
    if (auto* parts = parts_of(candidate)) {
      json::array filtered(parts->storage());
      for (auto& part_value : *parts) {
        auto* part = part_value.if_object();
        if (part != nullptr && part->contains("functionCall")) {
          if (!finish_text(text_channel, filtered)) return false;
          auto* call = part->at("functionCall").if_object();
          if (auto* args = call != nullptr ? call->if_contains("args") : nullptr)
            filter_strings(*args, {choice, TextChannel::Kind::ToolArguments, calls_});
          ++calls_;
          if (filter_.rejection() != nullptr) return false;
        } else if (auto* text = part != nullptr ? part->if_contains("text") : nullptr;
                   text != nullptr && text->is_string() && !is_thought(*part)) {
          released_.clear();
          filter_.feed(text_channel, text->get_string(), released_);
          if (filter_.rejection() != nullptr) return false;
          *text = released_;
          if (std::find(open_.begin(), open_.end(), choice) == open_.end()) open_.push_back(choice);
        }
        filtered.push_back(std::move(part_value));
      }
      *parts = std::move(filtered);
    }
    if (const auto* reason = candidate.if_contains("finishReason"); reason != nullptr && !reason->is_null()) {
      json::array held(candidate.storage());
      if (!finish_text(text_channel, held)) return false;
      if (!held.empty()) {
        auto& content = candidate["content"];
        if (!content.is_object()) content = json::object{{"role", "model"}};
        auto& parts = content.get_object()["parts"];
        if (!parts.is_array()) parts = json::array();
        for (auto& part : held) parts.get_array().push_back(std::move(part));
      }
    }
    return true;
  }

  // The candidate's text channel finishes: what it held becomes a text part of `parts`.
  bool finish_text(const TextChannel& channel, json::array& parts) {
    const auto open = std::find(open_.begin(), open_.end(), channel.choice);
    if (open == open_.end()) return true;
    open_.erase(open);
    released_.clear();
    filter_.finish(channel, released_);
    if (filter_.rejection() != nullptr) return false;
    if (!released_.empty()) parts.push_back(json::object{{"text", released_}});
    return true;
  }

  // The stream ended: each candidate's held text goes out in one more chunk, then the array
  // closes.
  bool release_all(std::string& out) {
    while (!open_.empty()) {
      const auto choice = open_.front();
      json::array parts;
      if (!finish_text({choice, TextChannel::Kind::Text, 0}, parts)) {
        reject(choice, out);
        return false;
      }
      if (parts.empty()) continue;
      const json::object chunk{
          {"candidates", json::array{json::object{{"content", {{"parts", std::move(parts)}, {"role", "model"}}},
                                                  {"index", choice}}}}};
      write(json::serialize(chunk), out);
    }
    return true;
  }

  void close(std::string& out) {
    if (!release_all(out)) return;
    if (!opened_) out.push_back('[');
    out.push_back(']');
    stopped_ = true;
  }

  void write(std::string_view element, std::string& out) {
    if (!json_array_) {
      out.append("data: ").append(element).append("\n\n");
      return;
    }
    out.append(opened_ ? ",\r\n" : "[");
    opened_ = true;
    out.append(element);
  }

  // The stream ends with Google's error object; nothing follows it.
  void fail(const http::ApiError& error, std::string& out) {
    stopped_ = true;
    write(http::google_error_body(error), out);
    if (json_array_) out.push_back(']');
  }

  // The filter rejected: the candidate finishes as SAFETY, then the error; nothing more.
  void reject(std::uint64_t choice, std::string& out) {
    rejected_ = true;
    const json::object chunk{{"candidates", json::array{json::object{{"index", choice}, {"finishReason", "SAFETY"}}}}};
    write(json::serialize(chunk), out);
    fail(*filter_.rejection(), out);
  }

  bool json_array_;
  SseParser sse_;
  JsonArrayStream array_;
  PassthroughUsageReader usage_;
  boost::container::small_vector<std::uint64_t, 2> open_;  // candidates whose text channel holds text
  std::uint64_t calls_ = 0;
  bool opened_ = false;  // the client's JSON array was opened
  bool stopped_ = false;
  bool rejected_ = false;
};

}  // namespace

std::unique_ptr<Translator> make_gemini_native_filter(llm::TextFilter& filter, bool json_array,
                                                      std::size_t max_event_bytes) {
  return std::make_unique<GeminiNativeFilter>(filter, json_array, max_event_bytes);
}

}  // namespace sluice::translate
