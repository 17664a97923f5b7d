// libFuzzer target for llm::RequestView: any JSON object, read and rewritten as each client
// schema (chat, embeddings, Messages, Responses). Invariants: no crash or sanitizer report;
// the body stays valid JSON; rewriting every text to one marker leaves no span with other text
// (but tool calls kept as JSON objects); the canonical form parses as JSON.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llm/request_view.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  const auto parsed = boost::json::parse(text, ec, {}, options);
  if (ec || !parsed.is_object()) return 0;
  using sluice::llm::Schema;
  for (const auto schema : {Schema::OpenAIChat, Schema::OpenAIEmbeddings, Schema::AnthropicMessages,
                            Schema::OpenAIResponses, Schema::GeminiGenerate, Schema::GeminiEmbed}) {
    auto body = parsed.as_object();
    sluice::llm::RequestView view(schema, body, sluice::llm::PathFacts{"m", size % 2 == 0});
    (void)view.model();
    (void)view.stream();
    (void)view.system_text();
    (void)view.messages();
    (void)view.tools();
    boost::json::parse(view.canonical_form(), ec);
    check(!ec);
    view.for_each_text([](const sluice::llm::TextSpan&) { return std::optional<std::string>("M"); });
    // Every span now reads "M", but a tool call kept as a JSON object ("M" is not one).
    view.visit_text([](const sluice::llm::TextSpan& span) {
      check(span.text == "M" || span.kind == sluice::llm::TextKind::ToolCall);
    });
    view.set_default(sluice::llm::Param::MaxTokens, boost::json::value(16));
    view.add_message("system", "s", true);
    view.add_message("user", "u", false);
    (void)view.messages();
    boost::json::parse(boost::json::serialize(body), ec);
    check(!ec);
  }
  return 0;
}
