#include "http/h2_stream.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

#include "http/h2_connection.hpp"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// A response head the proxy writes is far below this; it bounds a broken one.
constexpr std::uint32_t kResponseHeadLimit = 256 * 1024;

// HTTP/1.1 fields that describe the connection, not the message: never sent in HTTP/2
// (RFC 9113 section 8.2.2).
bool connection_specific(bhttp::field name) {
  switch (name) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
      return true;
    default:
      return false;
  }
}

// A parser for the proxy's answer to this request: unbounded body (the proxy's own bytes),
// a bounded head, no body after HEAD.
void reset_response_parser(std::optional<bhttp::response_parser<bhttp::buffer_body>>& parser, std::string_view method) {
  parser.emplace();
  parser->header_limit(kResponseHeadLimit);
  parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (method == "HEAD") parser->skip(true);
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

H2Stream::H2Stream(H2Connection* connection, std::int32_t id, Executor executor, std::size_t max_head_bytes)
    : connection_(connection), id_(id), executor_(executor), max_head_bytes_(max_head_bytes) {}

void H2Stream::complete(Handler& handler, boost::system::error_code ec, std::size_t n) {
  asio::post(executor_, asio::append(std::move(handler), ec, n));
}

// ---- request ----

void H2Stream::on_header(std::string_view name, std::string_view value) {
  if (head_done_) return;
  if (!name.empty() && name.front() == ':') {
    if (name == ":method")
      method_.assign(value);
    else if (name == ":path")
      path_.assign(value);
    else if (name == ":authority")
      authority_.assign(value);
    return;  // :scheme says nothing the proxy uses
  }
  // Past the proxy's header limit the head is already refused (431): stop copying.
  if (fields_.size() + cookies_.size() > max_head_bytes_) return;
  if (name == "cookie") {
    // Cookie crumbs travel as separate fields in HTTP/2 and are joined back (RFC 9113 8.2.3).
    if (!cookies_.empty()) cookies_.append("; ");
    cookies_.append(value);
    return;
  }
  // The same host twice is one; a different one stays, and the head parser refuses the pair.
  if (name == "host" && !authority_.empty() && boost::beast::iequals(value, authority_)) return;
  if (name == "content-length") has_content_length_ = true;
  fields_.append(name).append(": ").append(value).append("\r\n");
}

void H2Stream::on_headers_end(bool end_stream) {
  head_done_ = true;
  in_.reserve(method_.size() + path_.size() + authority_.size() + fields_.size() + cookies_.size() + 96);
  in_.append(method_).append(" ");
  in_.append(method_ == "CONNECT" ? authority_ : path_).append(" HTTP/1.1\r\n");
  if (!authority_.empty()) in_.append("host: ").append(authority_).append("\r\n");
  in_.append(fields_);
  if (!cookies_.empty()) in_.append("cookie: ").append(cookies_).append("\r\n");
  if (!end_stream && !has_content_length_) {
    in_.append("transfer-encoding: chunked\r\n");
    chunked_ = true;
  }
  in_.append("\r\n");
  std::string().swap(fields_);
  std::string().swap(cookies_);
  std::string().swap(path_);
  std::string().swap(authority_);

  reset_response_parser(parser_, method_);
  if (end_stream) request_ended_ = true;
  service_read();
}

void H2Stream::on_data(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  if (proxy_done_ || closed_) {
    if (connection_) connection_->consume(id_, size);  // nobody reads it: reopen the window now
    return;
  }
  unacknowledged_ += size;
  if (chunked_) {
    std::array<char, 20> digits;
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), size, 16).ptr;
    in_.append(digits.data(), end).append("\r\n");
    in_.append(reinterpret_cast<const char*>(data), size).append("\r\n");
  } else {
    in_.append(reinterpret_cast<const char*>(data), size);
  }
  service_read();
}

void H2Stream::on_request_end() {
  if (request_ended_) return;
  request_ended_ = true;
  if (chunked_) in_.append("0\r\n\r\n");
  service_read();
}

void H2Stream::start_read(asio::mutable_buffer buffer, Handler handler) {
  if (pending_read_) {
    complete(handler, asio::error::in_progress, 0);
    return;
  }
  read_buffer_ = buffer;
  pending_read_.emplace(std::move(handler));
  service_read();
}

void H2Stream::service_read() {
  if (!pending_read_ || !head_done_) return;
  const std::size_t available = in_.size() - in_offset_;
  if (available > 0 || read_buffer_.size() == 0) {
    const std::size_t n = std::min(available, read_buffer_.size());
    std::memcpy(read_buffer_.data(), in_.data() + in_offset_, n);
    in_offset_ += n;
    if (in_offset_ == in_.size()) {
      in_.clear();
      in_offset_ = 0;
    } else if (in_offset_ > in_.size() / 2) {
      in_.erase(0, in_offset_);
      in_offset_ = 0;
    }
    // Read bytes reopen the windows (framing bytes count too: a slightly larger bound).
    const std::size_t acknowledged = std::min(n, unacknowledged_);
    unacknowledged_ -= acknowledged;
    if (acknowledged > 0 && connection_ && !closed_) connection_->consume(id_, acknowledged);
    complete(*pending_read_, {}, n);
    pending_read_.reset();
    return;
  }
  if (request_ended_) {
    complete(*pending_read_, asio::error::eof, 0);
    pending_read_.reset();
  } else if (closed_) {
    complete(*pending_read_, asio::error::connection_reset, 0);
    pending_read_.reset();
  }
}

// ---- response ----

void H2Stream::start_write(std::size_t written, Handler handler) {
  if (closed_ || connection_ == nullptr || response_failed_) {
    complete(handler, asio::error::connection_reset, 0);
    return;
  }
  if (pending_write_) {
    complete(handler, asio::error::in_progress, 0);
    return;
  }
  if (out_.size() - out_offset_ < kHighWater) {
    complete(handler, {}, written);
    return;
  }
  pending_write_.emplace(std::move(handler));
  pending_write_size_ = written;
}

void H2Stream::service_write() {
  if (!pending_write_) return;
  if (closed_ || response_failed_) {
    complete(*pending_write_, asio::error::connection_reset, 0);
  } else if (out_.size() - out_offset_ < kHighWater) {
    complete(*pending_write_, {}, pending_write_size_);
  } else {
    return;
  }
  pending_write_.reset();
}

void H2Stream::accept_response_bytes(const char* data, std::size_t size) {
  if (response_done_ || response_failed_ || !parser_) return;  // nothing follows a response
  if (unparsed_.empty()) {
    const std::size_t used = parse_response(data, size);
    unparsed_.append(data + used, size - used);
  } else {
    unparsed_.append(data, size);
    const std::size_t used = parse_response(unparsed_.data(), unparsed_.size());
    unparsed_.erase(0, used);
  }
  if (unparsed_.size() > kResponseHeadLimit) fail_response();
  if (head_submitted_ && connection_ && !closed_) connection_->resume(id_);
}

std::size_t H2Stream::parse_response(const char* data, std::size_t size) {
  std::size_t used_total = 0;
  while (used_total < size && !response_done_ && !response_failed_) {
    boost::system::error_code ec;
    const asio::const_buffer input(data + used_total, size - used_total);
    if (!parser_->is_header_done()) {
      used_total += parser_->put(input, ec);
      if (ec == bhttp::error::need_more) break;
      if (ec && ec != bhttp::error::need_buffer) {
        fail_response();
        break;
      }
      if (parser_->is_header_done()) submit_response_head();
      continue;
    }
    // Decoded body bytes are never more than the encoded ones: parse straight into the queue.
    const std::size_t room = size - used_total;
    const std::size_t queued = out_.size();
    out_.resize(queued + room);
    auto& body = parser_->get().body();
    body.data = out_.data() + queued;
    body.size = room;
    const std::size_t used = parser_->put(input, ec);
    out_.resize(queued + room - body.size);
    body.data = nullptr;
    used_total += used;
    if (ec == bhttp::error::need_more) break;
    if (ec && ec != bhttp::error::need_buffer) {
      fail_response();
      break;
    }
    if (parser_->is_done()) response_done_ = true;
    if (used == 0) break;
  }
  return used_total;
}

void H2Stream::submit_response_head() {
  if (connection_ == nullptr || closed_) return;
  const auto& head = parser_->get();
  const unsigned status = head.result_int();
  std::array<char, 4> status_text{};
  std::to_chars(status_text.data(), status_text.data() + 3, status);
  // `names` is reserved whole: the field entries point into its strings.
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(std::distance(head.begin(), head.end())));
  std::vector<nghttp2_nv> fields;
  fields.reserve(names.capacity() + 1);
  fields.push_back(make_nv(":status", std::string_view(status_text.data(), 3)));
  for (const auto& field : head) {
    if (connection_specific(field.name())) continue;
    std::string& name = names.emplace_back(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    fields.push_back(make_nv(name, field.value()));
  }
  if (status < 200) {
    // 1xx (100 Continue): interim HEADERS; the final response follows, with a fresh parser.
    connection_->submit_interim(*this, fields.data(), fields.size());
    reset_response_parser(parser_, method_);
    return;
  }
  head_submitted_ = true;
  if (parser_->is_done()) response_done_ = true;
  connection_->submit_response(*this, fields.data(), fields.size(), !response_done_);
}

void H2Stream::fail_response() {
  if (response_failed_) return;
  response_failed_ = true;
  if (connection_ && !closed_) connection_->reset(id_, NGHTTP2_INTERNAL_ERROR);
  service_write();
}

ssize_t H2Stream::read_response(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags) {
  const std::size_t available = out_.size() - out_offset_;
  if (available == 0) {
    if (!response_done_) return NGHTTP2_ERR_DEFERRED;
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  const std::size_t n = std::min(length, available);
  std::memcpy(buffer, out_.data() + out_offset_, n);
  out_offset_ += n;
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
    if (response_done_) *flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (out_offset_ > out_.size() / 2) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  service_write();
  return static_cast<ssize_t>(n);
}

// ---- life ----

void H2Stream::cancel() {
  if (pending_read_) {
    complete(*pending_read_, asio::error::operation_aborted, 0);
    pending_read_.reset();
  }
  if (pending_write_) {
    complete(*pending_write_, asio::error::operation_aborted, 0);
    pending_write_.reset();
  }
}

void H2Stream::finish() {
  if (proxy_done_) return;
  proxy_done_ = true;
  // A body delimited by the end of the connection in HTTP/1.1 ends with the proxy's work.
  if (!response_done_ && head_submitted_ && parser_ && parser_->need_eof()) {
    boost::system::error_code ec;
    parser_->put_eof(ec);
    if (!ec) response_done_ = true;
  }
  if (connection_ == nullptr) return;
  if (!closed_) {
    if (!response_done_ || response_failed_)
      connection_->reset(id_, NGHTTP2_INTERNAL_ERROR);
    else
      connection_->resume(id_);
    // What the proxy left unread of the body goes back to the windows.
    in_.clear();
    in_offset_ = 0;
    connection_->consume(id_, std::exchange(unacknowledged_, 0));
  }
  connection_->stream_finished();
}

void H2Stream::on_close() {
  if (closed_) return;
  closed_ = true;
  if (connection_ && unacknowledged_ > 0) connection_->consume(id_, std::exchange(unacknowledged_, 0));
  in_.clear();
  in_offset_ = 0;
  std::string().swap(out_);
  out_offset_ = 0;
  service_read();
  service_write();
}

}  // namespace sluice::http
