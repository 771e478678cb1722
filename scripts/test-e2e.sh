#!/usr/bin/env bash
# `npm run test:e2e`: provision the e2e stack (Synapse, LiveKit, Node deps), build with tsc, run the e2e suite in band.
# Extra arguments go to jest (e.g. -t 'participant'). Logs of every started process stay under .e2e/<run>/.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t0=$(date +%s)
bash "$ROOT/scripts/provision-e2e.sh" || exit 1
ensure_node || exit 1
cd "$ROOT"
t1=$(date +%s)
log_step "compiling TypeScript into dist/ (the e2e clients run from there)"
build || exit 1
mkdir -p reports
rm -f reports/jest-e2e.json
export E2E_RUN_ID="${E2E_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)-$$}"
log_step "e2e tests (jest, in band); process logs in .e2e/$E2E_RUN_ID/"
status=0
node node_modules/jest/bin/jest.js -c jest.e2e.config.js --runInBand --json --outputFile=reports/jest-e2e.json "$@" ||
  status=1
t2=$(date +%s)
if [ -f reports/jest-e2e.json ]; then
  node scripts/ci/jest-summary.mjs reports/jest-e2e.json || status=1
else
  echo "FAILED: jest wrote no reports/jest-e2e.json" >&2
  status=1
fi
log_step "e2e timings: provisioning $((t1 - t0)) s, build and tests $((t2 - t1)) s, total $((t2 - t0)) s"
exit $status
