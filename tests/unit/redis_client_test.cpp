// state::RedisClient against a real redis-server started by each test (tests/unit/redis_server.hpp):
// round trips, pipelining from concurrent coroutines, AUTH, EVALSHA after SCRIPT FLUSH, a
// dead and restarted server, per-command timeouts, TLS. Skipped when redis-server is missing.
#include "state/redis_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "http/tls_client.hpp"
#include "redis_server.hpp"

namespace sluice::state {
namespace {

namespace asio = boost::asio;
using Failure = RedisResult::Failure;
using sluice::testing::RedisServer;
using sluice::testing::RedisServerOptions;
using namespace std::chrono_literals;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::installed()) GTEST_SKIP() << "redis-server is not installed";
  }

  RedisEndpoint endpoint_for(const RedisServer& server, std::chrono::milliseconds timeout = 1000ms) {
    RedisEndpoint e;
    e.host = "127.0.0.1";
    e.port = server.port();
    e.timeout = timeout;
    return e;
  }

  // Runs the io_context until `task` completes (at most 10 s), and returns its result.
  template <typename T>
  T run(http::Task<T> task) {
    std::optional<T> result;
    asio::co_spawn(io_, std::move(task), [&](std::exception_ptr error, T value) {
      if (error) std::rethrow_exception(error);
      result = std::move(value);
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!result && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(10ms);
    }
    if (!result) throw std::runtime_error("task did not complete within 10 s");
    return std::move(*result);
  }

  RedisResult cmd(RedisClient& client, std::vector<std::string> words) {
    return run(command_task(client, std::move(words)));
  }

  static http::Task<RedisResult> command_task(RedisClient& client, std::vector<std::string> words) {
    std::vector<std::string_view> views(words.begin(), words.end());
    const std::span<const std::string_view> args(views);
    auto result = co_await client.command(args);
    co_return result;
  }

  asio::io_context io_;
  RedisStatus status_;
};

TEST_F(RedisClientTest, SetGetIncrRoundTrip) {
  RedisServer server;
  RedisClient client(io_, endpoint_for(server), status_);
  auto set = cmd(client, {"SET", "greeting", "hello"});
  ASSERT_TRUE(set.ok()) << set.message;
  EXPECT_EQ(set.reply.type, RedisReply::Type::Status);
  EXPECT_EQ(set.reply.text, "OK");
  auto get = cmd(client, {"GET", "greeting"});
  ASSERT_TRUE(get.ok()) << get.message;
  EXPECT_EQ(get.reply.type, RedisReply::Type::String);
  EXPECT_EQ(get.reply.text, "hello");
  for (int i = 1; i <= 3; ++i) {
    auto incr = cmd(client, {"INCR", "counter"});
    ASSERT_TRUE(incr.ok()) << incr.message;
    EXPECT_EQ(incr.reply.type, RedisReply::Type::Integer);
    EXPECT_EQ(incr.reply.integer, i);
  }
  EXPECT_EQ(cmd(client, {"GET", "counter"}).reply.as_integer(), 3);
  EXPECT_EQ(cmd(client, {"GET", "missing"}).reply.type, RedisReply::Type::Nil);
  auto wrong = cmd(client, {"INCR", "greeting"});
  EXPECT_EQ(wrong.failure, Failure::None);
  EXPECT_TRUE(wrong.reply.is_error());
  EXPECT_FALSE(wrong.ok());
  auto list = cmd(client, {"RPUSH", "list", "a", "b"});
  auto range = cmd(client, {"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(range.reply.type, RedisReply::Type::Array);
  ASSERT_EQ(range.reply.elements.size(), 2u);
  EXPECT_EQ(range.reply.elements[1].text, "b");
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(status_.connections(), 1);
  EXPECT_EQ(status_.replies(), 10u);
  EXPECT_EQ(status_.failures(), 0u);
  EXPECT_EQ(status_.latency_bucket(std::size(RedisStatus::kLatencyBucketsMicros)), 10u);
  client.close();
  EXPECT_EQ(status_.connections(), 0);
}

TEST_F(RedisClientTest, ThousandConcurrentCommandsArePipelinedInOrder) {
  RedisServer server;
  RedisClient client(io_, endpoint_for(server, 5000ms), status_);
  constexpr int kCommands = 1000;
  std::vector<std::int64_t> sequence(kCommands, -1);
  std::vector<std::string> echoed(kCommands);
  int finished = 0;
  for (int i = 0; i < kCommands; ++i) {
    asio::co_spawn(
        io_,
        [&, i]() -> http::Task<void> {
          const std::string_view incr[] = {"INCR", "sequence"};
          const std::span<const std::string_view> incr_args(incr);
          auto counted = co_await client.command(incr_args);
          sequence[i] = counted.ok() ? counted.reply.integer : -1;
          const auto value = "value-" + std::to_string(i);
          const std::string_view echo[] = {"ECHO", value};
          const std::span<const std::string_view> echo_args(echo);
          auto answer = co_await client.command(echo_args);
          echoed[i] = answer.reply.text;
          ++finished;
        },
        asio::detached);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (finished < kCommands && std::chrono::steady_clock::now() < deadline) {
    io_.restart();
    io_.run_for(10ms);
  }
  ASSERT_EQ(finished, kCommands);
  for (int i = 0; i < kCommands; ++i) {
    EXPECT_EQ(sequence[i], i + 1) << "command " << i;
    EXPECT_EQ(echoed[i], "value-" + std::to_string(i));
  }
  EXPECT_EQ(status_.replies(), 2u * kCommands);
  // One connection carried them all: the server saw one client besides the one asking.
  auto clients = cmd(client, {"CLIENT", "LIST"});
  EXPECT_EQ(std::count(clients.reply.text.begin(), clients.reply.text.end(), '\n'), 1);
}

TEST_F(RedisClientTest, AuthWithTheRightPasswordWorks) {
  RedisServerOptions options;
  options.password = "s3cret-pass";
  RedisServer server(options);
  auto endpoint = endpoint_for(server);
  endpoint.password = "s3cret-pass";
  endpoint.database = 2;
  RedisClient client(io_, endpoint, status_);
  auto set = cmd(client, {"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.message;
  auto db = cmd(client, {"CLIENT", "INFO"});
  EXPECT_NE(db.reply.text.find(" db=2 "), std::string::npos) << db.reply.text;
}

TEST_F(RedisClientTest, WrongPasswordFailsAsAuthWithoutThePassword) {
  RedisServerOptions options;
  options.password = "right-password";
  RedisServer server(options);
  auto endpoint = endpoint_for(server);
  endpoint.password = "wrong-password-xyz";
  RedisClient client(io_, endpoint, status_);
  auto result = cmd(client, {"GET", "k"});
  EXPECT_EQ(result.failure, Failure::Auth);
  EXPECT_NE(result.message.find("AUTH"), std::string::npos) << result.message;
  EXPECT_EQ(result.message.find("wrong-password-xyz"), std::string::npos) << result.message;
  EXPECT_EQ(status_.failures(Failure::Auth), 1u);
  EXPECT_EQ(status_.last_error().find("wrong-password-xyz"), std::string::npos);
  EXPECT_EQ(status_.connections(), 0);
  // A refused handshake is a failed connect: the next command fails at once.
  const auto before = std::chrono::steady_clock::now();
  auto again = cmd(client, {"GET", "k"});
  EXPECT_EQ(again.failure, Failure::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 50ms);
}

TEST_F(RedisClientTest, EvalLoadsTheScriptOnNoscript) {
  RedisServer server;
  RedisClient client(io_, endpoint_for(server), status_);
  const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(script.sha1().size(), 40u);
  auto eval = [&](std::string amount) {
    return run([](RedisClient& c, const RedisScript& s, std::string a) -> http::Task<RedisResult> {
      const std::string_view keys[] = {"total"};
      const std::string_view args[] = {a};
      const std::span<const std::string_view> key_span(keys);
      const std::span<const std::string_view> arg_span(args);
      auto result = co_await c.eval(s, key_span, arg_span);
      co_return result;
    }(client, script, std::move(amount)));
  };
  auto first = eval("5");
  ASSERT_TRUE(first.ok()) << first.message << " " << first.reply.text;
  EXPECT_EQ(first.reply.integer, 5);
  auto loaded = cmd(client, {"SCRIPT", "EXISTS", script.sha1()});
  ASSERT_EQ(loaded.reply.elements.size(), 1u);
  EXPECT_EQ(loaded.reply.elements[0].integer, 1);
  ASSERT_TRUE(cmd(client, {"SCRIPT", "FLUSH"}).ok());
  auto second = eval("7");
  ASSERT_TRUE(second.ok()) << second.message << " " << second.reply.text;
  EXPECT_EQ(second.reply.integer, 12);
}

TEST_F(RedisClientTest, DeadServerFailsFastAndIsCountedThenReconnectsAfterBackoff) {
  RedisServer server;
  RedisClient client(io_, endpoint_for(server, 500ms), status_);
  ASSERT_TRUE(cmd(client, {"SET", "k", "v"}).ok());
  EXPECT_EQ(status_.connections(), 1);
  server.kill();
  auto before = std::chrono::steady_clock::now();
  auto lost = cmd(client, {"GET", "k"});
  EXPECT_TRUE(lost.failure == Failure::Unavailable || lost.failure == Failure::Timeout) << lost.message;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 600ms);
  EXPECT_EQ(status_.connections(), 0);
  // Reconnecting to a dead port fails, and starts the backoff: commands fail at once.
  auto refused = cmd(client, {"GET", "k"});
  EXPECT_EQ(refused.failure, Failure::Unavailable) << refused.message;
  before = std::chrono::steady_clock::now();
  auto backing_off = cmd(client, {"GET", "k"});
  EXPECT_EQ(backing_off.failure, Failure::Unavailable);
  EXPECT_NE(backing_off.message.find("unavailable"), std::string::npos) << backing_off.message;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 50ms);
  EXPECT_GE(status_.failures(), 3u);
  EXPECT_EQ(status_.failures(), status_.failures(Failure::Unavailable) + status_.failures(Failure::Timeout));
  EXPECT_FALSE(status_.last_error().empty());
  EXPECT_GT(status_.last_error_unix_ms(), 0);

  ASSERT_TRUE(server.restart());
  std::this_thread::sleep_for(RedisClient::kReconnectBackoff + 50ms);
  auto back = cmd(client, {"SET", "k", "again"});
  ASSERT_TRUE(back.ok()) << back.message;
  EXPECT_EQ(cmd(client, {"GET", "k"}).reply.text, "again");
  EXPECT_EQ(status_.connections(), 1);
}

TEST_F(RedisClientTest, SlowServerTimesOut) {
  RedisServer server;
  RedisClient pauser(io_, endpoint_for(server, 2000ms), status_);
  RedisClient client(io_, endpoint_for(server, 100ms), status_);
  ASSERT_TRUE(cmd(client, {"PING"}).ok());
  ASSERT_TRUE(cmd(pauser, {"CLIENT", "PAUSE", "1000", "ALL"}).ok());
  const auto before = std::chrono::steady_clock::now();
  auto slow = cmd(client, {"GET", "k"});
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(slow.failure, Failure::Timeout) << slow.message;
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, 500ms);
  EXPECT_EQ(status_.failures(Failure::Timeout), 1u);
  EXPECT_FALSE(client.connected());
}

TEST_F(RedisClientTest, DestroyedWithCommandsInFlightCompletesThem) {
  RedisServer server;
  auto client = std::make_unique<RedisClient>(io_, endpoint_for(server, 2000ms), status_);
  RedisClient pauser(io_, endpoint_for(server, 2000ms), status_);
  ASSERT_TRUE(cmd(*client, {"PING"}).ok());
  ASSERT_TRUE(cmd(pauser, {"CLIENT", "PAUSE", "500", "ALL"}).ok());
  std::optional<RedisResult> result;
  asio::co_spawn(
      io_,
      [&]() -> http::Task<void> {
        const std::string_view get[] = {"GET", "k"};
        const std::span<const std::string_view> args(get);
        result = co_await client->command(args);
      },
      asio::detached);
  io_.restart();
  io_.run_for(20ms);
  ASSERT_FALSE(result);
  client.reset();
  io_.restart();
  io_.run_for(20ms);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->failure, Failure::Unavailable);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(RedisClientTest, TlsWithAVerifiedCertificate) {
  char dir_template[] = "/tmp/sluice-redis-tls-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  const auto cert = dir + "/cert.pem";
  const auto key = dir + "/key.pem";
  const auto generate = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                        " -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1";
  ASSERT_EQ(std::system(generate.c_str()), 0);
  {
    RedisServerOptions options;
    options.tls_cert_file = cert;
    options.tls_key_file = key;
    RedisServer server(options);
    ASSERT_TRUE(server.running());
    auto endpoint = endpoint_for(server);
    endpoint.tls = true;
    endpoint.sni = "localhost";
    endpoint.ca_pem = read_file(cert);
    std::string error;
    endpoint.tls_context = http::make_client_tls_context(http::TlsClientSettings{true, endpoint.ca_pem}, &error);
    ASSERT_TRUE(endpoint.tls_context) << error;
    RedisClient client(io_, endpoint, status_);
    auto pong = cmd(client, {"PING"});
    ASSERT_TRUE(pong.ok()) << pong.message;
    EXPECT_EQ(pong.reply.text, "PONG");

    // The certificate does not name "other.example": the handshake fails.
    auto wrong_name = endpoint;
    wrong_name.sni = "other.example";
    RedisClient refused(io_, wrong_name, status_);
    auto failed = cmd(refused, {"PING"});
    EXPECT_EQ(failed.failure, Failure::Unavailable);
    EXPECT_NE(failed.message.find("TLS"), std::string::npos) << failed.message;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST(RedisEndpointTest, DisplayAndSameConnection) {
  RedisEndpoint a;
  a.host = "::1";
  a.port = 6380;
  a.password = "secret";
  EXPECT_EQ(a.display(), "[::1]:6380");
  auto b = a;
  b.key_prefix = "other:";
  EXPECT_TRUE(a.same_connection(b));
  b.password = "rotated";
  EXPECT_FALSE(a.same_connection(b));
  RedisReply reply;
  reply.type = RedisReply::Type::String;
  reply.text = "42";
  EXPECT_EQ(reply.as_integer(), 42);
  reply.text = "4x";
  EXPECT_EQ(reply.as_integer(-1), -1);
  EXPECT_EQ(RedisScript("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

}  // namespace
}  // namespace sluice::state
