// Test helper: an llm::EventSink that records each event as one line of text, so a decoder's
// output can be compared with an expected list and between feeds in different splits.
// Formats: "start <id> <model>", "text <index> <text>", "reasoning <index> <text>",
// "tool <index> <id> <name> <arguments>", "usage <prompt> <completion> <total> <cached>",
// "finish <openai reason> <raw>", "end", "error <status> <code> <message>".
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "llm/events.hpp"

namespace sluice::testing_events {

struct Recorder final : llm::EventSink {
  std::vector<std::string> lines;

  void on_event(const llm::Event& event) override { lines.push_back(describe(event)); }

  static std::string describe(const llm::Event& event) {
    using std::to_string;
    if (const auto* e = std::get_if<llm::MessageStart>(&event))
      return "start " + std::string(e->id) + " " + std::string(e->model);
    if (const auto* e = std::get_if<llm::TextDelta>(&event))
      return "text " + to_string(e->index) + " " + std::string(e->text);
    if (const auto* e = std::get_if<llm::ReasoningDelta>(&event))
      return "reasoning " + to_string(e->index) + " " + std::string(e->text);
    if (const auto* e = std::get_if<llm::ReasoningSignature>(&event))
      return std::string(e->redacted ? "redacted " : "signature ") + to_string(e->index) + " " +
             std::string(e->signature);
    if (const auto* e = std::get_if<llm::ToolCallDelta>(&event))
      return "tool " + to_string(e->index) + " " + std::string(e->id) + " " + std::string(e->name) + " " +
             std::string(e->arguments) + (e->signature.empty() ? "" : " sig=" + std::string(e->signature));
    if (const auto* e = std::get_if<llm::UsageEvent>(&event))
      return "usage " + to_string(e->usage.prompt_tokens) + " " + to_string(e->usage.completion_tokens) + " " +
             to_string(e->usage.total_tokens) + " " + to_string(e->usage.cached_tokens);
    if (const auto* e = std::get_if<llm::Finish>(&event))
      return "finish " + std::string(llm::openai_finish_reason(e->reason)) + " " + std::string(e->raw);
    if (std::holds_alternative<llm::End>(event)) return "end";
    const auto& error = std::get<llm::Error>(event).error;
    return "error " + std::to_string(error.status) + " " + std::string(error.code) + " " + error.message;
  }
};

}  // namespace sluice::testing_events
