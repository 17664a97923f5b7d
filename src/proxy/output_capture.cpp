#include "proxy/output_capture.hpp"

#include <boost/json.hpp>

namespace sluice::proxy {

namespace json = boost::json;

namespace {

const json::value* at(const json::value* v, std::string_view key) {
  if (v == nullptr) return nullptr;
  const auto* o = v->if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

const json::value* first(const json::value* v) {
  if (v == nullptr) return nullptr;
  const auto* a = v->if_array();
  return a == nullptr || a->empty() ? nullptr : &a->front();
}

std::string_view str(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

}  // namespace

void OutputCapture::begin(unsigned status, std::string_view content_type) {
  if (inner_ != nullptr) inner_->begin(status, content_type);
  // A later answer (a failover after a relay that never reached the client) starts over.
  ok_ = status >= 200 && status < 300;
  stream_ = content_type.starts_with("text/event-stream");
  gave_up_ = false;
  pending_.clear();
  text_.clear();
  finish_reason_.clear();
  truncated_ = false;
}

void OutputCapture::keep_pending(std::string_view bytes) {
  if (pending_.size() + bytes.size() > kMaxCapturedReply) {
    gave_up_ = true;
    truncated_ = true;
    pending_.clear();
    return;
  }
  pending_.append(bytes);
}

void OutputCapture::body(std::string_view bytes) {
  if (inner_ != nullptr) inner_->body(bytes);
  if (!ok_ || gave_up_) return;
  if (!stream_) {
    keep_pending(bytes);
    return;
  }
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      keep_pending(bytes);
      return;
    }
    if (pending_.empty()) {
      read_event_line(bytes.substr(0, newline));
    } else {
      pending_.append(bytes.substr(0, newline));
      read_event_line(pending_);
      pending_.clear();
    }
    bytes.remove_prefix(newline + 1);
  }
}

void OutputCapture::end(bool complete) {
  if (inner_ != nullptr) inner_->end(complete);
  if (!ok_) return;
  if (!stream_ && !gave_up_ && !pending_.empty()) read_object(pending_, false);
  pending_.clear();
  pending_.shrink_to_fit();
  json::object part{{"type", "text"}};
  if (trace_.capture == config::CaptureContent::Full) {
    part["content"] = text_;
  } else {
    part["size"] = text_.size();
  }
  json::object message{{"role", "assistant"}, {"parts", json::array{std::move(part)}}};
  if (!finish_reason_.empty()) message["finish_reason"] = finish_reason_;
  trace_.output_messages = json::serialize(json::array{std::move(message)});
  trace_.output_truncated = truncated_;
}

void OutputCapture::add_text(std::string_view text) {
  if (truncated_) return;
  if (text_.size() + text.size() > kMaxCapturedText) {
    text = text.substr(0, kMaxCapturedText - text_.size());
    // Cut at a UTF-8 character boundary.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.remove_suffix(1);
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.remove_suffix(1);
    truncated_ = true;
  }
  text_.append(text);
}

void OutputCapture::read_event_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with("data:")) return;
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (line.empty() || line.front() != '{') return;  // [DONE], keep-alives
  read_object(line, true);
}

void OutputCapture::read_object(std::string_view text, bool event) {
  boost::system::error_code ec;
  const auto doc = json::parse(text, ec);
  if (ec) return;
  const json::value* v = &doc;
  switch (api_) {
    case route::ApiKind::ChatCompletions: {
      const auto* choice = first(at(v, "choices"));
      const auto* content = at(at(choice, event ? "delta" : "message"), "content");
      if (const auto* parts = content != nullptr ? content->if_array() : nullptr) {
        for (const auto& p : *parts) add_text(str(at(&p, "text")));
      } else {
        add_text(str(content));
      }
      if (const auto reason = str(at(choice, "finish_reason")); !reason.empty()) finish_reason_ = reason;
      break;
    }
    case route::ApiKind::Messages: {
      if (!event) {
        if (const auto* blocks = at(v, "content"); blocks != nullptr && blocks->is_array())
          for (const auto& b : blocks->get_array())
            if (str(at(&b, "type")) == "text") add_text(str(at(&b, "text")));
        finish_reason_ = str(at(v, "stop_reason"));
        break;
      }
      const auto type = str(at(v, "type"));
      if (type == "content_block_delta" && str(at(at(v, "delta"), "type")) == "text_delta")
        add_text(str(at(at(v, "delta"), "text")));
      if (type == "message_delta")
        if (const auto reason = str(at(at(v, "delta"), "stop_reason")); !reason.empty()) finish_reason_ = reason;
      break;
    }
    case route::ApiKind::Responses: {
      const json::value* response = v;
      if (event) {
        const auto type = str(at(v, "type"));
        if (type == "response.output_text.delta") add_text(str(at(v, "delta")));
        if (type != "response.completed" && type != "response.incomplete") break;
        response = at(v, "response");
      } else if (const auto* output = at(v, "output"); output != nullptr && output->is_array()) {
        for (const auto& item : output->get_array())
          if (const auto* content = at(&item, "content"); content != nullptr && content->is_array())
            for (const auto& c : content->get_array())
              if (str(at(&c, "type")) == "output_text") add_text(str(at(&c, "text")));
      }
      if (const auto status = str(at(response, "status")); !status.empty()) finish_reason_ = status;
      break;
    }
    case route::ApiKind::GeminiGenerate: {
      const auto* candidate = first(at(v, "candidates"));
      if (const auto* parts = at(at(candidate, "content"), "parts"); parts != nullptr && parts->is_array())
        for (const auto& p : parts->get_array())
          if (const auto* thought = at(&p, "thought");
              thought == nullptr || !thought->is_bool() || !thought->get_bool())
            add_text(str(at(&p, "text")));
      if (const auto reason = str(at(candidate, "finishReason")); !reason.empty()) finish_reason_ = reason;
      break;
    }
    default:
      break;
  }
}

}  // namespace sluice::proxy
