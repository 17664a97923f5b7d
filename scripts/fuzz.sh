#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) into build-fuzz/ and runs each
# for the given number of seconds (default 30), starting from the seeds in fuzz/corpus/<name>/ (the
# target's name without _fuzz) when that directory exists. Exits non-zero if any target finds a crash, a
# sanitizer report or a broken invariant; the reproducer is left in build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target]" >&2
  exit 2
fi

scripts/install-deps.sh --fuzz

cxx="$(command -v clang++-14 || command -v clang++ || true)"
if [[ -z "$cxx" ]]; then
  echo "fuzz: clang++ not found" >&2
  exit 1
fi

build=build-fuzz
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

targets=(sse_parser_fuzz aws_eventstream_fuzz translator_fuzz openai_response_reader_fuzz gemini_client_request_fuzz gemini_embed_fuzz decoder_fuzz encoder_fuzz native_filter_fuzz request_view_fuzz request_head_fuzz path_normalize_fuzz request_body_fuzz config_loader_fuzz guard_fuzz jwt_fuzz usage_members_fuzz passthrough_usage_fuzz forwarded_for_fuzz trace_context_fuzz output_capture_fuzz h2_connection_fuzz)

# One target per core at a time (each libFuzzer run is single-threaded), so the total wall time is
# about seconds × targets ÷ cores while every target still gets its full time.
jobs="${FUZZ_JOBS:-$(nproc)}"

run_target() {
  local target="$1"
  local corpus="$build/corpus/$target"
  local artifacts="$build/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  # Seeds kept in the repository (fuzz/corpus/<name>/, <name> being the target without _fuzz).
  local seeds="fuzz/corpus/${target%_fuzz}"
  if [[ -d "$seeds" ]]; then cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true; fi
  echo "fuzz: running $target for ${seconds}s" >&2
  if ! "$build/$target" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 2>"$build/$target.log"; then
    echo "fuzz: $target FAILED; see $build/$target.log and $artifacts" >&2
    tail -n 40 "$build/$target.log" >&2
    return 1
  fi
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$build/$target.log" | sed "s/^/fuzz: $target: /" >&2 || true
}

status=0
running=0
for target in "${targets[@]}"; do
  if (( running >= jobs )); then
    wait -n || status=1
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
while (( running > 0 )); do
  wait -n || status=1
  running=$((running - 1))
done
exit "$status"
