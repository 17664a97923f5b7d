#include "observe/genai_messages.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

namespace sluice::observe {

namespace json = boost::json;

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  // A cut before a continuation byte falls inside a character: back to where it starts.
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

void GenAiMessages::close_message() {
  if (open_ && !current_.at("parts").get_array().empty()) messages_.push_back(std::move(current_));
  current_ = {};
  open_ = false;
}

void GenAiMessages::message(std::string_view role) {
  close_message();
  current_ = json::object{{"role", role}, {"parts", json::array{}}};
  open_ = true;
}

json::array* GenAiMessages::add_part() {
  if (!open_) message("user");
  if (parts_ >= kMaxParts) {
    truncated_ = true;
    return nullptr;
  }
  ++parts_;
  return &current_.at("parts").get_array();
}

std::string_view GenAiMessages::keep(std::string_view content) {
  const auto room = std::min(left_, part_limit_);
  if (content.size() > room) {
    truncated_ = true;
    content = utf8_prefix(content, room);
  }
  left_ -= content.size();
  return content;
}

void GenAiMessages::content_part(std::string_view type, std::string_view content) {
  auto* parts = add_part();
  if (parts == nullptr) return;
  json::object part{{"type", type}};
  if (full_)
    part["content"] = keep(content);
  else
    part["size"] = content.size();
  parts->push_back(std::move(part));
}

void GenAiMessages::text(std::string_view content) {
  content_part("text", content);
}

void GenAiMessages::reasoning(std::string_view content) {
  content_part("reasoning", content);
}

void GenAiMessages::tool_part(std::string_view type, std::string_view id, std::optional<std::string_view> name,
                              std::string_view key, std::string_view text, const json::value* value, bool parse) {
  auto* parts = add_part();
  if (parts == nullptr) return;
  json::object part{{"type", type}};
  if (!full_) {
    part["size"] = text.size();
    parts->push_back(std::move(part));
    return;
  }
  part["id"] = id.empty() ? json::value(nullptr) : json::value(id);
  if (name) part["name"] = *name;
  const auto kept = keep(text);
  std::optional<json::value> whole;
  if (kept.size() == text.size() && value != nullptr) {
    whole = *value;
  } else if (kept.size() == text.size() && parse && !text.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(text, ec);
    if (!ec) whole = std::move(parsed);
  }
  if (whole)
    part[key] = std::move(*whole);
  else
    part[key] = kept;
  parts->push_back(std::move(part));
}

void GenAiMessages::tool_call(std::string_view id, std::string_view name, std::string_view arguments) {
  tool_part("tool_call", id, name, "arguments", arguments, nullptr, true);
}

void GenAiMessages::tool_call(std::string_view id, std::string_view name, const json::value* arguments) {
  if (arguments == nullptr) {
    tool_call(id, name, std::string_view("{}"));
  } else if (arguments->is_string()) {
    tool_call(id, name, std::string_view(arguments->get_string()));
  } else {
    tool_part("tool_call", id, name, "arguments", json::serialize(*arguments), arguments, false);
  }
}

void GenAiMessages::tool_call_response(std::string_view id, std::string_view response) {
  tool_part("tool_call_response", id, std::nullopt, "response", response, nullptr, false);
}

void GenAiMessages::tool_call_response(std::string_view id, const json::value* response) {
  if (response != nullptr && response->is_string()) {
    tool_call_response(id, std::string_view(response->get_string()));
    return;
  }
  const json::value null;
  if (response == nullptr) response = &null;
  tool_part("tool_call_response", id, std::nullopt, "response", json::serialize(*response), response, false);
}

void GenAiMessages::finish_reason(std::string_view reason) {
  if (!open_) message("assistant");
  current_["finish_reason"] = reason;
}

std::string GenAiMessages::serialize(bool newest_first) {
  close_message();
  if (messages_.empty()) return {};
  if (newest_first) std::reverse(messages_.begin(), messages_.end());
  return json::serialize(messages_);
}

std::string GenAiMessages::serialize_parts() {
  close_message();
  json::array parts;
  for (auto& message : messages_)
    for (auto& part : message.as_object().at("parts").as_array()) parts.push_back(std::move(part));
  return parts.empty() ? std::string() : json::serialize(parts);
}

}  // namespace sluice::observe
