// What the response-guard tests share: the guard's real filter (policy/response_guard.hpp) over
// one matcher (CREDIT_CARD, EMAIL and a `ticket` pattern), its rejection, and a text cut at
// chosen offsets. Header-only test support.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "guard/matcher.hpp"
#include "pipeline/request_record.hpp"
#include "policy/response_guard.hpp"

namespace sluice::test_support {

inline const guard::Matcher& guard_matcher() {
  static const guard::Matcher m = [] {
    std::string error;
    auto compiled = guard::Matcher::compile({{"CREDIT_CARD", "EMAIL"}, {{"ticket", "TCK-[0-9]{6}", 10}}}, error);
    if (!compiled) throw std::runtime_error(error);
    return std::move(*compiled);
  }();
  return m;
}

inline const http::ApiError kGuardRejection{
    403, "invalid_request_error", "content_filter", "The response was rejected by policy", {}};

// One guarded response: its filter (masking, or rejecting with `reject`), its record.
struct Guarded {
  explicit Guarded(bool reject = false)
      : filter(policy::make_response_guard_filter(guard_matcher(), reject, kGuardRejection, record)) {}
  pipeline::RequestRecord record;
  std::unique_ptr<llm::TextFilter> filter;
};

// `text` cut at the given offsets.
inline std::vector<std::string> cut(std::string_view text, const std::vector<std::size_t>& cuts) {
  std::vector<std::string> pieces;
  std::size_t from = 0;
  for (const auto at : cuts) {
    pieces.emplace_back(text.substr(from, at - from));
    from = at;
  }
  pieces.emplace_back(text.substr(from));
  return pieces;
}

}  // namespace sluice::test_support
