#include "policy/limit_key.hpp"

#include <boost/beast/core/string.hpp>

#include "proxy/snapshot.hpp"
#include "route/route_table.hpp"

namespace sluice::policy {

namespace {

constexpr std::string_view kMetadataPrefix = "principal.metadata.";
constexpr std::string_view kHeaderPrefix = "header:";

std::string_view value_of(const LimitKeyPart& part, const pipeline::RequestContext& request) {
  switch (part.kind) {
    case LimitKeyPart::Kind::Principal:
      return request.principal != nullptr ? std::string_view(request.principal->id) : std::string_view("-");
    case LimitKeyPart::Kind::PrincipalMetadata: {
      if (request.principal == nullptr) return "-";
      const auto found = request.principal->metadata.find(part.name);
      return found == request.principal->metadata.end() ? std::string_view() : std::string_view(found->second);
    }
    case LimitKeyPart::Kind::Model:
      return request.info.model;
    case LimitKeyPart::Kind::Route:
      return request.rule.id;
    case LimitKeyPart::Kind::Backend:
      return request.backend.name;
    case LimitKeyPart::Kind::Header:
      if (request.head == nullptr) return {};
      return (*request.head)[part.name];
    case LimitKeyPart::Kind::ClientIP:
      return request.client_ip;
  }
  return {};
}

std::string_view part_name(const LimitKeyPart& part) {
  switch (part.kind) {
    case LimitKeyPart::Kind::Principal:
      return "principal";
    case LimitKeyPart::Kind::PrincipalMetadata:
      return "principal.metadata";
    case LimitKeyPart::Kind::Model:
      return "model";
    case LimitKeyPart::Kind::Route:
      return "route";
    case LimitKeyPart::Kind::Backend:
      return "backend";
    case LimitKeyPart::Kind::Header:
      return "header";
    case LimitKeyPart::Kind::ClientIP:
      return "clientIP";
  }
  return "";
}

}  // namespace

std::optional<LimitKey> LimitKey::parse(const std::vector<std::string>& by, std::string* error) {
  LimitKey key;
  for (const auto& text : by) {
    LimitKeyPart part;
    if (text == "principal") {
      part.kind = LimitKeyPart::Kind::Principal;
    } else if (text == "model") {
      part.kind = LimitKeyPart::Kind::Model;
    } else if (text == "route") {
      part.kind = LimitKeyPart::Kind::Route;
    } else if (text == "backend") {
      part.kind = LimitKeyPart::Kind::Backend;
    } else if (text == "clientIP") {
      part.kind = LimitKeyPart::Kind::ClientIP;
    } else if (text.starts_with(kMetadataPrefix) && text.size() > kMetadataPrefix.size()) {
      part.kind = LimitKeyPart::Kind::PrincipalMetadata;
      part.name = text.substr(kMetadataPrefix.size());
    } else if (text.starts_with(kHeaderPrefix) && text.size() > kHeaderPrefix.size()) {
      part.kind = LimitKeyPart::Kind::Header;
      part.name = text.substr(kHeaderPrefix.size());
      for (auto& c : part.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // Counter keys and /spend show the values: a credential must not become one.
      if (part.name == "authorization" || part.name == "proxy-authorization" || part.name == "x-api-key" ||
          part.name == "api-key" || part.name == "x-goog-api-key" || part.name == "cookie") {
        if (error != nullptr)
          *error = "\"" + text + "\" carries a credential, which must not become a counter's name; key on principal";
        return std::nullopt;
      }
    } else {
      if (error != nullptr) *error = "unknown key part \"" + text + "\"; expected one of " + std::string(kLimitKeyParts);
      return std::nullopt;
    }
    for (const auto& seen : key.parts_) {
      if (seen.kind == part.kind && seen.name == part.name) {
        if (error != nullptr) *error = "key part \"" + text + "\" is named twice";
        return std::nullopt;
      }
    }
    key.parts_.push_back(std::move(part));
    key.description_ += (key.description_.empty() ? "" : ",") + text;
  }
  return key;
}

bool LimitKey::needs_body() const {
  for (const auto& part : parts_)
    if (part.kind == LimitKeyPart::Kind::Model) return true;
  return false;
}

void LimitKey::append_values(const pipeline::RequestContext& request, std::string& out) const {
  for (const auto& part : parts_) {
    const auto value = value_of(part, request);
    out += std::to_string(value.size());
    out += ':';
    out += value;
  }
}

std::string LimitKey::describe_values(const pipeline::RequestContext& request) const {
  std::string out;
  for (const auto& part : parts_) {
    if (!out.empty()) out += ',';
    out += part_name(part);
    if (!part.name.empty()) {
      out += '.';
      out += part.name;
    }
    out += '=';
    out += value_of(part, request);
  }
  return out;
}

}  // namespace sluice::policy
