// NativeReader: the base of the translators that read a native reply in place instead of
// converting it (the native text filters of native_filter.hpp, the Responses store echo): the
// request goes upstream as the client wrote it, and a non-2xx reply is relayed by the exchange
// as the provider sent it, so translate_error only names the status (in the error type of the
// client's schema, error_type()). NativeTextFilter adds what every native text filter does to a
// complete reply: a string filtered whole, and every string inside a JSON value (tool inputs,
// function-call args). Header-only; one object per response; not thread-safe; never throws.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "llm/text_filter.hpp"
#include "translate/common.hpp"
#include "translate/translator.hpp"

namespace sluice::translate {

class NativeReader : public Translator {
 public:
  std::optional<http::ApiError> translate_request(const boost::json::object& client_body,
                                                  std::string& upstream_body) override {
    upstream_body = boost::json::serialize(client_body);
    return std::nullopt;
  }

  http::ApiError translate_error(unsigned status, std::string_view, std::string_view) override {
    return http::ApiError{status,
                          std::string(error_type(status)),
                          "upstream_error",
                          "backend returned HTTP " + std::to_string(status),
                          {}};
  }

 protected:
  virtual std::string_view error_type(unsigned status) const { return openai_error_type(status); }
};

class NativeTextFilter : public NativeReader {
 protected:
  explicit NativeTextFilter(llm::TextFilter& filter) : filter_(filter) {}

  // A complete reply's string, filtered whole (a value that is not a string, or any value once
  // the filter rejected, is left alone).
  void filter_whole(boost::json::value& value, const llm::TextChannel& channel) {
    if (!value.is_string() || filter_.rejection() != nullptr) return;
    released_.clear();
    filter_.feed(channel, value.get_string(), released_);
    filter_.finish(channel, released_);
    value = released_;
  }

  // Every string inside `value`, each filtered whole on `channel` (object keys are names, not
  // text the model wrote: kept).
  void filter_strings(boost::json::value& value, const llm::TextChannel& channel) {
    if (value.is_string()) {
      filter_whole(value, channel);
    } else if (value.is_array()) {
      for (auto& item : value.get_array()) filter_strings(item, channel);
    } else if (value.is_object()) {
      for (auto& item : value.get_object()) filter_strings(item.value(), channel);
    }
  }

  llm::TextFilter& filter_;
  std::string released_;  // what the filter let out of the last piece
};

}  // namespace sluice::translate
