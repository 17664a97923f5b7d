// Fuzzes the Gemini embeddings codec (src/translate/gemini_embed_client.*): the input parsed as
// JSON and, when it is an object, read as an embedContent and as a batchEmbedContents body into
// the OpenAI embeddings pivot; the same bytes read as an OpenAI embeddings reply for 1 to 4
// inputs, into both Gemini reply shapes.
// Invariants: no crash or sanitizer report; a request conversion either fails with a 400 whose
// message starts with its non-empty param, or gives a pivot with the model, an input that is a
// string (embedContent) or a list of `inputs` strings (batch), "encoding_format":"float", the
// same pivot when run again, and the body unchanged; a reply conversion either fails with a 502
// or writes a JSON object holding exactly one embedding ("embedding") or `inputs` of them
// ("embeddings"), each a list of numbers.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "translate/gemini_embed_client.hpp"

namespace {

using namespace sluice;
using namespace sluice::translate;
namespace json = boost::json;

void check_request(const json::object& body, bool batch) {
  const auto before = json::serialize(body);
  GeminiEmbedPivot pivot;
  const auto error = gemini_embed_to_openai(body, batch, "models/model-x", pivot);
  if (json::serialize(body) != before) std::abort();
  if (error) {
    if (error->status != 400 || !error->param || error->param->empty()) std::abort();
    if (error->message.rfind(*error->param + ": ", 0) != 0) std::abort();
    return;
  }
  const auto* model = pivot.openai.if_contains("model");
  const auto* input = pivot.openai.if_contains("input");
  const auto* format = pivot.openai.if_contains("encoding_format");
  if (model == nullptr || !model->is_string() || model->get_string() != "model-x") std::abort();
  if (format == nullptr || !format->is_string() || format->get_string() != "float") std::abort();
  if (input == nullptr) std::abort();
  if (batch) {
    if (!input->is_array() || input->get_array().size() != pivot.inputs || pivot.inputs == 0 ||
        pivot.inputs > kMaxGeminiEmbedContents)
      std::abort();
    for (const auto& text : input->get_array())
      if (!text.is_string()) std::abort();
  } else if (!input->is_string() || pivot.inputs != 1) {
    std::abort();
  }
  GeminiEmbedPivot again;
  if (gemini_embed_to_openai(body, batch, "models/model-x", again) ||
      json::serialize(again.openai) != json::serialize(pivot.openai))
    std::abort();
}

void check_reply(std::string_view reply, bool batch, std::size_t inputs) {
  std::string out;
  Usage usage;
  if (const auto error = openai_embeddings_to_gemini(reply, batch, inputs, out, usage)) {
    if (error->status != 502) std::abort();
    return;
  }
  boost::system::error_code ec;
  const auto parsed = json::parse(out, ec);
  if (ec || !parsed.is_object()) std::abort();
  const auto check_values = [](const json::value& item) {
    const auto* values = item.is_object() ? item.get_object().if_contains("values") : nullptr;
    if (values == nullptr || !values->is_array()) std::abort();
    for (const auto& v : values->get_array())
      if (!v.is_number()) std::abort();
  };
  if (batch) {
    const auto* list = parsed.get_object().if_contains("embeddings");
    if (list == nullptr || !list->is_array() || list->get_array().size() != inputs) std::abort();
    for (const auto& item : list->get_array()) check_values(item);
  } else {
    const auto* one = parsed.get_object().if_contains("embedding");
    if (one == nullptr || inputs != 1) std::abort();
    check_values(*one);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  const auto parsed = json::parse(input, ec);
  if (!ec && parsed.is_object()) {
    check_request(parsed.get_object(), false);
    check_request(parsed.get_object(), true);
  }
  const std::size_t inputs = size % 4 + 1;
  check_reply(input, true, inputs);
  check_reply(input, false, 1);
  return 0;
}
