#include "provider/aws_sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

#include "http/syntax.hpp"

namespace sluice::provider {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::size_t kDigestLen = 32;  // SHA-256
using Digest = std::array<unsigned char, kDigestLen>;

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0x0f];
  }
  return out;
}

Digest hmac_sha256(const unsigned char* key, std::size_t key_len, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key, static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out.data(), &len) == nullptr ||
      len != kDigestLen) {
    throw std::runtime_error("aws_sigv4: HMAC-SHA256 failed");
  }
  return out;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal. '+' is not a space.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = http::hex_value(s[i + 1]);
      const int lo = http::hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// Trims leading/trailing blanks and collapses inner runs of blanks to one space.
std::string trim_all(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (const char c : v) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_signer_owned(std::string_view lower_name) {
  return lower_name == "host" || lower_name == "x-amz-date" || lower_name == "x-amz-content-sha256" ||
         lower_name == "x-amz-security-token" || lower_name == "authorization";
}

// Drops empty and "." segments, resolves ".." (never above the root), keeps a trailing slash.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view seg = path.substr(pos, end - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  if (!segments.empty() && path.ends_with('/')) out += '/';
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SigV4Result::headers() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("Authorization", authorization);
  out.emplace_back("X-Amz-Date", amz_date);
  if (!content_sha256.empty()) out.emplace_back("X-Amz-Content-Sha256", content_sha256);
  if (!security_token.empty()) out.emplace_back("X-Amz-Security-Token", security_token);
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Digest md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len != kDigestLen) {
    throw std::runtime_error("aws_sigv4: SHA-256 failed");
  }
  return to_hex(md.data(), md.size());
}

std::string amz_date(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(now);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string credential_scope(std::string_view amz_date, std::string_view region, std::string_view service) {
  std::string out(amz_date.substr(0, 8));
  out += '/';
  out += region;
  out += '/';
  out += service;
  out += "/aws4_request";
  return out;
}

std::string aws_uri_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (http::is_unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view wire_path, const SigV4Options& options) {
  std::string path = options.normalize_path ? normalize_path(wire_path) : std::string(wire_path);
  if (path.empty()) path.push_back('/');  // (not = "/": GCC 12 -Wrestrict false positive at -O2)
  // Encoding the already-encoded wire path once more: '%' becomes "%25", so %3A → %253A.
  return options.double_encode_path ? aws_uri_encode(path, /*keep_slash=*/true) : path;
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t pos = 0;
  while (pos <= raw_query.size()) {
    const std::size_t amp = raw_query.find('&', pos);
    const std::size_t end = amp == std::string_view::npos ? raw_query.size() : amp;
    const std::string_view pair = raw_query.substr(pos, end - pos);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string_view name = pair.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      params.emplace_back(aws_uri_encode(percent_decode(name), false), aws_uri_encode(percent_decode(value), false));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

CanonicalRequest canonical_request(const SigV4Request& request, std::string_view amz_date,
                                   std::string_view session_token, std::string_view payload_sha256_hex,
                                   const SigV4Options& options) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size() + 4);
  for (const auto& [name, value] : request.headers) {
    std::string lower = to_lower(trim_all(name));
    if (lower.empty() || is_signer_owned(lower)) continue;
    headers.emplace_back(std::move(lower), trim_all(value));
  }
  headers.emplace_back("host", trim_all(request.host));
  headers.emplace_back("x-amz-date", std::string(amz_date));
  if (options.sign_content_sha256) headers.emplace_back("x-amz-content-sha256", std::string(payload_sha256_hex));
  if (!session_token.empty()) headers.emplace_back("x-amz-security-token", trim_all(session_token));
  // Stable: repeated names keep the caller's value order when joined below.
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers;
  std::string signed_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';  // replace the previous '\n': "name:v1,v2"
    } else {
      if (!signed_headers.empty()) signed_headers += ';';
      signed_headers += headers[i].first;
      canonical_headers += headers[i].first;
      canonical_headers += ':';
    }
    canonical_headers += headers[i].second;
    canonical_headers += '\n';
  }

  CanonicalRequest out;
  out.text.reserve(256 + canonical_headers.size() + request.path.size() + request.query.size());
  out.text += request.method;
  out.text += '\n';
  out.text += canonical_uri(request.path, options);
  out.text += '\n';
  out.text += canonical_query(request.query);
  out.text += '\n';
  out.text += canonical_headers;
  out.text += '\n';
  out.text += signed_headers;
  out.text += '\n';
  out.text += payload_sha256_hex;
  out.signed_headers = std::move(signed_headers);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request_text) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical_request_text);
  return out;
}

std::string sigv4_signature(std::string_view secret_access_key, std::string_view amz_date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign) {
  std::string seed = "AWS4";
  seed += secret_access_key;
  Digest k = hmac_sha256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), amz_date.substr(0, 8));
  OPENSSL_cleanse(seed.data(), seed.size());
  for (const std::string_view part : {region, service, std::string_view("aws4_request")}) {
    Digest next = hmac_sha256(k.data(), k.size(), part);
    k = next;
    OPENSSL_cleanse(next.data(), next.size());
  }
  const Digest sig = hmac_sha256(k.data(), k.size(), string_to_sign);
  OPENSSL_cleanse(k.data(), k.size());
  return to_hex(sig.data(), sig.size());
}

SigV4Result sign_sigv4(const SigV4Request& request, const AwsCredentials& credentials, std::string_view region,
                       std::string_view service, std::chrono::system_clock::time_point now,
                       const SigV4Options& options) {
  SigV4Result result;
  result.amz_date = amz_date(now);
  const std::string payload_hash = sha256_hex(request.payload);
  const CanonicalRequest creq =
      canonical_request(request, result.amz_date, credentials.session_token, payload_hash, options);
  const std::string scope = credential_scope(result.amz_date, region, service);
  const std::string sts = string_to_sign(result.amz_date, scope, creq.text);
  const std::string signature = sigv4_signature(credentials.secret_access_key, result.amz_date, region, service, sts);

  result.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" + scope +
                         ", SignedHeaders=" + creq.signed_headers + ", Signature=" + signature;
  if (options.sign_content_sha256) result.content_sha256 = payload_hash;
  result.security_token = credentials.session_token;
  return result;
}

}  // namespace sluice::provider
