// Fuzzes the translators with hostile upstream bytes and client bodies: the first input byte
// picks a translator and an entry point (stream, complete response, error body, request), the
// rest is fed in input-derived chunks. Invariants: no crash or sanitizer report, a stream that
// reported failure is not fed again, stream_end/stream_fail always produce complete SSE events.
// Request bytes are also read as the sealed encrypted_content of a Responses reasoning item
// (translate/reasoning_item.hpp).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_chunks.hpp"
#include "translate/anthropic_client.hpp"
#include "translate/common.hpp"
#include "translate/count_tokens.hpp"
#include "translate/gemini_client.hpp"
#include "translate/openai_anthropic.hpp"
#include "translate/openai_bedrock.hpp"
#include "translate/openai_gemini.hpp"
#include "translate/reasoning_item.hpp"
#include "translate/responses_client.hpp"
#include "translate/responses_store_echo.hpp"

namespace {

using namespace sluice::translate;

std::unique_ptr<Translator> make(unsigned which, const RequestContext& ctx) {
  switch (which % 13) {
    case 0:
      return make_openai_to_anthropic(ctx);
    case 1:
      return make_openai_to_gemini(ctx);
    case 2:
      return make_openai_to_bedrock(ctx);
    case 3:
      return make_anthropic_client(ctx, nullptr);
    case 4:
      return make_anthropic_client(ctx, make_openai_to_gemini(ctx));
    case 5:
      return make_openai_embeddings_to_gemini(ctx);
    case 6:
      return make_openai_embeddings_to_bedrock(ctx);
    case 7:
      return make_responses_client(ctx, nullptr);
    case 8:
      return make_responses_client(ctx, make_openai_to_anthropic(ctx));
    case 9:
      return make_count_tokens(CountClient::Anthropic, CountProvider::Gemini, ctx,
                               make_anthropic_client(ctx, make_openai_to_gemini(ctx)));
    case 10:
      return make_count_tokens(CountClient::Gemini, CountProvider::Bedrock, ctx,
                               make_gemini_client(ctx, make_openai_to_bedrock(ctx)));
    case 11:
      return make_anthropic_client(ctx, make_openai_to_bedrock(ctx));
    default:
      return make_responses_store_echo(ctx.stream, {true, "resp_previous"}, 1 << 16);
  }
}

void check_events(std::string_view out) {
  // Whatever a translator emits is whole SSE events (or nothing).
  if (!out.empty() && !(out.size() >= 2 && out.substr(out.size() - 2) == "\n\n")) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  RequestContext ctx;
  ctx.model = selector & 0x40 ? "amazon.titan-embed-text-v2:0" : "model-x";
  ctx.stream = true;
  auto translator = make(selector, ctx);
  const unsigned mode = (selector >> 3) & 3;
  std::string out;
  if (mode == 0) {
    // Streams need the request first (include_usage, json mode, tool names).
    boost::json::object request{{"model", "m"},
                                {"stream", true},
                                {"max_tokens", 10},
                                {"stream_options", {{"include_usage", (selector & 0x80) != 0}}},
                                {"messages", boost::json::array{{{"role", "user"}, {"content", "hi"}}}},
                                {"input", "hi"}};
    std::string body;
    (void)translator->translate_request(request, body);
    sluice::fuzz::ChunkSplitter chunks(data[1]);
    bool ok = true;
    while (ok && !rest.empty()) {
      out.clear();
      ok = translator->stream_feed(chunks.next(rest), out);
      check_events(out);
    }
    out.clear();
    if (ok) {
      if (data[1] & 1) {
        translator->stream_end(out);
      } else {
        translator->stream_fail(sluice::http::ApiError{502, "server_error", "x", "failed", {}}, out);
      }
      check_events(out);
    }
  } else if (mode == 1) {
    (void)translator->translate_response(rest, out);
  } else if (mode == 2) {
    (void)translator->translate_error(400 + data[1], rest.substr(0, 16), rest);
  } else {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(rest, ec);
    if (!ec && parsed.is_object()) (void)translator->translate_request(parsed.as_object(), out);
    // A Responses reasoning item's encrypted_content with Sluice's prefix: the sealed JSON is
    // read back from hostile bytes (as base64 and as the JSON itself, sealed).
    (void)unseal_reasoning(std::string(kSealedReasoningPrefix) + std::string(rest));
    (void)unseal_reasoning(std::string(kSealedReasoningPrefix) + base64_encode(rest));
  }
  (void)translator->usage();
  return 0;
}
