#!/usr/bin/env bash
# Provisions the e2e stack into .tools/ (idempotent): Node 24 + npm deps, Synapse in a venv, LiveKit server via go install.
# Pinned versions live below; a stamp file per component records what is installed, so a warm run takes seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYNAPSE_VERSION="1.163.2"
LIVEKIT_VERSION="v1.13.5"
PYTHON_MIN="3.10" # matrix-synapse 1.163.2: Requires-Python >=3.10
GO_MIN="1.26" # livekit-server v1.13.5 go.mod: `go 1.26`; GOTOOLCHAIN=local forbids downloading a newer Go

TOOLS="$ROOT/.tools"
SYNAPSE_VENV="$TOOLS/synapse-venv"
SYNAPSE_STAMP="$SYNAPSE_VENV/.provision-stamp"
GO_DIR="$TOOLS/go"
LIVEKIT_BIN_DIR="$TOOLS/livekit/bin"
LIVEKIT_STAMP="$TOOLS/livekit/.provision-stamp"

progress() { printf '[provision-e2e] %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

start_all=$(date +%s)
ensure_node || die "Node >= 22 could not be provisioned (see above)"
ensure_deps || die "npm dependencies could not be installed (see above)"

# ---- Synapse ---------------------------------------------------------------------------------------
provision_synapse() {
  local want="matrix-synapse==$SYNAPSE_VERSION"
  if [ -f "$SYNAPSE_STAMP" ] && [ "$(cat "$SYNAPSE_STAMP")" = "$want" ] && [ -x "$SYNAPSE_VENV/bin/python" ]; then
    return 0
  fi
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 ||
    die "$py not found: Synapse $SYNAPSE_VERSION needs Python >= $PYTHON_MIN (install it, or set PYTHON=/path/to/python3)"
  local pyver
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
    die "$py does not run"
  version_ge "$pyver" "$PYTHON_MIN" ||
    die "Python $pyver is too old: Synapse $SYNAPSE_VERSION needs Python >= $PYTHON_MIN (set PYTHON=/path/to/python3.11)"
  "$py" -c 'import venv, ensurepip' 2>/dev/null ||
    die "Python $pyver lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)"
  local t0
  t0=$(date +%s)
  progress "installing $want into .tools/synapse-venv with Python $pyver (about 30 s)"
  rm -rf "$SYNAPSE_VENV"
  "$py" -m venv "$SYNAPSE_VENV"
  "$SYNAPSE_VENV/bin/pip" install --quiet --disable-pip-version-check "$want" >&2 ||
    die "pip install $want failed (see above)"
  local got
  got=$("$SYNAPSE_VENV/bin/python" -c 'import importlib.metadata as m, synapse.app.homeserver; print(m.version("matrix-synapse"))') ||
    die "Synapse was installed but does not import"
  [ "$got" = "$SYNAPSE_VERSION" ] || die "expected Synapse $SYNAPSE_VERSION, the venv has $got"
  echo "$want" >"$SYNAPSE_STAMP"
  progress "Synapse $got ready in $(($(date +%s) - t0)) s"
}

# ---- LiveKit server --------------------------------------------------------------------------------
provision_livekit() {
  local want="github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  if [ -f "$LIVEKIT_STAMP" ] && [ "$(cat "$LIVEKIT_STAMP")" = "$want" ] && [ -x "$LIVEKIT_BIN_DIR/server" ]; then
    return 0
  fi
  local go="${GO:-}"
  if [ -n "$go" ] && ! command -v "$go" >/dev/null 2>&1; then
    die "GO=$go is not an executable Go toolchain"
  elif [ -z "$go" ]; then
    if command -v go >/dev/null 2>&1; then
      go=go
    elif [ -x /usr/local/go/bin/go ]; then
      go=/usr/local/go/bin/go
    else
      die "go not found: the LiveKit server $LIVEKIT_VERSION is built with 'go install' and needs Go >= $GO_MIN (install Go, or set GO=/path/to/go)"
    fi
  fi
  local gover
  gover=$("$go" env GOVERSION 2>/dev/null | sed 's/^go//') || die "$go does not run"
  version_ge "$gover" "$GO_MIN" ||
    die "Go $gover is too old: the LiveKit server $LIVEKIT_VERSION needs Go >= $GO_MIN"
  local t0 flags
  t0=$(date +%s)
  flags="$("$go" env GOFLAGS) -modcacherw"
  progress "building the LiveKit server $LIVEKIT_VERSION with Go $gover into .tools/livekit/bin (about 2 min cold; caches in .tools/go)"
  mkdir -p "$GO_DIR" "$LIVEKIT_BIN_DIR"
  GOPATH="$GO_DIR" GOMODCACHE="$GO_DIR/pkg/mod" GOCACHE="$GO_DIR/cache" GOBIN="$LIVEKIT_BIN_DIR" \
    GOFLAGS="$flags" GOTOOLCHAIN=local \
    "$go" install "$want" >&2 || die "go install $want failed (see above)"
  [ -x "$LIVEKIT_BIN_DIR/server" ] || die "go install finished but $LIVEKIT_BIN_DIR/server is missing"
  echo "$want" >"$LIVEKIT_STAMP"
  progress "LiveKit server $("$LIVEKIT_BIN_DIR/server" --version 2>/dev/null | tail -n1) ready in $(($(date +%s) - t0)) s"
}

# ---- libfaketime (shifts the service's clock in the clock-skew tests) ---------------------------------
provision_faketime() {
  local dir="$TOOLS/faketime" want="libfaketime 0.9.10 (Debian)"
  local lib="$dir/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
  if [ -f "$dir/.provision-stamp" ] && [ "$(cat "$dir/.provision-stamp")" = "$want" ] && [ -f "$lib" ]; then return 0; fi
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 ||
    die "apt-get and dpkg are needed to fetch Debian's libfaketime package (the clock-skew tests use it)"
  progress "fetching Debian's libfaketime into .tools/faketime (unpacked, not installed)"
  rm -rf "$dir" && mkdir -p "$dir/deb"
  (cd "$dir/deb" && apt-get download libfaketime >/dev/null 2>&1) ||
    (apt-get update >/dev/null 2>&1 && cd "$dir/deb" && apt-get download libfaketime >/dev/null 2>&1) ||
    die "apt-get download libfaketime failed"
  dpkg -x "$dir"/deb/libfaketime_*.deb "$dir"
  [ -f "$lib" ] || die "libfaketime.so.1 not found in the package"
  echo "$want" >"$dir/.provision-stamp"
}

provision_synapse
provision_livekit
provision_faketime
progress "e2e stack ready (Synapse $SYNAPSE_VERSION, LiveKit $LIVEKIT_VERSION) in $(($(date +%s) - start_all)) s"
