// Runs bin/matrix-rtc-reconciler as operators do (the compiled dist/), without blocking the test's event loop.
import { spawn, type ChildProcess } from "node:child_process";

export interface CliResult {
  /** Exit code; null when the process was killed (then `signal` says by what). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** True when it had to be killed after `timeoutMs`. */
  readonly timedOut: boolean;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly done: Promise<CliResult>;
}

/** Starts the CLI; it is killed with SIGKILL if still running after `timeoutMs`. */
export function startCli(args: readonly string[], timeoutMs: number): RunningCli {
  const started = performance.now();
  const child = spawn("bin/matrix-rtc-reconciler", [...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const done = new Promise<CliResult>((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
  return { child, done };
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<CliResult> {
  return startCli(args, timeoutMs).done;
}
