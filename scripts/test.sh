#!/usr/bin/env bash
# `npm test`: provision Node 24 and dependencies when needed, then typecheck, lint, format check and the fast tests.
# Ends with the plain line "N passed, N failed" taken from jest's JSON report.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node || exit 1
ensure_deps || exit 1
cd "$ROOT"
mkdir -p reports
status=0
step() {
  local name=$1
  shift
  log_step "$name"
  "$@" || {
    echo "FAILED: $name" >&2
    status=1
  }
}
step "typecheck and build (tsc)" build
step "lint (eslint)" node node_modules/eslint/bin/eslint.js --max-warnings 0 .
step "format check (prettier)" node node_modules/prettier/bin/prettier.cjs --check --log-level warn .
rm -f reports/jest-fast.json
log_step "tests (jest: unit and integration)"
node node_modules/jest/bin/jest.js --json --outputFile=reports/jest-fast.json "$@" || status=1
node scripts/ci/jest-summary.mjs reports/jest-fast.json || status=1
exit $status
