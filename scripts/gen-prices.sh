#!/usr/bin/env bash
# Regenerates src/pricing/catalog_data.inc, the built-in price catalog, from the dataset pinned in
# tools/prices/package.json (installed with `npm ci` from its package-lock.json).
#   scripts/gen-prices.sh          rewrites the file
#   scripts/gen-prices.sh --check  changes nothing; exits 1 when the file differs
# To move to a newer dataset: set the version in tools/prices/package.json, run
# `npm install --package-lock-only` there, move PRICES_AS_OF in tools/prices/generate.mjs, then this.
set -euo pipefail
cd "$(dirname "$0")/../tools/prices"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node generate.mjs "$@"
