#!/usr/bin/env bash
# Installs what the CLI needs from a checkout: Node >= 22 (provisioned when the system's is older), dependencies, build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_deps
log_step "compiling TypeScript into dist/"
build
log_step "ready: bin/matrix-rtc-reconciler runs on Node $(node --version)"
