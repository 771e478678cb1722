// The README's first command keeps working: the demo's transcript shows the crashed member cleared and the bot's replies.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "./harness";

test("npm run demo's script narrates a crash, the clear and the bot's replies, and stops what it started", async () => {
  const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "demo", "demo.js")], {
    cwd: ROOT,
    env: { ...process.env, E2E_RUN_ID: `demo-test-${Date.now()}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  console.log(out);
  expect(code).toBe(0);
  expect(out).toMatch(/LiveKit → service: participant_left @bob-[^ ]+ \(CONNECTION_TIMEOUT\)/);
  expect(out).toMatch(/service: verdict GHOST for @bob-.*: left_sfu/);
  expect(out).toMatch(/service: cleared @bob-[^ ]+'s membership \(write_as_user\)/);
  expect(out).toMatch(/_BOBLAPTOP_m\.call: \{\} \(left\)/);
  expect(out).toMatch(/\| • @alice-.* \(ALICEPHONE\) since .* SFU: connected/);
  expect(out).toMatch(/\| +@bob-.* \(BOBLAPTOP\) \d+s, left: left_sfu/);
  expect(out).toContain("database:");
}, 240_000);
