// The admin status page: one static HTML document with its CSS and JavaScript inline
// (admin/status_page.html, embedded in the binary at build time by cmake/embed_text.cmake),
// served at / and /ui. It polls /status and /metrics on the same origin and renders Backends,
// provider health, rates and tokens per model (from counter deltas), the fullest limits and
// the recent errors. It loads nothing else: its Content-Security-Policy allows only its own
// inline script and style (by hash) and connections to its own origin. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::admin {

extern const std::string_view kStatusPageHtml;

// The Content-Security-Policy the page is served with: default-src 'none', its inline <script>
// and <style> allowed by SHA-256, connect-src 'self'.
const std::string& status_page_csp();

}  // namespace sluice::admin
