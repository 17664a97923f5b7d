#include "pipeline/responder.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <charconv>

namespace sluice::pipeline {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// Adds "name: value\r\n" lines to `fields`.
void insert_lines(bhttp::fields& fields, std::string_view lines) {
  for (std::string_view rest = lines; !rest.empty();) {
    const auto end = rest.find("\r\n");
    const auto line = rest.substr(0, end);
    if (const auto colon = line.find(": "); colon != std::string_view::npos)
      fields.insert(line.substr(0, colon), line.substr(colon + 2));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
}

}  // namespace

http::Task<bool> send_error(ClientIo& client, const http::ApiError& error, unsigned version, bool keep_alive,
                            RequestRecord& record, ClientSchema schema, std::string_view retry_after,
                            std::string_view extra_headers) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(error.status), version};
  response.set(bhttp::field::content_type, "application/json");
  if (!retry_after.empty()) response.set(bhttp::field::retry_after, retry_after);
  insert_lines(response.base(), extra_headers);
  response.keep_alive(keep_alive);
  switch (schema) {
    case ClientSchema::Anthropic:
      response.body() = http::anthropic_error_body(error);
      break;
    case ClientSchema::Google:
      response.body() = http::google_error_body(error);
      break;
    case ClientSchema::OpenAI:
      response.body() = http::openai_error_body(error);
      break;
  }
  response.prepare_payload();
  record.status = error.status;
  record.bytes_sent += response.body().size();
  if (record.error.empty()) record.error = error.message;
  client.deadline.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await bhttp::async_write(client.socket, response, http::use_task);
  client.deadline.expires_never();
  co_return !ec && keep_alive;
}

void Responder::set_attempt(std::string_view provider, unsigned attempts) {
  sluice_headers_.resize(request_id_bytes_);
  sluice_headers_.reserve(request_id_bytes_ + 48 + provider.size());
  sluice_headers_.append("x-sluice-provider: ").append(provider).append("\r\nx-sluice-attempts: ");
  char digits[12];
  const auto written = std::to_chars(digits, digits + sizeof digits, attempts);
  sluice_headers_.append(digits, static_cast<std::size_t>(written.ptr - digits)).append("\r\n");
}

http::Task<bool> Responder::error(const http::ApiError& error, std::string_view retry_after,
                                  std::string_view more_headers) {
  const bool keep = keep_alive();
  const std::string_view lines = response_lines();
  if (more_headers.empty() && lines.empty())
    co_return co_await send_error(client_, error, version_, keep, record_, schema_, retry_after, sluice_headers_);
  std::string headers;
  headers.reserve(sluice_headers_.size() + more_headers.size() + lines.size());
  headers.append(sluice_headers_).append(more_headers).append(lines);
  co_return co_await send_error(client_, error, version_, keep, record_, schema_, retry_after, headers);
}

std::string Responder::with_response_lines(std::string head) const {
  const std::string_view lines = response_lines();
  if (!lines.empty()) head.insert(head.size() - 2, lines);
  return head;
}

http::Task<bool> Responder::json(unsigned status, std::string body, const http::ResponseHeader* upstream,
                                 std::string_view more_headers) {
  const bool keep = keep_alive();
  std::string head =
      converted_head(upstream, status, "application/json", body.size(), keep, proxy::ClientFraming::ContentLength);
  if (!more_headers.empty()) head.insert(head.size() - 2, more_headers);
  record_.status = status;
  record_.bytes_sent += body.size();
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
  client_.deadline.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await asio::async_write(client_.socket, pieces, http::use_task);
  client_.deadline.expires_never();
  tap_whole(status, "application/json", body, !ec);
  co_return !ec && keep;
}

void Responder::tap_whole(unsigned status, std::string_view content_type, std::string_view body, bool written) const {
  auto* response_tap = tap();
  if (response_tap == nullptr) return;
  response_tap->begin(status, content_type);
  response_tap->body(body);
  response_tap->end(written);
}

http::Task<bool> Responder::local(const LocalResponse& response) {
  const bool keep = keep_alive();
  if (response.status == 204) {
    bhttp::response<bhttp::empty_body> empty{bhttp::status::no_content, version_};
    insert_lines(empty.base(), sluice_headers_);
    insert_lines(empty.base(), response_lines());
    empty.keep_alive(keep);
    record_.status = 204;
    client_.deadline.expires_after(kClientWriteTimeout);
    auto [ec, n] = co_await bhttp::async_write(client_.socket, empty, http::use_task);
    client_.deadline.expires_never();
    co_return !ec && keep;
  }
  const std::string_view content_type =
      response.content_type.empty() ? std::string_view("application/json") : std::string_view(response.content_type);
  const std::string head = converted_head(nullptr, response.status, content_type, response.body.size(), keep,
                                          proxy::ClientFraming::ContentLength);
  record_.status = response.status;
  record_.bytes_sent += response.body.size();
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(response.body)};
  client_.deadline.expires_after(kClientWriteTimeout);
  auto [ec, n] = co_await asio::async_write(client_.socket, pieces, http::use_task);
  client_.deadline.expires_never();
  tap_whole(response.status, content_type, response.body, !ec);
  co_return !ec && keep;
}

http::Task<bool> Responder::verdict(const Verdict& verdict) {
  if (verdict.kind == Verdict::Kind::Local) co_return co_await local(verdict.local);
  co_return co_await error(verdict.error, verdict.retry_after, verdict.headers);
}

std::string Responder::relay_head(const http::ResponseHeader& response, bool keep_alive,
                                  proxy::ClientFraming framing) const {
  return with_response_lines(proxy::build_client_head(response, version_, keep_alive, framing, response_edits(),
                                                      sluice_headers_, record_.request_id.view()));
}

std::string Responder::converted_head(const http::ResponseHeader* upstream, unsigned status,
                                      std::string_view content_type, std::size_t content_length, bool keep_alive,
                                      proxy::ClientFraming framing) const {
  const auto naming = schema_ == ClientSchema::Anthropic ? proxy::HeaderNaming::Anthropic
                      : schema_ == ClientSchema::OpenAI  ? proxy::HeaderNaming::OpenAI
                                                         : proxy::HeaderNaming::AsIs;
  return with_response_lines(proxy::build_translated_head(upstream, status, content_type, content_length, version_,
                                                          keep_alive, framing, response_edits(), sluice_headers_,
                                                          naming, record_.request_id.view()));
}

}  // namespace sluice::pipeline
