// Null-tolerant JSON lookups shared by the captureContent readers (proxy/input_capture.cpp,
// proxy/output_capture.cpp): a missing member, a value of another type or a null input gives
// null (or an empty string, false), so a path through a document of unknown shape is one
// expression. Header-only, stateless.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

namespace sluice::proxy::capture_json {

// `v`'s member `key`, when `v` is an object that has it.
inline const boost::json::value* at(const boost::json::value* v, std::string_view key) {
  if (v == nullptr) return nullptr;
  const auto* o = v->if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

// `v`'s first element, when `v` is a non-empty array.
inline const boost::json::value* first(const boost::json::value* v) {
  if (v == nullptr) return nullptr;
  const auto* a = v->if_array();
  return a == nullptr || a->empty() ? nullptr : &a->front();
}

// `v` when it is a string, else empty.
inline std::string_view str(const boost::json::value* v) {
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// Whether `v` is `true`.
inline bool is_true(const boost::json::value* v) {
  return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace sluice::proxy::capture_json
