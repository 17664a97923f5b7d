#include "pipeline/chain.hpp"

namespace sluice::pipeline {

http::Task<Verdict> Stage::await_request_head(RequestContext& context) const {
  co_return on_request_head(context);
}
http::Task<Verdict> Stage::await_request_body(RequestContext& context) const {
  co_return on_request_body(context);
}

http::Task<Verdict> Stage::await_reply_text(ResponseContext&, ReplyText&) const {
  co_return Verdict::proceed();
}

void Chain::add(std::shared_ptr<const Stage> stage) {
  phases_ |= stage->phases();
  waits_ = waits_ || stage->waits();
  stages_.push_back(std::move(stage));
}

void Chain::append(Chain other) {
  for (auto& stage : other.stages_) add(std::move(stage));
}

Verdict Chain::request_head_now(RequestContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::RequestHead)) == 0) continue;
    auto verdict = stage->on_request_head(context);
    if (!verdict.proceeds()) return verdict;
  }
  return Verdict::proceed();
}

Verdict Chain::request_body_now(RequestContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::RequestBody)) == 0) continue;
    auto verdict = stage->on_request_body(context);
    if (!verdict.proceeds()) return verdict;
  }
  return Verdict::proceed();
}

http::Task<Verdict> Chain::request_head(RequestContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::RequestHead)) == 0) continue;
    // A stage that does not wait is called directly: no coroutine frame of its own.
    if (!stage->waits()) {
      auto verdict = stage->on_request_head(context);
      if (!verdict.proceeds()) co_return verdict;
      continue;
    }
    auto verdict = co_await stage->await_request_head(context);
    if (!verdict.proceeds()) co_return verdict;
  }
  co_return Verdict::proceed();
}

http::Task<Verdict> Chain::request_body(RequestContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::RequestBody)) == 0) continue;
    if (!stage->waits()) {
      auto verdict = stage->on_request_body(context);
      if (!verdict.proceeds()) co_return verdict;
      continue;
    }
    auto verdict = co_await stage->await_request_body(context);
    if (!verdict.proceeds()) co_return verdict;
  }
  co_return Verdict::proceed();
}

Verdict Chain::attempt(AttemptContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::Attempt)) == 0) continue;
    auto verdict = stage->on_attempt(context);
    if (!verdict.proceeds()) return verdict;
  }
  return Verdict::proceed();
}

Verdict Chain::upstream_request(AttemptContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::UpstreamRequest)) == 0) continue;
    auto verdict = stage->on_upstream_request(context);
    if (!verdict.proceeds()) return verdict;
  }
  return Verdict::proceed();
}

Verdict Chain::response_head(ResponseContext& context) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::ResponseHead)) == 0) continue;
    auto verdict = stage->on_response_head(context);
    if (!verdict.proceeds()) return verdict;
  }
  return Verdict::proceed();
}

bool Chain::reads_whole_reply(bool stream) const {
  if (!needs(Phase::ResponseWhole)) return false;
  for (const auto& stage : stages_)
    if ((stage->phases() & bit(Phase::ResponseWhole)) != 0 && stage->reads_whole_reply(stream)) return true;
  return false;
}

http::Task<Verdict> Chain::reply_text(ResponseContext& context, ReplyText& reply) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::ResponseWhole)) == 0 || !stage->reads_whole_reply(reply.stream)) continue;
    auto verdict = co_await stage->await_reply_text(context, reply);
    if (!verdict.proceeds()) co_return verdict;
  }
  co_return Verdict::proceed();
}

void Chain::response_text_filters(ResponseContext& context, std::vector<std::unique_ptr<llm::TextFilter>>& out) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::ResponseText)) == 0) continue;
    if (auto filter = stage->response_text_filter(context)) out.push_back(std::move(filter));
  }
}

void Chain::reply_usage(ResponseContext& context) const {
  for (const auto& stage : stages_)
    if ((stage->phases() & bit(Phase::ReplyCost)) != 0) stage->on_reply_usage(context);
}

void Chain::stream_usage_members(ResponseContext& context, std::string& members) const {
  for (const auto& stage : stages_) {
    if ((stage->phases() & bit(Phase::ReplyCost)) == 0) continue;
    const auto before = members.size();
    if (before > 0) members.push_back(',');
    stage->stream_usage_members(context, members);
    if (members.size() == before + (before > 0 ? 1 : 0)) members.resize(before);
  }
}

void Chain::complete(RequestContext& context) const noexcept {
  for (const auto& stage : stages_)
    if ((stage->phases() & bit(Phase::Complete)) != 0) stage->on_complete(context);
}

}  // namespace sluice::pipeline
