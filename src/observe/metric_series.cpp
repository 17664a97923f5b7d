#include "observe/metric_series.hpp"

#include "observe/log.hpp"

namespace sluice::observe {

static_assert(kUpstreamErrorKinds.size() <= kCounterGroupMax && kAttemptOutcomes.size() <= kCounterGroupMax &&
                  kTokenTypes.size() <= kCounterGroupMax && kAuthFailureReasons.size() <= kCounterGroupMax &&
                  labelled_width(LabelledFamily::Principal) <= kCounterGroupMax &&
                  labelled_width(LabelledFamily::GenAi) <= kCounterGroupMax &&
                  histogram_width(kOverheadBuckets.size()) <= kCounterGroupMax,
              "a group of counters a registration takes at once fits the sink");

std::optional<std::uint32_t> upstream_error_kind(std::string_view label) {
  for (std::uint32_t i = 0; i < kUpstreamErrorKinds.size(); ++i)
    if (kUpstreamErrorKinds[i] == label) return i;
  return std::nullopt;
}

std::optional<std::uint32_t> auth_failure_reason(std::string_view reason) {
  for (std::uint32_t i = 0; i < kAuthFailureReasons.size(); ++i)
    if (kAuthFailureReasons[i] == reason) return i;
  return std::nullopt;
}

std::optional<std::uint32_t> cache_lookup_result(std::string_view result) {
  for (std::uint32_t i = 0; i < kCacheLookupResults.size(); ++i)
    if (kCacheLookupResults[i] == result) return i;
  return std::nullopt;
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
}

void gen_ai_labels(std::string& out, std::string_view operation, std::string_view provider,
                   std::string_view request_model, std::string_view response_model, std::string_view error_type) {
  out.assign("gen_ai.operation.name=\"");
  append_label_value(out, operation);
  out.append("\",gen_ai.provider.name=\"");
  append_label_value(out, provider);
  out.append("\",gen_ai.request.model=\"");
  append_label_value(out, request_model);
  out += '"';
  if (!response_model.empty()) {
    out.append(",gen_ai.response.model=\"");
    append_label_value(out, response_model);
    out += '"';
  }
  if (!error_type.empty()) {
    out.append(",error.type=\"");
    append_label_value(out, error_type);
    out += '"';
  }
}

std::vector<std::pair<std::string, std::string>> parse_label_text(std::string_view labels) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < labels.size()) {
    const auto eq = labels.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= labels.size() || labels[eq + 1] != '"') break;
    std::pair<std::string, std::string> label{std::string(labels.substr(i, eq - i)), {}};
    std::size_t j = eq + 2;
    for (; j < labels.size() && labels[j] != '"'; ++j) {
      if (labels[j] == '\\' && j + 1 < labels.size()) {
        ++j;
        label.second += labels[j] == 'n' ? '\n' : labels[j];
      } else {
        label.second += labels[j];
      }
    }
    out.push_back(std::move(label));
    i = j + 1;
    if (i < labels.size() && labels[i] == ',') ++i;
  }
  return out;
}

std::string collapse_label_values(std::string_view labels) {
  std::string out;
  std::size_t i = 0;
  while (i < labels.size()) {
    const auto eq = labels.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= labels.size() || labels[eq + 1] != '"') break;
    out.append(out.empty() ? "" : ",").append(labels.substr(i, eq - i)).append("=\"").append(kOtherLabelValue);
    out += '"';
    std::size_t j = eq + 2;
    while (j < labels.size() && labels[j] != '"') j += labels[j] == '\\' ? 2 : 1;
    i = j + 1;
    if (i < labels.size() && labels[i] == ',') ++i;
  }
  return out;
}

MetricSeries::MetricSeries() {
  // Slot 0: requests no rule matched; never published, rendered once counted.
  routes_.emplace(std::pair<std::string, std::string>{}, Entry{new_series(), new_request_slot()});
  // The first counters: sluice_auth_failures_total, rendered once counted.
  new_counters(kAuthFailureReasons.size());
  // Then sluice_cache_lookups_total (kCacheLookupCounters), rendered once counted.
  new_counters(kCacheLookupResults.size());
  // Then sluice_gateway_overhead_seconds (kOverheadCounters), always rendered.
  new_counters(histogram_width(kOverheadBuckets.size()));
}

CounterSlot MetricSeries::labelled_series(LabelledFamily family, std::string_view labels) {
  std::lock_guard lock(mutex_);
  auto& series = labelled_[static_cast<std::size_t>(family)];
  if (const auto it = series.find(labels); it != series.end()) return it->second;
  if (series.size() >= kLabelledSeriesMax) {
    const auto other = collapse_label_values(labels);
    if (const auto it = series.find(other); it != series.end()) return it->second;
    return series.emplace(other, new_counters(labelled_width(family))).first->second;
  }
  return series.emplace(std::string(labels), new_counters(labelled_width(family))).first->second;
}

void MetricSeries::for_each_labelled(LabelledFamily family,
                                     const std::function<void(const std::string&, CounterSlot)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, slot] : labelled_[static_cast<std::size_t>(family)])
    if (slot != kCounterSink) visit(labels, slot);
}

std::uint32_t MetricSeries::new_series() {
  published_.push_back(false);
  return static_cast<std::uint32_t>(published_.size() - 1);
}

void MetricSeries::report_full(std::string_view what) {
  if (reported_full_) return;
  reported_full_ = true;
  log(Level::Warning, "metric storage is full; new series are not counted", {{"metric", what}});
}

RequestSlot MetricSeries::new_request_slot() {
  if (next_request_ >= kRequestSink) {
    report_full("sluice_requests_total");
    return kRequestSink;
  }
  return next_request_++;
}

CounterSlot MetricSeries::new_counters(std::uint32_t count) {
  if (next_counter_ + count > kCounterSink) {
    report_full("counters");
    return kCounterSink;
  }
  const auto first = next_counter_;
  next_counter_ += count;
  return first;
}

RequestSlot MetricSeries::request_series(std::string_view route, std::string_view backend, bool implied,
                                         SeriesClaims& claims) {
  std::lock_guard lock(mutex_);
  auto [it, made] = routes_.try_emplace({std::string(route), std::string(backend)});
  if (made) it->second = Entry{new_series(), new_request_slot()};
  if (implied) claims.add(it->second.id);
  return it->second.slot;
}

CounterSlot MetricSeries::backend_series(std::string_view backend, bool ai, SeriesClaims& claims) {
  std::lock_guard lock(mutex_);
  auto [it, made] = backends_.try_emplace(std::string(backend));
  if (made) {
    it->second.id = new_series();
    it->second.errors = new_counters(kUpstreamErrorKinds.size());
  }
  it->second.ai = ai;  // the latest configuration's kind decides which kinds are pre-created
  claims.add(it->second.id);
  return it->second.errors;
}

CounterSlot MetricSeries::model_series(const std::string& backend, const std::string& provider, std::string_view model,
                                       SeriesClaims& claims) {
  auto [it, made] = models_.try_emplace({backend, provider, std::string(model)});
  if (made) it->second = Entry{new_series(), new_counters(kTokenTypes.size())};
  claims.add(it->second.id);
  return it->second.slot;
}

ProviderSeries MetricSeries::provider_series(std::string_view backend, std::string_view provider,
                                             std::span<const std::string> models, SeriesClaims& claims) {
  std::lock_guard lock(mutex_);
  const std::string b(backend);
  const std::string p(provider);
  auto [it, made] = providers_.try_emplace({b, p});
  if (made) {
    it->second.id = new_series();
    it->second.attempts = new_counters(kAttemptOutcomes.size());
    it->second.ejections = new_counters(1);
    it->second.refusals = new_counters(2);
  }
  claims.add(it->second.id);
  ProviderSeries out;
  out.id = next_provider_id_++;
  out.attempts = it->second.attempts;
  out.ejections = it->second.ejections;
  out.refusals = it->second.refusals;
  for (const auto& model : models) {
    if (model == kOtherModel) continue;  // a model named "other" is the "other" series
    // A model's position is a 16-bit field of the workers' cache keys.
    if (out.models.size() >= UINT16_MAX - 1) break;
    if (!out.model_index.emplace(model, static_cast<std::uint32_t>(out.models.size())).second) continue;
    out.models.emplace_back(model, model_series(b, p, model, claims));
  }
  out.other_tokens = model_series(b, p, kOtherModel, claims);
  return out;
}

std::uint32_t MetricSeries::metric_label(std::string_view key) {
  std::lock_guard lock(mutex_);
  for (std::uint32_t i = 0; i < metric_labels_.size(); ++i)
    if (metric_labels_[i].first == key) return i;
  metric_labels_.emplace_back(std::string(key), std::map<std::string, std::uint16_t, std::less<>>{});
  return static_cast<std::uint32_t>(metric_labels_.size() - 1);
}

std::uint16_t MetricSeries::metric_label_value(std::uint32_t label, std::string_view value) {
  std::lock_guard lock(mutex_);
  if (label >= metric_labels_.size()) return kOtherValueId;
  auto& values = metric_labels_[label].second;
  if (const auto it = values.find(value); it != values.end()) return it->second;
  if (values.size() >= kMetricLabelValuesMax) return kOtherValueId;
  const auto id = static_cast<std::uint16_t>(values.size() + 1);
  values.emplace(std::string(value), id);
  return id;
}

void MetricSeries::publish(const SeriesClaims& claims) {
  {
    std::lock_guard lock(mutex_);
    for (const auto id : claims.ids_) published_[id] = true;
  }
  for (const auto& [family, labels] : claims.labelled_) labelled_series(family, labels);
}

void MetricSeries::for_each_refusal(
    const std::function<void(const std::string&, const std::string&, CounterSlot, bool)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, entry] : providers_)
    if (entry.refusals != kCounterSink) visit(labels.first, labels.second, entry.refusals, published_[entry.id]);
}

void MetricSeries::for_each_route(
    const std::function<void(const std::string&, const std::string&, RequestSlot, bool)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, entry] : routes_)
    if (entry.slot != kRequestSink) visit(labels.first, labels.second, entry.slot, published_[entry.id]);
}

void MetricSeries::for_each_backend(
    const std::function<void(const std::string&, CounterSlot, bool, bool)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [backend, entry] : backends_)
    if (entry.errors != kCounterSink) visit(backend, entry.errors, entry.ai, published_[entry.id]);
}

void MetricSeries::for_each_provider(
    const std::function<void(const std::string&, const std::string&, CounterSlot, CounterSlot, bool)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, entry] : providers_)
    if (entry.attempts != kCounterSink && entry.ejections != kCounterSink)
      visit(labels.first, labels.second, entry.attempts, entry.ejections, published_[entry.id]);
}

void MetricSeries::for_each_model(const std::function<void(const std::string&, const std::string&, const std::string&,
                                                           CounterSlot, bool)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, entry] : models_)
    if (entry.slot != kCounterSink)
      visit(std::get<0>(labels), std::get<1>(labels), std::get<2>(labels), entry.slot, published_[entry.id]);
}

}  // namespace sluice::observe
