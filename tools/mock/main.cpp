// sluice-mock: a fast, strict mock LLM provider for tests, the quick start and benchmarks.
// Parses the command line, starts the server, prints one "listening" JSON line on stdout once
// the sockets listen, and exits 0 on SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "server.hpp"
#include "text.hpp"

namespace {

using sluice::mock::ServerConfig;

void print_line(std::FILE* stream, const std::string& line) {
  std::fputs(line.c_str(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

std::string listening_line(const sluice::mock::Server& server, bool tls) {
  std::string line = R"({"msg":"listening","address":)";
  sluice::mock::append_json_string(line, server.address());
  line.append(R"(,"port":)");
  sluice::mock::append_number(line, server.port());
  line.append(R"(,"tls":)").append(tls ? "true" : "false").append("}");
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sluice-mock: a mock LLM provider speaking the OpenAI, Azure OpenAI, Anthropic, Gemini, "
      "Vertex AI and Bedrock wire formats"};
  ServerConfig config;
  int port = config.port;
  int latency_ms = 0;
  int ttft_ms = 0;
  int chunk_delay_ms = 0;
  std::string tls_cert;
  std::string tls_key;
  constexpr int kMaxDelayMs = 3'600'000;

  app.add_option("--address", config.address, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port to listen on, 0 for an ephemeral one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--threads", config.threads, "Serving threads, each with its own acceptor")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  auto* cert =
      app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS only")->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--latency-ms", latency_ms, "Delay before every response's headers")
      ->capture_default_str()
      ->check(CLI::Range(0, kMaxDelayMs));
  app.add_option("--ttft-ms", ttft_ms, "Streams: delay between the headers and the first event")
      ->capture_default_str()
      ->check(CLI::Range(0, kMaxDelayMs));
  app.add_option("--chunk-delay-ms", chunk_delay_ms, "Streams: delay between events")
      ->capture_default_str()
      ->check(CLI::Range(0, kMaxDelayMs));
  app.add_option("--chunks", config.defaults.chunks, "Content pieces of a chat reply")
      ->capture_default_str()
      ->check(CLI::Range(0, 100'000));
  app.add_option("--status", config.defaults.status, "Status of every response (200 = normal)")
      ->capture_default_str()
      ->check(CLI::Range(200, 599));
  app.add_option("--dims", config.defaults.dims, "Default embedding dimension")
      ->capture_default_str()
      ->check(CLI::Range(1, 65'536));
  app.add_option("--aws-access-key-id", config.defaults.aws_access_key_id,
                 "Bedrock: the access key id SigV4 signatures must use")
      ->capture_default_str();
  app.add_option("--aws-secret-access-key", config.defaults.aws_secret_access_key,
                 "Bedrock: the secret key SigV4 signatures are verified with")
      ->capture_default_str();
  app.add_flag("--log-requests", config.log_requests, "Log one JSON line per request to stderr");
  std::vector<std::string> key_status;
  std::string outage;
  app.add_option("--outage", outage,
                 "PERIOD/DOWN/OFFSET/MODE (ms; MODE 503 or reset): down DOWN ms of every PERIOD ms");
  app.add_option("--key-status", key_status,
                 "KEY=STATUS: answer STATUS (in the provider's error shape) to requests carrying this key")
      ->each([](const std::string& v) {
        const auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0) throw CLI::ValidationError("--key-status", "expected KEY=STATUS");
      });
  std::string models;
  app.add_option("--models", models,
                 "ID,ID,...: the models every format's model list names (default: each format's own)");
  int models_page_size = 0;
  app.add_option("--models-page-size", models_page_size,
                 "The most models a page of Anthropic's and Gemini's model lists holds (0: their own page sizes)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  CLI11_PARSE(app, argc, argv);
  for (std::size_t start = 0; start < models.size();) {
    const auto comma = models.find(',', start);
    const auto id = models.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!id.empty()) config.defaults.models.push_back(id);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  config.defaults.models_page_size = static_cast<std::size_t>(models_page_size);
  if (!outage.empty()) {
    unsigned long period = 0, down = 0, offset = 0;
    char mode[16] = {0};
    if (std::sscanf(outage.c_str(), "%lu/%lu/%lu/%15s", &period, &down, &offset, mode) != 4 || period == 0 ||
        down > period || (std::string(mode) != "503" && std::string(mode) != "reset")) {
      std::fprintf(stderr, "--outage %s: expected PERIOD/DOWN/OFFSET/MODE, DOWN <= PERIOD, MODE 503 or reset\n",
                   outage.c_str());
      return 2;
    }
    config.defaults.outage =
        sluice::mock::Defaults::Outage{std::chrono::milliseconds(period), std::chrono::milliseconds(down),
                                       std::chrono::milliseconds(offset), std::string(mode) == "reset"};
  }
  for (const auto& v : key_status) {
    const auto eq = v.find('=');
    const std::string digits = v.substr(eq + 1);
    char* end = nullptr;
    const auto status = std::strtoul(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || status < 100 || status > 599) {
      std::fprintf(stderr, "--key-status %s: the status must be between 100 and 599\n", v.c_str());
      return 2;
    }
    config.defaults.key_status.emplace_back(v.substr(0, eq), static_cast<unsigned>(status));
  }

  config.port = static_cast<std::uint16_t>(port);
  config.defaults.latency = std::chrono::milliseconds(latency_ms);
  config.defaults.ttft = std::chrono::milliseconds(ttft_ms);
  config.defaults.chunk_delay = std::chrono::milliseconds(chunk_delay_ms);
  if (!tls_cert.empty()) config.tls = sluice::mock::TlsFiles{tls_cert, tls_key};
  const bool tls = config.tls.has_value();

  try {
    // Installed before the server threads exist, so a stop signal is never left unhandled.
    boost::asio::io_context main_context(1);
    boost::asio::signal_set stop_signals(main_context, SIGINT, SIGTERM);
    stop_signals.async_wait([](const boost::system::error_code&, int) {});

    sluice::mock::Server server(std::move(config));
    server.start();
    print_line(stdout, listening_line(server, tls));
    main_context.run();  // returns once a stop signal was handled
    server.stop();
  } catch (const std::exception& e) {
    std::string line = R"({"msg":"error","error":)";
    sluice::mock::append_json_string(line, e.what());
    line.push_back('}');
    print_line(stderr, line);
    return 1;
  }
  return 0;
}
