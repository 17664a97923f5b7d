// Stages: the unit every policy of the request path is written as. A request runs through the
// chain of its route rule, of its Backend and, per attempt, of the provider tried. The phases,
// in order:
//   RequestHead      the head is known (route, Backend chosen); nothing of the body yet
//   RequestBody      a JSON API body was read and parsed (model, stream known)
//   Attempt          one provider is about to be tried: the model it is asked for
//   UpstreamRequest  the upstream request is final (body bytes, path): headers, credentials,
//                    signing (signing stages run last)
//   ResponseHead     the upstream answered with this head
//   ResponseEvents   (declared by stages that read what the provider answers: the exchange then
//                    decodes native responses into llm events and usage)
//   ResponseText     a 2xx chat or messages reply is about to be read: a stage that inspects or
//                    rewrites the text the model answers (a response guard) gives a filter
//                    for it (llm/text_filter.hpp), which the reply's text then passes through,
//                    streamed or complete, native or translated
//   ResponseWhole    a stage that must see the whole answer before any of it is sent (a response
//                    webhook) and says so for this reply (reads_whole_reply): the exchange reads
//                    the reply whole (a stream too, bounded), hands the text of each choice to
//                    await_reply_text, then sends the reply with the texts it replaced
//   ReplyCost        a stage that tells the client what a 2xx chat, messages or embeddings reply
//                    cost: on_reply_usage runs once a complete reply's usage is in the record,
//                    before its head is written (the exchange reads a native complete reply whole
//                    for it); on a stream, stream_usage_members runs as the event that carries the
//                    reply's final usage passes, and the members it gives are added to that usage
//                    object (proxy/usage_members.hpp)
//   Complete         once per request, whatever happened (answered, failed, client gone, cut at
//                    the drain deadline)
// and one need that is not a phase: BodyDocument, declared by RequestBody stages that read or
// rewrite the parsed body (`document`); without it a native request's body is only scanned.
// A stage that must keep what the client received (the response cache) sets
// RequestContext::response_tap: the responder and the relays feed it the answer's status, type
// and body bytes as they leave (pipeline/response_tap.hpp).
// A stage never writes to the client. It returns a Verdict: continue, answer with an error (the
// responder writes it in the client's schema), answer with a local response (e.g. a cache hit)
// or, from ResponseHead, try the same provider again (another key). One responder writes every
// answer (pipeline/responder.hpp).
//
// Stages are built once per snapshot (policy/registry.hpp) and shared by every worker: they are
// immutable and thread-safe; per-request data lives in the contexts below, a stage's own
// per-request data in RequestContext::state(slot). Each stage declares its phases, so a chain
// with no body or response-event stage keeps the zero-copy relay.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/resources.hpp"
#include "http/api_error.hpp"
#include "http/fields.hpp"
#include "http/io.hpp"
#include "llm/text_filter.hpp"
#include "pipeline/principal.hpp"
#include "pipeline/request_record.hpp"
#include "pipeline/response_tap.hpp"
#include "proxy/request_body.hpp"
#include "route/api_path.hpp"

namespace sluice::proxy {
struct BackendRuntime;
struct UpstreamHeadSpec;
class Worker;
}  // namespace sluice::proxy
namespace sluice::route {
struct CompiledRule;
}
namespace sluice::translate {
class Translator;
}

namespace sluice::pipeline {

class Chain;

enum class Phase : unsigned {
  RequestHead,
  RequestBody,
  Attempt,
  UpstreamRequest,
  ResponseHead,
  ResponseEvents,
  ResponseText,
  ResponseWhole,
  Complete,
  BodyDocument,
  ReplyCost,
};
using Phases = unsigned;
constexpr Phases bit(Phase phase) {
  return 1u << static_cast<unsigned>(phase);
}

// A complete answer Sluice writes itself instead of asking a provider.
struct LocalResponse {
  unsigned status = 200;
  std::string content_type;  // empty: application/json (so a Verdict that continues allocates nothing)
  std::string body;
};

struct Verdict {
  enum class Kind { Continue, Error, Local, RetrySameProvider };
  Kind kind = Kind::Continue;
  http::ApiError error{};    // Error: what to answer; RetrySameProvider: why (status, message)
  std::string retry_after;   // Error: a Retry-After value to send
  std::string_view headers;  // Error: more header lines ("name: value\r\n"), owned by the stage
  LocalResponse local;       // Local

  static Verdict proceed() { return {}; }
  static Verdict fail(http::ApiError error, std::string retry_after = {}) {
    Verdict v;
    v.kind = Kind::Error;
    v.error = std::move(error);
    v.retry_after = std::move(retry_after);
    return v;
  }
  static Verdict answer(LocalResponse response) {
    Verdict v;
    v.kind = Kind::Local;
    v.local = std::move(response);
    return v;
  }
  static Verdict retry_same_provider(http::ApiError why) {
    Verdict v;
    v.kind = Kind::RetrySameProvider;
    v.error = std::move(why);
    return v;
  }
  bool proceeds() const { return kind == Kind::Continue; }
};

// A stage's own per-request data (created by the stage on first use).
struct StageState {
  virtual ~StageState() = default;
};

// The retry policies that apply to this request (set by the retry stages of the rule's and the
// Backend's chains; the exchange resolves them once the providers to try are known).
struct RetrySelection {
  const config::RetryPolicy* rule = nullptr;
  const config::RetryPolicy* backend = nullptr;
};

// Header edits in the order they apply.
using HeaderEditList = boost::container::small_vector<const config::HeaderModifier*, 2>;

// One client request, for the whole exchange.
struct RequestContext {
  RequestContext(proxy::Worker& worker_, const route::CompiledRule& rule_, const proxy::BackendRuntime& backend_,
                 RequestRecord& record_)
      : worker(worker_), rule(rule_), backend(backend_), record(record_) {}
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  proxy::Worker& worker;
  const route::CompiledRule& rule;
  const proxy::BackendRuntime& backend;  // the Backend chosen for this request
  RequestRecord& record;
  const Chain* rule_chain = nullptr;  // the stages of the rule (the Backend's are backend.chain)
  // The request head (reached through a pointer: it moves with the parser that reads the body).
  const http::RequestHeader* head = nullptr;
  route::ApiKind api = route::ApiKind::Other;
  ClientSchema schema = ClientSchema::OpenAI;
  std::string_view path;          // the canonical path (the API path, without ';' parameters, for JSON APIs)
  std::string_view query;         // without '?'
  bool query_credential = false;  // the caller's key came in the `key` query parameter: never forwarded
  std::string_view client_ip;     // the connection's peer address (empty when unknown)
  bool json_api = false;          // chat, embeddings or messages on an AI Backend: the body is read whole
  // JSON APIs, from RequestBody on: the body as received, what it says, and its parsed form
  // when a translation or a stage needs one (`document` is null otherwise).
  std::string body;
  proxy::BodyInfo info;
  std::optional<boost::json::monotonic_resource> arena;
  boost::json::value document;
  // A RequestBody stage changed `document` (it then updates `info` too): the exchange writes the
  // body anew from it once the RequestBody stages have run.
  bool document_changed = false;
  // The model the client named, when a stage replaced it (a model alias); empty otherwise.
  std::string requested_model;
  // Responses API members the response store (policy/response_store.hpp) took out of the request
  // and the answer repeats: the answer is kept (store: true), and the previous_response_id the
  // stored conversation came from (empty: none).
  bool responses_stored = false;
  std::string responses_previous_id;
  RetrySelection retry;
  // Who is calling, once an authentication stage accepted a credential (owned by that stage);
  // null: no authentication applies, or an anonymous caller where it is optional.
  const Principal* principal = nullptr;
  // Header edits collected by RequestHead stages (HTTPRoute header modifier filters, later
  // policies), applied in order when the upstream request head and the client's response head
  // are written.
  HeaderEditList request_header_edits;
  HeaderEditList response_header_edits;
  // Response header lines ("name: value\r\n") computed for this request by RequestHead stages
  // (CORS: the caller's origin echoed): the responder writes them on every answer — relayed,
  // converted, local, errors. Empty, and never allocated, unless a stage adds one.
  std::string response_header_lines;

  // Sets the header lines ("name: value\r\n"...) `owner` (a stage, or its state's address)
  // keeps in response_header_lines, replacing what it set before in place: a stage whose value
  // changes as the request goes (x-ratelimit-* as limits are read, x-sluice-cache from bypass to
  // hit or miss) rewrites its own lines and leaves every other stage's where they are.
  void set_response_header_block(const void* owner, std::string_view lines) {
    for (auto& block : header_blocks_) {
      if (block.owner != owner) continue;
      response_header_lines.replace(block.start, block.size, lines);
      const auto old_size = block.size;
      block.size = lines.size();
      for (auto& later : header_blocks_)
        if (later.start > block.start) later.start = later.start + lines.size() - old_size;
      return;
    }
    header_blocks_.push_back({owner, response_header_lines.size(), lines.size()});
    response_header_lines.append(lines);
  }
  // The tap a stage keeps on this request's answer (owned by its per-request state); null: none,
  // and the answer is written without being observed.
  ResponseTap* response_tap = nullptr;

  // The per-request state of `stage`, created on first use (a few stages at most keep any: a
  // linear search).
  template <class T>
  T& state(const void* stage) {
    for (auto& [owner, state] : states_)
      if (owner == stage) return static_cast<T&>(*state);
    states_.emplace_back(stage, std::make_unique<T>());
    return static_cast<T&>(*states_.back().second);
  }
  // The per-request state of `stage` if it made one; null otherwise.
  template <class T>
  T* find_state(const void* stage) {
    for (auto& [owner, state] : states_)
      if (owner == stage) return static_cast<T*>(state.get());
    return nullptr;
  }

 private:
  boost::container::small_vector<std::pair<const void*, std::unique_ptr<StageState>>, 2> states_;
  struct HeaderBlock {
    const void* owner;
    std::size_t start;
    std::size_t size;
  };
  boost::container::small_vector<HeaderBlock, 2> header_blocks_;
};

// ResponseWhole: the text of each choice of a reply read whole, and what stages replace.
struct ReplyText {
  std::vector<std::string> choices;
  std::vector<std::optional<std::string>> replaced;  // same size as choices: nullopt keeps the text
  bool stream = false;
};

// One attempt at one provider (or a Static Backend).
struct AttemptContext {
  RequestContext& request;
  const proxy::BackendRuntime& provider;
  // Attempt: the model the provider is asked for (the client's, unless a stage pins another).
  std::string model;
  // The provider speaks the client's schema (no translation). Attempt stages that rewrite the
  // body do so only then; a translation builds the upstream body from `request.document`.
  bool native = true;
  // The upstream body: `request.body`, or `rewritten` when a stage or the translation wrote one.
  const std::string* body = nullptr;
  std::string rewritten;
  // UpstreamRequest: the head being built (credential, extra headers, filters) and where it goes.
  proxy::UpstreamHeadSpec* head = nullptr;
  std::string_view upstream_target;  // path and query
  // Which of the provider's keys this attempt uses, when it has several (the credential stage).
  std::optional<std::size_t> key_index;
  // Response events: Sluice, not the client, asked for the stream's usage chunk; it is removed
  // from what the client receives.
  bool drop_usage_chunk = false;
};

// The upstream's answer to an attempt.
struct ResponseContext {
  AttemptContext& attempt;
  const http::ResponseHeader& head;
  unsigned status = 0;
  bool body_sent_upstream = false;  // streamed client bytes left: the request cannot be sent again
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;
  virtual Phases phases() const = 0;

  // RequestHead and RequestBody hooks: plain calls for stages that only compute (no coroutine
  // frame on the hot path); a stage that must wait (a webhook, Redis) says so with waits() and
  // overrides the await_ forms, which the chain then co_awaits instead.
  virtual Verdict on_request_head(RequestContext&) const { return Verdict::proceed(); }
  virtual Verdict on_request_body(RequestContext&) const { return Verdict::proceed(); }
  virtual bool waits() const { return false; }
  virtual http::Task<Verdict> await_request_head(RequestContext&) const;
  virtual http::Task<Verdict> await_request_body(RequestContext&) const;
  virtual Verdict on_attempt(AttemptContext&) const { return Verdict::proceed(); }
  virtual Verdict on_upstream_request(AttemptContext&) const { return Verdict::proceed(); }
  virtual Verdict on_response_head(ResponseContext&) const { return Verdict::proceed(); }
  // ResponseText: this response's text filter (its per-response state), or null.
  virtual std::unique_ptr<llm::TextFilter> response_text_filter(ResponseContext&) const { return nullptr; }
  // ResponseWhole: whether this stage needs a reply (streamed or not) whole, then the stage.
  virtual bool reads_whole_reply(bool /*stream*/) const { return false; }
  virtual http::Task<Verdict> await_reply_text(ResponseContext&, ReplyText&) const;
  // ReplyCost: a complete reply's usage is in the request's record, its head not yet written.
  virtual void on_reply_usage(ResponseContext&) const {}
  // ReplyCost: a stream's final usage is in the record as its event passes: appends JSON
  // members ("name":value, comma-separated) to add to that event's usage object.
  virtual void stream_usage_members(ResponseContext&, std::string& /*members*/) const {}
  // Runs once per request, after the answer was written or the request ended otherwise.
  // Must not throw.
  virtual void on_complete(RequestContext&) const noexcept {}
};

}  // namespace sluice::pipeline
