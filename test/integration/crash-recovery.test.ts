// kill -9 of the real service process in the middle of ingesting 10k events, then a restart on the same database
// file: every acknowledged transaction's sessions are there, closed, and none is duplicated.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { generateRegistration, registrationToYaml } from "../../src/adapters/matrix/registration";
import { startFakeHomeserver, type FakeHomeserver } from "../support/fake-homeserver";
import { freePort } from "../support/net";

jest.setTimeout(120_000);

const USERS = 5_000;
const PER_TXN = 100;

function eventsFor(i: number): Record<string, unknown>[] {
  const user = `@u${i}:crash.local`;
  const key = `_${user}_DEV_m.call`;
  const base = {
    type: "org.matrix.msc3401.call.member",
    room_id: `!r${i % 100}:crash.local`,
    sender: user,
    state_key: key,
  };
  return [
    {
      ...base,
      event_id: `$join${i}`,
      origin_server_ts: 1_700_000_000_000 + i * 10,
      content: {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: "DEV",
        expires: 14_400_000,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [{ type: "livekit", livekit_service_url: "https://jwt.crash.local" }],
      },
    },
    { ...base, event_id: `$leave${i}`, origin_server_ts: 1_700_000_000_000 + i * 10 + 5, content: {} },
  ];
}

describe("crash recovery", () => {
  const dir = mkdtempSync(join(tmpdir(), "rtc-crash-"));
  let homeserver: FakeHomeserver;
  let child: ChildProcess | null = null;
  let base = "";
  let hsToken = "";
  const dbPath = join(dir, "crash.db");
  const configFile = join(dir, "config.yaml");
  const regFile = join(dir, "registration.yaml");

  beforeAll(async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: "crash.local" });
    hsToken = registration.hs_token;
    writeFileSync(regFile, registrationToYaml(registration));
    homeserver = await startFakeHomeserver({
      asToken: registration.as_token,
      hsToken,
      botUserId: "@rtcbot:crash.local",
      appserviceUrl: base,
    });
    writeFileSync(
      configFile,
      stringify({
        homeserver: { url: homeserver.url, domain: "crash.local" },
        appservice: { port },
        metrics: { port: metricsPort },
        database: { path: dbPath },
        logging: { level: "warn" },
      }),
    );
  });

  afterAll(async () => {
    child?.kill("SIGKILL");
    await homeserver.close();
  });

  async function startService(): Promise<ChildProcess> {
    const proc = spawn("bin/matrix-rtc-reconciler", ["-c", configFile, "-f", regFile], { stdio: "ignore" });
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(`${base}/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return proc;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("service did not become ready");
  }

  const put = (t: number) => {
    const events = Array.from({ length: PER_TXN / 2 }, (_, k) => eventsFor(t * (PER_TXN / 2) + k)).flat();
    return fetch(`${base}/_matrix/app/v1/transactions/t${t}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${hsToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    }).then((r) => r.status);
  };

  test("no acknowledged session is lost, none is duplicated", async () => {
    const txns = (USERS * 2) / PER_TXN;
    child = await startService();
    let acknowledged = 0;
    const burst = 25;
    for (let t = 0; t < txns / 2 - burst; t++) {
      expect(await put(t)).toBe(200);
      acknowledged = t + 1;
    }
    // The last ones at once, as a homeserver catching up sends them: their 200s come back before the drain is done
    // with them (one at a time, the drain can finish each before the next arrives).
    const last = Array.from({ length: burst }, (_, k) => put(acknowledged + k));
    expect(await Promise.all(last)).toEqual(Array(burst).fill(200));
    acknowledged += burst;
    // Mid-ingest: transactions were acknowledged, their processing is still running.
    child.kill("SIGKILL");
    await new Promise((r) => child?.once("exit", r));
    const atKill = new Database(dbPath, { readonly: true });
    const { n: unprocessed } = atKill
      .prepare("SELECT COUNT(*) AS n FROM inbox WHERE seq > (SELECT processed_through FROM inbox_cursor)")
      .get() as {
      n: number;
    };
    atKill.close();
    console.log(`killed with ${unprocessed} journaled events not yet processed`);
    expect(unprocessed).toBeGreaterThan(0);
    child = await startService();
    // The homeserver retries what it did not get an answer for, and may resend the last one.
    for (let t = Math.max(0, acknowledged - 1); t < txns; t++) expect(await put(t)).toBe(200);
    const db = new Database(dbPath, { readonly: true });
    try {
      for (let i = 0; i < 100; i++) {
        const pending = db
          .prepare("SELECT COUNT(*) AS n FROM inbox WHERE seq > (SELECT processed_through FROM inbox_cursor)")
          .get() as {
          n: number;
        };
        if (pending.n === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const closed = db
        .prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE left_at IS NOT NULL")
        .get() as { n: number };
      const perMember = db
        .prepare("SELECT member_key, COUNT(*) AS n FROM user_sessions GROUP BY member_key HAVING n > 1")
        .all();
      const open = db.prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE left_at IS NULL").get() as {
        n: number;
      };
      expect({ closed: closed.n, open: open.n, duplicated: perMember.length }).toEqual({
        closed: USERS,
        open: 0,
        duplicated: 0,
      });
      const reasons = db.prepare("SELECT DISTINCT leave_reason AS r FROM user_sessions").all();
      expect(reasons).toEqual([{ r: "left" }]);
    } finally {
      db.close();
    }
  });
});
