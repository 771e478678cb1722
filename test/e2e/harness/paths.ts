// Where the e2e harness finds provisioned tools and compiled clients, and where each run keeps its logs (.e2e/<run>/).
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root (this file lives in test/e2e/harness, compiled or not). */
export const ROOT: string = findRoot(__dirname);

export const SYNAPSE_PYTHON = path.join(ROOT, ".tools", "synapse-venv", "bin", "python");
export const LIVEKIT_SERVER = path.join(ROOT, ".tools", "livekit", "bin", "server");
/** libfaketime, unpacked from Debian's package by scripts/provision-e2e.sh (shifts one process's clock). */
export const LIBFAKETIME = path.join(
  ROOT,
  ".tools",
  "faketime",
  "usr",
  "lib",
  "x86_64-linux-gnu",
  "faketime",
  "libfaketime.so.1",
);
export const CLIENTS_DIR = path.join(ROOT, "dist", "test", "e2e", "clients");

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "scripts"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`repository root not found above ${start}`);
    dir = parent;
  }
}

let runDir: string | undefined;

/** This process's run folder, `.e2e/<E2E_RUN_ID or timestamp-pid>/`, created on first use. */
export function e2eRunDir(): string {
  if (runDir === undefined) {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const id = process.env["E2E_RUN_ID"] ?? `${stamp}-${process.pid}`;
    runDir = path.join(ROOT, ".e2e", id);
    fs.mkdirSync(runDir, { recursive: true });
  }
  return runDir;
}

const counters = new Map<string, number>();

/**
 * A fresh folder `<run>/<prefix>-<n>` for one component instance. Jest gives each test file its own module
 * registry (so its own counters) while the run folder is shared: skip numbers already taken on disk.
 */
export function freshDir(prefix: string): string {
  let n = counters.get(prefix) ?? 0;
  let dir: string;
  do {
    n++;
    dir = path.join(e2eRunDir(), `${prefix}-${n}`);
  } while (fs.existsSync(dir));
  counters.set(prefix, n);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Throws a clear error when a provisioned tool or compiled client is missing. */
export function requireFile(file: string, hint: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
  return file;
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
