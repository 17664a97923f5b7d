#!/usr/bin/env bash
# Runs the whole suite of the ThreadSanitizer build (`make tsan` builds BUILD_DIR with
# -DSLUICE_SANITIZE=thread first), JOBS at a time: the C++ unit tests, and the integration and
# end-to-end tests, which then start the TSan-built `sluice` and `sluice-mock`.
#   scripts/tsan.sh [BUILD_DIR]     (default build-tsan)
# Every report of every process goes to BUILD_DIR/tsan-reports/ and is printed at the end; any
# report fails the run, even from a test that passed (a gateway process's race does not change
# what its clients see). Known false positives from libraries
# built without TSan are listed in tests/tsan.supp, each with its reason.
# ASLR is turned off for the run (setarch -R): the TSan runtime of GCC 12 cannot map its shadow
# memory on kernels that randomise mmap with more than 28 bits ("unexpected memory mapping").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-tsan}
cd "$root/$build"
reports=$PWD/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp log_path=$reports/report second_deadlock_stack=1 ${TSAN_OPTIONS:-}"

status=0
setarch "$(uname -m)" -R ctest --output-on-failure --timeout 600 -j"${JOBS:-$(nproc)}" || status=$?
if compgen -G "$reports/report.*" >/dev/null; then
  cat "$reports"/report.*
  echo "tsan: ThreadSanitizer reports above ($(ls "$reports" | wc -l) processes)" >&2
  status=1
fi
exit "$status"
