#!/usr/bin/env bash
# `npm run demo`: provisions what it needs (Node 24, Synapse, LiveKit; minutes on the first run), builds, runs the demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
log_step "preparing the demo: Node, dependencies, Synapse and LiveKit (the first run takes a few minutes)"
bash "$ROOT/scripts/provision-e2e.sh" --demo
ensure_node
build
cd "$ROOT"
export E2E_RUN_ID="demo-$(date -u +%Y%m%dT%H%M%SZ)"
exec node dist/scripts/demo/demo.js
