// ResponseTap: a stage's view of the answer the client receives, byte for byte as it leaves
// (after translation, response filters and text guards), for a stage that must keep what was
// answered (the response cache). A stage that wants one sets RequestContext::response_tap (owned
// by its per-request state) in a RequestHead or RequestBody hook; the responder and the relays
// then tell it about the answer:
//   begin(status, content type)   the answer's head is about to leave (again for a later answer:
//                                 a relay that failed before its head reached the client and was
//                                 followed by another provider's answer starts over)
//   body(bytes)                   body bytes as written to the client, without HTTP framing; the
//                                 error event Sluice appends to a stream that fails mid-way is not
//                                 passed; a translated stream's is, and the answer then ends
//                                 incomplete
//   end(complete)                 the answer ended; `complete`: its whole body reached the client
//                                 and the upstream ended it properly
// Errors Sluice writes itself (send_error) are not tapped: an answer begun and never ended, or
// never begun, is not one to keep. Without a tap (the common case) the cost is one pointer check
// per answer and per relay write: the zero-copy relay is untouched.
//
// Per request, on the request's worker thread; not thread-safe.
#pragma once

#include <string_view>

namespace sluice::pipeline {

class ResponseTap {
 public:
  virtual ~ResponseTap() = default;
  virtual void begin(unsigned status, std::string_view content_type) = 0;
  virtual void body(std::string_view bytes) = 0;
  virtual void end(bool complete) = 0;
};

}  // namespace sluice::pipeline
