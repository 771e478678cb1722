// Child processes for the e2e stack: pids recorded, output piped to log files, stop by pid (SIGTERM then SIGKILL), and an exit-time safety net.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { e2eRunDir } from "./paths";

export interface SpawnOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each complete stdout line (the line is still written to the log file). */
  onStdoutLine?: (line: string) => void;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Undefined while running; then the exit code or signal name. */
  exitStatus(): number | string | undefined;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL now; resolves when the process has exited. */
  kill(): Promise<number | string>;
}

const live = new Map<number, ChildProcess>();
let netInstalled = false;

/** Kills every child this process started and that is still running (synchronous: safe in an exit handler). */
export function killAllLeftovers(): number[] {
  const killed: number[] = [];
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  return killed;
}

/** Pids of children still running. */
export function runningPids(): number[] {
  return [...live.keys()];
}

// Jest gives each test file a copy of `process` whose "exit" never fires; the outer context has the real one.
const realProcess = vm.runInThisContext("process") as NodeJS.Process;
let pidsFile: string | undefined;

// A detached watchdog: once this process is gone (even by SIGKILL), it SIGKILLs the pids still listed in the file.
const REAPER = `const [ppid, file] = process.argv.slice(1); const fs = require("fs");
setInterval(() => { try { process.kill(Number(ppid), 0); return; } catch {}
  try { for (const p of fs.readFileSync(file, "utf8").split("\\n").filter(Boolean)) { try { process.kill(Number(p), "SIGKILL"); } catch {} } } catch {}
  process.exit(0); }, 1000);`;

function writePids(): void {
  if (pidsFile !== undefined) fs.writeFileSync(pidsFile, [...live.keys()].map((p) => `${p}\n`).join(""));
}

// Jest loads this module afresh for every test file, but they all share the real process: one "exit" listener
// there runs the hooks every copy registered (a listener per file would pass Node's limit of 10).
const EXIT_HOOKS = Symbol.for("matrix-rtc-reconciler.e2e.exit-hooks");
type WithExitHooks = NodeJS.Process & { [EXIT_HOOKS]?: Set<() => void> };

function onRealExit(hook: () => void): void {
  const target = realProcess as WithExitHooks;
  let hooks = target[EXIT_HOOKS];
  if (hooks === undefined) {
    const created = new Set<() => void>();
    hooks = created;
    target[EXIT_HOOKS] = created;
    target.on("exit", () => {
      for (const run of created) run();
    });
  }
  hooks.add(hook);
}

function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  onRealExit(() => {
    killAllLeftovers();
    writePids();
  });
  pidsFile = path.join(e2eRunDir(), `children-of-${process.pid}.pids`);
  writePids();
  const reaper = spawn(process.execPath, ["-e", REAPER, String(process.pid), pidsFile], {
    detached: true,
    stdio: "ignore",
  });
  reaper.unref();
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installSafetyNet();
  const log = fs.createWriteStream(opts.logFile, { flags: "a" });
  log.write(`# ${new Date().toISOString()} ${opts.command} ${opts.args.join(" ")}\n`);
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  const pid = child.pid;
  live.set(pid, child);
  writePids();
  let status: number | string | undefined;
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    log.write(chunk);
    if (opts.onStdoutLine === undefined) return;
    buffered += chunk.toString("utf8");
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      opts.onStdoutLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
  });
  child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once("error", (err) => {
      log.write(`# spawn error: ${err.message}\n`);
    });
    child.once("close", (code, signal) => {
      status = code ?? signal ?? "unknown";
      live.delete(pid);
      writePids();
      log.end(`# ${new Date().toISOString()} exited: ${status}\n`);
      resolve(status);
    });
  });
  const signal = (sig: NodeJS.Signals): void => {
    if (status !== undefined) return;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    exitStatus: () => status,
    stop: async (graceMs = 10_000) => {
      signal("SIGTERM");
      const timer = setTimeout(() => {
        signal("SIGKILL");
      }, graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => {
      signal("SIGKILL");
      return exited;
    },
  };
}
