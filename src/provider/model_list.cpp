#include "provider/model_list.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "provider/provider.hpp"

namespace sluice::provider {

namespace json = boost::json;

namespace {

// A page may be at most this many models; a list no more than the fetcher's page limit of them.
constexpr std::size_t kMaxModelsPerPage = 10'000;

std::string_view string_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string()) : std::string_view{};
}

std::int64_t integer_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->get_uint64());
  if (value->is_double()) return static_cast<std::int64_t>(value->get_double());
  return 0;
}

// An id a client can send back: printable ASCII without spaces, at most 256 bytes.
bool usable_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (const char c : id)
    if (c <= ' ' || c > '~') return false;
  return true;
}

// The array `key` of the answer's top-level object; `optional`: absent means none (Gemini
// leaves out an empty list).
const json::array* list_member(const json::value& doc, std::string_view key, bool optional, std::string& error) {
  const auto* object = doc.if_object();
  if (object == nullptr) {
    error = "the answer is not a JSON object";
    return nullptr;
  }
  const auto* member = object->if_contains(key);
  if (member == nullptr && optional) return nullptr;
  if (member == nullptr || !member->is_array()) {
    error = "the answer has no \"" + std::string(key) + "\" array";
    return nullptr;
  }
  return &member->get_array();
}

void decode_openai(const json::value& doc, ListPage& page) {
  const auto* data = list_member(doc, "data", false, page.error);
  if (data == nullptr) return;
  for (const auto& item : *data) {
    const auto* model = item.if_object();
    if (model == nullptr) continue;
    ListedModel out;
    out.id = string_member(*model, "id");
    if (!usable_id(out.id)) continue;
    out.display_name = string_member(*model, "name");  // OpenRouter and others name their models
    out.created = integer_member(*model, "created");
    out.owned_by = string_member(*model, "owned_by");
    page.models.push_back(std::move(out));
    if (page.models.size() == kMaxModelsPerPage) break;
  }
}

void decode_anthropic(const json::value& doc, ListPage& page) {
  const auto* data = list_member(doc, "data", false, page.error);
  if (data == nullptr) return;
  for (const auto& item : *data) {
    const auto* model = item.if_object();
    if (model == nullptr) continue;
    ListedModel out;
    out.id = string_member(*model, "id");
    if (!usable_id(out.id)) continue;
    out.display_name = string_member(*model, "display_name");
    out.created = parse_rfc3339(string_member(*model, "created_at")).value_or(0);
    page.models.push_back(std::move(out));
    if (page.models.size() == kMaxModelsPerPage) break;
  }
  const auto& object = doc.get_object();
  const auto* more = object.if_contains("has_more");
  if (more != nullptr && more->is_bool() && more->get_bool()) {
    page.cursor = string_member(object, "last_id");
    if (page.cursor.empty() && !data->empty() && data->back().is_object())
      page.cursor = string_member(data->back().get_object(), "id");
    if (page.cursor.empty()) page.error = "has_more without a last_id";
  }
}

void decode_gemini(const json::value& doc, ListPage& page) {
  const auto* models = list_member(doc, "models", true, page.error);
  if (!page.error.empty()) return;
  if (models != nullptr) {
    for (const auto& item : *models) {
      const auto* model = item.if_object();
      if (model == nullptr) continue;
      std::string_view name = string_member(*model, "name");
      if (name.starts_with("models/")) name.remove_prefix(7);
      if (!usable_id(name)) continue;
      ListedModel out;
      out.id = name;
      out.display_name = string_member(*model, "displayName");
      bool serves = false;
      if (const auto* methods = model->if_contains("supportedGenerationMethods"); methods && methods->is_array()) {
        for (const auto& m : methods->get_array()) {
          if (!m.is_string()) continue;
          const std::string_view method = m.get_string();
          serves = serves || method == "generateContent" || method == "embedContent";
          out.methods.emplace_back(method);
        }
      }
      if (!serves) continue;  // tuning, answering (AQA), image-only models: not Sluice's APIs
      page.models.push_back(std::move(out));
      if (page.models.size() == kMaxModelsPerPage) break;
    }
  }
  page.cursor = string_member(doc.get_object(), "nextPageToken");
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view text, std::size_t at, std::size_t count, unsigned& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return true;
}

}  // namespace

ListApi list_api(const config::LlmProvider& provider) {
  switch (provider.kind) {
    case config::ProviderKind::OpenAI:
    case config::ProviderKind::Ollama:
      return ListApi::OpenAI;
    case config::ProviderKind::AzureOpenAI:
      // The classic form calls one deployment, and no data-plane call lists deployments;
      // the /openai/v1/ form's model list names what its requests may ask for.
      return provider.azureopenai.apiVersion == "v1" ? ListApi::OpenAI : ListApi::None;
    case config::ProviderKind::Anthropic:
      return ListApi::Anthropic;
    case config::ProviderKind::Gemini:
      return ListApi::Gemini;
    case config::ProviderKind::VertexAI:
    case config::ProviderKind::Bedrock:
      break;
  }
  return ListApi::None;
}

std::string list_page_target(ListApi api, std::string_view models_path, std::string_view cursor) {
  std::string target(models_path);
  const char* join = target.find('?') == std::string::npos ? "?" : "&";
  switch (api) {
    case ListApi::Anthropic:
      target += join;
      target += "limit=1000";
      if (!cursor.empty()) target += "&after_id=" + escape_path_segment(cursor);
      break;
    case ListApi::Gemini:
      target += join;
      target += "pageSize=1000";
      if (!cursor.empty()) target += "&pageToken=" + escape_path_segment(cursor);
      break;
    case ListApi::OpenAI:
    case ListApi::None:
      break;
  }
  return target;
}

ListPage decode_list_page(ListApi api, std::string_view body) {
  ListPage page;
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  const auto doc = json::parse(body, ec, {}, options);
  if (ec) {
    page.error = "the answer is not JSON: " + ec.message();
    return page;
  }
  switch (api) {
    case ListApi::OpenAI:
      decode_openai(doc, page);
      break;
    case ListApi::Anthropic:
      decode_anthropic(doc, page);
      break;
    case ListApi::Gemini:
      decode_gemini(doc, page);
      break;
    case ListApi::None:
      page.error = "this provider has no model list";
      break;
  }
  if (!page.error.empty()) page.models.clear();
  return page;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
      !digits(text, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const auto start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    unsigned oh = 0, om = 0;
    if (!digits(text, at + 1, 2, oh) || at + 3 >= text.size() || text[at + 3] != ':' || !digits(text, at + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = (text[at] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

std::string format_rfc3339(std::int64_t seconds) {
  // H. Hinnant's civil_from_days.
  std::int64_t days = seconds / 86400;
  std::int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  char out[64];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rest / 3600), static_cast<long long>(rest / 60 % 60),
                static_cast<long long>(rest % 60));
  return out;
}

}  // namespace sluice::provider
