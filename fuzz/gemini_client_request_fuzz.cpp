// Fuzzes the Gemini client codec: the input is parsed as JSON and, when it is an object, run
// through gemini_request_to_openai (not streaming and streaming); the same bytes are also read as
// an event program, one event per line, driving the Gemini stream encoder in both framings and
// the complete-reply encoder. A line is `<kind byte><fields separated by '|'>`, the kind being
// (byte - '0') modulo 9, so '0'..'8' name the kinds: 0 start <id>|<model>|<opened>, 1 text <choice>|<text>, 2 reasoning
// <choice>|<text>, 3 tool call <index>|<id>|<name>|<arguments>|<choice>, 4 usage <prompt>|<completion>|<cached>|
// <reasoning>, 5 finish <reason>|<raw>|<choice>, 6 end, 7 error <status>|<message>, 8 text of
// choice 0 (the whole line). Numbers that are not digits count as their length; text is made
// valid UTF-8 (bytes of invalid sequences become '?').
// Invariants: no crash or sanitizer report; a conversion either succeeds with a model and at
// least one message, the same output when run again and the input unchanged, or fails with a
// 400 whose message starts with its param; SSE output is whole `data: <json>` events and nothing
// is written once the encoder closed; the JSON-array stream, once closed, is one JSON array of
// objects (before that, a prefix of one); the complete body is a JSON object.
#include <boost/json.hpp>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codec_check.hpp"
#include "translate/encode_gemini.hpp"
#include "translate/gemini_client_request.hpp"

namespace {

using namespace sluice;
using namespace sluice::translate;
namespace json = boost::json;
using fuzz::fields;
using fuzz::text;
using fuzz::valid_utf8;

std::uint64_t number(const std::vector<std::string_view>& f, std::size_t i) {
  if (i >= f.size()) return 0;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(f[i].data(), f[i].data() + f[i].size(), n);
  if (ec != std::errc() || end != f[i].data() + f[i].size()) n = f[i].size();
  return n % 1000000;
}

void check_conversion(const json::object& in, bool stream) {
  RequestContext context;
  context.model = "model-x";
  const auto before = json::serialize(in);
  json::object out;
  const auto error = gemini_request_to_openai(in, context, stream, out);
  if (json::serialize(in) != before) std::abort();
  if (error) {
    if (error->status != 400 || !error->param || error->param->empty()) std::abort();
    if (error->message.rfind(*error->param + ": ", 0) != 0) std::abort();
    return;
  }
  const auto* model = out.if_contains("model");
  const auto* messages = out.if_contains("messages");
  if (model == nullptr || !model->is_string() || messages == nullptr || !messages->is_array() ||
      messages->get_array().empty())
    std::abort();
  for (const auto& m : messages->get_array())
    if (!m.is_object() || !m.get_object().contains("role")) std::abort();
  json::object again;
  if (gemini_request_to_openai(in, context, stream, again) || json::serialize(again) != json::serialize(out))
    std::abort();
}

// The JSON-array stream so far: a prefix of one array of objects; once closed, the whole array.
void check_array(const std::string& all, bool closed) {
  if (all.empty()) {
    if (closed) std::abort();  // a closed stream wrote at least its final element
    return;
  }
  if (all.front() != '[') std::abort();
  const std::string whole = closed ? all : all + "]";
  boost::system::error_code ec;
  const auto v = json::parse(whole, ec);
  if (ec || !v.is_array() || v.get_array().empty()) std::abort();
  for (const auto& element : v.get_array())
    if (!element.is_object()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  boost::system::error_code ec;
  const auto parsed = json::parse(input, ec);
  if (!ec && parsed.is_object()) {
    check_conversion(parsed.get_object(), false);
    check_conversion(parsed.get_object(), true);
  }

  EncoderOptions options;
  options.fallback_model = "model-x";
  GeminiStreamEncoder sse(options, GeminiStreamFraming::Sse, size % 2 == 0);
  GeminiStreamEncoder array(options, GeminiStreamFraming::JsonArray);
  GeminiResponseEncoder reply(options);
  fuzz::CheckedEncoder sse_sink(sse);
  std::string array_out;
  std::string_view program = input;
  while (!program.empty()) {
    const auto end = program.find('\n');
    const std::string line = valid_utf8(program.substr(0, end));
    program.remove_prefix(end == std::string_view::npos ? program.size() : end + 1);
    // The first byte picks the event; the fields follow it. A multi-byte first character would
    // leave the fields starting inside a UTF-8 sequence, and event text is valid UTF-8.
    if (line.empty() || static_cast<unsigned char>(line.front()) >= 0x80) continue;
    const auto f = fields(std::string_view(line).substr(1));
    llm::Event event;
    switch (static_cast<unsigned char>(line.front() - '0') % 9) {
      case 0:
        event = llm::MessageStart{text(f, 0), text(f, 1), number(f, 2) == 1};
        break;
      case 1:
        event = llm::TextDelta{number(f, 0) % 2, text(f, 1)};
        break;
      case 2:
        event = llm::ReasoningDelta{number(f, 0) % 2, text(f, 1)};
        break;
      case 3:
        event = llm::ToolCallDelta{number(f, 0) % 4, text(f, 1), text(f, 2), text(f, 3), number(f, 4) % 2};
        break;
      case 4: {
        llm::Usage usage;
        usage.prompt_tokens = number(f, 0);
        usage.completion_tokens = number(f, 1);
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        usage.cached_tokens = number(f, 2);
        usage.reasoning_tokens = number(f, 3);
        usage.known = true;
        event = llm::UsageEvent{usage};
        break;
      }
      case 5:
        event = llm::Finish{static_cast<llm::FinishReason>(number(f, 0) % 5), text(f, 1), number(f, 2) % 2};
        break;
      case 6:
        event = llm::End{};
        break;
      case 7:
        event = llm::Error{http::ApiError{static_cast<unsigned>(400 + number(f, 0) % 200), "server_error", "x",
                                          std::string(text(f, 1)), std::nullopt}};
        break;
      default:
        event = llm::TextDelta{0, std::string_view(line).substr(1)};
        break;
    }
    sse_sink.on_event(event);
    const bool was_closed = array.closed();
    std::string piece;
    array.encode(event, piece);
    if (was_closed && !piece.empty()) std::abort();
    array_out += piece;
    check_array(array_out, array.closed());
    reply.on_event(event);
  }
  fuzz::check_json(reply.body());
  return 0;
}
