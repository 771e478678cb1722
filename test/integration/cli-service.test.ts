// The service as operators start it (bin/…, a working directory, a config): what it does before the homeserver
// answers, and how it stops on Ctrl-C.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { startFakeHomeserver } from "../support/fake-homeserver";
import { freePort } from "../support/net";

const BIN = resolve("bin/matrix-rtc-reconciler");

interface Running {
  readonly child: ChildProcess;
  /** Every stdout line so far (JSON: stdout is a pipe). */
  readonly lines: () => Record<string, unknown>[];
  readonly output: () => string;
  /** Resolves with the first line matching, or rejects when the process ends first. */
  readonly waitFor: (message: string) => Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** Starts the service in `cwd`, as `bin/matrix-rtc-reconciler -c config.yaml -f registration.yaml` there. */
function startService(cwd: string): Running {
  const child = spawn(BIN, ["-c", "config.yaml", "-f", "registration.yaml"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const wakers = new Set<() => void>();
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    for (const wake of wakers) wake();
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((done) =>
    child.once("close", (code) => {
      done(code);
    }),
  );
  const lines = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = (message: string) =>
    new Promise<Record<string, unknown>>((found, failed) => {
      const check = () => {
        const hit = lines().find((l) => l.message === message);
        if (hit) {
          wakers.delete(check);
          found(hit);
        }
      };
      wakers.add(check);
      check();
      void exited.then(() => {
        if (wakers.delete(check)) failed(new Error(`exited before "${message}":\n${out}${err}`));
      });
    });
  return { child, lines, output: () => out + err, waitFor, exited };
}

const workdirs: string[] = [];
afterAll(() => {
  for (const dir of workdirs) rmSync(dir, { recursive: true, force: true });
});

/** A working directory holding a registration (from the CLI's own -r) and a config using relative paths. */
async function workdir(homeserverUrl: string, extra: Record<string, unknown> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), "rtc-cli-service-"));
  workdirs.push(cwd);
  const port = await freePort();
  const metricsPort = await freePort();
  const made = spawnSync(
    BIN,
    ["-r", "-u", `http://127.0.0.1:${port}`, "-d", "example.test", "-f", "registration.yaml"],
    { cwd, encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(made.stderr);
  writeFileSync(
    join(cwd, "config.yaml"),
    stringify({
      homeserver: { url: homeserverUrl, domain: "example.test", startup_timeout: "3s" },
      appservice: { port },
      metrics: { port: metricsPort },
      ...extra,
    }),
  );
  const registration = parse(readFileSync(join(cwd, "registration.yaml"), "utf8")) as {
    as_token: string;
    hs_token: string;
  };
  return { cwd, port, metricsPort, registration };
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
function listening(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      answer(true);
    });
    socket.once("error", () => {
      answer(false);
    });
  });
}

test("without a homeserver it creates no file and opens no port, says until when it retries, and names how long it tried", async () => {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const { cwd, port, metricsPort } = await workdir(nowhere);
  const service = startService(cwd);
  const retry = await service.waitFor("homeserver not reachable yet; retrying");
  expect(retry).toMatchObject({ level: "warn", attempt: 1, next_try_in_s: 1, url: nowhere });
  expect(retry.gives_up_in_s).toBeGreaterThanOrEqual(2);
  expect(retry.gives_up_in_s).toBeLessThanOrEqual(3);
  // While it waits for the homeserver: no listener, no database (the default path is ./data/… here).
  expect(await listening(port)).toBe(false);
  expect(await listening(metricsPort)).toBe(false);
  expect(readdirSync(cwd).sort()).toEqual(["config.yaml", "registration.yaml"]);
  expect(await service.exited).toBe(1);
  expect(service.output()).toContain(
    `cannot reach the homeserver at ${nowhere} (tried for 3 s, homeserver.startup_timeout)`,
  );
  expect(readdirSync(cwd).sort()).toEqual(["config.yaml", "registration.yaml"]);
  expect(service.lines().map((l) => l.message)).not.toContain("appservice listener started");
}, 20_000);

test("Ctrl-C (SIGINT) stops a running service cleanly: exit 0, `stopped` the last line", async () => {
  const dir = await workdir("http://placeholder.invalid");
  const homeserver = await startFakeHomeserver({
    asToken: dir.registration.as_token,
    hsToken: dir.registration.hs_token,
    botUserId: "@rtc-reconciler:example.test",
    appserviceUrl: `http://127.0.0.1:${dir.port}`,
  });
  try {
    writeFileSync(
      join(dir.cwd, "config.yaml"),
      stringify({
        homeserver: { url: homeserver.url, domain: "example.test", startup_timeout: "5s" },
        appservice: { port: dir.port },
        metrics: { port: dir.metricsPort },
      }),
    );
    const service = startService(dir.cwd);
    await service.waitFor("ready");
    service.child.kill("SIGINT");
    expect(await service.exited).toBe(0);
    const messages = service.lines().map((l) => l.message);
    expect(messages.slice(-2)).toEqual(["stopping", "stopped"]);
    expect(service.lines().find((l) => l.message === "stopping")).toMatchObject({ signal: "SIGINT" });
    expect(await listening(dir.port)).toBe(false);
  } finally {
    await homeserver.close();
  }
}, 20_000);
