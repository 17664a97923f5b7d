// libFuzzer target for the HTTP/2 server connection (http/h2_connection.hpp) and its streams
// (http/h2_stream.hpp). The input's first byte splits the rest: the first part follows the
// client preface as frames from a client; the second is written by "the proxy" to every
// request stream as its HTTP/1.1 response (exercising the response parser and the HEADERS and
// DATA it produces), while the proxy also reads each request's synthesised HTTP/1.1 bytes.
// Invariants: no crash or sanitizer report; the synthesised request of every stream starts
// with a request line ending in " HTTP/1.1"; output is taken until none is left.
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/h2_connection.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = 1 + (size - 1) * data[0] / 255;
  const std::string frames =
      std::string(sluice::http::kH2ClientPreface) + std::string(reinterpret_cast<const char*>(data + 1), split - 1);
  const std::string_view response(reinterpret_cast<const char*>(data + split), size - split);

  boost::asio::io_context io;
  const bool draining = false;
  std::vector<std::shared_ptr<sluice::http::H2Stream>> streams;
  {
    sluice::http::H2Connection connection(
        io.get_executor(), sluice::http::H2Connection::Settings{},
        [&](std::shared_ptr<sluice::http::H2Stream> stream) { streams.push_back(std::move(stream)); }, [] {}, [] {},
        draining);
    connection.receive(reinterpret_cast<const std::uint8_t*>(frames.data()), frames.size());
    std::vector<std::string> requests(streams.size());
    std::vector<std::array<char, 512>> buffers(streams.size());
    for (std::size_t i = 0; i < streams.size(); ++i) {
      auto& stream = *streams[i];
      stream.async_read_some(boost::asio::buffer(buffers[i]), [&, i](boost::system::error_code ec, std::size_t n) {
        if (!ec) requests[i].append(buffers[i].data(), n);
      });
      stream.async_write_some(boost::asio::buffer(response.data(), response.size()),
                              [](boost::system::error_code, std::size_t) {});
    }
    io.poll();
    for (const auto& request : requests) {
      if (request.empty()) continue;
      const auto line_end = request.find("\r\n");
      if (line_end != std::string::npos) check(std::string_view(request).substr(0, line_end).ends_with(" HTTP/1.1"));
    }
    std::string out;
    for (int round = 0; round < 64; ++round) {
      out.clear();
      if (!connection.take_output(out, 1 << 20) || out.empty()) break;
    }
    for (auto& stream : streams) stream->finish();
    io.poll();
  }
  io.poll();
  return 0;
}
