// Shared by the decoder and encoder fuzz targets: sinks that check the canonical event contract
// (src/llm/events.hpp) and the client bytes the encoders write. A broken invariant aborts, so
// libFuzzer reports it as a crash with the input that caused it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llm/events.hpp"
#include "translate/codec.hpp"

namespace sluice::fuzz {

// Event programs (one event per line, fields separated by '|'), shared by the encoder fuzz
// targets. Text in events is valid UTF-8 (decoders take it from parsed JSON), so program text
// that is not is made so.
// Length of the valid UTF-8 sequence starting at s[i], or 0.
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0)
    n = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    n = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    n = 4, min = 0x10000;
  else
    return 0;
  if (i + n > s.size()) return 0;
  std::uint32_t cp = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

inline std::string valid_utf8(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto n = utf8_sequence(s, i);
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

inline std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto bar = line.find('|');
    out.push_back(line.substr(0, bar));
    if (bar == std::string_view::npos) break;
    line.remove_prefix(bar + 1);
  }
  return out;
}

// Field `i`, or empty when the line has fewer.
inline std::string_view text(const std::vector<std::string_view>& f, std::size_t i) {
  return i < f.size() ? f[i] : "";
}

// Aborts on an event order the contract forbids: a second MessageStart, or anything after
// Error or End.
class ContractCheck final : public llm::EventSink {
 public:
  explicit ContractCheck(llm::EventSink& next) : next_(next) {}
  void on_event(const llm::Event& event) override {
    if (over_) std::abort();
    if (std::holds_alternative<llm::MessageStart>(event)) {
      if (started_) std::abort();
      started_ = true;
    }
    if (std::holds_alternative<llm::Error>(event) || std::holds_alternative<llm::End>(event)) over_ = true;
    next_.on_event(event);
  }

 private:
  llm::EventSink& next_;
  bool started_ = false;
  bool over_ = false;
};

// Forwards every event to several sinks.
class Fanout final : public llm::EventSink {
 public:
  Fanout(llm::EventSink& a, llm::EventSink& b) : a_(a), b_(b) {}
  void on_event(const llm::Event& event) override {
    a_.on_event(event);
    b_.on_event(event);
  }

 private:
  llm::EventSink& a_;
  llm::EventSink& b_;
};

// Client SSE written by an encoder: whole events, each data line JSON (or [DONE]).
inline void check_sse(std::string_view out) {
  if (out.empty()) return;
  if (out.size() < 2 || out.substr(out.size() - 2) != "\n\n") std::abort();
  std::size_t pos = 0;
  while (pos < out.size()) {
    const auto end = out.find('\n', pos);
    const auto line = out.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with("data: ")) continue;
    const auto data = line.substr(6);
    if (data == "[DONE]") continue;
    boost::system::error_code ec;
    (void)boost::json::parse(data, ec);
    if (ec) std::abort();
  }
}

inline void check_json(std::string_view body) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) std::abort();
}

// A stream encoder behind an EventSink: checks each write, and that nothing is written once the
// encoder reported closed().
class CheckedEncoder final : public llm::EventSink {
 public:
  explicit CheckedEncoder(translate::StreamEncoder& encoder) : encoder_(encoder) {}
  void on_event(const llm::Event& event) override {
    const bool was_closed = encoder_.closed();
    std::string out;
    encoder_.encode(event, out);
    if (was_closed && !out.empty()) std::abort();
    check_sse(out);
  }

 private:
  translate::StreamEncoder& encoder_;
};

}  // namespace sluice::fuzz
