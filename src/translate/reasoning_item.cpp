#include "translate/reasoning_item.hpp"

#include <boost/json.hpp>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

std::string seal(const json::object& content) {
  std::string out(kSealedReasoningPrefix);
  out.append(base64_encode(json::serialize(content)));
  return out;
}

const json::string* string_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

}  // namespace

std::string seal_thinking_block(const json::object& block) {
  return seal(json::object{{"family", "anthropic"}, {"block", block}});
}

std::string seal_thought_signature(std::string_view call_id, std::string_view signature) {
  return seal(json::object{{"family", "google"}, {"call_id", call_id}, {"thought_signature", signature}});
}

std::optional<SealedReasoning> unseal_reasoning(std::string_view encrypted_content) {
  if (!is_sealed_reasoning(encrypted_content)) return std::nullopt;
  const auto bytes = base64_decode(encrypted_content.substr(kSealedReasoningPrefix.size()));
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  auto value = json::parse(*bytes, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& content = value.get_object();
  const auto* family = string_member(content, "family");
  if (family == nullptr) return std::nullopt;
  SealedReasoning out;
  if (*family == "anthropic") {
    const auto* block_value = content.if_contains("block");
    const auto* block = block_value != nullptr ? block_value->if_object() : nullptr;
    if (block == nullptr) return std::nullopt;
    const auto* type = string_member(*block, "type");
    if (type == nullptr) return std::nullopt;
    if (*type == "thinking") {
      const auto* text = string_member(*block, "thinking");
      const auto* signature = string_member(*block, "signature");
      if (text == nullptr || signature == nullptr || signature->empty()) return std::nullopt;
      out.thinking_block = json::object{{"type", "thinking"}, {"thinking", *text}, {"signature", *signature}};
    } else if (*type == "redacted_thinking") {
      const auto* data = string_member(*block, "data");
      if (data == nullptr || data->empty()) return std::nullopt;
      out.thinking_block = json::object{{"type", "redacted_thinking"}, {"data", *data}};
    } else {
      return std::nullopt;
    }
    return out;
  }
  if (*family == "google") {
    const auto* call_id = string_member(content, "call_id");
    const auto* signature = string_member(content, "thought_signature");
    if (call_id == nullptr || signature == nullptr || signature->empty()) return std::nullopt;
    out.call_id = *call_id;
    out.thought_signature = *signature;
    return out;
  }
  return std::nullopt;
}

}  // namespace sluice::translate
