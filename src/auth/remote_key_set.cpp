#include "auth/remote_key_set.hpp"

#include <algorithm>
#include <limits>

namespace sluice::auth {

std::optional<JwksUrl> parse_jwks_url(std::string_view url, std::string* error) {
  JwksUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    *error = "\"" + std::string(url) + "\" is not an http:// or https:// URL";
    return std::nullopt;
  }
  if (rest.find('#') != std::string_view::npos) {
    *error = "a JWKS URL has no fragment (#)";
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    *error = "a JWKS URL carries no user or password (@)";
    return std::nullopt;
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "the IPv6 address of the JWKS URL lacks its ']'";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      *error = "unexpected text after the IPv6 address of the JWKS URL";
      return std::nullopt;
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    *error = "the JWKS URL names no host";
    return std::nullopt;
  }
  for (const char c : out.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\' || c == '%') {
      *error = "the host of the JWKS URL is not a host name or address";
      return std::nullopt;
    }
  }
  out.port = out.tls ? 443 : 80;
  if (!port.empty() || (authority.find(':') != std::string_view::npos && !authority.starts_with("["))) {
    unsigned value = 0;
    bool ok = !port.empty() && port.size() <= 5;
    for (const char c : port) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) {
      *error = "the port of the JWKS URL is not a number from 1 to 65535";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f) {
      *error = "the path of the JWKS URL holds a space or a control character";
      return std::nullopt;
    }
  }
  return out;
}

bool RemoteKeySet::request_refresh(Clock::time_point now) {
  const auto now_rep = now.time_since_epoch().count();
  const auto interval = std::chrono::duration_cast<Clock::duration>(kUnknownKidInterval).count();
  auto last = last_request_.load(std::memory_order_relaxed);
  for (;;) {
    if (last != std::numeric_limits<Clock::rep>::min() && now_rep - last < interval) return false;
    if (last_request_.compare_exchange_weak(last, now_rep, std::memory_order_relaxed)) break;
  }
  std::lock_guard lock(waker_mutex_);
  if (waker_) waker_();
  return true;
}

void RemoteKeySet::set_waker(std::function<void()> waker) {
  std::lock_guard lock(waker_mutex_);
  waker_ = std::move(waker);
}

std::chrono::milliseconds RemoteKeySet::retry_delay(unsigned failures) const {
  const auto cap = std::min<std::chrono::milliseconds>(
      kMaxRetryDelay, std::max(cache_duration_, std::chrono::milliseconds(std::chrono::seconds(1))));
  std::chrono::milliseconds delay = kFirstRetryDelay;
  for (unsigned i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

}  // namespace sluice::auth
