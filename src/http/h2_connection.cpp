#include "http/h2_connection.hpp"

#include <array>
#include <stdexcept>

namespace sluice::http {

namespace {

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};

bool ends_stream(const nghttp2_frame* frame) {
  return (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
}

}  // namespace

H2Connection::H2Connection(Executor executor, const Settings& settings, RequestHandler on_request,
                           std::function<void()> on_output, std::function<void()> on_idle, const bool& draining)
    : executor_(executor),
      settings_(settings),
      on_request_(std::move(on_request)),
      on_output_(std::move(on_output)),
      on_idle_(std::move(on_idle)),
      draining_(draining) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(raw_callbacks, &H2Connection::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(raw_callbacks, &H2Connection::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(raw_callbacks, &H2Connection::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(raw_callbacks, &H2Connection::on_frame_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw_callbacks, &H2Connection::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(raw_callbacks, &H2Connection::on_stream_close);

  nghttp2_option* raw_option = nullptr;
  if (nghttp2_option_new(&raw_option) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_option, OptionDeleter> option(raw_option);
  // Windows reopen as the proxy reads a body, not as bytes arrive: the buffering bound.
  nghttp2_option_set_no_auto_window_update(raw_option, 1);
  if (nghttp2_session_server_new2(&session_, raw_callbacks, this, raw_option) != 0) throw std::bad_alloc();

  // The header list limit is advisory for the client; the proxy's header limit is the rule.
  const std::array<nghttp2_settings_entry, 4> entries{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(settings_.stream_window)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(settings_.max_head_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, settings_.connection_window);
}

H2Connection::~H2Connection() {
  // Streams still served by the proxy learn that the connection is gone; their pending
  // operations complete (later, from the executor) with connection_reset.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    stream->detach();
    stream->on_close();
  }
  nghttp2_session_del(session_);
}

bool H2Connection::receive(const std::uint8_t* data, std::size_t size) {
  const auto used = nghttp2_session_mem_recv(session_, data, size);
  on_output_();
  return used >= 0 && static_cast<std::size_t>(used) == size;
}

bool H2Connection::take_output(std::string& out, std::size_t max) {
  while (out.size() < max) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return false;
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return true;
}

void H2Connection::goaway() {
  if (goaway_sent_) return;
  goaway_sent_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  on_output_();
}

bool H2Connection::finished() const {
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) return true;
  return goaway_sent_ && active_ == 0 && nghttp2_session_want_write(session_) == 0;
}

void H2Connection::submit_response(H2Stream& stream, const nghttp2_nv* fields, std::size_t count, bool has_body) {
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = &H2Connection::read_data;
  if (nghttp2_submit_response(session_, stream.id(), fields, count, has_body ? &provider : nullptr) != 0)
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id(), NGHTTP2_INTERNAL_ERROR);
  on_output_();
}

void H2Connection::submit_interim(H2Stream& stream, const nghttp2_nv* fields, std::size_t count) {
  nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream.id(), nullptr, fields, count, nullptr);
  on_output_();
}

void H2Connection::resume(std::int32_t id) {
  if (nghttp2_session_resume_data(session_, id) == 0) on_output_();
}

void H2Connection::consume(std::int32_t id, std::size_t size) {
  if (size == 0) return;
  if (nghttp2_session_consume(session_, id, size) != 0) nghttp2_session_consume_connection(session_, size);
  on_output_();
}

void H2Connection::reset(std::int32_t id, std::uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, error_code);
  on_output_();
}

void H2Connection::stream_finished() {
  if (active_ > 0) --active_;
  if (active_ == 0) {
    if (draining_) goaway();
    on_idle_();
  }
  on_output_();
}

H2Stream* H2Connection::stream(std::int32_t id) const {
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

int H2Connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const auto id = frame->hd.stream_id;
  if (self.draining_ || self.goaway_sent_) {
    // Refused before any processing: the client may retry it on another connection.
    self.goaway();
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto stream = std::make_shared<H2Stream>(&self, id, self.executor_, self.settings_.max_head_bytes);
  nghttp2_session_set_stream_user_data(session, id, stream.get());
  self.streams_.emplace(id, std::move(stream));
  return 0;
}

int H2Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t name_length, const std::uint8_t* value, std::size_t value_length, std::uint8_t,
                            void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers
  if (auto* s = self.stream(frame->hd.stream_id))
    s->on_header({reinterpret_cast<const char*>(name), name_length},
                 {reinterpret_cast<const char*>(value), value_length});
  return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  auto* s = self.stream(frame->hd.stream_id);
  if (s == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->on_headers_end(ends_stream(frame));
    const auto it = self.streams_.find(frame->hd.stream_id);
    if (it == self.streams_.end()) return 0;
    ++self.active_;
    self.on_request_(it->second);
  } else if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && ends_stream(frame)) {
    s->on_request_end();
  }
  return 0;
}

int H2Connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) || !ends_stream(frame)) return 0;
  // The response is complete while the client is still sending its body: ask it to stop,
  // without error (RFC 9113 section 8.1), now that the whole response is on its way.
  if (auto* s = self.stream(frame->hd.stream_id); s != nullptr && !s->request_ended())
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

int H2Connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                                std::size_t size, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if (auto* s = self.stream(id))
    s->on_data(data, size);
  else
    nghttp2_session_consume_connection(session, size);  // a refused stream's body
  return 0;
}

int H2Connection::on_stream_close(nghttp2_session* session, std::int32_t id, std::uint32_t, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  const auto it = self.streams_.find(id);
  if (it == self.streams_.end()) return 0;
  nghttp2_session_set_stream_user_data(session, id, nullptr);
  const auto stream = std::move(it->second);
  self.streams_.erase(it);
  stream->on_close();
  return 0;
}

ssize_t H2Connection::read_data(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                                std::uint32_t* flags, nghttp2_data_source* source, void*) {
  return static_cast<H2Stream*>(source->ptr)->read_response(buffer, length, flags);
}

}  // namespace sluice::http
