#include "guard_api.hpp"

#include <boost/json.hpp>
#include <string>

#include "openai_api.hpp"

namespace sluice::mock::guard {
namespace {

namespace json = boost::json;

constexpr std::string_view kBlock = "BLOCKME";
constexpr std::string_view kMask = "MASKME";
constexpr std::string_view kMasked = "[MASKED]";
constexpr std::string_view kSlow = "SLOWGUARD";
constexpr std::string_view kFlag = "FLAGME";

std::string masked(std::string_view text) {
  std::string out;
  for (std::size_t at = 0;;) {
    const auto found = text.find(kMask, at);
    out.append(text.substr(at, found - at));
    if (found == std::string_view::npos) return out;
    out.append(kMasked);
    at = found + kMask.size();
  }
}

FullReply json_reply(const json::value& body) {
  FullReply reply;
  reply.body = json::serialize(body);
  return reply;
}

// The text fields of a webhook body: messages[].content (request) or choices[].message.content
// (response); null when the body breaks the contract.
std::optional<std::vector<json::string*>> texts_of(json::object& body, bool response) {
  std::vector<json::string*> out;
  auto* list = body.if_contains(response ? "choices" : "messages");
  if (list == nullptr || !list->is_array()) return std::nullopt;
  for (auto& item : list->get_array()) {
    auto* object = item.if_object();
    if (object != nullptr && response) {
      auto* message = object->if_contains("message");
      object = message != nullptr ? message->if_object() : nullptr;
    }
    auto* content = object != nullptr ? object->if_contains("content") : nullptr;
    if (content == nullptr || !content->is_string()) return std::nullopt;
    out.push_back(&content->get_string());
  }
  return out;
}

GuardReply webhook(const ApiRequest& request, bool response) {
  const std::string_view shape = response ? R"({"body":{"choices":[{"message":{"role","content"}}]}})"
                                          : R"({"body":{"messages":[{"role","content"}]}})";
  const auto invalid = [&shape] { return GuardReply{openai::error(422, "expected " + std::string(shape)), {}}; };
  if (request.json == nullptr || !request.json->is_object()) return invalid();
  json::value copy = *request.json;
  auto* body = copy.get_object().if_contains("body");
  if (body == nullptr || !body->is_object()) return invalid();
  auto texts = texts_of(body->get_object(), response);
  if (!texts) return invalid();
  bool block = false, mask = false, slow = false;
  for (const auto* text : *texts) {
    const std::string_view t = *text;
    block = block || t.find(kBlock) != std::string_view::npos;
    mask = mask || t.find(kMask) != std::string_view::npos;
    slow = slow || t.find(kSlow) != std::string_view::npos;
  }
  GuardReply out;
  out.delay = slow ? kSlowGuardDelay : std::chrono::milliseconds(0);
  if (block) {
    out.reply = json_reply(json::object{
        {"action", json::object{{"body", "blocked by mock guard"}, {"status_code", 403}, {"reason", "BLOCKME"}}}});
  } else if (mask) {
    for (auto* text : *texts) *text = masked(*text);
    out.reply = json_reply(json::object{{"action", json::object{{"body", *body}, {"reason", "MASKME"}}}});
  } else {
    out.reply = json_reply(json::object{{"action", json::object{{"reason", "passed by mock guard"}}}});
  }
  return out;
}

GuardReply moderations(const ApiRequest& request) {
  const auto invalid = [](std::string_view message, std::string_view param) {
    return GuardReply{openai::error(400, message, "invalid_request_error", param), {}};
  };
  const auto* object = request.json != nullptr ? request.json->if_object() : nullptr;
  if (object == nullptr) return invalid("expected a JSON object", {});
  std::string model = "omni-moderation-latest";
  if (const auto* m = object->if_contains("model"); m != nullptr && !m->is_null()) {
    if (!m->is_string() || m->get_string().empty()) return invalid("model must be a non-empty string", "model");
    model = m->get_string();
  }
  const auto* input = object->if_contains("input");
  std::vector<std::string_view> texts;
  if (input != nullptr && input->is_string()) {
    texts.push_back(input->get_string());
  } else if (input != nullptr && input->is_array() && !input->get_array().empty()) {
    for (const auto& item : input->get_array()) {
      if (item.is_string()) {
        texts.push_back(item.get_string());
        continue;
      }
      const auto* part = item.if_object();
      const auto* text = part != nullptr ? part->if_contains("text") : nullptr;
      if (text != nullptr && text->is_string()) {
        texts.push_back(text->get_string());
      } else if (part == nullptr || part->if_contains("image_url") == nullptr) {
        return invalid("input items must be strings or {\"type\":\"text\",\"text\":…} objects", "input");
      }
    }
  } else {
    return invalid("input must be a string or a non-empty array", "input");
  }
  json::array results;
  for (const auto text : texts) {
    const bool flagged = text.find(kFlag) != std::string_view::npos;
    results.push_back(json::object{
        {"flagged", flagged},
        {"categories", json::object{{"harassment", flagged}, {"hate", false}, {"violence", false}}},
        {"category_scores", json::object{{"harassment", flagged ? 0.97 : 0.001}, {"hate", 0.0}, {"violence", 0.0}}}});
  }
  return GuardReply{json_reply(json::object{{"id", "modr-mock"}, {"model", model}, {"results", std::move(results)}}),
                    {}};
}

}  // namespace

bool matches(std::string_view method, std::string_view path) {
  return method == "POST" &&
         (path.ends_with("/request") || path.ends_with("/response") || path.ends_with("/moderations"));
}

GuardReply handle(const ApiRequest& request) {
  if (request.path.ends_with("/moderations")) return moderations(request);
  return webhook(request, request.path.ends_with("/response"));
}

}  // namespace sluice::mock::guard
