#include "llm/text_filter.hpp"

#include <variant>

namespace sluice::llm {

void TextFilterChain::feed(const TextChannel& channel, std::string_view text, std::string& released) {
  // Each filter reads what the one before released (ping-pong buffers), the last writes out.
  std::string_view input = text;
  for (std::size_t i = 0; i < filters_.size(); ++i) {
    const bool last = i + 1 == filters_.size();
    auto& output = last ? released : between_[i % 2];
    if (!last) output.clear();
    filters_[i]->feed(channel, input, output);
    if (filters_[i]->rejection() != nullptr) return;
    input = output;
  }
}

void TextFilterChain::finish(const TextChannel& channel, std::string& released) {
  // Filter i's held text goes through the filters after it, which then finish too.
  for (std::size_t i = 0; i < filters_.size(); ++i) {
    std::string& rest = between_[0];
    rest.clear();
    filters_[i]->finish(channel, rest);
    if (filters_[i]->rejection() != nullptr) return;
    std::string_view input = rest;
    std::string& next = between_[1];
    for (std::size_t j = i + 1; j < filters_.size() && !input.empty(); ++j) {
      next.clear();
      filters_[j]->feed(channel, input, next);
      if (filters_[j]->rejection() != nullptr) return;
      std::swap(rest, next);
      input = rest;
    }
    released.append(input);
  }
}

bool TextReplacement::replaced(const TextChannel& channel) const {
  return channel.kind == TextChannel::Kind::Text && channel.choice < replacements_.size() &&
         replacements_[channel.choice].has_value();
}

void TextReplacement::feed(const TextChannel& channel, std::string_view text, std::string& released) {
  if (!replaced(channel)) released.append(text);
}

void TextReplacement::finish(const TextChannel& channel, std::string& released) {
  if (!replaced(channel)) return;
  auto& replacement = replacements_[channel.choice];
  released.append(*replacement);
  replacement = std::string();  // released once; later text of the choice stays swallowed
}

const http::ApiError* TextFilterChain::rejection() const {
  for (const auto& filter : filters_)
    if (const auto* error = filter->rejection()) return error;
  return nullptr;
}

void TextFilteringEvents::on_event(const Event& event, EventSink& next) {
  if (stopped_) return;
  // A text or reasoning delta: its channel's released text, as the same kind of delta.
  const auto filter_delta = [&]<class Delta>(const Delta& delta, TextChannel::Kind kind) {
    const TextChannel channel{delta.index, kind, 0};
    enter(channel, next);
    if (stopped_) return;
    released_.clear();
    filter_.feed(channel, delta.text, released_);
    if (rejected()) return reject(channel.choice, next);
    if (!released_.empty()) next.on_event(Delta{delta.index, released_});
  };
  if (const auto* text = std::get_if<TextDelta>(&event)) {
    filter_delta(*text, TextChannel::Kind::Text);
  } else if (const auto* reasoning = std::get_if<ReasoningDelta>(&event)) {
    filter_delta(*reasoning, TextChannel::Kind::Reasoning);
  } else if (const auto* call = std::get_if<ToolCallDelta>(&event)) {
    const TextChannel channel{call->choice, TextChannel::Kind::ToolArguments, call->index};
    enter(channel, next);
    if (stopped_) return;
    released_.clear();
    filter_.feed(channel, call->arguments, released_);
    if (rejected()) return reject(channel.choice, next);
    if (!call->id.empty() || !call->name.empty() || !released_.empty())
      next.on_event(ToolCallDelta{call->index, call->id, call->name, released_, call->choice, call->signature});
  } else if (const auto* signature = std::get_if<ReasoningSignature>(&event)) {
    // A signature closes the reasoning block: its text is released first, then the signature.
    finish_choice(signature->index, next);
    if (!stopped_) next.on_event(event);
  } else if (const auto* finish = std::get_if<Finish>(&event)) {
    finish_choice(finish->choice, next);
    if (!stopped_) next.on_event(event);
  } else if (std::holds_alternative<End>(event)) {
    finish_all(next);
    if (!stopped_) next.on_event(event);
  } else {
    next.on_event(event);
  }
}

void TextFilteringEvents::finish_channel(const TextChannel& channel, EventSink& next) {
  released_.clear();
  filter_.finish(channel, released_);
  if (rejected()) return reject(channel.choice, next);
  if (released_.empty()) return;
  switch (channel.kind) {
    case TextChannel::Kind::Text:
      next.on_event(TextDelta{channel.choice, released_});
      break;
    case TextChannel::Kind::Reasoning:
      next.on_event(ReasoningDelta{channel.choice, released_});
      break;
    case TextChannel::Kind::ToolArguments:
      next.on_event(ToolCallDelta{channel.index, {}, {}, released_, channel.choice, {}});
      break;
  }
}

void TextFilteringEvents::finish_choice(std::uint64_t choice, EventSink& next) {
  for (std::size_t i = 0; i < open_.size(); ++i) {
    if (open_[i].choice != choice) continue;
    const auto channel = open_[i];
    open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
    finish_channel(channel, next);
    return;
  }
}

void TextFilteringEvents::finish_all(EventSink& next) {
  while (!open_.empty() && !stopped_) {
    const auto channel = open_.front();
    open_.erase(open_.begin());
    finish_channel(channel, next);
  }
}

void TextFilteringEvents::enter(const TextChannel& channel, EventSink& next) {
  for (const auto& open : open_)
    if (open == channel) return;
  finish_choice(channel.choice, next);
  if (!stopped_) open_.push_back(channel);
}

void TextFilteringEvents::reject(std::uint64_t choice, EventSink& next) {
  if (stopped_) return;
  stopped_ = true;
  next.on_event(Finish{FinishReason::ContentFilter, "content_filter", choice});
  next.on_event(Error{*filter_.rejection()});
}

}  // namespace sluice::llm
