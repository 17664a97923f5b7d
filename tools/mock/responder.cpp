#include "responder.hpp"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <charconv>
#include <iterator>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "anthropic_api.hpp"
#include "azure_api.hpp"
#include "bedrock_api.hpp"
#include "gemini_api.hpp"
#include "guard_api.hpp"
#include "openai_api.hpp"
#include "openai_responses_api.hpp"
#include "provider_common.hpp"
#include "scripted_text.hpp"
#include "text.hpp"

namespace sluice::mock {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::int64_t kMaxDelayMs = 3'600'000;
constexpr std::int64_t kMaxChunks = 100'000;
constexpr std::int64_t kMaxDims = 65'536;

// The request headers the responder looks at, found in one pass over the fields.
struct SeenHeaders {
  std::string_view host;
  std::string_view authorization;
  std::optional<std::string_view> api_key;
  std::optional<std::string_view> status;
  std::optional<std::string_view> latency;
  std::optional<std::string_view> ttft;
  std::optional<std::string_view> chunk_delay;
  std::optional<std::string_view> chunks;
  std::optional<std::string_view> dims;
  std::optional<std::string_view> reset;
  std::optional<std::string_view> blackhole;
  std::optional<std::string_view> retry_after;
  std::optional<std::string_view> stream_error;
  std::optional<std::string_view> cache_read;
  std::optional<std::string_view> thoughts;
  std::optional<std::string_view> reply;
  std::optional<std::string_view> split;
  std::optional<std::string_view> tool_args;
};

struct MockHeaderName {
  std::string_view name;
  std::optional<std::string_view> SeenHeaders::*slot;
};

constexpr std::string_view kMockPrefix = "x-mock-";
constexpr MockHeaderName kMockHeaders[] = {
    {"x-mock-status", &SeenHeaders::status},
    {"x-mock-latency-ms", &SeenHeaders::latency},
    {"x-mock-ttft-ms", &SeenHeaders::ttft},
    {"x-mock-chunk-delay-ms", &SeenHeaders::chunk_delay},
    {"x-mock-chunks", &SeenHeaders::chunks},
    {"x-mock-dims", &SeenHeaders::dims},
    {"x-mock-reset", &SeenHeaders::reset},
    {"x-mock-blackhole", &SeenHeaders::blackhole},
    {"x-mock-retry-after", &SeenHeaders::retry_after},
    {"x-mock-stream-error", &SeenHeaders::stream_error},
    {"x-mock-cache-read", &SeenHeaders::cache_read},
    {"x-mock-thoughts", &SeenHeaders::thoughts},
    {"x-mock-reply", &SeenHeaders::reply},
    {"x-mock-split", &SeenHeaders::split},
    {"x-mock-tool-args", &SeenHeaders::tool_args},
};

// When a header is repeated, its first occurrence counts.
SeenHeaders scan_headers(const RequestHeader& header) {
  SeenHeaders seen;
  bool host_seen = false;
  bool authorization_seen = false;
  for (const auto& field : header) {
    if (field.name() == http::field::host) {
      if (!std::exchange(host_seen, true)) seen.host = field.value();
      continue;
    }
    if (field.name() == http::field::authorization) {
      if (!std::exchange(authorization_seen, true)) seen.authorization = field.value();
      continue;
    }
    const std::string_view name = field.name_string();
    std::optional<std::string_view>* slot = nullptr;
    if (iequals(name, "api-key") || iequals(name, "x-api-key") || iequals(name, "x-goog-api-key")) {
      slot = &seen.api_key;
    } else if (name.size() > kMockPrefix.size() && iequals(name.substr(0, kMockPrefix.size()), kMockPrefix)) {
      for (const auto& mock : kMockHeaders) {
        if (iequals(name, mock.name)) slot = &(seen.*mock.slot);
      }
    }
    if (slot && !*slot) *slot = field.value();
  }
  return seen;
}

// Parses x-mock-* header values, remembering the first invalid one.
class MockHeaderParser {
 public:
  // An integer within [min, max], or `fallback` when the header is absent.
  std::int64_t integer(std::optional<std::string_view> text, std::string_view name, std::int64_t fallback,
                       std::int64_t min, std::int64_t max) {
    if (!text) return fallback;
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    const auto result = std::from_chars(text->data(), end, value);
    if (result.ec != std::errc{} || result.ptr != end || value < min || value > max) {
      fail(name, "an integer between " + std::to_string(min) + " and " + std::to_string(max));
      return fallback;
    }
    return value;
  }

  std::chrono::milliseconds delay(std::optional<std::string_view> text, std::string_view name,
                                  std::chrono::milliseconds fallback) {
    return std::chrono::milliseconds(integer(text, name, fallback.count(), 0, kMaxDelayMs));
  }

  bool flag(std::optional<std::string_view> text, std::string_view name) {
    if (!text || text->empty() || *text == "0" || iequals(*text, "false")) return false;
    if (*text == "1" || iequals(*text, "true")) return true;
    fail(name, "1, 0, true or false");
    return false;
  }

  Reset reset(std::optional<std::string_view> text) {
    if (!text || text->empty()) return Reset::none;
    if (iequals(*text, "before-headers")) return Reset::before_headers;
    if (iequals(*text, "mid-stream")) return Reset::mid_stream;
    if (iequals(*text, "close-after-request")) return Reset::close_after_request;
    fail("x-mock-reset", "before-headers, mid-stream or close-after-request");
    return Reset::none;
  }

  // An error or exception type name: 1 to 64 of [A-Za-z0-9_.-]; empty when absent.
  std::string_view type_name(std::optional<std::string_view> text, std::string_view name) {
    if (!text || text->empty()) return {};
    const bool ok = text->size() <= 64 && std::ranges::all_of(*text, [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                             c == '.' || c == '-';
                    });
    if (!ok) fail(name, "an error type name (letters, digits, '_', '.', '-')");
    return ok ? *text : std::string_view{};
  }

  // x-mock-reply and x-mock-tool-args, percent-decoded and cut into stream pieces by
  // x-mock-split, else evenly: the reply text into `reply_pieces`, the tool arguments into 3.
  struct Scripted {
    std::optional<ScriptedText> reply;
    std::optional<ScriptedText> tool_args;
  };
  Scripted scripted(const SeenHeaders& seen, std::size_t reply_pieces) {
    Scripted out;
    std::optional<std::string> reply_text;
    std::optional<std::string> args_text;
    if (seen.reply) {
      reply_text = decode_uri_component(*seen.reply);
      if (!reply_text) fail("x-mock-reply", "percent-encoded UTF-8 text (encodeURIComponent)");
    }
    if (seen.tool_args) {
      args_text = decode_uri_component(*seen.tool_args);
      boost::system::error_code error;
      const json::value args = args_text ? json::parse(*args_text, error) : json::value();
      if (!args.is_object()) fail("x-mock-tool-args", "a percent-encoded JSON object (encodeURIComponent)");
    }
    std::optional<SplitSpec> split;
    if (seen.split) {
      split = parse_split(*seen.split);
      if (!split) fail("x-mock-split", "a piece size or increasing cut offsets in bytes, such as 16 or 3,7,20");
      if (!seen.reply && !seen.tool_args) fail("x-mock-split", "to come with x-mock-reply or x-mock-tool-args");
    }
    if (!error_.empty()) return out;
    const auto cut = [&](std::string text, std::size_t pieces, std::string_view name) {
      if (!split) return std::optional<ScriptedText>(cut_evenly(std::move(text), pieces));
      std::optional<ScriptedText> pieced = cut_text(std::move(text), *split);
      if (!pieced) {
        fail("x-mock-split", "cut offsets strictly inside " + std::string(name) + " and on code point boundaries");
      }
      return pieced;
    };
    if (reply_text) out.reply = cut(std::move(*reply_text), reply_pieces, "x-mock-reply");
    if (args_text) out.tool_args = cut(std::move(*args_text), 3, "x-mock-tool-args");
    return out;
  }

  const std::string& error() const { return error_; }

 private:
  void fail(std::string_view name, std::string_view expected) {
    if (!error_.empty()) return;
    error_.append("Invalid ").append(name).append(" header: expected ").append(expected);
  }

  std::string error_;
};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) {
  const std::size_t mark = target.find('?');
  return mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
}

// The provider formats, tried in this order; OpenAI (suffix matching) comes last.
struct Format {
  bool (*matches)(std::string_view path);
  std::optional<ApiReply> (*handle)(const ApiRequest& request);
  FullReply (*injected_error)(unsigned status);
};

FullReply azure_injected_error(unsigned status) {
  return openai::injected_error(status);
}

constexpr Format kFormats[] = {
    {bedrock::matches, bedrock::handle, bedrock::injected_error},
    {anthropic::matches, anthropic::handle, anthropic::injected_error},
    {gemini::matches, gemini::handle, gemini::injected_error},
    {azure::matches, azure::handle, azure_injected_error},
};

const Format* format_of(std::string_view path) {
  for (const Format& format : kFormats) {
    if (format.matches(path)) return &format;
  }
  return nullptr;
}

std::string_view request_model(const json::value& body) {
  const json::object* object = body.if_object();
  const json::value* model = object ? object->if_contains("model") : nullptr;
  return model && model->is_string() ? std::string_view(model->get_string()) : std::string_view{};
}

// The model (or Azure deployment) named by a provider path, percent-decoded; empty if none:
// …/models/{m}:{action} (Gemini, Vertex), …/model/{id}/{action} (Bedrock),
// …/openai/deployments/{d}/… (Azure).
std::string path_model(std::string_view path) {
  constexpr std::string_view kMarkers[] = {"/models/", "/model/", "/openai/deployments/"};
  constexpr char kEnds[] = {':', '/', '/'};
  for (std::size_t i = 0; i < std::size(kMarkers); ++i) {
    const std::size_t at = path.rfind(kMarkers[i]);
    if (at == std::string_view::npos) continue;
    const std::string_view rest = path.substr(at + kMarkers[i].size());
    const std::size_t end = rest.find(kEnds[i]);
    if (end == std::string_view::npos || end == 0) continue;
    if (i == 0 && rest.find('/') != std::string_view::npos) continue;
    return common::percent_decode(rest.substr(0, end));
  }
  return {};
}

std::string build_echo_headers(const RequestHeader& header, const SeenHeaders& seen, std::uint64_t connection_id,
                               std::string_view model) {
  std::string out;
  out.reserve(160 + header.target().size() + seen.host.size() + seen.authorization.size() +
              (seen.api_key ? seen.api_key->size() : 0) + model.size() * 3);
  const auto line = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  line("x-mock-path", header.target());
  line("x-mock-method", header.method_string());
  line("x-mock-host", seen.host);
  line("x-mock-authorization", seen.authorization);
  if (seen.api_key) line("x-mock-api-key", *seen.api_key);
  out.append("x-mock-connection-id: ");
  append_number(out, connection_id);
  out.append("\r\n");
  if (!model.empty()) {
    out.append("x-mock-request-model: ");
    append_header_value(out, model);
    out.append("\r\n");
  }
  return out;
}

// {"method","target","headers":{lower-case name: value},"body","body_bytes","body_sha256"}.
FullReply echo(const Request& request) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    const auto same_name = [&name](const auto& entry) { return entry.first == name; };
    if (const auto existing = std::ranges::find_if(headers, same_name); existing != headers.end()) {
      existing->second.append(", ").append(field.value());
    } else {
      headers.emplace_back(std::move(name), std::string(field.value()));
    }
  }

  FullReply reply;
  std::string& out = reply.body;
  out.reserve(256 + request.body().size());
  out.append(R"({"method":)");
  append_json_string(out, request.method_string());
  out.append(R"(,"target":)");
  append_json_string(out, request.target());
  out.append(R"(,"headers":{)");
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_json_string(out, headers[i].first);
    out.push_back(':');
    append_json_string(out, headers[i].second);
  }
  out.append(R"(},"body":)");
  append_json_string(out, request.body());
  out.append(R"(,"body_bytes":)");
  append_number(out, request.body().size());
  out.append(R"(,"body_sha256":")").append(sha256_hex(request.body())).append("\"}");
  return reply;
}

}  // namespace

ResponsePlan plan_response(const Request& request, const Defaults& defaults, std::uint64_t connection_id) {
  // The parsed body lives in `memory` (on the stack unless the body is large); the parser's
  // own scratch space too.
  unsigned char body_memory[8192];
  unsigned char parser_memory[2048];
  json::monotonic_resource memory(body_memory, sizeof body_memory);
  json::parse_options options;
  options.max_depth = 512;
  json::parser parser(json::storage_ptr(), options, parser_memory, sizeof parser_memory);
  parser.reset(json::storage_ptr(&memory));
  boost::system::error_code parse_error;
  const bool has_body = !request.body().empty();
  if (has_body) parser.write(request.body(), parse_error);
  const bool is_json = has_body && !parse_error;
  const json::value body = is_json ? parser.release() : json::value();

  const SeenHeaders seen = scan_headers(request);
  ResponsePlan plan;
  std::string_view model = request_model(body);
  std::string model_in_path;
  if (model.empty()) {
    model_in_path = path_model(path_of(request.target()));
    model = model_in_path;
  }
  plan.headers = build_echo_headers(request, seen, connection_id, model);

  MockHeaderParser mock;
  auto status = mock.integer(seen.status, "x-mock-status", defaults.status, 200, 599);
  if (status == 200 && !defaults.key_status.empty()) {
    std::string_view key = seen.authorization;
    if (key.substr(0, 7) == "Bearer ") key.remove_prefix(7);
    if (key.empty() && seen.api_key) key = *seen.api_key;
    for (const auto& [k, s] : defaults.key_status)
      if (key == k) status = s;
  }
  plan.latency = mock.delay(seen.latency, "x-mock-latency-ms", defaults.latency);
  plan.ttft = mock.delay(seen.ttft, "x-mock-ttft-ms", defaults.ttft);
  plan.chunk_delay = mock.delay(seen.chunk_delay, "x-mock-chunk-delay-ms", defaults.chunk_delay);
  const auto chunks = mock.integer(seen.chunks, "x-mock-chunks", defaults.chunks, 0, kMaxChunks);
  const auto dims = mock.integer(seen.dims, "x-mock-dims", defaults.dims, 1, kMaxDims);
  const auto cache_read = mock.integer(seen.cache_read, "x-mock-cache-read", -1, 0, 1'000'000'000);
  const auto thoughts = mock.integer(seen.thoughts, "x-mock-thoughts", -1, 0, 1'000'000'000);
  const std::string_view stream_error = mock.type_name(seen.stream_error, "x-mock-stream-error");
  const bool blackhole = mock.flag(seen.blackhole, "x-mock-blackhole");
  const Reset reset = mock.reset(seen.reset);
  MockHeaderParser::Scripted scripted;
  if (seen.reply || seen.split || seen.tool_args) scripted = mock.scripted(seen, static_cast<std::size_t>(chunks));
  if (!mock.error().empty()) {
    plan.reply = openai::error(400, mock.error(), "invalid_request_error", {}, "invalid_mock_header");
    return plan;
  }

  if (blackhole) {
    plan.blackhole = true;
    return plan;
  }
  plan.reset = reset;
  if (defaults.outage && defaults.outage->period.count() > 0) {
    const auto& o = *defaults.outage;
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - defaults.started) +
        o.offset;
    if (elapsed.count() >= 0 && elapsed % o.period < o.down) {
      if (o.reset) {
        plan.reset = Reset::before_headers;
      } else {
        status = 503;
      }
    }
  }
  if (plan.reset == Reset::before_headers || plan.reset == Reset::close_after_request) return plan;

  const std::string_view target = request.target();
  const std::string_view path = path_of(target);
  const Format* format = format_of(path);
  if (status != 200) {
    plan.reply = format ? format->injected_error(static_cast<unsigned>(status))
                        : openai::injected_error(static_cast<unsigned>(status));
    plan.headers.append(std::get<FullReply>(plan.reply).headers);
    const std::string_view retry_after = seen.retry_after.value_or("");
    if (status == 429 || !retry_after.empty()) {
      plan.headers.append("retry-after: ").append(retry_after.empty() ? "1" : retry_after);
      plan.headers.append("\r\n");
    }
    return plan;
  }

  if (path.find("/echo") != std::string_view::npos) {
    plan.reply = echo(request);
    return plan;
  }
  // A generated reply stops at the request's output limit, one token per piece, as a provider's.
  auto pieces = chunks;
  bool cut_at_max_tokens = false;
  if (is_json && body.is_object() && !scripted.reply) {
    const auto* generation = body.get_object().if_contains("generationConfig");  // Gemini
    const auto& limits =
        generation != nullptr && generation->is_object() ? generation->get_object() : body.get_object();
    for (const char* name : {"max_completion_tokens", "max_tokens", "maxOutputTokens"}) {
      const auto* limit = limits.if_contains(name);
      if (limit == nullptr || !limit->is_int64() || limit->get_int64() < 1) continue;
      if (limit->get_int64() < pieces) {
        pieces = limit->get_int64();
        cut_at_max_tokens = true;
      }
      break;
    }
  }
  const ApiRequest api{
      .method = request.method_string(),
      .target = target,
      .path = path,
      .query = query_of(target),
      .body = request.body(),
      .json = is_json ? &body : nullptr,
      .headers = &request.base(),
      .chunks = static_cast<int>(pieces),
      .cut_at_max_tokens = cut_at_max_tokens,
      .dims = static_cast<int>(dims),
      .cache_read = static_cast<long>(cache_read),
      .thoughts = static_cast<long>(thoughts),
      .stream_error = stream_error,
      .reply_text = scripted.reply ? &*scripted.reply : nullptr,
      .tool_args = scripted.tool_args ? &*scripted.tool_args : nullptr,
      .aws_access_key_id = defaults.aws_access_key_id,
      .aws_secret_access_key = defaults.aws_secret_access_key,
      .models = &defaults.models,
      .models_page_size = defaults.models_page_size,
  };
  if (guard::matches(api.method, path)) {
    auto guarded = guard::handle(api);
    plan.latency = std::max(plan.latency, guarded.delay);
    plan.headers.append(guarded.reply.headers);
    plan.reply = std::move(guarded.reply);
    return plan;
  }
  // Model lists share a path with OpenAI's: Anthropic's is told by its anthropic-version
  // header, Gemini's by its API key.
  std::optional<ApiReply> reply;
  if (!format) reply = anthropic::list_models(api);
  if (!format && !reply) reply = gemini::list_models(api);
  if (!reply) reply = format ? format->handle(api) : openai::handle(api);
  if (!format && !reply) reply = openai_responses::handle(api);
  plan.reply = reply ? std::move(*reply) : ApiReply(openai::unknown_url(api.method, target));
  std::visit([&plan](const auto& r) { plan.headers.append(r.headers); }, plan.reply);
  return plan;
}

std::string echo_headers(const RequestHeader& header, std::uint64_t connection_id) {
  return build_echo_headers(header, scan_headers(header), connection_id, {});
}

FullReply unreadable_request(unsigned status, std::string_view message) {
  return openai::error(status, message);
}

}  // namespace sluice::mock
