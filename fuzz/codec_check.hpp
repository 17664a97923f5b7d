// Shared by the decoder and encoder fuzz targets: sinks that check the canonical event contract
// (src/llm/events.hpp) and the client bytes the encoders write. A broken invariant aborts, so
// libFuzzer reports it as a crash with the input that caused it.
#pragma once

#include <boost/json.hpp>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "llm/events.hpp"
#include "translate/codec.hpp"

namespace sluice::fuzz {

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
