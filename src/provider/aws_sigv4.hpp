// AWS Signature Version 4 request signing (AWS4-HMAC-SHA256), for providers that authenticate
// with AWS credentials (Bedrock: signing service "bedrock"). Given the request as it will go on
// the wire, returns the headers to add (Authorization, X-Amz-Date, optionally
// X-Amz-Content-Sha256 and X-Amz-Security-Token). The steps (canonical request, string to sign,
// signature) are exposed separately so tests can check each one against the published vectors.
// Everything here is a pure function of its arguments (the clock is a parameter): no state, no
// I/O, thread-safe. Throws std::runtime_error only if OpenSSL's digest/HMAC fails.
//
// Path convention (the Bedrock pitfall): `path` is the path exactly as sent on the wire, where
// each segment is already percent-encoded once (a model ARN's ':' and '/' appear as %3A, %2F).
// For every service except S3 the canonical URI encodes each segment *again*, so the signed
// form carries %253A / %252F while the wire keeps %3A / %2F. Never decode the wire path first.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::provider {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term credentials
};

struct SigV4Request {
  std::string_view method;  // "POST"
  std::string_view host;    // "bedrock-runtime.us-east-1.amazonaws.com" (with ":port" if non-default)
  std::string_view path;    // as sent on the wire, each segment already percent-encoded once
  std::string_view query;   // raw query string without '?', may be empty
  // Extra headers to sign (e.g. content-type), any case, any order; repeated names are joined
  // with ',' in the order given. Names the signer owns (host, x-amz-date, x-amz-content-sha256,
  // x-amz-security-token, authorization) are ignored here: they are derived from the other fields
  // so the signed and the sent values cannot disagree.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload;  // the exact body bytes
};

struct SigV4Options {
  // Add and sign `x-amz-content-sha256` (what the AWS SDKs do for Bedrock). Off reproduces the
  // AWS test-suite vectors, which sign only host;x-amz-date.
  bool sign_content_sha256 = true;
  // Non-S3 rules: normalize the path (drop empty and "." segments, resolve "..") and percent-
  // encode each segment again. S3 signs the wire path unchanged: set both to false.
  bool normalize_path = true;
  bool double_encode_path = true;
};

// Headers the caller adds to the outgoing request. Empty strings mean "do not send".
struct SigV4Result {
  std::string authorization;   // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
  std::string amz_date;        // X-Amz-Date: "20150830T123600Z"
  std::string content_sha256;  // X-Amz-Content-Sha256 (empty unless sign_content_sha256)
  std::string security_token;  // X-Amz-Security-Token (empty without a session token)

  // The non-empty ones above as (header name, value) pairs, in a stable order.
  std::vector<std::pair<std::string, std::string>> headers() const;
};

struct CanonicalRequest {
  std::string text;            // the full canonical request
  std::string signed_headers;  // "host;x-amz-date"
};

SigV4Result sign_sigv4(const SigV4Request& request, const AwsCredentials& credentials, std::string_view region,
                       std::string_view service, std::chrono::system_clock::time_point now,
                       const SigV4Options& options = {});

// ---- the individual steps, exposed for tests ----

// "YYYYMMDDTHHMMSSZ" in UTC (sub-second part dropped).
std::string amz_date(std::chrono::system_clock::time_point now);

// "<yyyymmdd>/<region>/<service>/aws4_request"; `amz_date` is the full X-Amz-Date value.
std::string credential_scope(std::string_view amz_date, std::string_view region, std::string_view service);

// RFC 3986 percent-encoding as AWS specifies it: A-Z a-z 0-9 - _ . ~ kept, every other byte
// %XX with upper-case hex; '/' kept only when `keep_slash`.
std::string aws_uri_encode(std::string_view bytes, bool keep_slash);

// Canonical URI from the wire path (see the path convention above). Empty path → "/".
std::string canonical_uri(std::string_view wire_path, const SigV4Options& options = {});

// Canonical query string: parameters split on '&' (empty ones skipped), a missing '=' means an
// empty value; each name and value is percent-decoded then encoded with aws_uri_encode, so an
// already-encoded query is not encoded twice and '+' stays a literal plus (%2B); sorted by name,
// then value.
std::string canonical_query(std::string_view raw_query);

// Canonical request. `session_token` (if not empty) is signed as x-amz-security-token;
// `payload_sha256_hex` is the hex SHA-256 of the body (also signed as x-amz-content-sha256 when
// options.sign_content_sha256).
CanonicalRequest canonical_request(const SigV4Request& request, std::string_view amz_date,
                                   std::string_view session_token, std::string_view payload_sha256_hex,
                                   const SigV4Options& options = {});

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical request)>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request_text);

// Hex HMAC-SHA256 of `string_to_sign` under the key derived from the secret
// ("AWS4"+secret → date → region → service → "aws4_request").
std::string sigv4_signature(std::string_view secret_access_key, std::string_view amz_date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign);

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace sluice::provider
