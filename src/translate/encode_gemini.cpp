#include "translate/encode_gemini.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>
#include <variant>

#include "translate/common.hpp"

namespace sluice::translate {

namespace json = boost::json;

namespace {

// Gemini's FinishReason values (GENAI types.go); a provider value among them is kept.
constexpr std::string_view kGeminiFinishReasons[] = {"STOP",
                                                     "MAX_TOKENS",
                                                     "SAFETY",
                                                     "RECITATION",
                                                     "LANGUAGE",
                                                     "OTHER",
                                                     "BLOCKLIST",
                                                     "PROHIBITED_CONTENT",
                                                     "SPII",
                                                     "IMAGE_SAFETY",
                                                     "UNEXPECTED_TOOL_CALL",
                                                     "TOO_MANY_TOOL_CALLS",
                                                     "IMAGE_OTHER",
                                                     "NO_IMAGE",
                                                     "IMAGE_RECITATION",
                                                     "MALFORMED_FUNCTION_CALL",
                                                     "IMAGE_PROHIBITED_CONTENT"};

// A functionCall part: args parsed (not an object -> {}), id only when the provider gave one.
json::object function_call_part(std::string_view id, std::string_view name, std::string_view arguments,
                                std::string_view signature) {
  boost::system::error_code ec;
  auto args = json::parse(arguments, ec);
  if (ec || !args.is_object()) args = json::object{};
  json::object call{{"name", name}, {"args", std::move(args)}};
  if (!id.empty()) call["id"] = id;
  json::object part{{"functionCall", std::move(call)}};
  if (!signature.empty()) part["thoughtSignature"] = signature;
  return part;
}

json::object candidate_content(json::array parts) {
  json::object content;
  if (!parts.empty()) content["parts"] = std::move(parts);
  content["role"] = "model";
  return content;
}

}  // namespace

std::string_view gemini_stream_content_type(GeminiStreamFraming framing) {
  return framing == GeminiStreamFraming::Sse ? "text/event-stream" : "application/json";
}

json::object gemini_usage_json(const llm::Usage& usage) {
  const auto candidates =
      usage.completion_tokens > usage.reasoning_tokens ? usage.completion_tokens - usage.reasoning_tokens : 0;
  json::object out{{"promptTokenCount", usage.prompt_tokens},
                   {"candidatesTokenCount", candidates},
                   {"totalTokenCount", std::max(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens)}};
  if (usage.cached_tokens > 0) out["cachedContentTokenCount"] = usage.cached_tokens;
  if (usage.reasoning_tokens > 0) out["thoughtsTokenCount"] = usage.reasoning_tokens;
  return out;
}

std::string_view gemini_finish_reason(llm::FinishReason reason, std::string_view raw) {
  for (const auto word : kGeminiFinishReasons)
    if (word == raw) return word;
  switch (reason) {
    case llm::FinishReason::Stop:
    case llm::FinishReason::ToolCalls:
      return "STOP";
    case llm::FinishReason::Length:
      return "MAX_TOKENS";
    case llm::FinishReason::ContentFilter:
      return "SAFETY";
    case llm::FinishReason::Other:
      break;
  }
  return "OTHER";
}

// ---------------------------------------------------------------------------------------------
// Stream

void GeminiStreamEncoder::encode(const llm::Event& event, std::string& out) {
  if (closed()) return;
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) {
                   if (id_.empty() && !e.id.empty()) id_ = e.id;
                   model_ = e.model;
                 },
                 [&](const llm::TextDelta& e) {
                   if (finish_reason_ || e.index != 0 || e.text.empty()) return;
                   flush_call(out);
                   emit_text(e.text, false, out);
                 },
                 [&](const llm::ReasoningDelta& e) {
                   if (!include_thoughts_ || finish_reason_ || e.index != 0 || e.text.empty()) return;
                   flush_call(out);
                   emit_text(e.text, true, out);
                 },
                 [&](const llm::ReasoningSignature&) {},  // no Gemini form (see encode_gemini.hpp)
                 [&](const llm::ToolCallDelta& e) {
                   if (finish_reason_ || e.choice != 0) return;
                   on_tool_call(e, out);
                 },
                 [&](const llm::UsageEvent& e) {
                   usage_ = e.usage;
                   if (finish_reason_) finish(out);
                 },
                 [&](const llm::Finish& e) {
                   if (finish_reason_ || e.choice != 0) return;
                   finish_reason_ = gemini_finish_reason(e.reason, e.raw);
                 },
                 [&](const llm::End&) { finish(out); },
                 [&](const llm::Error& e) {
                   pending_.reset();
                   write_element(http::google_error_body(e.error), out);
                   if (framing_ == GeminiStreamFraming::JsonArray) out += ']';
                   failed_ = true;
                 },
             },
             event);
}

void GeminiStreamEncoder::ensure_id() {
  if (id_.empty()) id_ = new_id("");
}

void GeminiStreamEncoder::write_element(std::string_view json_text, std::string& out) {
  if (framing_ == GeminiStreamFraming::Sse) {
    out += "data: ";
    out += json_text;
    out += "\n\n";
    return;
  }
  out += array_open_ ? ",\r\n" : "[";
  array_open_ = true;
  out += json_text;
}

std::string GeminiStreamEncoder::chunk(json::array parts, std::string_view finish_reason, bool with_usage) const {
  json::object candidate{{"content", candidate_content(std::move(parts))}};
  if (!finish_reason.empty()) candidate["finishReason"] = finish_reason;
  candidate["index"] = 0;
  json::object out{{"candidates", json::array{std::move(candidate)}}};
  if (with_usage) out["usageMetadata"] = gemini_usage_json(usage_);
  out["modelVersion"] = options_.model_named(model_);
  out["responseId"] = id_;
  return json::serialize(out);
}

// The chunk nearly every event becomes, written without building a document.
void GeminiStreamEncoder::emit_text(std::string_view text, bool thought, std::string& out) {
  ensure_id();
  std::string element = R"({"candidates":[{"content":{"parts":[{"text":)";
  append_json_string(element, text);
  if (thought) element += R"(,"thought":true)";
  element += R"(}],"role":"model"},"index":0}],"modelVersion":)";
  append_json_string(element, options_.model_named(model_));
  element += R"(,"responseId":)";
  append_json_string(element, id_);
  element += '}';
  write_element(element, out);
}

void GeminiStreamEncoder::flush_call(std::string& out) {
  if (!pending_) return;
  ensure_id();
  write_element(
      chunk(json::array{function_call_part(pending_->id, pending_->name, pending_->arguments, pending_->signature)}, {},
            false),
      out);
  pending_.reset();
}

void GeminiStreamEncoder::on_tool_call(const llm::ToolCallDelta& call, std::string& out) {
  const bool same = pending_ && call.index == pending_->index && (call.id.empty() || call.id == pending_->id);
  if (!same) {
    // A later fragment of a call already written (its part was sent whole): nothing to add to.
    if (call.id.empty() && call.index < calls_started_) return;
    flush_call(out);
    pending_.emplace(Call{call.index, std::string(call.id), std::string(call.name), {}, std::string(call.signature)});
    calls_started_ = std::max(calls_started_, call.index + 1);
  }
  pending_->arguments.append(call.arguments);
}

void GeminiStreamEncoder::finish(std::string& out) {
  if (done_) return;
  ensure_id();
  json::array parts;
  if (pending_)
    parts.push_back(function_call_part(pending_->id, pending_->name, pending_->arguments, pending_->signature));
  pending_.reset();
  write_element(chunk(std::move(parts), finish_reason_.value_or("STOP"), usage_.known), out);
  if (framing_ == GeminiStreamFraming::JsonArray) out += ']';
  done_ = true;
}

// ---------------------------------------------------------------------------------------------
// Complete reply

void GeminiResponseEncoder::on_event(const llm::Event& event) {
  std::visit(Overloaded{
                 [&](const llm::MessageStart& e) {
                   id_ = e.id;
                   model_ = e.model;
                 },
                 [&](const llm::TextDelta& e) { candidates_[e.index].text.append(e.text); },
                 [&](const llm::ReasoningSignature&) {},
                 [&](const llm::ReasoningDelta& e) { candidates_[e.index].reasoning.append(e.text); },
                 [&](const llm::ToolCallDelta& e) {
                   auto& c = candidates_[e.choice];
                   if (c.calls.empty() || e.index >= c.calls.size())
                     c.calls.push_back(Call{std::string(e.id), std::string(e.name), {}, std::string(e.signature)});
                   c.calls.back().arguments.append(e.arguments);
                 },
                 [&](const llm::UsageEvent& e) { usage_ = e.usage; },
                 [&](const llm::Finish& e) {
                   auto& c = candidates_[e.choice];
                   c.reason = e.reason;
                   c.raw_reason = e.raw;
                 },
                 [&](const llm::End&) {},
                 [&](const llm::Error&) { failed_ = true; },
             },
             event);
}

std::string GeminiResponseEncoder::body() const {
  static const Candidate kEmpty;
  std::map<std::uint64_t, Candidate> all = candidates_;
  if (all.empty()) all.emplace(0, kEmpty);
  json::array candidates;
  for (const auto& [index, c] : all) {
    json::array parts;
    if (!c.reasoning.empty()) parts.push_back(json::object{{"text", c.reasoning}, {"thought", true}});
    if (!c.text.empty()) parts.push_back(json::object{{"text", c.text}});
    for (const auto& call : c.calls)
      parts.push_back(function_call_part(call.id, call.name, call.arguments, call.signature));
    candidates.push_back(json::object{{"content", candidate_content(std::move(parts))},
                                      {"finishReason", gemini_finish_reason(c.reason, c.raw_reason)},
                                      {"index", index}});
  }
  json::object out{{"candidates", std::move(candidates)}};
  if (usage_.known) out["usageMetadata"] = gemini_usage_json(usage_);
  out["modelVersion"] = options_.model_named(model_);
  out["responseId"] = id_.empty() ? new_id("") : id_;
  return json::serialize(out);
}

}  // namespace sluice::translate
