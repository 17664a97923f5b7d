// The guard stages' call to a guard service, for fuzz targets that link the configuration
// loader (and so the stages it makes) but never serve a request: the real call
// (src/policy/guard_call.cpp) needs the worker's upstream pool, whose asio coroutines clang 14
// cannot compile with the sanitizers ("Cannot represent a difference across sections"; a free
// coroutine function fails the same way, so the stub's coroutine is a member). Never called.
#include "policy/guard_call.hpp"

namespace sluice::policy {

namespace {

struct NoGuardService {
  http::Task<GuardAnswer> call() const;
};

http::Task<GuardAnswer> NoGuardService::call() const {
  GuardAnswer answer;
  answer.error = "no guard service in a fuzz target";
  co_return answer;
}

}  // namespace

http::Task<GuardAnswer> call_guard_service(proxy::Worker&, const GuardCall&) {
  static const NoGuardService none;
  return none.call();
}

void note_guard(pipeline::RequestRecord& record, std::string_view what) {
  if (!record.guard.empty()) record.guard.append("; ");
  record.guard.append(what);
}

}  // namespace sluice::policy
