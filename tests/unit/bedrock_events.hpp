// Test helper: the binary AWS event stream of a Bedrock golden case. The golden files keep
// ConverseStream events as JSON (upstream_events.json: message_type, event_type or
// exception_type, payload); this encodes them as the bytes Bedrock sends.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "translate/aws_eventstream.hpp"

namespace sluice::golden {

inline std::string bedrock_event_stream(const boost::json::array& events) {
  using translate::EventStreamHeader;
  std::string bytes;
  for (const auto& ev : events) {
    const auto& o = ev.as_object();
    const std::string type(o.at("message_type").as_string());
    std::vector<EventStreamHeader> headers{EventStreamHeader::string(":message-type", type)};
    if (type == "event") {
      headers.push_back(EventStreamHeader::string(":event-type", std::string(o.at("event_type").as_string())));
    } else {
      headers.push_back(EventStreamHeader::string(":exception-type", std::string(o.at("exception_type").as_string())));
    }
    headers.push_back(EventStreamHeader::string(":content-type", "application/json"));
    bytes += translate::encode_event_stream_message(headers, boost::json::serialize(o.at("payload")));
  }
  return bytes;
}

}  // namespace sluice::golden
