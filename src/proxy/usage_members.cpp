#include "proxy/usage_members.hpp"

#include <algorithm>

#include "http/sse.hpp"

namespace sluice::proxy {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Where the value of the first `"name"` member whose value starts with `first` begins, or npos.
// A quoted name followed by a colon is a member name: inside a JSON string its quotes would be
// escaped.
std::size_t member_value(std::string_view raw, std::string_view quoted_name, char first) {
  for (auto at = raw.find(quoted_name); at != std::string_view::npos; at = raw.find(quoted_name, at + 1)) {
    auto i = at + quoted_name.size();
    while (i < raw.size() && is_blank(raw[i])) ++i;
    if (i >= raw.size() || raw[i] != ':') continue;
    ++i;
    while (i < raw.size() && is_blank(raw[i])) ++i;
    if (i < raw.size() && raw[i] == first) return i;
  }
  return std::string_view::npos;
}

}  // namespace

bool insert_usage_members(std::string& event, std::string_view members) {
  const auto open = member_value(event, "\"usage\"", '{');
  if (open == std::string_view::npos) return false;
  auto next = open + 1;
  while (next < event.size() && is_blank(event[next])) ++next;
  const bool empty = next < event.size() && event[next] == '}';
  std::string insert(members);
  if (!empty) insert.push_back(',');
  event.insert(open + 1, insert);
  return true;
}

void StreamUsageMembers::feed(std::string_view in, std::string& out) {
  if (done_ || stepped_aside_) {
    out.append(in);
    return;
  }
  held_.append(in);
  for (;;) {
    const auto end = http::sse_event_end(held_, scanned_ > 3 ? scanned_ - 3 : 0);
    if (end == std::string::npos) break;
    event(std::string_view(held_).substr(0, end), out);
    held_.erase(0, end);
    scanned_ = 0;
    if (done_) {
      out.append(held_);
      held_.clear();
      return;
    }
  }
  scanned_ = held_.size();
  if (held_.size() > max_event_bytes_) {
    stepped_aside_ = true;
    out.append(held_);
    held_.clear();
    held_.shrink_to_fit();
  }
}

void StreamUsageMembers::finish(std::string& out) {
  if (!held_.empty()) {
    if (!done_ && !stepped_aside_) {
      event(held_, out);
    } else {
      out.append(held_);
    }
    held_.clear();
  }
}

void StreamUsageMembers::event(std::string_view raw, std::string& out) {
  const bool target =
      member_value(raw, "\"usage\"", '{') != std::string_view::npos &&
      (schema_ != pipeline::ClientSchema::Anthropic || raw.find("\"message_delta\"") != std::string_view::npos);
  if (!target) {
    out.append(raw);
    return;
  }
  done_ = true;
  std::string members;
  provide_(members);
  if (members.empty()) {
    out.append(raw);
    return;
  }
  std::string edited(raw);
  insert_usage_members(edited, members);
  out.append(edited);
}

}  // namespace sluice::proxy
