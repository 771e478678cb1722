// Service benchmark (in-process, SQLite on disk): appservice transactions through the real HTTP listener,
// sustained ingest, memory with 100k tracked memberships over 50k rooms, and one sweep over them.
// Prints `BENCH <name> <value> <unit>` lines. The homeserver is a stand-in answering start-up checks only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { validateConfig } from "../../src/config/load";
import { createLogger } from "../../src/adapters/logging/winston-logger";
import { generateRegistration } from "../../src/adapters/matrix/registration";
import { Service } from "../../src/main/service";
import { startFakeHomeserver } from "../../test/support/fake-homeserver";
import { freePort } from "../../test/support/net";
import { bench, percentile } from "./report";

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const TXN_SIZE = 100;
const LATENCY_TXNS = 300;

let seq = 0;
function membership(i: number, now: number): Record<string, unknown> {
  const user = `@u${i}:bench.local`;
  const device = `DEV${i % 7}`;
  return {
    event_id: `$bench${++seq}`,
    type: "org.matrix.msc3401.call.member",
    room_id: `!room${i % ROOMS}:bench.local`,
    sender: user,
    state_key: `_${user}_${device}_m.call`,
    origin_server_ts: now,
    content: {
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: device,
      expires: 14_400_000,
      membershipID: `${user}:${device}`,
      focus_active: { type: "livekit", focus_selection: "oldest_membership" },
      foci_preferred: [{ type: "livekit", livekit_service_url: "https://rtc.bench.local/livekit/jwt" }],
    },
    unsigned: {},
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rtc-bench-"));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: "bench.local" });
  const homeserver = await startFakeHomeserver({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    botUserId: "@rtcbot:bench.local",
    appserviceUrl: base,
  });
  const config = validateConfig(
    {
      homeserver: { url: homeserver.url, domain: "bench.local" },
      appservice: { port },
      metrics: { port: metricsPort },
      database: { path: join(dir, "bench.db") },
      reconciliation: { dry_run: false },
      logging: { level: "info" },
      // Only the benchmark drives sweeps.
      schedules: { sweep: "0 0 1 1 *", poll: "0 0 1 1 *", resync: "0 0 1 1 *" },
    },
    "bench.yaml",
    dir,
  );
  const sink = new Writable({
    write: (_c, _e, done) => {
      done();
    },
  });
  const service = new Service({
    config,
    registration,
    logger: createLogger({ level: "info", format: "json", stream: sink }),
  });
  await service.start();
  const put = async (events: unknown[], txn: string) => {
    const res = await fetch(`${base}/_matrix/app/v1/transactions/${txn}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${registration.hs_token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 200) throw new Error(`transaction ${txn}: ${res.status}`);
  };

  // 1. Latency: one transaction of 100 events, from request to every event handled.
  let next = 0;
  const latencies: number[] = [];
  for (let t = 0; t < LATENCY_TXNS; t++) {
    const now = Date.now();
    const events = Array.from({ length: TXN_SIZE }, () => membership(next++, now));
    const started = performance.now();
    await put(events, `lat${t}`);
    await service.app.intake.settled();
    latencies.push(performance.now() - started);
  }
  bench("txn100_p50_ms", percentile(latencies, 50), "ms");
  bench("txn100_p99_ms", percentile(latencies, 99), "ms");

  // 2. Sustained ingest until MEMBERS memberships are tracked.
  const startedAt = performance.now();
  let ingested = 0;
  for (let t = 0; next < MEMBERS; t++) {
    const now = Date.now();
    const events = Array.from({ length: Math.min(TXN_SIZE, MEMBERS - next) }, () => membership(next++, now));
    await put(events, `ing${t}`);
    ingested += events.length;
    if (t % 20 === 19) await service.app.intake.settled();
  }
  await service.app.intake.settled();
  bench("ingest_events_per_s", ingested / ((performance.now() - startedAt) / 1000), "events/s");

  // 3. Memory with everything tracked.
  (globalThis as { gc?: () => void }).gc?.();
  const tracked = [...service.app.state.allRooms()].reduce((n, r) => n + r.allSlotMembers().length, 0);
  bench("tracked_memberships", tracked, "count");
  bench("rss_mb_100k", process.memoryUsage().rss / 1_048_576, "MB");
  bench("heap_mb_100k", process.memoryUsage().heapUsed / 1_048_576, "MB");

  // 4. Sweeps: the first records every verdict; later ones find nothing changed.
  let t0 = performance.now();
  service.app.reconciler.sweep();
  bench("sweep_first_ms_100k", performance.now() - t0, "ms");
  t0 = performance.now();
  service.app.reconciler.sweep();
  bench("sweep_ms_100k", performance.now() - t0, "ms");

  await service.stop();
  await homeserver.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
