#!/usr/bin/env bash
# Runs a compiled script from dist/ on Node >= 22 (the provisioned one when the system's is older), building first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_deps
build
cd "$ROOT"
# The service's own V8 flags (bin/node-flags), so that benchmarks measure what operators run.
mapfile -t flags < <(grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/bin/node-flags")
exec node "${flags[@]}" "$@"
