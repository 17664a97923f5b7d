// Test support: a real redis-server of the test's own (never the system service), on
// 127.0.0.1 and a free port, in a temporary directory, without persistence. Optional
// requirepass and TLS (the port is then the TLS port; the plain port is off). The constructor
// waits until the server accepts connections; kill() stops it (SIGKILL), restart() starts it
// again on the same port; the destructor kills it and removes the directory.
// RedisServer::installed() says whether redis-server can be run at all (tests skip otherwise).
// Not thread-safe: one test thread drives it.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sluice::testing {

struct RedisServerOptions {
  std::string password;  // empty: no requirepass
  // TLS: PEM files for the server's certificate and key (and the CA it names for clients).
  std::string tls_cert_file;
  std::string tls_key_file;
};

class RedisServer {
 public:
  static bool installed() { return std::system("redis-server --version >/dev/null 2>&1") == 0; }

  explicit RedisServer(RedisServerOptions options = {}) : options_(std::move(options)) {
    char dir_template[] = "/tmp/sluice-redis-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    port_ = free_port();
    start();
  }
  ~RedisServer() {
    kill();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }
  const std::string& dir() const { return dir_; }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // True when the server accepts connections again within a few seconds.
  bool restart() {
    kill();
    return start();
  }

 private:
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  static bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  bool start() {
    const auto port = std::to_string(port_);
    std::vector<std::string> args{"redis-server", "--bind", "127.0.0.1", "--save",      "",  "--appendonly",
                                  "no",           "--dir",  dir_,        "--daemonize", "no"};
    if (options_.tls_cert_file.empty()) {
      args.insert(args.end(), {"--port", port});
    } else {
      args.insert(args.end(),
                  {"--port", "0", "--tls-port", port, "--tls-cert-file", options_.tls_cert_file, "--tls-key-file",
                   options_.tls_key_file, "--tls-ca-cert-file", options_.tls_cert_file, "--tls-auth-clients", "no"});
    }
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const auto log = dir_ + "/redis.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, "redis-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  RedisServerOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sluice::testing
