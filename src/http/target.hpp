// The canonical form of a request path, computed once at the edge: everything after it — route
// matching, API classification, passthrough allow-lists, the upstream URL — sees only this form,
// so no two layers can read one path two ways (the class of bug behind `/v1/files/../audio`).
//
// Rules, in order (RFC 3986 §2.3, §6.2.2, §5.2.4):
//   - the path starts with "/" and holds only visible ASCII (no controls, spaces or bytes ≥ 0x80);
//   - every "%XX" has two hex digits; percent-encoded unreserved characters (ALPHA DIGIT - . _ ~)
//     are decoded, the rest keep their encoding with upper-case hex;
//   - an encoded "/" (%2F), "\" (%5C) or NUL (%00), and a literal "\", are refused: an upstream
//     could read them as separators or string ends;
//   - dot-segments ("." and "..", also as "%2e") are resolved; a ".." that would climb above the
//     root is refused (nginx does the same); a segment that is a dot-segment before its ";"
//     parameters ("..;x") is refused, as some servers strip parameters before resolving;
//   - runs of "/" are merged into one.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::http {

// Whether `path` is already canonical by the quick test (visible ASCII, no "%", "\\", "//" or
// "/."): such a path normalises to itself. A false answer only means the full rules must run.
bool is_plainly_canonical(std::string_view path);

// Writes the canonical form of `path` (no query, no fragment) into `out`. Returns an empty
// string on success, otherwise why the path is refused (for a 400 message).
std::string normalize_path(std::string_view path, std::string& out);

// The part of a canonical path that names the API: up to the first ";" (path parameters are
// never part of an LLM API path, and `/files/x/content;/chat/completions` must not classify as
// chat).
inline std::string_view api_path_of(std::string_view canonical_path) {
  return canonical_path.substr(0, canonical_path.find(';'));
}

// Whether the query part of a target (after "?", no fragment) holds only characters RFC 3986
// allows there (visible ASCII without "#").
bool valid_query(std::string_view query);

}  // namespace sluice::http
