#include "admin/status_page.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace sluice::admin {

namespace {

// 'sha256-<base64>' of the text between the first `open` tag and the next `close` tag.
std::string inline_hash(std::string_view page, std::string_view open, std::string_view close) {
  const auto start = page.find(open);
  const auto end = start == std::string_view::npos ? start : page.find(close, start);
  if (end == std::string_view::npos) throw std::logic_error("status page: no " + std::string(open));
  const auto body = page.substr(start + open.size(), end - start - open.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  unsigned char encoded[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA256_DIGEST_LENGTH);
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n)) + "'";
}

}  // namespace

const std::string& status_page_csp() {
  static const std::string csp = "default-src 'none'; script-src " +
                                 inline_hash(kStatusPageHtml, "<script>", "</script>") + "; style-src " +
                                 inline_hash(kStatusPageHtml, "<style>", "</style>") +
                                 "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                                 "frame-ancestors 'none'";
  return csp;
}

}  // namespace sluice::admin
