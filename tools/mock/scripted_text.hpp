// Client-chosen reply text for tests that need exact stream events (x-mock-reply,
// x-mock-tool-args, x-mock-split): decoding the header values and cutting a text into the pieces
// the formats stream, one per text delta event. Pure functions, no state; never throw.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api.hpp"

namespace sluice::mock {

// decodeURIComponent: every %XX (two hex digits) becomes that byte, every other byte is kept
// ('+' stays '+'). nullopt for a '%' not followed by two hex digits or a result that is not
// well-formed UTF-8.
std::optional<std::string> decode_uri_component(std::string_view value);

// An x-mock-split value: either a piece size in bytes ("16") or cut offsets ("3,7,20").
struct SplitSpec {
  std::size_t piece_bytes = 0;    // > 0 for the size form
  std::vector<std::size_t> cuts;  // strictly increasing, for the offsets form
};

// nullopt unless the value is one positive integer or two or more strictly increasing positive
// integers separated by commas (spaces around them allowed).
std::optional<SplitSpec> parse_split(std::string_view value);

// `text` cut as `split` says: pieces of piece_bytes bytes, each extended to the end of the code
// point it would cut, or cut at the given offsets. nullopt when an offset is not strictly inside
// the text or falls inside a code point. `text` must be valid UTF-8.
std::optional<ScriptedText> cut_text(std::string text, const SplitSpec& split);

// `text` cut on code point boundaries into `pieces` pieces of near-equal length in code points
// (fewer when it has fewer code points; one when `pieces` is 0 and the text is not empty).
ScriptedText cut_evenly(std::string text, std::size_t pieces);

}  // namespace sluice::mock
