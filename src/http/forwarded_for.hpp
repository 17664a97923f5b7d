// X-Forwarded-For: the client's address behind trusted proxies (a cloud load balancer, an
// ingress). Each proxy appends the address it received the request from, so with N trusted
// proxies in front of Sluice the client is the Nth address from the right (Envoy's
// xff_num_trusted_hops; Gateway spec.clientAddress.xffTrustedHops). Addresses to the left of it
// were written by the client and are never read. Parsing is strict: an IPv4 dotted quad (no
// leading zeros), an IPv6 address (no zone), either with a port (`1.2.3.4:80`, `[::1]:80`) or
// an IPv6 address in brackets; surrounding spaces and tabs are ignored. Pure functions;
// thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sluice::http {

// The address in one X-Forwarded-For entry, in canonical text (`::1`, `10.0.0.7`); nullopt when
// the entry is not an address in one of the forms above.
std::optional<std::string> parse_forwarded_address(std::string_view entry);

// The client's address: the `hops`-th entry from the right of the X-Forwarded-For field values
// (`values` in the order received; several fields are one comma-separated list), canonical.
// nullopt (use the TCP peer) when `hops` is 0, the list has fewer than `hops` entries, or one of
// the `hops` rightmost entries is not an address.
std::optional<std::string> forwarded_client(std::span<const std::string_view> values, unsigned hops);

}  // namespace sluice::http
