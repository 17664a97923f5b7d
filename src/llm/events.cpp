#include "llm/events.hpp"

namespace sluice::llm {

std::string_view openai_finish_reason(FinishReason reason) {
  switch (reason) {
    case FinishReason::Length:
      return "length";
    case FinishReason::ToolCalls:
      return "tool_calls";
    case FinishReason::ContentFilter:
      return "content_filter";
    case FinishReason::Stop:
    case FinishReason::Other:
      break;
  }
  return "stop";
}

std::string_view anthropic_stop_reason(FinishReason reason) {
  switch (reason) {
    case FinishReason::Length:
      return "max_tokens";
    case FinishReason::ToolCalls:
      return "tool_use";
    case FinishReason::ContentFilter:
      return "refusal";
    case FinishReason::Stop:
    case FinishReason::Other:
      break;
  }
  return "end_turn";
}

}  // namespace sluice::llm
