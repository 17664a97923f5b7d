// Chain: the stages one request runs through at one level (a route rule, a Backend, a
// provider), in registration order, with the union of the phases they declare. Compiled once
// per snapshot (policy/registry.hpp); immutable and shared by every worker. Running a phase
// calls only the stages that declared it and stops at the first verdict that does not continue.
// An empty chain costs a branch per phase.
#pragma once

#include <memory>
#include <vector>

#include "pipeline/stage.hpp"

namespace sluice::pipeline {

class Chain {
 public:
  void add(std::shared_ptr<const Stage> stage);
  // Adds every stage of `other`, after this chain's.
  void append(Chain other);

  bool empty() const { return stages_.empty(); }
  bool needs(Phase phase) const { return (phases_ & bit(phase)) != 0; }
  Phases phases() const { return phases_; }
  const std::vector<std::shared_ptr<const Stage>>& stages() const { return stages_; }

  // Whether a stage of the chain must wait (Stage::waits): RequestHead and RequestBody then run
  // as coroutines (request_head / request_body), else as plain calls (the _now forms).
  bool waits() const { return waits_; }
  Verdict request_head_now(RequestContext& context) const;
  Verdict request_body_now(RequestContext& context) const;
  http::Task<Verdict> request_head(RequestContext& context) const;
  http::Task<Verdict> request_body(RequestContext& context) const;
  Verdict attempt(AttemptContext& context) const;
  Verdict upstream_request(AttemptContext& context) const;
  Verdict response_head(ResponseContext& context) const;
  // Whether a ResponseWhole stage of the chain needs this reply whole; those stages, in order.
  bool reads_whole_reply(bool stream) const;
  http::Task<Verdict> reply_text(ResponseContext& context, ReplyText& reply) const;
  // The text filters of the chain's ResponseText stages for this response, appended in order.
  void response_text_filters(ResponseContext& context, std::vector<std::unique_ptr<llm::TextFilter>>& out) const;
  // The ReplyCost stages, in order.
  void reply_usage(ResponseContext& context) const;
  void stream_usage_members(ResponseContext& context, std::string& members) const;
  void complete(RequestContext& context) const noexcept;

 private:
  std::vector<std::shared_ptr<const Stage>> stages_;
  Phases phases_ = 0;
  bool waits_ = false;
};

}  // namespace sluice::pipeline
