// The `encrypted_content` of the Responses API reasoning items Sluice writes for translated
// providers: how a provider's signed reasoning travels through a Responses client and back.
//
// A Responses client that keeps no server state (store: false, include
// ["reasoning.encrypted_content"]: the OpenAI Agents SDK, the AI SDK) sends the reasoning items
// of earlier turns back in `input` with their `encrypted_content`. OpenAI encrypts it; Sluice
// seals what the provider needs to verify the reasoning it is sent back instead:
//   "sluice.v1." + base64(JSON)   (standard alphabet, padded; '.' is outside it)
// where the JSON is one of
//   {"family":"anthropic","block":{"type":"thinking","thinking","signature"}}
//   {"family":"anthropic","block":{"type":"redacted_thinking","data"}}
//       an Anthropic thinking block (Anthropic, Vertex AI's Anthropic publisher, Claude on
//       Bedrock): the exact text it signs and its signature, or a redacted block's data;
//   {"family":"google","call_id","thought_signature"}
//       a Gemini thought signature and the function call (call_id of the function_call item
//       that follows) it belongs to.
// The content is signed by the provider, not by Sluice: sealing only marks it as Sluice's, so
// that a foreign encrypted_content (real OpenAI's, another gateway's) is recognised and never
// sent to a provider as a signature. Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::translate {

inline constexpr std::string_view kSealedReasoningPrefix = "sluice.v1.";

// An Anthropic-shaped block ({type thinking, thinking, signature} or {type redacted_thinking,
// data}) sealed as encrypted_content.
std::string seal_thinking_block(const boost::json::object& block);
// A Gemini thought signature of the call `call_id`, sealed.
std::string seal_thought_signature(std::string_view call_id, std::string_view signature);

// What a sealed encrypted_content carries: exactly one of the two.
struct SealedReasoning {
  boost::json::object thinking_block;  // Anthropic-shaped block (family anthropic); empty otherwise
  std::string call_id;                 // family google
  std::string thought_signature;       // family google
};

// Whether `encrypted_content` is Sluice's (starts with the prefix). Foreign content is not.
inline bool is_sealed_reasoning(std::string_view encrypted_content) {
  return encrypted_content.starts_with(kSealedReasoningPrefix);
}

// The content of Sluice's `encrypted_content`, or nullopt when it has Sluice's prefix but is
// not what Sluice writes (bad base64, not JSON, an unknown family, a missing or non-string
// member): the caller answers 400 naming the field.
std::optional<SealedReasoning> unseal_reasoning(std::string_view encrypted_content);

}  // namespace sluice::translate
