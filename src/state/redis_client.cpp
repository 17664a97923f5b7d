#include "state/redis_client.hpp"

namespace sluice::state {

struct RedisClient::Impl {};

RedisClient::~RedisClient() = default;

// Until the client is written (branch redis): every command fails as if Redis were unavailable.
http::Task<RedisResult> RedisClient::command(std::span<const std::string_view>) {
  RedisResult result;
  result.failure = RedisResult::Failure::Unavailable;
  result.message = "the Redis client is not built yet";
  co_return result;
}

}  // namespace sluice::state
