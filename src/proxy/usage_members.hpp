// StreamUsageMembers: adds members to the usage object a stream reports at its end, in the
// client's schema, as the stream's bytes leave (after translation or native reading) — how a
// stream carries what its reply cost (pipeline Phase::ReplyCost). The event it edits:
//   OpenAI chat   the chunk whose "usage" is an object (the usage chunk a client asks for with
//                 stream_options.include_usage; without it the stream has none, and nothing is
//                 added)
//   Anthropic     the message_delta event's "usage"
// When that event passes, `provide` is called and the members it appends ("name":value,...) are
// inserted at the start of the usage object; every other byte passes unchanged. Events are
// framed here (a blank line ends one), so only the event being completed is held; one past
// `max_event_bytes` makes it step aside (bytes pass through, nothing is inserted).
//
// A relay runs it after any other filter or translation (its `post` filter), and a response
// tap sees the bytes before it: a stored reply does not keep one answer's cost. One per
// response; not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "pipeline/request_record.hpp"
#include "pipeline/response_filter.hpp"

namespace sluice::proxy {

class StreamUsageMembers final : public pipeline::ResponseFilter {
 public:
  using Provide = std::function<void(std::string& members)>;
  StreamUsageMembers(pipeline::ClientSchema schema, std::size_t max_event_bytes, Provide provide)
      : schema_(schema), max_event_bytes_(max_event_bytes), provide_(std::move(provide)) {}

  void feed(std::string_view in, std::string& out) override;
  void finish(std::string& out) override;
  bool may_change_length() const override { return true; }

 private:
  void event(std::string_view raw, std::string& out);

  pipeline::ClientSchema schema_;
  std::size_t max_event_bytes_;
  Provide provide_;
  std::string held_;         // the event being completed
  std::size_t scanned_ = 0;  // bytes of held_ already searched for the event's end
  bool stepped_aside_ = false;
  bool done_ = false;  // the usage event passed: the rest is forwarded unread
};

// Inserts `members` at the start of the object that is the value of the first "usage" member
// of `event` (an SSE event's raw bytes) whose value is an object; false when there is none.
// Exposed for tests.
bool insert_usage_members(std::string& event, std::string_view members);

}  // namespace sluice::proxy
