#include "state/redis_client.hpp"

namespace sluice::state {

struct RedisClient::Impl {};

RedisClient::~RedisClient() = default;

}  // namespace sluice::state
