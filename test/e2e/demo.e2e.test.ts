// The README's first command keeps working: the demo's transcript tells the crash, the grace, the API's confirmation
// and the clear in order and in plain words, shows the bot's replies, and Ctrl-C stops it with one line.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "./harness";

const DEMO = path.join(ROOT, "dist", "scripts", "demo", "demo.js");

/** Starts the demo in its own process group, as a terminal runs it (Ctrl-C then reaches every process in it). */
function startDemo(tag: string): { child: ChildProcessWithoutNullStreams; output: () => string } {
  const child = spawn(process.execPath, [DEMO], {
    cwd: ROOT,
    env: { ...process.env, E2E_RUN_ID: `${tag}-${Date.now()}` },
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return { child, output: () => out };
}

const exitOf = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      resolve(code);
    }),
  );

/** Processes of the group still running (zombies waiting to be reaped do not count). */
function runningInGroup(pgid: number): string[] {
  const ps = execFileSync("ps", ["-e", "-o", "pgid=,stat=,args="], { encoding: "utf8" });
  return ps
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${pgid} `) && !/^\d+ Z/.test(l));
}

test("npm run demo's script narrates a crash, the clear and the bot's replies in order, and stops what it started", async () => {
  const demo = startDemo("demo-test");
  const code = await exitOf(demo.child);
  const out = demo.output();
  console.log(out);
  expect(code).toBe(0);
  const lines = out.split("\n");
  const at = (pattern: RegExp): number => {
    const i = lines.findIndex((l) => pattern.test(l));
    expect({ pattern: String(pattern), found: i >= 0 }).toEqual({ pattern: String(pattern), found: true });
    return i;
  };
  const order = [
    at(/Bob's app crashes/),
    at(/LiveKit → service: Bob's connection timed out \(participant_left, CONNECTION_TIMEOUT\)/),
    at(
      /service: Bob's membership is still in the room; LiveKit says this only after about 20 s without a sign/,
    ),
    at(/service: LiveKit timed Bob out: the membership is a ghost \(left_sfu, connection lost\)/),
    at(/service: asks LiveKit's API once more: Bob is not connected/),
    at(/service: removed Bob's membership by writing the leave as Bob/),
    at(/^ +Bob \(BOBLAPTOP\): left \(the service wrote the leave as Bob\)$/),
    at(/Alice asks the bot: !rtc status/),
    at(/\| • @alice-.* \(ALICEPHONE\) since .* SFU: connected/),
    at(/Alice hangs up$/),
    at(/LiveKit → service: Alice left the SFU \(hung up\)/),
    at(/service: Alice left the call/),
    at(/Alice asks the bot: !rtc history/),
    at(/\| +@bob-.* \(BOBLAPTOP\) \d+s, left: connection_lost/),
    at(/^database:/),
  ];
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  // A bot reply follows its question directly.
  const history = at(/Alice asks the bot: !rtc history/);
  expect(lines[history + 1]).toMatch(/^ +\| /);
  // The clear's own echo is not told as Bob leaving.
  expect(out).not.toMatch(/Bob left the call/);
  expect(out).not.toMatch(/\[session|cause: |wrote \{\}/);
}, 240_000);

test("Ctrl-C stops the demo and everything it started, with one line and exit code 130", async () => {
  const demo = startDemo("demo-ctrl-c");
  const pgid = demo.child.pid;
  if (pgid === undefined) throw new Error("the demo did not start");
  const exited = exitOf(demo.child);
  for (let i = 0; i < 1200 && !demo.output().includes("both are in the call"); i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(demo.output()).toContain("both are in the call");
  const before = demo.output().length;
  const sentAt = Date.now();
  // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
  process.kill(-pgid, "SIGINT");
  const code = await exited;
  const stoppedIn = Date.now() - sentAt;
  expect({ code, after: demo.output().slice(before) }).toEqual({
    code: 130,
    after: "interrupted: stopping what the demo started… stopped.\n",
  });
  expect(stoppedIn).toBeLessThan(15_000);
  let left = runningInGroup(pgid);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = runningInGroup(pgid);
  }
  expect(left).toEqual([]);
}, 240_000);
