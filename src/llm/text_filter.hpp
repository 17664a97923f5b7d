// TextFilter: what inspects or rewrites the text a model answers, as it arrives (a response
// guard). Text comes in channels: one choice's content, its reasoning, one tool call's
// arguments, or (native Anthropic replies) one content block. A filter receives each channel's
// text in pieces and gives back what may go out now; it may hold text back (a possible match
// not yet decided) and must give it all back, rewritten, when the channel finishes. It may
// instead decide the whole response is rejected: the caller then ends the response with that
// error and sends nothing more of it.
//
// TextFilteringEvents applies a filter to canonical events (the translated paths, decoder ->
// filter -> encoder). A channel's held text is released when the choice moves to another
// channel (text, then a tool call), at the choice's Finish and at End, so every piece keeps its
// place in the reply. On a rejection it emits Finish (content_filter) and the filter's Error
// for the choice, and drops every later event.
//
// Not thread-safe: one filter per response, used by one worker.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/api_error.hpp"
#include "llm/events.hpp"

namespace sluice::llm {

struct TextChannel {
  enum class Kind : std::uint8_t { Text, Reasoning, ToolArguments };
  std::uint64_t choice = 0;
  Kind kind = Kind::Text;
  std::uint64_t index = 0;  // the tool call (ToolArguments) or content block (native Anthropic)

  friend bool operator==(const TextChannel&, const TextChannel&) = default;
};

class TextFilter {
 public:
  virtual ~TextFilter() = default;
  // The next piece of `channel`'s text: appends to `released` what may go out now.
  virtual void feed(const TextChannel& channel, std::string_view text, std::string& released) = 0;
  // `channel` ended: appends everything it still holds.
  virtual void finish(const TextChannel& channel, std::string& released) = 0;
  // Set once the response must be rejected (what was released before stays released; the
  // output of the call that rejected must be dropped).
  virtual const http::ApiError* rejection() const = 0;
};

// Several filters in a row (a rule's guard, then its Backend's): what one releases is the next
// one's input; the first rejection counts.
class TextFilterChain final : public TextFilter {
 public:
  explicit TextFilterChain(std::vector<std::unique_ptr<TextFilter>> filters) : filters_(std::move(filters)) {}
  void feed(const TextChannel& channel, std::string_view text, std::string& released) override;
  void finish(const TextChannel& channel, std::string& released) override;
  const http::ApiError* rejection() const override;

 private:
  std::vector<std::unique_ptr<TextFilter>> filters_;
  std::string between_[2];
};

// Replaces the whole text of some choices (what a response webhook answered): a replaced
// choice's text is swallowed as it arrives and the replacement released when its text channel
// first finishes; every other channel passes unchanged.
class TextReplacement final : public TextFilter {
 public:
  // replacements[i]: choice i's new text, or nullopt to keep it.
  explicit TextReplacement(std::vector<std::optional<std::string>> replacements)
      : replacements_(std::move(replacements)) {}
  void feed(const TextChannel& channel, std::string_view text, std::string& released) override;
  void finish(const TextChannel& channel, std::string& released) override;
  const http::ApiError* rejection() const override { return nullptr; }

 private:
  bool replaced(const TextChannel& channel) const;
  std::vector<std::optional<std::string>> replacements_;
};

class TextFilteringEvents {
 public:
  explicit TextFilteringEvents(TextFilter& filter) : filter_(filter) {}

  // Filters `event` and passes what results to `next`.
  void on_event(const Event& event, EventSink& next);
  bool rejected() const { return filter_.rejection() != nullptr; }

 private:
  // Releases what `channel` holds as a delta of its kind.
  void finish_channel(const TextChannel& channel, EventSink& next);
  // Finishes the open channel of `choice`, if any.
  void finish_choice(std::uint64_t choice, EventSink& next);
  void finish_all(EventSink& next);
  // The choice's open channel becomes `channel`; the previous one is finished.
  void enter(const TextChannel& channel, EventSink& next);
  // A rejection happened: Finish(content_filter) and the Error, once.
  void reject(std::uint64_t choice, EventSink& next);

  TextFilter& filter_;
  boost::container::small_vector<TextChannel, 4> open_;
  std::string released_;
  bool stopped_ = false;
};

// Passes events through a TextFilteringEvents to `next`.
class TextFilteringSink final : public EventSink {
 public:
  TextFilteringSink(TextFilteringEvents& filtering, EventSink& next) : filtering_(filtering), next_(next) {}
  void on_event(const Event& event) override { filtering_.on_event(event, next_); }

 private:
  TextFilteringEvents& filtering_;
  EventSink& next_;
};

}  // namespace sluice::llm
