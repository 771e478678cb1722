// Runs matrix-rtc-reconciler itself as operators do (bin/…, a YAML config, a registration from its own -r),
// as a child process whose JSON log lines the tests read.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { ROOT, freshDir, tail } from "./paths";
import { freePort, sleep } from "./ports";
import { spawnManaged, type ManagedProcess } from "./processes";

export type LogLine = Record<string, unknown> & { message: string; level: string; time: string };

export interface ReconcilerRegistration {
  readonly file: string;
  readonly id: string;
  readonly asToken: string;
  readonly hsToken: string;
  readonly botUserId: string;
  readonly url: string;
  readonly port: number;
}

/** Writes a registration with the product's own generator; `userRegex` narrows the non-exclusive user namespace. */
export async function generateReconcilerRegistration(
  opts: { userRegex?: string } = {},
): Promise<ReconcilerRegistration> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = freshDir("registration");
  const file = path.join(dir, "registration.yaml");
  const res = spawnSync(
    path.join(ROOT, "bin", "matrix-rtc-reconciler"),
    ["-r", "-u", url, "-d", "localhost", "-f", file],
    {
      encoding: "utf8",
    },
  );
  if (res.status !== 0) throw new Error(`registration generator failed: ${res.stderr}`);
  const reg = parse(fs.readFileSync(file, "utf8")) as {
    id: string;
    as_token: string;
    hs_token: string;
    sender_localpart: string;
    namespaces: { users: { exclusive: boolean; regex: string }[] };
  };
  if (opts.userRegex !== undefined) {
    reg.namespaces.users = reg.namespaces.users.map((ns) =>
      ns.exclusive ? ns : { ...ns, regex: opts.userRegex ?? ns.regex },
    );
    fs.writeFileSync(file, stringify(reg));
  }
  return {
    file,
    id: reg.id,
    asToken: reg.as_token,
    hsToken: reg.hs_token,
    botUserId: `@${reg.sender_localpart}:localhost`,
    url,
    port,
  };
}

export interface ReconcilerHandle {
  readonly pid: number;
  readonly url: string;
  readonly webhookUrl: string;
  readonly metricsUrl: string;
  readonly dbPath: string;
  readonly configFile: string;
  readonly logFile: string;
  logs(): readonly LogLine[];
  /** The first log line (past or future) matching; rejects on timeout or exit. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs?: number, since?: number): Promise<LogLine>;
  stop(): Promise<number | string>;
  kill(): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export interface ReconcilerStartOptions {
  readonly registration: ReconcilerRegistration;
  readonly homeserverUrl: string;
  /** The whole config object (the stack fills in a sensible e2e default). */
  readonly config: Record<string, unknown>;
  readonly dir?: string;
  readonly waitReady?: boolean;
  /** Extra environment for the service process (e.g. libfaketime to skew its clock). */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startReconciler(opts: ReconcilerStartOptions): Promise<ReconcilerHandle> {
  const dir = opts.dir ?? freshDir("reconciler");
  const configFile = path.join(dir, "config.yaml");
  fs.writeFileSync(configFile, stringify(opts.config));
  const config = opts.config as {
    database?: { path?: string };
    metrics?: { port?: number };
    livekit?: { webhook_path?: string };
  };
  const logFile = path.join(dir, "reconciler.log");
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  const proc: ManagedProcess = spawnManaged({
    name: "reconciler",
    command: path.join(ROOT, "bin", "matrix-rtc-reconciler"),
    args: ["-c", configFile, "-f", opts.registration.file],
    logFile,
    cwd: dir,
    env: { ...process.env, ...(opts.env ?? {}) },
    onStdoutLine: (line) => {
      if (!line.startsWith("{")) return;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        return;
      }
      for (const wake of [...waiters]) wake();
    },
  });
  void proc.exited.then(() => {
    for (const wake of [...waiters]) wake();
  });
  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 60_000, since = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = lines.slice(since).find(match);
        if (hit) finish(undefined, hit);
        else if (proc.exitStatus() !== undefined)
          finish(new Error(`reconciler exited (${String(proc.exitStatus())}):\n${tail(logFile)}`));
      };
      const finish = (err?: Error, hit?: LogLine): void => {
        waiters.delete(check);
        clearTimeout(timer);
        if (hit) resolve(hit);
        else reject(err ?? new Error("no match"));
      };
      const timer = setTimeout(() => {
        finish(new Error(`no matching reconciler log line within ${timeoutMs} ms:\n${tail(logFile)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const handle: ReconcilerHandle = {
    pid: proc.pid,
    url: opts.registration.url,
    webhookUrl: `${opts.registration.url}${config.livekit?.webhook_path ?? "/livekit/webhook"}`,
    metricsUrl: `http://127.0.0.1:${config.metrics?.port ?? 9101}/metrics`,
    dbPath: path.resolve(dir, config.database?.path ?? "data.db"),
    configFile,
    logFile,
    logs: () => lines,
    waitForLog,
    stop: () => proc.stop(15_000),
    kill: () => proc.kill(),
    exited: proc.exited,
  };
  if (opts.waitReady ?? true) {
    await waitForLog((l) => l.message === "ready", 90_000);
    await sleep(0);
  }
  return handle;
}
